"""Jobs (feed batches, screening runs): a row that says how far the work got, and the work.

The row is committed by the request that submits it (status `queued`); the work runs in a
background task of the service (or, on an instance without background workers, inside the
request itself). Each execution first takes a transaction-scoped advisory lock on the job and
re-reads its status, so a job is executed once even when a restart's recovery and the original
task race; after a crash, `recover` finds queued or running jobs that nobody holds and runs them
again (both kinds of work are safe to repeat from the start).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.logging import get_logger, log_failure

log = get_logger("fangpin.screening.jobs")

JobWork = Callable[[AsyncSession], Awaitable[None]]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


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
