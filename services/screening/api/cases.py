"""Monitoring cases (监测对象认定): the workflow, notices and objections, measures, elimination."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, TypeVar

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
    TransitionCreate,
    TransitionRead,
)
from services.screening.domain.cases import CaseState
from services.screening.service.cases import OpenCase
from services.screening.service.common import Replayed
from shared.contracts.types import CountyCode, Cursor, TownshipCode, VillageCode
from shared.errors import problem_responses
from shared.openapi import problem_example
from shared.pagination import Page

router = APIRouter(prefix="/v1/cases", tags=["cases"])

M = TypeVar("M", CaseRead, MeasureRead, ObjectionRead)


def _case(read: CaseRead, status: int = 200) -> JSONResponse:
    return JSONResponse(
        read.model_dump(mode="json"),
        status_code=status,
        headers={"ETag": f'"{read.version}"', "Location": read.links["self"]},
    )


def _versioned(read: MeasureRead | ObjectionRead, status: int = 200) -> JSONResponse:
    return JSONResponse(read.model_dump(mode="json"), status_code=status, headers={"ETag": f'"{read.version}"'})


def _answer(result: M | Replayed, respond: Callable[[M], JSONResponse]) -> JSONResponse:
    """The stored first response of an Idempotency-Key, or `respond` to the fresh read model."""
    return replay(result.stored) if isinstance(result, Replayed) else respond(result)


@router.post(
    "",
    status_code=201,
    summary="Open a case from a lead, a self-report or a cadre visit (纳入监测识别)",
    responses={
        201: {"model": CaseRead},
        **problem_responses(403, 404, 409, 422),
        **problem_example(409, "lead_not_open", "this lead is closed"),
    },
)
async def open_case(
    body: CaseCreate, cases: CaseServiceDep, principal: CaseWriter, key: IdempotencyKey
) -> JSONResponse:
    """Opens a monitoring case (纳入监测识别) for a household: from a screening lead (`source=screening` with its
    `lead_id`), a household's own report (农户自主申报, `self_report`) or a cadre's visit (基层干部排查, `cadre_visit`)
    with the household id. The case starts the identification workflow (识别程序: verification, village review, notice,
    township review, county confirmation). 409 `lead_superseded` or `lead_not_open` for a lead that can no longer be
    opened. Idempotent with an `Idempotency-Key`.
    """
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
    return _answer(outcome, lambda read: _case(read, 201))


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
    """Lists the monitoring cases (监测对象) in your region, filtered by county, township, village, state or household,
    paged by `cursor`. `overdue=true` lists only identifications past the 20-working-day limit (超期), the same query
    the ledger (台账) counts.
    """
    return await cases.list_cases(
        principal,
        county_code=county_code,
        township_code=township_code,
        village_code=village_code,
        state=state.value if state else None,
        household_id=household_id,
        overdue=overdue,
        cursor=cursor,
        limit=limit,
    )


@router.get("/{case_id}", summary="A case (监测案件)", response_model=CaseRead, responses=problem_responses(404))
async def get_case(case_id: uuid.UUID, cases: CaseServiceDep, principal: CaseReader) -> JSONResponse:
    """Reads one monitoring case (监测案件): the household and its region codes, source, state in the identification or
    elimination workflow, risk codes, suggested and confirmed monitoring type (监测类型), the identification deadline
    (认定时限, 20 working days) and the steps the caller may take now (`allowed_actions`). The ETag is the case's
    version.
    """
    return _case(await cases.get(principal, case_id))


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
    responses={
        **problem_responses(403, 404, 409, 412, 422),
        **problem_example(
            409, "notice_not_elapsed", "the notice runs 5 days from 2026-04-01; review is possible from 2026-04-06"
        ),
    },
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
    return _answer(outcome, _case)


@router.get("/{case_id}/transitions", summary="The case's history (办理记录)", responses=problem_responses(404))
async def transitions(case_id: uuid.UUID, cases: CaseServiceDep, principal: CaseReader) -> list[TransitionRead]:
    """The case's history (办理记录), oldest first: every step with who took it (sub, role, region), from and to which
    state, the evidence recorded and the comment.
    """
    return await cases.transitions(principal, case_id)


@router.get(
    "/{case_id}/evidence",
    summary="Screening findings added to the case by monthly runs (筛查新证据)",
    responses=problem_responses(404),
)
async def evidence(case_id: uuid.UUID, cases: CaseServiceDep, principal: CaseReader) -> list[CaseEvidenceRead]:
    """Screening findings added to the case by later monthly runs (筛查新证据): a monitored household gets no new lead,
    its run's risk codes are appended here, period by period.
    """
    return await cases.evidence(principal, case_id)


@router.get(
    "/{case_id}/elimination-check",
    summary="May risk elimination be proposed now? Every unmet condition (风险消除条件)",
    responses=problem_responses(404, 409),
)
async def elimination_check(case_id: uuid.UUID, cases: CaseServiceDep, principal: CaseReader) -> EliminationCheck:
    """Says whether risk elimination (风险消除) may be proposed for the case now, and lists every unmet condition with a
    code and a Chinese and English message: too early, no measure delivered, income still below the line, a recent
    screening lead, no labour, an open housing or water risk. 409 `case_not_monitored` before the case is confirmed.
    """
    return await cases.elimination_check(principal, case_id)


@router.post(
    "/{case_id}/measures",
    status_code=201,
    summary="Add an assistance measure (帮扶措施)",
    responses={201: {"model": MeasureRead}, **problem_responses(404, 409, 422)},
)
async def add_measure(
    case_id: uuid.UUID, body: MeasureCreate, cases: CaseServiceDep, principal: CaseWriter, key: IdempotencyKey
) -> JSONResponse:
    """Adds an assistance measure (帮扶措施: industry, employment, health, education, housing safety, drinking water,
    social assistance, insurance, other) to a confirmed case, with its start date and, once done, its delivery date
    (已落实). Elimination (风险消除) needs at least one delivered measure. 409 `case_not_monitored` before the case is
    confirmed. Idempotent with an `Idempotency-Key`.
    """
    outcome = await cases.add_measure(
        principal,
        case_id,
        measure_type=body.measure_type,
        description=body.description,
        start_date=body.start_date,
        delivered_date=body.delivered_date,
        idempotency_key=key,
    )
    return _answer(outcome, lambda read: _versioned(read, 201))


@router.get("/{case_id}/measures", summary="Assistance measures of a case", responses=problem_responses(404))
async def measures(case_id: uuid.UUID, cases: CaseServiceDep, principal: CaseReader) -> list[MeasureRead]:
    """The assistance measures (帮扶措施) of a case, oldest first, with whether and when each was delivered."""
    return await cases.measures(principal, case_id)


@router.patch(
    "/{case_id}/measures/{measure_id}",
    summary="Record delivery of a measure or change its description (If-Match required)",
    response_model=MeasureRead,
    responses=problem_responses(404, 412, 422, 428),
)
async def update_measure(
    case_id: uuid.UUID,
    measure_id: uuid.UUID,
    body: MeasureUpdate,
    cases: CaseServiceDep,
    principal: CaseWriter,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Records the delivery of an assistance measure (帮扶措施已落实: `delivered_date`) or changes its description.
    If-Match with the measure's ETag is required (428 without it, 412 if it changed).
    """
    read = await cases.update_measure(
        principal, case_id, measure_id, changes=body.model_dump(exclude_unset=True), if_match=if_match
    )
    return _versioned(read)


