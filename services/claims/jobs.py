"""Background work of the claims service, on the kernel's job runner (shared/jobs.py).

Jobs: a simulation (`POST /v1/simulations` commits the queued row, then submits it). The
scheduler (off with FANGPIN_CLAIMS_SCHEDULER_ENABLED=false), every `scheduler_interval_seconds`:
approve the claims whose notice window has ended without an undecided objection, fetch the
household facts of leads accepted while the registry was down, bring the registry's insured
households of the year into the enrolments (the registry is the one truth), and recover simulations whose
process went away (queued ones run, running ones fail). All are safe to run on several replicas
at once (each claim is changed under its lock, each job runs under its advisory lock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

from fastapi import FastAPI

from services.claims.api.schemas import AdvanceResult
from services.claims.clients.registry import RegistryClient
from services.claims.config import ClaimsSettings
from services.claims.db.claim_repository import ClaimRepository
from services.claims.db.tables import simulation
from services.claims.service.claims import ClaimService
from services.claims.service.common import Runtime
from services.claims.service.notices import advance_notices
from services.claims.service.schemes import sync_insured
from services.claims.service.simulations import run_simulation
from shared.clock import BusinessClock
from shared.db import create_engine, create_sessionmaker
from shared.errors import ServiceUnavailable
from shared.http import ServiceClient
from shared.jobs import JobContext, JobKind, JobRunner
from shared.logging import get_logger

log = get_logger("fangpin.claims.scheduler")

FACTS_PER_ROUND = 200


async def refresh_pending_facts(runtime: Runtime, limit: int = FACTS_PER_ROUND) -> int:
    """Freeze the facts of claims accepted without them; stops at the first registry outage."""
    async with runtime.sessionmaker() as session:
        pending = await ClaimRepository(session).pending_facts(limit)
    done = 0
    for claim_id in pending:
        async with runtime.sessionmaker() as session:
            try:
                if await ClaimService(session, runtime).refresh_facts(claim_id):
                    done += 1
            except ServiceUnavailable:
                log.info("claims.facts.registry_still_down", pending=len(pending) - done)
                break
    return done


async def run_simulation_job(job: JobContext) -> None:
    await run_simulation(job.runner.sessions(), job.job_id)


SIMULATION = JobKind(
    "simulation",
    simulation,
    work=run_simulation_job,
    # a queued orphan is run (the work claims it queued -> running atomically); a running one whose
    # process died is failed: the caller submits it again
    resume_queued=True,
    resume_running=False,
    since="created_at",
    failure=lambda: {"errors": ["interrupted (the service restarted); submit it again"]},
)


async def run_once(runtime: Runtime, jobs: JobRunner | None = None) -> None:
    """One scheduler round: approvals, pending facts, and (given the runner) orphaned simulations."""
    await advance_notices(runtime.sessionmaker, runtime, runtime.today())
    await refresh_pending_facts(runtime)
    await sync_insured(runtime.sessionmaker, runtime.today().year)
    if jobs is not None:
        await jobs.recover()


@asynccontextmanager
async def background_jobs(app: FastAPI) -> AsyncIterator[None]:
    """The lifespan hook: the kernel's job runner as `app.state.jobs` (simulations), and the
    scheduler round every `scheduler_interval_seconds` when the scheduler is on."""
    settings = app.state.settings
    runner = JobRunner("claims", lambda: app.state.sessionmaker, background=settings.workers_on)
    runner.register(SIMULATION)
    enabled = bool(getattr(settings, "scheduler_enabled", False))
    if enabled:
        # captured now: the engine's sessionmaker, whatever a test later swaps into app.state
        runtime = Runtime.from_app(app)
        interval = settings.scheduler_interval_seconds
        runner.every("scheduler", interval, lambda: run_once(runtime, runner), first_delay=min(interval, 5.0))
    async with runner.serving(app, recover_at_start=enabled):
        yield


async def advance_from_cli(database_url: str, today: date | None = None) -> AdvanceResult:
    """`fangpin advance-notices`: one approval round, outside the service (cron, or by hand)."""
    settings = ClaimsSettings(database_url=database_url)
    engine = create_engine(settings, application_name="fangpin-advance-notices")
    client = ServiceClient("registry", settings.peer_url("registry"), token_provider=lambda: "")
    try:
        runtime = Runtime(
            settings=settings,
            registry=RegistryClient(client),
            pii=None,
            sessionmaker=create_sessionmaker(engine),
            clock=BusinessClock(settings.timezone, today=today or settings.today),
        )
        return await advance_notices(runtime.sessionmaker, runtime, runtime.today())
    finally:
        await client.aclose()
        await engine.dispose()
