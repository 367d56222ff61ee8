"""The monitoring ledger (台账) per county and month, and its export."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from services.screening.api.deps import LedgerReader, LedgerServiceDep
from services.screening.service.ledger import HOUSEHOLD_HEADERS
from shared.errors import problem_responses

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])

CountyQuery = Annotated[str, Query(pattern=r"^[0-9]{6}$", examples=["410602"])]
PeriodQuery = Annotated[str, Query(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2026-03"])]


@router.get(
    "",
    summary="The ledger of a county and month (防返贫监测台账)",
    description="Monitored households at the end of the month by type and risk code, new confirmations, "
    "eliminations, measures delivered (the cases' measures, and `assistance_measures_delivered_by_type`: the "
    "typed assistance records 帮扶措施 whose end date is in the month), `assistance_paid` (帮扶资金: the month's "
    "posted assistance payments by type, reversed ones excluded), cases opened, `identification_overdue` "
    "(identifications past the time limit, 超过认定时限: the query of `GET /v1/cases?overdue=true`, counted as of "
    "the month's last day, or as of today while the month runs), the month's leads, and `claims_paid`: "
    "anti-poverty insurance paid in the month (防贫保险理赔支付), from the claims service's read contract "
    "`claims.payment_paid_v1`.",
    responses=problem_responses(404, 422),
)
async def ledger(
    county_code: CountyQuery, period: PeriodQuery, service: LedgerServiceDep, principal: LedgerReader
) -> dict[str, Any]:
    return await service.summary(principal, county_code, period)


@router.get(
    "/export",
    summary="Export the ledger as XLSX (summary + household sheet) or CSV (households), Chinese headers (导出台账)",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/csv": {"example": ",".join(label for _, label in HOUSEHOLD_HEADERS) + "\n"},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        },
        **problem_responses(404, 422),
    },
)
async def export(
    county_code: CountyQuery,
    period: PeriodQuery,
    service: LedgerServiceDep,
    principal: LedgerReader,
    format: Annotated[Literal["xlsx", "csv"], Query()] = "xlsx",
) -> Response:
    """Exports the monitoring ledger (防返贫监测台账) of a county and month: XLSX with a summary sheet and a household
    sheet, or CSV with the households, Chinese headers. The same figures as `GET /v1/ledger`.
    """
    content, media, filename = await service.export(principal, county_code, period, format)
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )
