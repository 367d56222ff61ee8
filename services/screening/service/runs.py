"""Monthly screening runs (rules.md §1.3) as jobs, and their leads."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.api.schemas import (
    DataQualityRead,
    LeadEvidenceRead,
    LeadRead,
    Progress,
    RunRead,
)
from services.screening.db.feeds_repository import FeedRepository
from services.screening.db.runs_repository import DataQualityEntry, Lead, LeadEvidenceLink, Run, RunRepository
from services.screening.db.tables import idempotency
from services.screening.domain.calendar import parse_period, screening_window
from services.screening.domain.thresholds import parse_thresholds
from services.screening.service.common import (
    SERVICE,
    STORED_JOB_ACCEPTED,
    Context,
    Replayed,
    require_county_read,
    require_county_write,
    sees_county,
)
from services.screening.service.thresholds import ensure_current
from shared.audit import Auditor
from shared.auth import Principal
from shared.errors import Conflict, NotFound, Unprocessable
from shared.idempotency import Idempotency
from shared.jobs import JobContext
from shared.logging import get_logger, log_failure, request_id_var
from shared.metrics import JOB_ROWS
from shared.pagination import Page, next_cursor, read_cursor

log = get_logger("fangpin.screening.runs")

JOB_KIND = "run"
STEPS = ("rematch_feeds", "evaluate", "write_leads", "evidence", "claim_leads", "finish")  # the CLI bar has 6

StepProgress = Callable[[int, int, str], Awaitable[None]]


def check_period(period: str) -> tuple[int, int]:
    try:
        return parse_period(period)
    except ValueError as exc:
        raise Unprocessable(str(exc), code="invalid_period") from exc


async def create_run(
    session: AsyncSession, ctx: Context, *, county_code: str, period: str, trigger: str, created_by: str
) -> Run:
    """The run row (status queued) with its version, window and thresholds; the caller commits."""
    year, _ = check_period(period)
    window_start, window_end = screening_window(period)
    repo = RunRepository(session)
    await repo.lock_county(county_code)
    thresholds = await ensure_current(session, county_code, year, actor=None)
    run_id = uuid.uuid4()
    await repo.insert_run(
        {
            "id": run_id,
            "county_code": county_code,
            "period": period,
            "version": await repo.next_version(county_code, period),
            "status": "queued",
            "trigger": trigger,
            "threshold_version_id": thresholds.id,
            "thresholds": {**thresholds.values, "version": thresholds.version},
            "window_start": window_start,
            "window_end": window_end,
            "progress_total": len(STEPS),
            "created_by": created_by,
            "created_at": ctx.now(),
        }
    )
    row = await repo.get(run_id)
    assert row is not None
    return row


def run_read(row: Run) -> RunRead:
    return RunRead(
        id=row.id,
        county_code=row.county_code,
        period=row.period,
        version=row.version,
        status=row.status,
        trigger=row.trigger,
        progress=Progress(done=row.progress_done, total=row.progress_total),
        window_start=row.window_start,
        window_end=row.window_end,
        threshold_version_id=row.threshold_version_id,
        thresholds=row.thresholds,
        superseded_by=row.superseded_by,
        result=row.result,
        errors=row.errors or [],
        created_by=row.created_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        links={"self": f"/v1/runs/{row.id}", "leads": f"/v1/runs/{row.id}/leads"},
    )


_LEAD_FIELDS = tuple(k for k in LeadRead.model_fields if k not in ("evidence", "superseded"))


def lead_read(row: Lead, evidence: Sequence[LeadEvidenceLink], *, superseded: bool) -> LeadRead:
    return LeadRead(
        **{k: getattr(row, k) for k in _LEAD_FIELDS},
        superseded=superseded,
        evidence=[LeadEvidenceRead.model_validate(e, from_attributes=True) for e in evidence],
    )


def data_quality_read(row: DataQualityEntry) -> DataQualityRead:
    return DataQualityRead.model_validate(row, from_attributes=True)


class RunService:
    def __init__(self, session: AsyncSession, ctx: Context) -> None:
        self.session = session
        self.ctx = ctx
        self.repo = RunRepository(session)
        self.idempotency = Idempotency(idempotency)

    async def submit(
        self, principal: Principal, *, county_code: str, period: str, idempotency_key: str | None
    ) -> RunRead | Replayed:

        async def authorize() -> None:
            require_county_write(principal, county_code)
            check_period(period)

        attempt = await self.idempotency.begin(
            self.session,
            principal,
            route="POST /v1/runs",
            key=idempotency_key,
            payload={"county_code": county_code, "period": period},
            authorize=authorize,
        )
        if attempt.replay is not None:
            await self.session.rollback()
            return Replayed(attempt.replay)
        row = await create_run(
            self.session, self.ctx, county_code=county_code, period=period, trigger="api", created_by=principal.sub
        )
        await attempt.save(self.session, STORED_JOB_ACCEPTED, run_read(row).model_dump(mode="json"))
        await Auditor(self.session, SERVICE, principal).record(
            "screening.run.requested",
            "run",
            row.id,
            {"county_code": county_code, "period": period, "version": row.version},
        )
        await self.session.commit()
        await submit_run(self.ctx, row.id)
        fresh = await self.repo.get(row.id)
        assert fresh is not None
        return run_read(fresh)

    async def _run(self, principal: Principal, run_id: uuid.UUID) -> Run:
        row = await self.repo.get(run_id)
        if row is None or not sees_county(principal, row.county_code):
            raise NotFound("no such run")
        return row

    async def get(self, principal: Principal, run_id: uuid.UUID) -> RunRead:
        return run_read(await self._run(principal, run_id))

    async def list_runs(
        self,
        principal: Principal,
        *,
        county_code: str | None,
        period: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page[RunRead]:
        if county_code is not None:
            require_county_read(principal, county_code, "county")
        after = read_cursor(cursor, datetime.fromisoformat, uuid.UUID)
        rows = await self.repo.list_runs(
            county_code=county_code, county_prefix=principal.region[:6], period=period, after=after, limit=limit + 1
        )
        return Page[RunRead](
            items=[run_read(r) for r in rows[:limit]],
            next_cursor=next_cursor(rows, limit, lambda r: [r.created_at.isoformat(), str(r.id)]),
        )

    async def leads(
        self,
        principal: Principal,
        run_id: uuid.UUID,
        *,
        township_code: str | None,
        village_code: str | None,
        code: str | None,
        routing: str,
        cursor: str | None,
        limit: int,
    ) -> Page[LeadRead]:
        run = await self._run(principal, run_id)
        rows = await self.repo.leads(
            run_id,
            region_prefix=principal.region if len(principal.region) > 6 else "",
            township_code=township_code,
            village_code=village_code,
            code=code,
            routing=routing,
            after=read_cursor(cursor, str, int, uuid.UUID),
            limit=limit + 1,
        )
        evidence: dict[uuid.UUID, list[LeadEvidenceLink]] = {}
        for ev in await self.repo.evidence([r.id for r in rows]):
            evidence.setdefault(ev.lead_id, []).append(ev)
        superseded = run.superseded_by is not None
        return Page[LeadRead](
            items=[lead_read(r, evidence.get(r.id, []), superseded=superseded) for r in rows[:limit]],
            next_cursor=next_cursor(rows, limit, lambda r: [r.township_code, r.township_rank or 0, str(r.id)]),
        )

    async def data_quality(
        self,
        principal: Principal,
        run_id: uuid.UUID,
        *,
        village_code: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page[DataQualityRead]:
        """The households the run listed apart with no income on file (rules.md §1.3), in the caller's region."""
        await self._run(principal, run_id)
        typed = read_cursor(cursor, str, uuid.UUID)
        rows = await self.repo.data_quality(
            run_id,
            "no_income_on_file",
            region_prefix=principal.region if len(principal.region) > 6 else "",
            village_code=village_code,
            after=[str(v) for v in typed] if typed is not None else None,
            limit=limit + 1,
        )
        return Page[DataQualityRead](
            items=[data_quality_read(r) for r in rows[:limit]],
            next_cursor=next_cursor(rows, limit, lambda r: [r.village_code, str(r.household_id)]),
        )

    async def lead(self, principal: Principal, run_id: uuid.UUID, lead_id: uuid.UUID) -> LeadRead:
        run = await self._run(principal, run_id)
        row = await self.repo.lead(lead_id)
        if row is None or row.run_id != run_id or not principal.can_see(row.village_code):
            raise NotFound("no such lead")
        return lead_read(row, await self.repo.evidence([lead_id]), superseded=run.superseded_by is not None)


