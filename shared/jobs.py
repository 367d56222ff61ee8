"""One job runner for the three services: background work with a job row, progress, recovery, locks.

It replaces registry `jobs.py` JobRunner (+ `fail_stale_jobs`), screening `jobs.py` JobRunner (+
`orphaned_jobs`, `lock_job`, `recover_jobs`, the scheduler loop) and claims' `BackgroundTasks`
for simulations (+ `resume_simulations` and the scheduler loop of claims `jobs.py`).

The model. A job is a row in a service table with at least ``id``, ``status`` (``queued`` →
``running`` → ``succeeded``/``failed``) and ``created_at``. The request that accepts a job commits
the row (``queued``), then hands the work to the runner. While the work runs, the runner holds a
session-level advisory lock on the job's key (``"<service>-job:<kind>:<id>"``, hashed with
``hashtextextended`` — the key screening used, so replicas of two versions agree) on a connection of
its own, so the lock lasts the whole job whatever the work commits, and dies with the process. So:

- a second execution of the same job (a recovery racing the original task, a second replica)
  finds the lock taken and does nothing;
- a ``queued``/``running`` row whose lock nobody holds belongs to a dead process: an orphan.

At start (and whenever `recover()` is called, e.g. each scheduler round) every registered kind's
orphans older than ``orphan_after`` are resumed (run again from the start: the work must be safe
to repeat) or failed (``status='failed'``, ``finished_at=now()`` and the kind's failure columns),
``queued`` and ``running`` each by its own policy.

Adoption guide (per service, in its ``jobs.py``)::

    from shared.jobs import JobKind, JobRunner

    FEED_BATCH = JobKind("feed_batch", feed_batch_table, work=process_batch,           # screening
                         resume_queued=True, resume_running=True)
    SIMULATION = JobKind("simulation", simulation_table, work=run_simulation,           # claims
                         resume_queued=True, resume_running=False, since="created_at",
                         failure=lambda: {"errors": ["interrupted (the service restarted); submit it again"]})
    IMPORT = JobKind("import", import_job_table, since="heartbeat_at", heartbeat="heartbeat_at",
                     progress=None, orphan_after=timedelta(minutes=15),                  # registry:
                     failure=lambda: {"failure": "interrupted: the service stopped; submit it again"})
                     # not resumable (the upload is not stored): orphans of both states fail

    @asynccontextmanager
    async def jobs(app: FastAPI) -> AsyncIterator[None]:          # a lifespan hook of build_app
        runner = JobRunner("screening", lambda: app.state.sessionmaker,
                           background=settings.workers_on, grace_seconds=settings.job_shutdown_grace_seconds)
        runner.register(FEED_BATCH, RUN)
        if settings.scheduler_on:
            runner.every("monthly-run", settings.schedule_check_seconds, lambda: schedule_tick(app))
        async with runner.serving(app):   # app.state.jobs = runner; recovery at start; stop at exit
            yield

    # a route / use case, after committing the queued row:
    await request.app.state.jobs.submit("feed_batch", batch_id)               # the kind's work
    await runner.submit("import", job_id, lambda job: run_import(job, spooled_file))  # per-job closure

    # the work: async def process_batch(job: JobContext) -> None
    async with job.session() as session: ...                 # its own transactions, commits as it goes
    await job.progress(done, total)                          # progress_done/_total (+ heartbeat), own txn

What each service drops when adopting:

- **screening**: `JobRunner`, `orphaned_jobs`, `lock_job`/`try_lock_job` on jobs, `recover_jobs`,
  the `_schedule_loop`/`scheduler` hooks. Remove the work's own ``lock_job(session, ...)`` calls:
  the runner's lock is on another connection, so a work that also waits for the job's lock in its
  own session would wait for ever (in the tests' one shared connection it would not show). Keep
  re-reading the status at the start (a job already ``succeeded`` is left alone). The schedule's
  per-(county, period) lock stays an xact lock in the tick: `try_xact_lock(session, key)`.
  `_persist_progress` becomes `job.progress`; the CLI's progress bar is ``on_progress=``.
- **claims**: the `BackgroundTasks` parameter of ``POST /v1/simulations`` (the OpenAPI document does not
  change: FastAPI does not document it) becomes ``jobs.submit("simulation", job.id)``;
  `resume_simulations` and the scheduler's call of it go (the atomic queued → running claim in
  `run_simulation` may stay; it is harmless). The failure after 6 hours of ``running`` becomes: a
  ``running`` simulation whose lock nobody holds is failed once it is ``orphan_after`` old.
  The scheduler round is ``runner.every("scheduler", interval, run_once, first_delay=5)``.
  `JOB_DURATION` is observed by the runner: drop the service's own observation.
- **registry**: `JobRunner` (``spawn``/``drain``/``shutdown`` keep their meaning: ``spawn`` is
  there for work with no job row), `fail_stale_jobs` (and the repositories' ``fail_stale``): an
  import or export whose process died is failed at the next start — found by its lock, not by a
  15-minute-old heartbeat, as long as it is ``orphan_after`` old (``since`` = ``heartbeat_at``).
  ``app.state.registry_jobs`` becomes ``app.state.jobs`` (tests call ``drain()`` on it).

Advisory locks for anything else that must run once across processes: `advisory_lock(sessions,
key)` (held for a block, its own connection) and `try_xact_lock(session, key)` (until the end of
the session's transaction).

Test harness note: the tests bind every session to one connection, so every lock attempt comes
from one backend and succeeds (PostgreSQL advisory locks are re-entrant). Tests of "another process
holds it" open their own engine (tests/kernel/test_jobs.py does).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from shared.logging import get_logger, log_failure
from shared.metrics import JOB_DURATION

log = get_logger("fangpin.jobs")

Sessions = Callable[[], async_sessionmaker[AsyncSession]]
"""Where sessions come from, asked each time (a test that swaps ``app.state.sessionmaker`` is followed)."""

ProgressListener = Callable[[int, int | None], Awaitable[None]]
ACTIVE = ("queued", "running")


# --------------------------------------------------------------------------- advisory locks


def _key(key: str) -> Any:
    return func.hashtextextended(key, 0)


def job_key(service: str, kind: str, job_id: uuid.UUID | str) -> str:
    """The lock key of one job: ``"screening-job:run:<id>"``."""
    return f"{service}-job:{kind}:{job_id}"


async def try_xact_lock(session: AsyncSession, key: str) -> bool:
    """Take ``key`` until the end of the session's transaction if nobody holds it; never waits."""
    return bool((await session.execute(select(func.pg_try_advisory_xact_lock(_key(key))))).scalar())


