"""Screening runs (月度筛查) and their leads (预警线索)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.screening.api.deps import IdempotencyKey, RunReader, RunServiceDep, RunWriter, replay
from services.screening.api.schemas import DataQualityRead, LeadRead, RunCreate, RunRead
from services.screening.domain.risk import RiskCode
from services.screening.service.common import Replayed
from shared.contracts.types import CountyCode, Cursor, TownshipCode, VillageCode
from shared.errors import problem_responses
from shared.pagination import Page

router = APIRouter(prefix="/v1/runs", tags=["runs"])


@router.post(
    "",
    status_code=202,
    summary="Screen a county for a month (发起月度筛查)",
    description="Evaluates rules.md §1.3 over the registry snapshot and the department feeds of the 12 months "
    "ending with `period`, as set-based SQL. Answers 202 with the run job; poll its `Location`. Running a period "
    "again makes a new version that supersedes the earlier leads.",
    responses={202: {"description": "the run job", "model": RunRead}, **problem_responses(403, 409, 422)},
)
async def submit_run(body: RunCreate, runs: RunServiceDep, principal: RunWriter, key: IdempotencyKey) -> JSONResponse:
    read = await runs.submit(principal, county_code=body.county_code, period=body.period, idempotency_key=key)
    if isinstance(read, Replayed):
        return replay(read.stored)
    return JSONResponse(read.model_dump(mode="json"), status_code=202, headers={"Location": read.links["self"]})


@router.get("", summary="Runs in your region (筛查记录)", response_model=Page[RunRead])
async def list_runs(
    runs: RunServiceDep,
    principal: RunReader,
    county_code: Annotated[CountyCode | None, Query()] = None,
    period: Annotated[str | None, Query(pattern=r"^[0-9]{4}-[0-9]{2}$")] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[RunRead]:
    """The monthly screening runs (月度筛查记录) of your region, newest first, optionally for one county or period,
    paged by `cursor`.
    """
    return await runs.list_runs(principal, county_code=county_code, period=period, cursor=cursor, limit=limit)


@router.get("/{run_id}", summary="A run job: status, progress, counts (筛查结果)", responses=problem_responses(404))
async def get_run(run_id: uuid.UUID, runs: RunServiceDep, principal: RunReader) -> RunRead:
    """Reads a screening run job (筛查结果): status, progress, the period and version, and counts of households
    evaluated, leads, and households listed apart for data quality.
    """
    return await runs.get(principal, run_id)


@router.get(
    "/{run_id}/leads",
    summary="Leads of a run, grouped by township, best-ranked first (预警线索清单)",
    description="Ranked by the number of risk codes, then the lowest adjusted income per person. Township officers "
    "and village cadres see their own township or village. `routing=case_evidence` lists the households whose new "
    "evidence went onto their open case (or monitored status) instead.",
    response_model=Page[LeadRead],
    responses=problem_responses(404),
)
async def run_leads(
    run_id: uuid.UUID,
    runs: RunServiceDep,
    principal: RunReader,
    township_code: Annotated[TownshipCode | None, Query()] = None,
    village_code: Annotated[VillageCode | None, Query()] = None,
    code: Annotated[RiskCode | None, Query(description="only leads with this risk code")] = None,
    routing: Annotated[Literal["new_lead", "case_evidence"], Query()] = "new_lead",
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[LeadRead]:
    return await runs.leads(
        principal,
        run_id,
        township_code=township_code,
        village_code=village_code,
        code=code.value if code else None,
        routing=routing,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/{run_id}/leads/{lead_id}",
    summary="One lead with its figures and the feed records behind each code (线索详情)",
    responses=problem_responses(404),
)
async def run_lead(run_id: uuid.UUID, lead_id: uuid.UUID, runs: RunServiceDep, principal: RunReader) -> LeadRead:
    """One lead of a run (预警线索详情): the household, each risk code hit with its figures (decimal strings) and the
    department feed records behind it, the adjusted income compared with the monitoring line, the suggested monitoring
    type and whether a case was opened from it.
    """
    return await runs.lead(principal, run_id, lead_id)


@router.get(
    "/{run_id}/data-quality/no-income",
    summary="Households the run listed apart: no income on file (数据质量：无收入记录)",
    description="rules.md §1.3: a household with no income on file is screened on every code that does not need "
    "its income (housing and water still make it a lead) and listed here, by village; `result.data_quality` of "
    "the run has the counts per village. Township officers and village cadres see their own area.",
    response_model=Page[DataQualityRead],
    responses=problem_responses(404, 422),
)
async def run_no_income(
    run_id: uuid.UUID,
    runs: RunServiceDep,
    principal: RunReader,
    village_code: Annotated[VillageCode | None, Query()] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[DataQualityRead]:
    return await runs.data_quality(principal, run_id, village_code=village_code, cursor=cursor, limit=limit)
