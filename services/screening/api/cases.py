"""Monitoring cases (监测对象认定): the workflow, notices and objections, measures, elimination."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.screening.api.deps import (
    CaseReader,
    CaseServiceDep,
    CaseWriter,
    IdempotencyKey,
    IfMatch,
    ObjectionResolver,
    replay,
)
from services.screening.api.schemas import (
    BlockerRead,
    CaseCreate,
    CaseEvidenceRead,
    CaseRead,
    EliminationCheck,
    MeasureCreate,
    MeasureRead,
    MeasureUpdate,
    ObjectionCreate,
    ObjectionRead,
    ObjectionResolve,
    Row,
    TransitionCreate,
    TransitionRead,
    case_read,
    measure_read,
    objection_read,
    transition_read,
)
from services.screening.domain.cases import CaseState
from services.screening.service.cases import CaseService, OpenCase, blockers_json
from shared.auth import Principal
from shared.contracts.types import CountyCode, Cursor, TownshipCode, VillageCode
from shared.errors import problem_responses
from shared.idempotency import StoredResponse
from shared.pagination import Page, decode_cursor, encode_cursor

router = APIRouter(prefix="/v1/cases", tags=["cases"])


def _case(cases: CaseService, principal: Principal, row: Row | StoredResponse, status: int = 200) -> JSONResponse:
    assert not isinstance(row, StoredResponse)
    read = case_read(
        row,
        allowed_actions=cases.allowed_actions(principal, row),
        overdue=cases.is_overdue(row),
    )
    return JSONResponse(
        read.model_dump(mode="json"),
        status_code=status,
        headers={"ETag": f'"{read.version}"', "Location": read.links["self"]},
    )


def _replayed_or(outcome: tuple[Row | StoredResponse, bool], respond: Callable[[Row], JSONResponse]) -> JSONResponse:
    """The stored first response of an Idempotency-Key, or `respond` to the fresh row."""
    row, replayed = outcome
    if replayed:
        assert isinstance(row, StoredResponse)
        return replay(row)
    assert not isinstance(row, StoredResponse)
    return respond(row)


def _versioned(read: MeasureRead | ObjectionRead, status: int = 200) -> JSONResponse:
    return JSONResponse(read.model_dump(mode="json"), status_code=status, headers={"ETag": f'"{read.version}"'})


@router.post(
    "",
    status_code=201,
    summary="Open a case from a lead, a self-report or a cadre visit (纳入监测识别)",
    responses={201: {"model": CaseRead}, **problem_responses(403, 404, 409, 422)},
)
async def open_case(
    body: CaseCreate, cases: CaseServiceDep, principal: CaseWriter, key: IdempotencyKey
) -> JSONResponse:
    outcome = await cases.open(
        principal,
        OpenCase(
            source=body.source,
            lead_id=body.lead_id,
            household_id=body.household_id,
            evidence=body.evidence,
            risk_codes=tuple(body.risk_codes),
            comment=body.comment,
        ),
        idempotency_key=key,
    )
    return _replayed_or(outcome, lambda row: _case(cases, principal, row, 201))


@router.get(
    "",
    summary="Cases in your region (监测对象); `overdue=true` lists identifications past the limit (超期)",
    response_model=Page[CaseRead],
)
async def list_cases(
    cases: CaseServiceDep,
    principal: CaseReader,
    county_code: Annotated[CountyCode | None, Query()] = None,
    township_code: Annotated[TownshipCode | None, Query()] = None,
    village_code: Annotated[VillageCode | None, Query()] = None,
    state: Annotated[CaseState | None, Query()] = None,
    household_id: Annotated[uuid.UUID | None, Query()] = None,
    overdue: Annotated[bool, Query(description="only cases past the identification limit (20 working days)")] = False,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[CaseRead]:
    rows = await cases.list_cases(
        principal,
        county_code=county_code,
        township_code=township_code,
        village_code=village_code,
        state=state.value if state else None,
        household_id=household_id,
        overdue=overdue,
        after=decode_cursor(cursor, 2),
        limit=limit + 1,
    )
    items = [
        case_read(r, allowed_actions=cases.allowed_actions(principal, r), overdue=cases.is_overdue(r))
        for r in rows[:limit]
    ]
    last = rows[limit - 1] if len(rows) > limit else None
    return Page[CaseRead](
        items=items, next_cursor=encode_cursor([last["opened_at"].isoformat(), str(last["id"])]) if last else None
    )


@router.get("/{case_id}", summary="A case (监测案件)", response_model=CaseRead, responses=problem_responses(404))
async def get_case(case_id: uuid.UUID, cases: CaseServiceDep, principal: CaseReader) -> JSONResponse:
    return _case(cases, principal, await cases.get(principal, case_id))


@router.post(
    "/{case_id}/transitions",
    summary="Take a step of the workflow (办理环节)",
    description="A case outside the caller's region answers 404 `not_found`, like a GET, before anything "
    "else (a replayed `Idempotency-Key` too: keys belong to their caller). Then the step's role, the region "
    "level of the caller's token and the order are checked (409 `wrong_role`, `wrong_region`, `wrong_order`), "
    "and its evidence (409 `missing_evidence`, `invalid_evidence`, "
    "`vote_not_passed`, `notice_too_short`, `notice_not_elapsed`). `propose_elimination` is refused with 409 "
    "`elimination_blocked` naming every unmet condition. Confirmation sets, elimination clears the household's "
    "monitoring status in the registry (through the outbox). `If-Match` is honoured when sent.",
    response_model=CaseRead,
    responses=problem_responses(403, 404, 409, 412, 422),
)
async def transition(
    case_id: uuid.UUID,
    body: TransitionCreate,
    cases: CaseServiceDep,
    principal: CaseWriter,
    key: IdempotencyKey,
    if_match: IfMatch = None,
) -> JSONResponse:
    outcome = await cases.transition(
        principal,
        case_id,
        action=body.action.value,
        evidence=body.evidence,
        comment=body.comment,
        if_match=if_match,
        idempotency_key=key,
    )
    return _replayed_or(outcome, lambda row: _case(cases, principal, row))


@router.get("/{case_id}/transitions", summary="The case's history (办理记录)", responses=problem_responses(404))
async def transitions(case_id: uuid.UUID, cases: CaseServiceDep, principal: CaseReader) -> list[TransitionRead]:
    return [transition_read(r) for r in await cases.transitions(principal, case_id)]


@router.get(
    "/{case_id}/evidence",
    summary="Screening findings added to the case by monthly runs (筛查新证据)",
    responses=problem_responses(404),
)
async def evidence(case_id: uuid.UUID, cases: CaseServiceDep, principal: CaseReader) -> list[CaseEvidenceRead]:
    return [
        CaseEvidenceRead(
            lead_id=r["id"],
            run_id=r["run_id"],
            period=r["period"],
            superseded=r["superseded_by"] is not None,
            is_lead=r["is_lead"],
            codes=list(r["codes"]),
            figures=r["figures"],
            adjusted_per_capita=r["adjusted_per_capita"],
            created_at=r["created_at"],
        )
        for r in await cases.evidence(principal, case_id)
    ]


@router.get(
    "/{case_id}/elimination-check",
    summary="May risk elimination be proposed now? Every unmet condition (风险消除条件)",
    responses=problem_responses(404, 409),
)
async def elimination_check(case_id: uuid.UUID, cases: CaseServiceDep, principal: CaseReader) -> EliminationCheck:
    row, blockers = await cases.elimination_check(principal, case_id)
    return EliminationCheck(
        case_id=row["id"],
        may_propose=not blockers,
        blockers=[BlockerRead.model_validate(b) for b in blockers_json(blockers)],
    )


@router.post(
    "/{case_id}/measures",
    status_code=201,
    summary="Add an assistance measure (帮扶措施)",
    responses={201: {"model": MeasureRead}, **problem_responses(404, 409, 422)},
)
async def add_measure(
    case_id: uuid.UUID, body: MeasureCreate, cases: CaseServiceDep, principal: CaseWriter, key: IdempotencyKey
) -> JSONResponse:
    outcome = await cases.add_measure(
        principal,
        case_id,
        measure_type=body.measure_type,
        description=body.description,
        start_date=body.start_date,
        delivered_date=body.delivered_date,
        idempotency_key=key,
    )
    return _replayed_or(outcome, lambda row: _versioned(measure_read(row), 201))


@router.get("/{case_id}/measures", summary="Assistance measures of a case", responses=problem_responses(404))
async def measures(case_id: uuid.UUID, cases: CaseServiceDep, principal: CaseReader) -> list[MeasureRead]:
    return [measure_read(r) for r in await cases.measures(principal, case_id)]


@router.patch(
    "/{case_id}/measures/{measure_id}",
    summary="Record delivery of a measure or change its description (If-Match required)",
    response_model=MeasureRead,
    responses=problem_responses(404, 412, 422),
)
async def update_measure(
    case_id: uuid.UUID,
    measure_id: uuid.UUID,
    body: MeasureUpdate,
    cases: CaseServiceDep,
    principal: CaseWriter,
    if_match: IfMatch = None,
) -> JSONResponse:
    row = await cases.update_measure(
        principal, case_id, measure_id, changes=body.model_dump(exclude_unset=True), if_match=if_match
    )
    return _versioned(measure_read(row))


@router.post(
    "/{case_id}/objections",
    status_code=201,
    summary="Record an objection to the case's notice while it runs (公示异议)",
    responses={201: {"model": ObjectionRead}, **problem_responses(404, 409, 422)},
)
async def raise_objection(
    case_id: uuid.UUID, body: ObjectionCreate, cases: CaseServiceDep, principal: CaseWriter, key: IdempotencyKey
) -> JSONResponse:
    outcome = await cases.raise_objection(principal, case_id, content=body.content, idempotency_key=key)
    return _replayed_or(outcome, lambda row: _versioned(objection_read(row), 201))


@router.get("/{case_id}/objections", summary="Objections to the case's notices", responses=problem_responses(404))
async def objections(case_id: uuid.UUID, cases: CaseServiceDep, principal: CaseReader) -> list[ObjectionRead]:
    return [objection_read(r) for r in await cases.objections(principal, case_id)]


@router.patch(
    "/{case_id}/objections/{objection_id}",
    summary="Resolve an objection: upheld or dismissed (异议处理)",
    response_model=ObjectionRead,
    responses=problem_responses(404, 409, 412),
)
async def resolve_objection(
    case_id: uuid.UUID,
    objection_id: uuid.UUID,
    body: ObjectionResolve,
    cases: CaseServiceDep,
    principal: ObjectionResolver,
    if_match: IfMatch = None,
) -> JSONResponse:
    row = await cases.resolve_objection(
        principal, case_id, objection_id, status=body.status, resolution=body.resolution, if_match=if_match
    )
    return _versioned(objection_read(row))
