"""Claims (理赔): intake, the review workflow, assessments."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from services.claims.api.deps import (
    Cadre,
    ClaimReader,
    ClaimServiceDep,
    IdempotencyKey,
    IfMatch,
    ServiceCaller,
    WorkflowActor,
)
from services.claims.api.schemas import (
    AssessmentRead,
    AssessmentVerification,
    ClaimCreate,
    ClaimRead,
    ClaimState,
    TransitionCreate,
    TransitionRead,
    TransitionResult,
)
from shared.contracts.claims import Category, ClaimLead, ClaimLeadAccepted
from shared.contracts.types import Cursor, VillageCode
from shared.errors import problem_responses
from shared.openapi import problem_example
from shared.pagination import Page

router = APIRouter(prefix="/v1/claims", tags=["claims"])


@router.post(
    "/leads",
    status_code=201,
    summary="A claim lead from screening (理赔线索; service)",
    description="Idempotent by `source_record_id`: 201 with a new claim, 200 with the existing one for a repeat "
    "(or for the same event already claimed). If the registry is unreachable the lead is still accepted and the "
    "household facts are fetched later (`facts_status: pending`).",
    responses={200: {"model": ClaimLeadAccepted}, **problem_responses(422)},
)
async def accept_lead(
    lead: ClaimLead, claims: ClaimServiceDep, principal: ServiceCaller, key: IdempotencyKey, response: Response
) -> ClaimLeadAccepted:
    result = await claims.accept_lead(principal, lead, key)
    accepted = result.value
    response.status_code = 201 if result.created else 200
    response.headers["Location"] = f"/v1/claims/{accepted.claim_id}"
    return accepted


@router.post(
    "",
    status_code=201,
    summary="Apply for a claim (代为申请; cadres)",
    description="The household's facts are read from the registry now and frozen on the claim (503 if the "
    "registry is unreachable: try again). One claim per event: the same person, category and incident date "
    "answers 409 `same_event` with the existing claim in `extra.claim`.",
    responses={
        200: {
            "model": ClaimRead,
            "description": "the earlier request's answer again (Idempotency-Key), or the resource that existed already",
        },
        **problem_responses(404, 409, 422, 503),
        **problem_example(
            409,
            "same_event",
            "a claim for this event exists (same person, category and incident date)",
            claim={"id": "2c1f6d7e-5b4a-4c3d-8e9f-0a1b2c3d4e5f", "state": "investigating"},
        ),
    },
)
async def apply(
    body: ClaimCreate, claims: ClaimServiceDep, principal: Cadre, key: IdempotencyKey, response: Response
) -> ClaimRead:
    result = await claims.apply(principal, body, key)
    claim = result.value
    response.status_code = 201 if result.created else 200
    response.headers["Location"] = f"/v1/claims/{claim.id}"
    response.headers["ETag"] = f'"{claim.version}"'
    return claim


@router.get("", summary="Claims in your region (理赔列表)", response_model=Page[ClaimRead])
async def list_claims(
    claims: ClaimServiceDep,
    principal: ClaimReader,
    state: Annotated[ClaimState | None, Query()] = None,
    category: Annotated[Category | None, Query()] = None,
    village_code: Annotated[VillageCode | None, Query()] = None,
    household_id: Annotated[UUID | None, Query()] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[ClaimRead]:
    """Lists the claims (理赔列表) in your region, filtered by state, category, village, household or incident year,
    newest first, paged by `cursor`.
    """
    return await claims.search(
        principal,
        state=state,
        category=category,
        village_code=village_code,
        household_id=household_id,
        year=year,
        cursor=cursor,
        limit=limit,
    )


@router.get("/{claim_id}", summary="One claim", responses=problem_responses(404))
async def get_claim(claim_id: UUID, claims: ClaimServiceDep, principal: ClaimReader, response: Response) -> ClaimRead:
    """Reads one claim (理赔案件): the household and person, category (因病, 因灾/意外, 入学, 在学, 收入骤减, 产业损失),
    incident and report dates, the expense facts, the household facts frozen at intake, state, the active assessment and
    payment, and the steps the caller may take now (`allowed_actions`). The ETag is the claim's version, to send as
    If-Match with a step. 404 outside your region.
    """
    claim = await claims.get(principal, claim_id)
    response.headers["ETag"] = f'"{claim.version}"'
    return claim


@router.post(
    "/{claim_id}/transitions",
    summary="Take a workflow step (流程操作)",
    description="rules.md §2.4. A claim outside the caller's region answers 404 like a GET, before anything "
    "else (a replayed `Idempotency-Key` too: keys belong to their caller). A step by a role not allowed "
    "(`wrong_role`), with a token of the wrong region level (`wrong_region`) or out of order (`wrong_order`) "
    "answers 409. `assess` computes the payout under the "
    "household's ledger lock; an ineligible result rejects the claim with the engine's code. `approve` / "
    "`approve_override` only after the notice window without an undecided objection. Objections are decided "
    "under /v1/notices; payment steps happen under /v1/payments.",
    responses=problem_responses(404, 409, 412, 422, 503),
)
async def transition(
    claim_id: UUID,
    body: TransitionCreate,
    claims: ClaimServiceDep,
    principal: WorkflowActor,
    response: Response,
    key: IdempotencyKey,
    if_match: IfMatch = None,
) -> TransitionResult:
    result = await claims.transition(principal, claim_id, body, if_match, key)
    response.headers["ETag"] = f'"{result.claim.version}"'
    return result


@router.get("/{claim_id}/transitions", summary="The claim's history (流转记录)", responses=problem_responses(404))
async def transitions(claim_id: UUID, claims: ClaimServiceDep, principal: ClaimReader) -> list[TransitionRead]:
    """The claim's history (流转记录), oldest first: every workflow step with who took it (sub, role, region), from and
    to which state, and the comment or evidence recorded.
    """
    return await claims.transitions(principal, claim_id)


@router.get(
    "/{claim_id}/assessments",
    summary="The claim's assessments with breakdowns (核算)",
    responses=problem_responses(404),
)
async def assessments(claim_id: UUID, claims: ClaimServiceDep, principal: ClaimReader) -> list[AssessmentRead]:
    """The claim's assessments (核算), newest first: the payout, the breakdown by the scheme's rules (deductible 起付线,
    ratio, cap), the explanation lines a cadre can read, the scheme version used, and whether each is active or
    superseded by a re-assessment.
    """
    return await claims.assessments(principal, claim_id)


@router.get(
    "/{claim_id}/assessments/verification",
    summary="Re-compute the active assessment from what is stored (复核)",
    description="Runs the engine again on the stored facts, prior figures and scheme version; `same` is true when "
    "every figure matches.",
    responses=problem_responses(404),
)
async def verify_assessment(claim_id: UUID, claims: ClaimServiceDep, principal: ClaimReader) -> dict[str, Any]:
    # the service answers the typed AssessmentVerification; the document keeps its untyped object (OpenAPI unchanged)
    verification: AssessmentVerification = await claims.recompute(principal, claim_id)
    return verification.model_dump(mode="json")