async def xact_lock(session: AsyncSession, key: str) -> None:
    """Take ``key`` until the end of the session's transaction, waiting for its holder."""
    await session.execute(select(func.pg_advisory_xact_lock(_key(key))))


@asynccontextmanager
async def advisory_lock(sessions: async_sessionmaker[AsyncSession], key: str) -> AsyncIterator[bool]:
    """Hold ``key`` for the block if nobody holds it: yields whether it is ours.

    A session-level lock on a connection of its own, outside any transaction (so no
    idle-in-transaction connection), released at the end of the block; if the release fails the
    connection is thrown away, which releases it too. When the sessions are bound to a connection
    rather than an engine (the tests), that connection is used.
    """
    bind = sessions.kw.get("bind")
    own = isinstance(bind, AsyncEngine)
    if isinstance(bind, AsyncEngine):
        conn = await bind.connect()
    elif isinstance(bind, AsyncConnection):
        conn = bind
    else:
        raise TypeError("advisory_lock needs a sessionmaker bound to an engine or a connection")
    got = False
    try:
        got = bool((await conn.execute(select(func.pg_try_advisory_lock(_key(key))))).scalar())
        if own:
            await conn.commit()
        yield got
    finally:
        try:
            if got:
                await conn.execute(select(func.pg_advisory_unlock(_key(key))))
                if own:
                    await conn.commit()
        except BaseException:
            if own:
                await conn.invalidate()
            raise
        finally:
            if own:
                await conn.close()


# --------------------------------------------------------------------------- kinds and context


class JobWork(Protocol):
    def __call__(self, job: JobContext, /) -> Awaitable[None]: ...


@dataclass(frozen=True)
class JobKind:
    """One kind of job: its table, its work and what recovery does with its orphans."""

    name: str
    table: Table
    work: JobWork | None = None  # needed to resume; a submit may also pass a per-job closure
    resume_queued: bool = False  # an orphan still queued: run it (True) or fail it
    resume_running: bool = False  # an orphan left running: run it again from the start, or fail it
    orphan_after: timedelta = timedelta(seconds=60)  # younger rows may be a submit not yet started
    since: str = "created_at"  # the column the age is measured on
    failure: Callable[[], Mapping[str, Any]] = dict  # extra columns of a failed orphan
    progress: tuple[str, str] | None = ("progress_done", "progress_total")
    heartbeat: str | None = None  # a column set to now() with each progress report

    def __post_init__(self) -> None:
        if (self.resume_queued or self.resume_running) and self.work is None:
            raise ValueError(f"job kind {self.name!r} resumes orphans, so it needs its work")


