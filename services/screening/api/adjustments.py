"""两类户动态调整 (the monthly adjustment of the two monitored kinds, rules.md §4): a village's list of
a calendar month (households newly confirmed, eliminated or changed in type, with reasons), its XLSX,
the village's submission, the township's approval or return, and the overdue list."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse

from services.screening.api.deps import (
    AdjustmentApprover,
    AdjustmentReader,
    AdjustmentServiceDep,
    AdjustmentSubmitter,
    IfMatch,
)
from services.screening.api.schemas import AdjustmentListRead, AdjustmentReturn, OverdueAdjustmentList
from services.screening.domain.adjustments import SettlementAction
from shared.concurrency import etag
from shared.contracts.types import CountyCode, VillageCode
from shared.errors import problem_responses
from shared.spreadsheets import XLSX_MEDIA_TYPE

router = APIRouter(prefix="/v1/adjustments", tags=["adjustments"])

_MONTH = "calendar month YYYY-MM (county time zone)"
_VILLAGE = "the village (村), 12 digits"
MonthQuery = Annotated[str, Query(pattern=r"^[0-9]{4}-[0-9]{2}$", description=_MONTH, examples=["2026-03"])]
MonthPath = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{2}$", description=_MONTH, examples=["2026-03"])]
VillageQuery = Annotated[VillageCode, Query(description=_VILLAGE)]
VillagePath = Annotated[VillageCode, Path(description=_VILLAGE)]


def _answer(read: AdjustmentListRead) -> JSONResponse:
    headers = {"ETag": etag(read.settlement.version)} if read.settlement else {}
    return JSONResponse(read.model_dump(mode="json"), headers=headers)


@router.get(
    "",
    response_model=AdjustmentListRead,
    summary="A village's adjustment list of a month (两类户动态调整名单)",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/AdjustmentListRead"}},
                XLSX_MEDIA_TYPE: {"example": "(an XLSX workbook: 动态调整名单, 汇总)"},
            }
        },
        **problem_responses(404, 422),
    },
)
async def adjustment_list(
    village: VillageQuery,
    month: MonthQuery,
    service: AdjustmentServiceDep,
    principal: AdjustmentReader,
    format: Annotated[Literal["json", "xlsx"], Query(description="json, or xlsx (Chinese headers)")] = "json",
) -> Response:
    """The monthly adjustment list (两类户动态调整) of a village for calendar month M (county time zone):
    households newly confirmed in M (新识别: monitoring type, risk codes, the confirming step's comment),
    eliminated in M (风险消除: elimination kind, reason) and changed in type in M (类型变更: the type before and
    after, reason); with the due date (day `FANGPIN_SCREENING_ADJUSTMENT_DAY` of M+1) and the settlement, if
    submitted (ETag: its version). `format=xlsx` exports it with Chinese headers and region names. Village cadres
    see their village, township officers their villages, county officers all; another village is 404. A month
    that is not YYYY-MM (01–12) is 422 `invalid_month`.
    """
    if format == "xlsx":
        content, filename = await service.export(principal, village, month)
        return Response(
            content,
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
        )
    return _answer(await service.get(principal, village, month))


@router.get(
    "/overdue",
    response_model=OverdueAdjustmentList,
    summary="Villages whose adjustment list is overdue (动态调整逾期未审核)",
    responses=problem_responses(404, 422),
)
async def overdue(
    county_code: Annotated[CountyCode, Query(description="the county (县)")],
    month: MonthQuery,
    service: AdjustmentServiceDep,
    principal: AdjustmentReader,
) -> OverdueAdjustmentList:
    """After the due date of month M (day `FANGPIN_SCREENING_ADJUSTMENT_DAY` of M+1, business clock), the villages
    in your region — those with households in the register or with cases — whose adjustment list of M was not
    approved by that day (逾期未审核): not submitted, waiting, returned, or approved late. Empty until the due date
    has passed.
    """
    return await service.overdue(principal, county_code, month)


@router.post(
    "/{village}/{month}:submit",
    response_model=AdjustmentListRead,
    summary="The village submits its adjustment list of a month (村级上报动态调整名单)",
    responses=problem_responses(404, 409, 412, 422, 428),
)
async def submit(
    village: VillagePath,
    month: MonthPath,
    service: AdjustmentServiceDep,
    principal: AdjustmentSubmitter,
    if_match: IfMatch,
) -> JSONResponse:
    """The village cadre submits the list of month M once M is over (409 `adjustment_month_open` before): a snapshot
    of its entries is stored for the township. Again after a return (If-Match: the settlement's ETag, 428 without
    it); 409 `adjustment_already_submitted` while it waits, `adjustment_already_approved` once approved.
    """
    return _answer(await service.step(principal, village, month, SettlementAction.SUBMIT, if_match=if_match))


@router.post(
    "/{village}/{month}:approve",
    response_model=AdjustmentListRead,
    summary="The township approves a village's adjustment list (乡镇审核通过)",
    responses=problem_responses(404, 409, 412, 422, 428),
)
async def approve(
    village: VillagePath,
    month: MonthPath,
    service: AdjustmentServiceDep,
    principal: AdjustmentApprover,
    if_match: IfMatch,
) -> JSONResponse:
    """The township officer approves a submitted list (乡镇审核; reported to the county). If-Match: the settlement's
    ETag (428 without it, 412 if it changed); 409 `adjustment_not_submitted` or `adjustment_already_approved`.
    """
    return _answer(await service.step(principal, village, month, SettlementAction.APPROVE, if_match=if_match))


@router.post(
    "/{village}/{month}:return",
    response_model=AdjustmentListRead,
    summary="The township returns a village's adjustment list with a reason (乡镇退回)",
    responses=problem_responses(404, 409, 412, 422, 428),
)
async def return_list(
    village: VillagePath,
    month: MonthPath,
    body: AdjustmentReturn,
    service: AdjustmentServiceDep,
    principal: AdjustmentApprover,
    if_match: IfMatch,
) -> JSONResponse:
    """The township officer returns a submitted list to the village with a reason (退回原因); the village corrects
    and submits again. If-Match: the settlement's ETag (428 without it, 412 if it changed); 409
    `adjustment_not_submitted` or `adjustment_already_approved`.
    """
    return _answer(
        await service.step(principal, village, month, SettlementAction.RETURN, if_match=if_match, reason=body.reason)
    )
