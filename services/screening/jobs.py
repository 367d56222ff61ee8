"""The service's background jobs and schedules, on the kernel's job runner (shared/jobs.py): feed
batches and screening runs (the work is in service/feeds.py and service/runs.py), the recovery of
jobs a crash interrupted, and the monthly scheduler that starts the previous month's run on the
configured day (default the 5th, so the suggested lists reach townships before the 10th)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from fastapi import FastAPI

from services.screening.config import ScreeningSettings
from services.screening.db.runs_repository import RunRepository
from services.screening.db.tables import feed_batch, run
from services.screening.db.thresholds_repository import ThresholdRepository
from services.screening.domain.calendar import add_months
from services.screening.service import feeds as feed_jobs
from services.screening.service import runs as run_jobs
from services.screening.service.common import SERVICE, Context, context_from_app
from shared.clock import BusinessClock
from shared.jobs import JobKind, JobRunner, Sessions
from shared.logging import get_logger

log = get_logger("fangpin.screening.jobs")

#: A queued or running job younger than this may be a submit whose task has not started yet.
ORPHAN_AFTER = timedelta(seconds=60)
MAX_SCHEDULED_ATTEMPTS = 3  # a period whose scheduled run failed this often waits for a person


def job_runner_for(
    sessions: Sessions, *, background: bool, context: Callable[[], Context], grace_seconds: float = 20.0
) -> JobRunner:
    """The kernel's job runner with screening's two kinds of job. Both are safe to repeat from the
    start, so an orphan (its process died: nobody holds its lock) is run again, queued or running.
    `context` gives the use cases' resources when a job starts."""
    runner = JobRunner(SERVICE, sessions, background=background, grace_seconds=grace_seconds)
    runner.register(
        JobKind(
            feed_jobs.JOB_KIND,
            feed_batch,
            work=lambda job: feed_jobs.batch_job(job, context()),
            resume_queued=True,
            resume_running=True,
            orphan_after=ORPHAN_AFTER,
        ),
        JobKind(
            run_jobs.JOB_KIND,
            run,
            work=lambda job: run_jobs.run_job(job, context()),
            resume_queued=True,
            resume_running=True,
            orphan_after=ORPHAN_AFTER,
        ),
    )
    return runner


@asynccontextmanager
async def jobs(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan hook: `app.state.jobs`; orphans recovered at start (background workers) and, with
    the scheduler on, in every scheduler round before the monthly runs are started."""
    settings: ScreeningSettings = app.state.settings
    runner = job_runner_for(
        lambda: app.state.sessionmaker, background=settings.workers_on, context=lambda: context_from_app(app)
    )
    if settings.scheduler_on:

        async def tick() -> None:
            await recover_jobs(app)
            await schedule_tick(app)

        runner.every("monthly-run", settings.schedule_check_seconds, tick)
    # the scheduler's first round (at once) recovers; without it, the runner does at start
    async with runner.serving(app, recover_at_start=not settings.scheduler_on):
        yield


async def recover_jobs(app: FastAPI) -> int:
    """Run again the jobs whose task died with its process (nobody holds their lock); how many."""
    runner: JobRunner = app.state.jobs
    return len((await runner.recover()).resumed)


def period_due(now: datetime, schedule_day: int, clock: BusinessClock | None = None) -> str | None:
    """The period the scheduler runs on `now` (the county's date by the business clock, default
    time zone without one): last month, from the schedule day on."""
    today = (clock or BusinessClock()).local_date(now)
    if today.day < schedule_day:
        return None
    previous = add_months(today.replace(day=1), -1)
    return f"{previous.year:04d}-{previous.month:02d}"


async def schedule_tick(app: FastAPI, now: datetime | None = None) -> list[uuid.UUID]:
    """Start the due monthly run of every county that has none for the period yet."""
    settings: ScreeningSettings = app.state.settings
    ctx = context_from_app(app)
    period = period_due(now or ctx.now(), settings.schedule_day, ctx.clock)
    if period is None:
        return []
    started: list[uuid.UUID] = []
    async with app.state.sessionmaker() as session:
        counties = list(settings.scheduled_counties) or await ThresholdRepository(session).counties_in_use()
        await session.rollback()
    for county in counties:
        async with app.state.sessionmaker() as session:
            runs = RunRepository(session)
            if not await runs.try_lock_schedule(county, period):
                continue  # another replica is on it
            if await runs.has_run(county, period):
                await session.rollback()
                continue
            if await runs.failed_runs(county, period, "scheduler") >= MAX_SCHEDULED_ATTEMPTS:
                log.error("screening.run.schedule_gave_up", county_code=county, period=period)
                await session.rollback()
                continue
            row = await run_jobs.create_run(
                session, ctx, county_code=county, period=period, trigger="scheduler", created_by="service:scheduler"
            )
            await session.commit()
        log.info("screening.run.scheduled", county_code=county, period=period, run_id=str(row.id))
        await run_jobs.submit_run(ctx, row.id)
        started.append(row.id)
    return started
