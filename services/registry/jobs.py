"""The registry's background jobs (imports, exports) on the kernel's job runner (shared/jobs.py).

A job's row is committed before its work starts; the work runs in its own transaction(s) under the
job's advisory lock, as a task the runner tracks, so shutdown can wait for it and tests can await
it (`app.state.jobs.drain()`). A job whose process died holds no lock any more: at the next start
the runner fails it, so no client polls forever. Neither kind is resumed: the uploaded file is never
stored, since it holds plain ID numbers, so an interrupted import is re-submitted (safe, nothing of
it was committed), and an export is requested again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from services.registry.db.tables import export_job, import_job
from services.registry.service.imports import ParsePool, default_parse_processes
from shared.jobs import JobKind, JobRunner, JobWork
from shared.logging import get_logger, log_failure

log = get_logger("fangpin.registry.jobs")

SERVICE = "registry"

# An orphan is failed once its heartbeat is this old (a running job heartbeats with each progress
# update; a queued one since it was accepted), and only if no process holds its lock.
ORPHAN_AFTER = timedelta(minutes=15)

IMPORT = JobKind(
    "import",
    import_job,
    since="heartbeat_at",
    heartbeat="heartbeat_at",
    progress=None,
    orphan_after=ORPHAN_AFTER,
    failure=lambda: {"failure": "interrupted: the service stopped; submit it again"},
)
EXPORT = JobKind(
    "export",
    export_job,
    since="heartbeat_at",
    heartbeat="heartbeat_at",
    progress=None,
    orphan_after=ORPHAN_AFTER,
    failure=lambda: {"failure": "interrupted: the service stopped; request the export again"},
)
KINDS = (IMPORT, EXPORT)


def job_runner(app: FastAPI, *, background: bool = True) -> JobRunner:
    runner = JobRunner(
        SERVICE,
        lambda: app.state.sessionmaker,
        background=background,
        grace_seconds=app.state.settings.job_shutdown_grace_seconds,
    )
    runner.register(*KINDS)
    return runner


async def start(runner: JobRunner, kind: str, job_id: uuid.UUID, work: JobWork, *, wait: bool) -> None:
    """Run a job in the background, or now when the caller waits for it (`wait=true`): either way
    under the job's lock and timed by the runner."""
    if not wait:
        await runner.submit(kind, job_id, work)
        return
    inline = JobRunner(SERVICE, runner.sessions, background=False, grace_seconds=runner.grace_seconds)
    inline.register(runner.kinds[kind])
    await inline.submit(kind, job_id, work)


@asynccontextmanager
async def registry_lifespan(app: FastAPI) -> AsyncIterator[None]:
    if app.state.pii is None:
        raise RuntimeError("the registry needs FANGPIN_PII_KEY and FANGPIN_PII_INDEX_KEY (base64, 32 bytes)")
    runner = job_runner(app)
    # Orphans are failed before the first request (as the registry always did), not in a task
    # racing it: a test harness that rebinds the sessions per test must not see it mid-test.
    try:
        await runner.recover()
    except Exception as exc:  # the database may come up later; /readyz reports it
        log_failure(log, "registry.jobs.recovery_failed", exc, level="warning")
    settings = app.state.settings
    processes = settings.import_parse_processes
    if processes is None:
        processes = default_parse_processes()
        log.info("registry.import.parse_processes", processes=processes, source="usable CPUs")
    app.state.parse_pool = pool = ParsePool(processes)
    if settings.import_parse_warm_start:
        pool.warm()
    try:
        async with runner.serving(app, recover_at_start=False):  # app.state.jobs; jobs drained at exit
            yield
    finally:
        await asyncio.to_thread(pool.shutdown)  # after the jobs: none is parsing any more