@dataclass
class JobContext:
    """What a job's work gets: its id, sessions, and a progress reporter."""

    runner: JobRunner
    kind: JobKind
    job_id: uuid.UUID
    on_progress: ProgressListener | None = None

    def session(self) -> AsyncSession:
        return self.runner.sessions()()

    async def progress(self, done: int, total: int | None = None, *, session: AsyncSession | None = None) -> None:
        """Record how far the job got: in ``session`` (no commit), else in a transaction of its own.

        Give the work's session when it has written the job row in an open transaction (a
        transaction of its own would wait for that row lock).
        """
        values: dict[str, Any] = {}
        if self.kind.progress is not None:
            values[self.kind.progress[0]] = done
            if total is not None:
                values[self.kind.progress[1]] = total
        if self.kind.heartbeat is not None:
            values[self.kind.heartbeat] = func.now()
        if values:
            statement = update(self.kind.table).where(self.kind.table.c.id == self.job_id).values(**values)
            if session is not None:
                await session.execute(statement)
            else:
                async with self.session() as own:
                    await own.execute(statement)
                    await own.commit()
        if self.on_progress is not None:
            await self.on_progress(done, total)


@dataclass
class Recovery:
    resumed: list[tuple[str, uuid.UUID]] = field(default_factory=list)
    failed: list[tuple[str, uuid.UUID]] = field(default_factory=list)


class _HasState(Protocol):
    state: Any


# --------------------------------------------------------------------------- the runner


