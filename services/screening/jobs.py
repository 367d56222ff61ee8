"""The service's background jobs and schedules: the job runner (feed batches and screening runs,
service/common.py) and the recovery of jobs a crash interrupted, as lifespan hooks; and the monthly
scheduler that starts the previous month's run on the configured day (default the 5th, so the
suggested lists reach townships before the 10th)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI

from services.screening.config import ScreeningSettings
from services.screening.db.runs_repository import RunRepository
from services.screening.db.tables import feed_batch, run
from services.screening.db.thresholds_repository import ThresholdRepository
from services.screening.domain.calendar import add_months
from services.screening.service import feeds as feed_jobs
from services.screening.service import runs as run_jobs
from services.screening.service.common import JobRunner, context_from_app, orphaned_jobs
from shared.clock import BusinessClock
from shared.logging import get_logger, log_failure

log = get_logger("fangpin.screening.workers")

ORPHAN_AFTER_SECONDS = 60.0
MAX_SCHEDULED_ATTEMPTS = 3  # a period whose scheduled run failed this often waits for a person


@asynccontextmanager
async def job_runner(app: FastAPI) -> AsyncIterator[None]:
    settings: ScreeningSettings = app.state.settings
    app.state.jobs = JobRunner(lambda: app.state.sessionmaker, background=settings.workers_on)
    try:
        yield
    finally:
        await app.state.jobs.stop()


async def recover_jobs(app: FastAPI) -> int:
    """Run again the jobs whose task died with its process (nobody holds their lock)."""
    ctx = context_from_app(app)
    recovered = 0
    async with app.state.sessionmaker() as session:
        batches = await orphaned_jobs(session, feed_batch, feed_jobs.JOB_KIND, ORPHAN_AFTER_SECONDS)
        runs = await orphaned_jobs(session, run, run_jobs.JOB_KIND, ORPHAN_AFTER_SECONDS)
    for batch_id in batches:
        log.warning("screening.job.recovered", job=feed_jobs.JOB_KIND, job_id=str(batch_id))
        await ctx.jobs.submit(feed_jobs.JOB_KIND, batch_id, lambda s, b=batch_id: feed_jobs.process_batch(s, ctx, b))  # type: ignore[misc]
        recovered += 1
    for run_id in runs:
        log.warning("screening.job.recovered", job=run_jobs.JOB_KIND, job_id=str(run_id))
        await run_jobs.submit_run(ctx, run_id)
        recovered += 1
    return recovered


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
        log.info("screening.run.scheduled", county_code=county, period=period, run_id=str(row["id"]))
        await run_jobs.submit_run(ctx, row["id"])
        started.append(row["id"])
    return started


async def _schedule_loop(app: FastAPI) -> None:
    settings: ScreeningSettings = app.state.settings
    while True:
        try:
            await recover_jobs(app)
            await schedule_tick(app)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log_failure(log, "screening.scheduler.tick_failed", exc)
        await asyncio.sleep(settings.schedule_check_seconds)


@asynccontextmanager
async def scheduler(app: FastAPI) -> AsyncIterator[None]:
    settings: ScreeningSettings = app.state.settings
    task: asyncio.Task[None] | None = None
    if settings.scheduler_on:
        task = asyncio.create_task(_schedule_loop(app), name="screening-scheduler")
    elif settings.workers_on:
        task = asyncio.create_task(recover_jobs(app), name="screening-recovery")  # type: ignore[arg-type]
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
