"""Responsible cadres 帮扶责任人: a household's assignments (assign, list, end, reveal the phone) and a
cadre's households (帮扶对象), in the caller's region."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response
from fastapi.responses import JSONResponse

from services.registry.api.deps import (
    CadreServiceDep,
    Editor,
    HouseholdReader,
    IdempotencyKey,
    IfMatch,
    PhoneRevealer,
)
from services.registry.api.schemas import (
    CadreAssign,
    CadreEnd,
    CadreHousehold,
    CadreList,
    CadrePhoneReveal,
    CadreRead,
    CadreSearch,
    CadreUpdate,
    Name,
    Phone,
    RevealRequest,
)
from shared.app import query_model
from shared.concurrency import etag
from shared.contracts.types import Cursor
from shared.errors import problem_responses
from shared.idempotency import REPLAY_HEADERS
from shared.pagination import Page

router = APIRouter(prefix="/v1", tags=["cadres"])

HouseholdId = Annotated[uuid.UUID, Path(description="household id (农户 id)")]
CadreId = Annotated[uuid.UUID, Path(description="assignment id (帮扶责任人 id)")]


@router.post(
    "/households/{household_id}/cadres",
    status_code=201,
    response_model=CadreRead,
    summary="Assign a responsible cadre (指定帮扶责任人)",
    responses=problem_responses(404, 409, 412, 422),
)
async def assign_cadre(
    household_id: HouseholdId,
    body: CadreAssign,
    cadres: CadreServiceDep,
    _: Editor,
    if_match: IfMatch,
    key: IdempotencyKey,
) -> JSONResponse:
    """Assigns a responsible cadre 帮扶责任人 to the household: name (姓名), work unit (单位名称), affiliation
    (隶属关系), phone (联系电话, stored encrypted, answered masked) and the start (帮扶开始时间) and optional end
    (帮扶结束时间) dates. The same cadre (same name and phone) assigned to the household again for overlapping dates
    is 409 `cadre_assignment_overlap`; an end before the start is 422 (`end_date`); 409 `household_archived` for an
    archived household. `Idempotency-Key` makes a retry answer the first result; `If-Match` (the household's ETag)
    is optional and must be current when sent. The change is in the household's history and the audit log.
    """
    result = await cadres.assign(household_id, body, if_match=if_match, idempotency_key=key)
    headers = {
        "ETag": etag(result.value.version),
        "Location": f"/v1/households/{household_id}/cadres/{result.value.id}",
    }
    if result.replayed:
        headers.update(REPLAY_HEADERS)
    return JSONResponse(result.value.model_dump(mode="json"), status_code=201, headers=headers)


@router.get(
    "/households/{household_id}/cadres",
    summary="The household's responsible cadres (帮扶责任人), phones masked",
    responses=problem_responses(404),
)
async def list_cadres(
    household_id: HouseholdId,
    cadres: CadreServiceDep,
    _: HouseholdReader,
    current_only: Annotated[bool, Query(description="only the assignments running today")] = False,
) -> CadreList:
    """Every responsible cadre 帮扶责任人 assignment of the household, oldest start first, ended ones too (unless
    `current_only=true`); `current` says whether it runs on the county's business day. Phones masked
    (139****5678); reveal one with `POST …/cadres/{cadre_id}/phone:reveal`. 404 outside your region.
    """
    return CadreList(items=await cadres.list(household_id, current_only=current_only))


@router.get(
    "/households/{household_id}/cadres/{cadre_id}",
    summary="One responsible cadre assignment (帮扶责任人详情)",
    responses=problem_responses(404),
)
async def get_cadre(
    household_id: HouseholdId, cadre_id: CadreId, cadres: CadreServiceDep, _: HouseholdReader, response: Response
) -> CadreRead:
    """Reads one responsible cadre 帮扶责任人 assignment of the household, phone masked. The ETag is the assignment's
    version, to send as If-Match on `:end`. 404 `cadre_not_found` when it is not this household's; 404
    `household_not_found` outside your region.
    """
    read = await cadres.get(household_id, cadre_id)
    response.headers["ETag"] = etag(read.version)
    return read


@router.patch(
    "/households/{household_id}/cadres/{cadre_id}",
    summary="Correct a responsible cadre assignment (更正帮扶责任人信息); needs the assignment's If-Match",
    responses=problem_responses(404, 409, 412, 422, 428),
)
async def correct_cadre(
    household_id: HouseholdId,
    cadre_id: CadreId,
    body: CadreUpdate,
    cadres: CadreServiceDep,
    _: Editor,
    if_match: IfMatch,
    response: Response,
) -> CadreRead:
    """Corrects a responsible cadre 帮扶责任人 assignment recorded wrongly: name, 单位名称, 隶属关系, phone or
    帮扶开始时间; only the fields sent change (`affiliation: null` clears it). Ending goes through `:end`; another
    cadre is a new assignment. Send the assignment's ETag as If-Match (428 without it, 412 if it changed).
    422 when the start would fall after the end; 409 `cadre_assignment_overlap` when the corrected assignment
    overlaps another of the same cadre; 409 `household_archived`. The phone is stored encrypted and shown
    masked, in the answer, the history (before and after) and the audit log.
    """
    read = await cadres.correct(household_id, cadre_id, body, if_match=if_match)
    response.headers["ETag"] = etag(read.version)
    return read


@router.post(
    "/households/{household_id}/cadres/{cadre_id}:end",
    summary="End a responsible cadre assignment (结束帮扶); needs the assignment's If-Match",
    responses=problem_responses(404, 409, 412, 422, 428),
)
async def end_cadre(
    household_id: HouseholdId,
    cadre_id: CadreId,
    body: CadreEnd,
    cadres: CadreServiceDep,
    _: Editor,
    if_match: IfMatch,
    response: Response,
) -> CadreRead:
    """Ends the assignment of a responsible cadre 帮扶责任人 on `end_date` (帮扶结束时间, the last day; not in the
    future, not before the start: 422 `end_date`). Send the assignment's ETag as If-Match (428 without it, 412 if
    it changed). 409 `cadre_assignment_ended` when it has ended already. In the history and the audit log.
    """
    read = await cadres.end(household_id, cadre_id, body, if_match=if_match)
    response.headers["ETag"] = etag(read.version)
    return read


@router.post(
    "/households/{household_id}/cadres/{cadre_id}/phone:reveal",
    summary="Reveal a responsible cadre's phone (查看帮扶责任人联系电话): audited",
    responses=problem_responses(403, 404),
)
async def reveal_cadre_phone(
    household_id: HouseholdId,
    cadre_id: CadreId,
    body: Annotated[RevealRequest, Body(examples=[{"purpose": "联系帮扶责任人核实帮扶情况"}])],
    cadres: CadreServiceDep,
    _: PhoneRevealer,
) -> CadrePhoneReveal:
    """Shows the full phone number (联系电话) of a household's responsible cadre 帮扶责任人, e.g. to call them about
    the household. Every reveal is written to the audit log (审计日志) with the purpose given.
    """
    return await cadres.reveal_phone(household_id, cadre_id, body.purpose)


@router.get(
    "/cadres",
    response_model=Page[CadreHousehold],
    summary="A cadre's households (帮扶对象) by name or phone, in your region",
    responses=problem_responses(422),
)
async def cadre_households(
    cadres: CadreServiceDep,
    _: HouseholdReader,
    name: Annotated[Name | None, Query(description="the cadre's name, exact")] = None,
    phone: Annotated[Phone | None, Query(description="the cadre's phone, exact")] = None,
    current_only: Annotated[bool, Query(description="only assignments running today")] = False,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[CadreHousehold]:
    """The households a responsible cadre 帮扶责任人 is (or was) assigned to (帮扶对象), found by the cadre's name
    (exact) and/or phone (exact, by blind index; the number is never stored in clear), only in your region, ordered
    by village and household number; each with the assignment (phone masked). Give at least one of `name`, `phone`
    (422 otherwise). `POST /v1/cadres:search` takes the same filters in a body and keeps the phone out of URLs.
    """
    query = query_model(
        CadreSearch,
        {"name": name, "phone": phone, "current_only": current_only, "cursor": cursor, "limit": limit},
    )
    return await cadres.households_of(query)


@router.post(
    "/cadres:search",
    response_model=Page[CadreHousehold],
    summary="A cadre's households (帮扶对象), filters in the body",
    responses=problem_responses(422),
)
async def search_cadre_households(
    body: CadreSearch, cadres: CadreServiceDep, _: HouseholdReader
) -> Page[CadreHousehold]:
    """As `GET /v1/cadres` (a responsible cadre's 帮扶责任人 households in your region), with the name or phone in the
    request body, so the phone number stays out of URLs and access logs.
    """
    return await cadres.households_of(body)
