"""What every use case needs: the request's session and the app's resources, scope checks,
error mapping from the domain, the audit call."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.screening.config import ScreeningSettings
from services.screening.domain.errors import ThresholdsInvalid, TransitionRefused
from shared.app import wake_outbox
from shared.auth import Principal
from shared.clock import BusinessClock
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ServiceUnavailable, Unprocessable
from shared.logging import get_logger, log_failure
from shared.pii import PiiCipher

SERVICE = "screening"

log = get_logger("fangpin.screening.jobs")


# --- jobs (feed batches, screening runs) ------------------------------------------------------
#
# A job is a row that says how far the work got, and the work. The row is committed by the
# request that submits it (status `queued`); the work runs in a background task of the service
# (or, on an instance without background workers, inside the request itself). Each execution
# first takes a transaction-scoped advisory lock on the job and re-reads its status, so a job is
# executed once even when a restart's recovery and the original task race; after a crash,
# jobs.py's recovery finds queued or running jobs that nobody holds and runs them again (both
# kinds of work are safe to repeat from the start).

JobWork = Callable[[AsyncSession], Awaitable[None]]


def job_lock_key(kind: str, job_id: uuid.UUID) -> Any:
    return func.hashtextextended(f"screening-job:{kind}:{job_id}", 0)


async def lock_job(session: AsyncSession, kind: str, job_id: uuid.UUID) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(job_lock_key(kind, job_id))))


async def try_lock_job(session: AsyncSession, kind: str, job_id: uuid.UUID) -> bool:
    return bool((await session.execute(select(func.pg_try_advisory_xact_lock(job_lock_key(kind, job_id))))).scalar())


class JobRunner:
    """Runs job work in the background, or inline when background workers are off."""

    def __init__(self, sessionmaker: Callable[[], async_sessionmaker[AsyncSession]], *, background: bool) -> None:
        # a callable so a test that swaps app.state.sessionmaker is followed
        self._sessionmaker = sessionmaker
        self.background = background
        self._tasks: set[asyncio.Task[None]] = set()

    def new_session(self) -> AsyncSession:
        return self._sessionmaker()()

    async def submit(self, name: str, job_id: uuid.UUID, work: JobWork) -> None:
        if not self.background:
            await self._execute(name, job_id, work)
            return
        task = asyncio.create_task(self._execute(name, job_id, work), name=f"screening-{name}-{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, name: str, job_id: uuid.UUID, work: JobWork) -> None:
        try:
            async with self._sessionmaker()() as session:
                await work(session)
        except asyncio.CancelledError:
            log.warning("screening.job.cancelled", job=name, job_id=str(job_id))
            raise
        except Exception as exc:
            # the work records its own failure on the job row; this is the last resort
            log_failure(log, "screening.job.crashed", exc, job=name, job_id=str(job_id))

    async def stop(self, grace_seconds: float = 20.0) -> None:
        """Let running jobs finish for a while, then cancel; an interrupted job is recovered later."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)


async def orphaned_jobs(session: AsyncSession, table: Table, kind: str, older_than_seconds: float) -> list[uuid.UUID]:
    """Queued or running jobs that no one holds: their task died with its process."""
    rows = (
        (
            await session.execute(
                select(table.c.id).where(
                    table.c.status.in_(("queued", "running")),
                    table.c.created_at < func.now() - text(f"interval '{int(older_than_seconds)} seconds'"),
                )
            )
        )
        .scalars()
        .all()
    )
    orphans = []
    for job_id in rows:
        if await try_lock_job(session, kind, job_id):
            orphans.append(job_id)
    await session.rollback()  # release the probe locks
    return orphans


@dataclass
class Context:
    """Resources of one request (or one job, or one CLI call)."""

    settings: ScreeningSettings
    pii: PiiCipher | None
    clock: BusinessClock
    jobs: JobRunner
    app: FastAPI | None = None

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        """The county's business date (shared/clock.py)."""
        return self.clock.today()

    def cipher(self) -> PiiCipher:
        if self.pii is None:
            raise ServiceUnavailable(
                "personal-data keys are not configured (FANGPIN_PII_KEY, FANGPIN_PII_INDEX_KEY)",
                code="pii_keys_missing",
            )
        return self.pii

    def wake_outbox(self) -> None:
        if self.app is not None:
            wake_outbox(self.app)


def context_from_app(app: FastAPI) -> Context:
    return Context(
        settings=app.state.settings,
        pii=app.state.pii,
        clock=app.state.clock,
        jobs=app.state.jobs,
        app=app,
    )


# --- scope ----------------------------------------------------------------------------------


def sees_county(principal: Principal, county_code: str) -> bool:
    """The caller's region and the county overlap: it covers the county or lies inside it."""
    return county_code.startswith(principal.region) or principal.region.startswith(county_code)


def require_county_read(principal: Principal, county_code: str, what: str = "resource") -> None:
    if not sees_county(principal, county_code):
        raise NotFound(f"no such {what} in your region", code="not_found")


def require_county_write(principal: Principal, county_code: str) -> None:
    """Writes to a county-wide resource need a region covering the whole county."""
    if not principal.can_see(county_code):
        raise Forbidden(
            f"county {county_code} is outside your region {principal.region or '(all)'}", code="out_of_scope"
        )


# --- errors ---------------------------------------------------------------------------------


def thresholds_invalid(exc: ThresholdsInvalid, prefix: str = "values") -> Unprocessable:
    return Unprocessable(
        "the thresholds are not valid",
        code="invalid_thresholds",
        errors=[FieldError(field=f"{prefix}.{e.field}", message=e.message) for e in exc.errors],
    )


def transition_refused(exc: TransitionRefused) -> Conflict:
    return Conflict(
        exc.message,
        code=exc.code,
        errors=[FieldError(field=f"evidence.{f}", message=exc.message, code=exc.code) for f in exc.fields] or None,
    )