class JobRunner:
    """Runs jobs as tasks of the service process (or inline), holds their locks, recovers orphans."""

    def __init__(
        self,
        service: str,
        sessions: Sessions | async_sessionmaker[AsyncSession],
        *,
        background: bool = True,
        grace_seconds: float = 20.0,
    ) -> None:
        self.service = service
        self.sessions: Sessions = sessions if not isinstance(sessions, async_sessionmaker) else (lambda: sessions)
        self.background = background
        self.grace_seconds = grace_seconds
        self.kinds: dict[str, JobKind] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: set[asyncio.Task[None]] = set()

    # -- kinds

    def register(self, *kinds: JobKind) -> None:
        for kind in kinds:
            if kind.name in self.kinds:
                raise ValueError(f"job kind {kind.name!r} is registered twice")
            self.kinds[kind.name] = kind

    def key(self, kind: str, job_id: uuid.UUID) -> str:
        return job_key(self.service, kind, job_id)

    # -- running

    def spawn(self, coroutine: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Track a bare coroutine (work with no job row): shutdown waits for it, `drain` too."""
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def submit(
        self, kind: str, job_id: uuid.UUID, work: JobWork | None = None, *, on_progress: ProgressListener | None = None
    ) -> None:
        """Run the job (its kind's work unless ``work`` is given): in the background, or now when
        background workers are off. Returns at once in the background case."""
        job_kind = self.kinds[kind]
        chosen = work or job_kind.work
        if chosen is None:
            raise ValueError(f"job kind {kind!r} has no work of its own: pass it")
        context = JobContext(self, job_kind, job_id, on_progress)
        if not self.background:
            await self._execute(context, chosen)
            return
        self.spawn(self._execute(context, chosen), name=f"{self.service}-{kind}-{job_id}")

    async def _execute(self, job: JobContext, work: JobWork) -> None:
        kind, fields = job.kind.name, {"job": job.kind.name, "job_id": str(job.job_id)}
        started = time.perf_counter()
        try:
            async with advisory_lock(self.sessions(), self.key(kind, job.job_id)) as mine:
                if not mine:
                    log.info("job.already_running", service=self.service, **fields)
                    return
                await work(job)
        except asyncio.CancelledError:
            log.warning("job.cancelled", service=self.service, **fields)
            raise
        except Exception as exc:
            # the work records its own failure; this is the last resort, so no row stays running
            log_failure(log, "job.crashed", exc, service=self.service, **fields)
            with contextlib.suppress(Exception):
                await self._fail(job.kind, [job.job_id], {"status": "failed", **job.kind.failure()})
        finally:
            JOB_DURATION.labels(self.service, kind).observe(time.perf_counter() - started)

    async def _fail(self, kind: JobKind, ids: Iterable[uuid.UUID], values: Mapping[str, Any]) -> None:
        table = kind.table
        async with self.sessions()() as session:
            await session.execute(
                update(table)
                .where(table.c.id.in_(list(ids)), table.c.status.in_(ACTIVE))
                .values(**values, finished_at=func.now())
            )
            await session.commit()

    # -- recovery

    async def recover(self) -> Recovery:
        """Resume or fail, per kind, the queued/running jobs of dead processes (see the module doc)."""
        found = Recovery()
        for kind in self.kinds.values():
            table = kind.table
            age = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, kind.orphan_after.total_seconds())
            to_resume: list[uuid.UUID] = []
            async with self.sessions()() as session:
                rows = (
                    await session.execute(
                        select(table.c.id, table.c.status).where(table.c.status.in_(ACTIVE), table.c[kind.since] < age)
                    )
                ).all()
                to_fail: list[uuid.UUID] = []
                for job_id, status in rows:
                    if not await try_xact_lock(session, self.key(kind.name, job_id)):
                        continue  # its process is alive
                    resume = kind.resume_queued if status == "queued" else kind.resume_running
                    (to_resume if resume else to_fail).append(job_id)
                if to_fail:  # under the probe locks, so no process starts one meanwhile
                    await session.execute(
                        update(table)
                        .where(table.c.id.in_(to_fail), table.c.status.in_(ACTIVE))
                        .values(status="failed", finished_at=func.now(), **kind.failure())
                    )
                await session.commit()  # releases the probe locks
            for job_id in to_fail:
                log.warning("job.orphan_failed", service=self.service, job=kind.name, job_id=str(job_id))
                found.failed.append((kind.name, job_id))
            for job_id in to_resume:
                log.warning("job.orphan_resumed", service=self.service, job=kind.name, job_id=str(job_id))
                found.resumed.append((kind.name, job_id))
                await self.submit(kind.name, job_id)
        return found

    # -- schedules

    def every(
        self,
        name: str,
        interval_seconds: float,
        tick: Callable[[], Awaitable[Any]],
        *,
        first_delay: float = 0.0,
        exclusive: bool = False,
    ) -> asyncio.Task[None]:
        """Call ``tick`` every ``interval_seconds`` until stop; a failing tick is logged, the loop goes
        on. ``exclusive``: a tick runs only while this process holds ``"<service>-schedule:<name>"``
        (other replicas skip that round)."""

        async def loop() -> None:
            await asyncio.sleep(first_delay)
            while True:
                try:
                    if exclusive:
                        async with advisory_lock(self.sessions(), f"{self.service}-schedule:{name}") as mine:
                            if mine:
                                await tick()
                    else:
                        await tick()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log_failure(log, "job.schedule_failed", exc, service=self.service, schedule=name)
                await asyncio.sleep(interval_seconds)

        task = asyncio.create_task(loop(), name=f"{self.service}-schedule-{name}")
        self._loops.add(task)
        task.add_done_callback(self._loops.discard)
        return task

    # -- lifecycle

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for every job started so far, and the jobs they start (tests; graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Cancel the schedules; let jobs finish for a while, then cancel them (recovered at a later start)."""
        for loop in list(self._loops):
            loop.cancel()
        for loop in list(self._loops):
            with contextlib.suppress(BaseException):
                await loop
        if not self._tasks:
            return
        grace = self.grace_seconds if grace_seconds is None else grace_seconds
        _done, pending = await asyncio.wait(list(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)

    async def _recover_logged(self) -> None:
        try:
            await self.recover()
        except Exception as exc:  # the database may come up later; /readyz reports it
            log_failure(log, "job.recovery_failed", exc, level="warning", service=self.service)

    @asynccontextmanager
    async def serving(
        self, app: _HasState, *, attribute: str = "jobs", recover_at_start: bool = True
    ) -> AsyncIterator[JobRunner]:
        """For a lifespan hook: ``app.state.<attribute>`` is this runner; orphans are recovered in the
        background at start (if background workers are on); at exit schedules stop and jobs get
        ``grace_seconds`` to finish."""
        setattr(app.state, attribute, self)
        if recover_at_start and self.background:
            self.spawn(self._recover_logged(), name=f"{self.service}-job-recovery")
        try:
            yield self
        finally:
            await self.stop()
