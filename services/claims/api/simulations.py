"""Simulations (测算): a draft scheme re-assessed on a year's claims, as a job."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from services.claims.api.deps import Actuary, ActuaryReader, IdempotencyKey, JobsDep, SimulationServiceDep
from services.claims.api.schemas import SimulationCreate, SimulationRead
from shared.errors import problem_responses

router = APIRouter(prefix="/v1/simulations", tags=["simulations"])


@router.post(
    "",
    status_code=202,
    summary="Simulate a (draft) scheme on a year's claims (测算; a job)",
    description="Re-assesses the year's stored claim facts under the scheme, applied as if in force that year: "
    "totals by category and township, premium pool and loss ratio. Poll the `Location`.",
    responses={
        200: {
            "model": SimulationRead,
            "description": "the job of the same request (Idempotency-Key), already accepted",
        },
        **problem_responses(404, 422),
    },
)
async def create_simulation(
    body: SimulationCreate,
    jobs: SimulationServiceDep,
    principal: Actuary,
    key: IdempotencyKey,
    response: Response,
    runner: JobsDep,
) -> SimulationRead:
    result = await jobs.create(principal, body, key)
    job = result.value
    response.status_code = 202 if result.created else 200
    response.headers["Location"] = f"/v1/simulations/{job.id}"
    if job.status == "queued":
        await runner.submit("simulation", job.id)
    return job


@router.get("/{job_id}", summary="A simulation job", responses=problem_responses(404))
async def get_simulation(job_id: UUID, jobs: SimulationServiceDep, principal: ActuaryReader) -> SimulationRead:
    """Reads a simulation job (测算): status, progress and, once it has succeeded, the `result`: the claims and eligible
    claims of the year, the payout the (draft) scheme would make beside the current payout, by category and by township,
    the rejections, the premium pool (保费) and the loss ratio (赔付率, payout / pool).
    """
    return await jobs.get(principal, job_id)