async def submit_run(ctx: Context, run_id: uuid.UUID) -> None:
    """Hand the queued run to the job runner (run_job, registered by jobs.py)."""
    await ctx.jobs.submit(JOB_KIND, run_id)


async def run_job(job: JobContext, ctx: Context) -> None:
    """The run job on the kernel's runner (shared/jobs.py), which holds the job's lock."""
    # progress rows are written from a second connection, which only a background job has
    persist = job.progress if job.runner.background else None
    async with job.session() as session:
        await execute_run(session, ctx, job.job_id, persist=persist)


async def run_now(ctx: Context, run_id: uuid.UUID, *, progress: StepProgress | None = None) -> Run:
    """Execute the run in this process, through the job runner (so it holds the job's lock like a
    service would), and return the finished run row; the run's failure is raised here."""
    outcome: dict[str, Any] = {}

    async def work(job: JobContext) -> None:
        try:
            async with job.session() as session:
                outcome["run"] = await execute_run(session, ctx, job.job_id, progress=progress)
        except Exception as exc:  # recorded on the run row by execute_run; the caller reports it
            outcome["error"] = exc

    await ctx.jobs.submit(JOB_KIND, run_id, work)
    if "error" in outcome:
        raise outcome["error"]
    if "run" not in outcome:
        raise Conflict("the run is being executed by another process", code="run_in_progress")
    return cast(Run, outcome["run"])


