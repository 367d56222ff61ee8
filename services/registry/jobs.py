"""Background jobs (imports, exports) inside the service process.

A job's row is committed before its work starts; the work runs in its own transaction(s) as an
asyncio task tracked here, so shutdown can wait for it and tests can await it (`drain`). A job
whose process died stops heartbeating; at startup such jobs are marked failed, so no client
polls forever. (The uploaded file is never stored, since it holds plain ID numbers: an
interrupted import is re-submitted, which is safe because nothing of it was committed.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.db.export_job_repository import ExportJobRepository
from services.registry.db.import_job_repository import ImportJobRepository
from shared.logging import get_logger

log = get_logger("fangpin.registry.jobs")

STALE_AFTER_SECONDS = 15 * 60


class JobRunner:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for every job started so far (tests; graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def shutdown(self, grace_seconds: float) -> None:
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(list(self._tasks), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(BaseException):
                await task


async def fail_stale_jobs(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        message = "interrupted: the service stopped; submit it again"
        count = await ImportJobRepository(session).fail_stale(older_than_seconds=STALE_AFTER_SECONDS, message=message)
        count += await ExportJobRepository(session).fail_stale(older_than_seconds=STALE_AFTER_SECONDS, message=message)
        await session.commit()
    return count


@asynccontextmanager
async def registry_lifespan(app: FastAPI) -> AsyncIterator[None]:
    if app.state.pii is None:
        raise RuntimeError("the registry needs FANGPIN_PII_KEY and FANGPIN_PII_INDEX_KEY (base64, 32 bytes)")
    runner = JobRunner()
    app.state.registry_jobs = runner
    try:
        stale = await fail_stale_jobs(app.state.sessionmaker)
        if stale:
            log.warning("registry.jobs.stale_failed", count=stale)
    except Exception as exc:  # the database may come up later; /readyz reports it
        log.warning("registry.jobs.stale_check_failed", error_type=type(exc).__name__)
    try:
        yield
    finally:
        await runner.shutdown(app.state.settings.job_shutdown_grace_seconds)
