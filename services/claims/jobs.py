"""Background work of the claims service (a lifespan hook, off with FANGPIN_CLAIMS_SCHEDULER_ENABLED=false).

Every `scheduler_interval_seconds`: approve the claims whose notice window has ended without an
undecided objection, fetch the household facts of leads accepted while the registry was down,
and pick up simulation jobs left queued by a process that went away. All are safe to run on
several replicas at once (each claim is changed under its lock, each job claimed atomically).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

from fastapi import FastAPI

from services.claims.api.schemas import AdvanceResult
from services.claims.clients.registry import RegistryClient
from services.claims.config import ClaimsSettings
from services.claims.db.claim_repository import ClaimRepository
from services.claims.service.claims import ClaimService
from services.claims.service.common import Runtime
from services.claims.service.notices import advance_notices
from services.claims.service.simulations import resume_simulations
from shared.clock import BusinessClock
from shared.db import create_engine, create_sessionmaker
from shared.errors import ServiceUnavailable
from shared.http import ServiceClient
from shared.logging import get_logger, log_failure

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


async def run_once(runtime: Runtime) -> None:
    await advance_notices(runtime.sessionmaker, runtime, runtime.today())
    await refresh_pending_facts(runtime)
    await resume_simulations(runtime.sessionmaker)


async def _loop(runtime: Runtime, interval: float) -> None:
    await asyncio.sleep(min(interval, 5.0))
    while True:
        try:
            await run_once(runtime)
        except Exception as exc:
            log_failure(log, "claims.scheduler.round_failed", exc)
        await asyncio.sleep(interval)


@asynccontextmanager
async def scheduler(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings
    if not getattr(settings, "scheduler_enabled", False):
        yield
        return
    # captured now: the engine's sessionmaker, whatever a test later swaps into app.state
    runtime = Runtime.from_app(app)
    task = asyncio.create_task(_loop(runtime, settings.scheduler_interval_seconds), name="claims-scheduler")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


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