async def execute_run(
    session: AsyncSession,
    ctx: Context,
    run_id: uuid.UUID,
    *,
    progress: StepProgress | None = None,
    persist: Callable[[int], Awaitable[None]] | None = None,
) -> Run:
    """The job: the set-based screening of one county and period, in one transaction; a run no
    longer queued or running is left alone. The caller holds the job's lock (the job runner).

    Progress (step of steps) goes to `progress` (the CLI's bar) and, with `persist` (the job's
    progress reporter), to the run row in short transactions of its own so a poller sees it while
    the run is open.
    """
    repo = RunRepository(session)
    row = await repo.get(run_id)
    if row is None:
        raise NotFound("no such run")
    if row.status not in ("queued", "running"):
        await session.rollback()
        return row
    await repo.update_run(run_id, status="running", started_at=ctx.now(), progress_done=0)
    await session.commit()

    county, period = row.county_code, row.period
    year, _ = parse_period(period)
    window_start, window_end = row.window_start, row.window_end
    recorded = row.thresholds or {}
    thresholds = parse_thresholds({k: v for k, v in recorded.items() if k != "version"})
    timings: dict[str, float] = {}
    started = time.perf_counter()
    step_started = started

    async def step_done(index: int) -> None:
        nonlocal step_started
        now = time.perf_counter()
        timings[STEPS[index]] = round(now - step_started, 3)
        step_started = now
        if persist is not None and index + 1 < len(STEPS):
            await persist(index + 1)
        if progress is not None:
            await progress(index + 1, len(STEPS), STEPS[index])

    try:
        await repo.lock_county(county)
        await repo.set_work_mem(ctx.settings.run_work_mem)
        feeds = FeedRepository(session)
        stamp = ctx.now()
        rematched = await feeds.rematch_county(county, stamp)
        late_claims = 0
        if rematched:
            late_claims = await feeds.enqueue_claim_leads(
                county_code=county, reported=ctx.today(), request_id=request_id_var.get(), matched_at=stamp
            )
        await step_done(0)
        # rules.md §1.3 "Precisely": a run of P sees the data as of P. The first run of a period sees
        # what was registered when it ran; every re-run sees exactly that again (the first run's
        # cutoffs), whatever was registered later: income versions by the database clock that stamps
        # them, feed records by when they were matched to a household (the app clock that stamps
        # matched_at; a record received or matched later is not in it). Records that arrive after the
        # first run and are dated inside its window count in the next period's run.
        as_of = await repo.first_data_as_of(county, period)
        if as_of is None:
            registered = await repo.database_now()
            as_of = {"registry": registered.isoformat(), "feeds": stamp.isoformat(), "run_id": str(run_id)}
        registry_as_of = datetime.fromisoformat(as_of["registry"])
        feeds_as_of = datetime.fromisoformat(as_of["feeds"])
        await repo.evaluate(
            county, window_start, window_end, year, thresholds, registry_as_of=registry_as_of, feeds_as_of=feeds_as_of
        )
        await step_done(1)
        stats = await repo.write_leads(run_id, county, thresholds)
        await repo.record_data_quality(run_id, county)  # listed at /v1/runs/{id}/data-quality/no-income
        await step_done(2)
        evidence = await repo.record_evidence(county, window_start, window_end, feeds_as_of=feeds_as_of)
        await step_done(3)
        claims = await repo.enqueue_income_drop_claims(
            run_id, county, year, window_end, ctx.today(), request_id_var.get()
        )
        await repo.drop_work_tables()
        await step_done(4)
        superseded = await repo.supersede(county, period, run_id, ctx.now())
        households = stats.households
        no_members = stats.no_members
        result: dict[str, Any] = {
            "households": households,
            # a household with no income on file is evaluated on every code that does not need it
            "evaluated": households - no_members,
            "not_evaluated": {"no_members": no_members},
            "data_quality": {
                "no_income": stats.no_income,
                "no_income_by_village": stats.no_income_by_village,
            },
            "data_as_of": as_of,
            "leads": stats.leads,
            "case_evidence": stats.case_evidence,
            "leads_by_township": stats.by_township,
            "leads_by_code": stats.by_code,
            "evidence_links": evidence,
            "claim_leads": claims + late_claims,
            "rematched_feed_records": rematched,
            "superseded_runs": [str(s) for s in superseded],
            "threshold_version": recorded.get("version"),
            "seconds": dict(timings, total=round(time.perf_counter() - started, 3)),
        }
        await repo.update_run(
            run_id, status="succeeded", result=result, progress_done=len(STEPS), finished_at=ctx.now()
        )
        await session.commit()
        if progress is not None:
            await progress(len(STEPS), len(STEPS), STEPS[-1])
    except Exception as exc:
        await session.rollback()
        log_failure(log, "screening.run.failed", exc, run_id=str(run_id), county_code=county, period=period)
        await repo.update_run(
            run_id,
            status="failed",
            finished_at=ctx.now(),
            errors=[{"code": "run_failed", "message": f"the run failed ({type(exc).__name__}); run it again"}],
        )
        await session.commit()
        raise
    # the job's duration is observed by the kernel's runner (JOB_DURATION)
    JOB_ROWS.labels("screening", JOB_KIND, "households").inc(households)
    JOB_ROWS.labels("screening", JOB_KIND, "leads").inc(stats.leads)
    log.info(
        "screening.run.succeeded",
        run_id=str(run_id),
        county_code=county,
        period=period,
        households=households,
        leads=stats.leads,
        seconds=result["seconds"]["total"],
    )
    if claims or late_claims:
        ctx.wake_outbox()
    final = await repo.get(run_id)
    assert final is not None
    return final