@router.post(
    "/{case_id}/objections",
    status_code=201,
    summary="Record an objection to the case's notice while it runs (公示异议)",
    responses={201: {"model": ObjectionRead}, **problem_responses(404, 409, 422)},
)
async def raise_objection(
    case_id: uuid.UUID, body: ObjectionCreate, cases: CaseServiceDep, principal: CaseWriter, key: IdempotencyKey
) -> JSONResponse:
    """Records an objection (公示异议) to the case's notice (公示) while it runs, e.g. a villager says the household is
    not in difficulty. 409 `notice_not_open` outside the notice window. Idempotent with an `Idempotency-Key`.
    """
    outcome = await cases.raise_objection(principal, case_id, content=body.content, idempotency_key=key)
    return _answer(outcome, lambda read: _versioned(read, 201))


@router.get("/{case_id}/objections", summary="Objections to the case's notices", responses=problem_responses(404))
async def objections(case_id: uuid.UUID, cases: CaseServiceDep, principal: CaseReader) -> list[ObjectionRead]:
    """The objections (公示异议) raised against the case's notices, with how each was resolved."""
    return await cases.objections(principal, case_id)


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
    """Resolves an objection (异议处理): upheld or dismissed, with the resolution kept on the objection (and audited).
    If-Match with the objection's ETag is optional (checked when sent). 409 `objection_resolved` when it was resolved
    already.
    """
    read = await cases.resolve_objection(
        principal, case_id, objection_id, status=body.status, resolution=body.resolution, if_match=if_match
    )
    return _versioned(read)
