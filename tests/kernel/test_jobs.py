"""The one job runner (shared/jobs.py): locks across connections, progress, orphan recovery, shutdown."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, func, select, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from shared.jobs import JobContext, JobKind, JobRunner, advisory_lock, job_key, try_xact_lock

job_table = Table(
    "kernel_test_job",  # a temporary table of the test connection
    MetaData(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("progress_done", Integer, nullable=False, server_default="0"),
    Column("progress_total", Integer, nullable=False, server_default="0"),
    Column("heartbeat_at", DateTime(timezone=True)),
    Column("failure", Text),
)


@pytest.fixture
async def jobs_table(connection: AsyncConnection) -> Table:
    await connection.execute(
        text(
            "CREATE TEMP TABLE kernel_test_job (id uuid PRIMARY KEY, status text NOT NULL, "
            "created_at timestamptz NOT NULL, finished_at timestamptz, progress_done int NOT NULL DEFAULT 0, "
            "progress_total int NOT NULL DEFAULT 0, heartbeat_at timestamptz, failure text) ON COMMIT PRESERVE ROWS"
        )
    )
    return job_table


async def add_job(session: AsyncSession, status: str, age: timedelta) -> uuid.UUID:
    job_id = uuid.uuid4()
    await session.execute(
        job_table.insert().values(id=job_id, status=status, created_at=func.now() - age, heartbeat_at=func.now())
    )
    await session.commit()
    return job_id


async def status_of(session: AsyncSession, job_id: uuid.UUID) -> tuple[str, str | None]:
    row = (await session.execute(select(job_table.c.status, job_table.c.failure).where(job_table.c.id == job_id))).one()
    return row.status, row.failure


async def finish(job: JobContext) -> None:
    """A work that is safe to repeat: reports progress, then marks its row succeeded."""
    await job.progress(1, 2)
    async with job.session() as session:
        await session.execute(
            job_table.update().where(job_table.c.id == job.job_id).values(status="succeeded", progress_done=2)
        )
        await session.commit()


# --------------------------------------------------------------------------- locks


async def test_an_advisory_lock_is_held_by_one_connection_at_a_time(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine)
    key = f"kernel-test:{uuid.uuid4()}"
    async with advisory_lock(sessions, key) as first:
        assert first is True
        async with advisory_lock(sessions, key) as second:  # another pooled connection: another process
            assert second is False
        async with engine.connect() as other:  # and an xact probe sees it taken too
            assert (
                await other.execute(select(func.pg_try_advisory_xact_lock(func.hashtextextended(key, 0))))
            ).scalar() is False
    async with advisory_lock(sessions, key) as again:
        assert again is True  # released at the end of the block


async def test_an_advisory_lock_is_released_when_the_block_fails(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine)
    key = f"kernel-test:{uuid.uuid4()}"
    held: list[bool] = []

    async def fail_inside() -> None:
        async with advisory_lock(sessions, key) as mine:
            held.append(mine)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail_inside()
    assert held == [True]
    async with advisory_lock(sessions, key) as again:
        assert again is True


async def test_a_held_lock_keeps_no_transaction_open(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine)
    key = f"kernel-test:{uuid.uuid4()}"
    async with advisory_lock(sessions, key), engine.connect() as probe:
        states = (
            (
                await probe.execute(
                    text(
                        "SELECT a.state FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                        "WHERE l.locktype = 'advisory' AND l.objid = (hashtextextended(:k, 0) & 4294967295)::oid"
                    ),
                    {"k": key},
                )
            )
            .scalars()
            .all()
        )
    assert states == ["idle"]  # not "idle in transaction"


# --------------------------------------------------------------------------- submit and progress


async def test_a_submitted_job_runs_in_the_background_with_progress(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, jobs_table: Table
) -> None:
    runner = JobRunner("kernel", session_factory)
    runner.register(JobKind("thing", jobs_table, work=finish))
    seen: list[tuple[int, int | None]] = []

    async def listener(done: int, total: int | None) -> None:
        seen.append((done, total))

    job_id = await add_job(session, "queued", timedelta(0))
    await runner.submit("thing", job_id, on_progress=listener)
    assert runner.running == 1
    await runner.drain()
    assert runner.running == 0
    assert await status_of(session, job_id) == ("succeeded", None)
    total = (await session.execute(select(jobs_table.c.progress_total).where(jobs_table.c.id == job_id))).scalar()
    assert total == 2
    assert seen == [(1, 2)]


async def test_a_job_another_process_holds_is_not_run_twice(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, jobs_table: Table, engine: AsyncEngine
) -> None:
    runner = JobRunner("kernel", session_factory, background=False)
    calls: list[uuid.UUID] = []

    async def work(job: JobContext) -> None:
        calls.append(job.job_id)

    runner.register(JobKind("thing", jobs_table, work=work))
    job_id = await add_job(session, "running", timedelta(0))
    async with advisory_lock(async_sessionmaker(engine), job_key("kernel", "thing", job_id)) as other:
        assert other
        await runner.submit("thing", job_id)  # inline: returns after deciding
    assert calls == []
    await runner.submit("thing", job_id)
    assert calls == [job_id]


async def test_a_crashing_work_leaves_its_row_failed_not_running(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, jobs_table: Table
) -> None:
    async def crash(job: JobContext) -> None:
        raise ValueError("secret 410602199001011234")

    runner = JobRunner("kernel", session_factory, background=False)
    runner.register(JobKind("thing", jobs_table, work=crash, failure=lambda: {"failure": "crashed"}))
    job_id = await add_job(session, "running", timedelta(0))
    await runner.submit("thing", job_id)  # the crash does not escape: it is logged and recorded
    assert await status_of(session, job_id) == ("failed", "crashed")


def test_a_resumable_kind_needs_its_work() -> None:
    with pytest.raises(ValueError, match="needs its work"):
        JobKind("thing", job_table, resume_queued=True)


# --------------------------------------------------------------------------- recovery


async def test_orphans_are_resumed_or_failed_and_live_jobs_left_alone(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, jobs_table: Table, engine: AsyncEngine
) -> None:
    old, young = timedelta(minutes=5), timedelta(seconds=1)
    queued = await add_job(session, "queued", old)
    running = await add_job(session, "running", old)
    fresh = await add_job(session, "running", young)
    alive = await add_job(session, "running", old)
    done = await add_job(session, "succeeded", old)
    runner = JobRunner("kernel", session_factory, background=False)
    runner.register(
        JobKind(
            "thing",
            jobs_table,
            work=finish,
            resume_queued=True,
            resume_running=False,
            failure=lambda: {"failure": "interrupted: submit it again"},
        )
    )
    async with advisory_lock(async_sessionmaker(engine), job_key("kernel", "thing", alive)):  # its process lives
        found = await runner.recover()
    assert found.resumed == [("thing", queued)]
    assert found.failed == [("thing", running)]
    assert await status_of(session, queued) == ("succeeded", None)
    assert await status_of(session, running) == ("failed", "interrupted: submit it again")
    assert await status_of(session, fresh) == ("running", None)
    assert await status_of(session, alive) == ("running", None)
    assert await status_of(session, done) == ("succeeded", None)
    finished = (await session.execute(select(jobs_table.c.finished_at).where(jobs_table.c.id == running))).scalar()
    assert finished is not None


async def test_age_is_measured_on_the_kinds_column(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, jobs_table: Table
) -> None:
    job_id = await add_job(session, "running", timedelta(hours=1))  # created long ago, heartbeat just now
    runner = JobRunner("kernel", session_factory, background=False)
    runner.register(JobKind("thing", jobs_table, since="heartbeat_at", orphan_after=timedelta(minutes=15)))
    assert (await runner.recover()).failed == []
    await session.execute(
        jobs_table.update().where(jobs_table.c.id == job_id).values(heartbeat_at=func.now() - timedelta(hours=1))
    )
    await session.commit()
    assert (await runner.recover()).failed == [("thing", job_id)]


async def test_recovery_runs_at_start_and_the_runner_is_on_the_app(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, jobs_table: Table
) -> None:
    job_id = await add_job(session, "queued", timedelta(minutes=5))
    runner = JobRunner("kernel", session_factory)
    runner.register(JobKind("thing", jobs_table, work=finish, resume_queued=True))
    app = SimpleNamespace(state=SimpleNamespace())
    async with runner.serving(app, attribute="jobs"):
        assert app.state.jobs is runner
        await runner.drain()  # the recovery task and the job it resumed
    assert await status_of(session, job_id) == ("succeeded", None)


async def test_try_xact_lock_is_refused_while_another_connection_holds_the_key(
    session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    key = f"kernel-test:{uuid.uuid4()}"
    async with session_factory() as session:
        assert await try_xact_lock(session, key) is True  # re-entrant for its own backend
        async with advisory_lock(async_sessionmaker(engine), key) as other:
            assert other is False
        await session.rollback()


# --------------------------------------------------------------------------- schedules and shutdown


async def test_a_schedule_ticks_survives_a_failing_tick_and_stops(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    runner = JobRunner("kernel", session_factory)
    ticks: list[int] = []
    third = asyncio.Event()

    async def tick() -> None:
        ticks.append(len(ticks))
        if len(ticks) == 1:
            raise RuntimeError("first round fails")
        if len(ticks) == 3:
            third.set()

    task = runner.every("test", 0.01, tick)
    await asyncio.wait_for(third.wait(), timeout=5)
    await runner.stop()
    assert task.done()
    count = len(ticks)
    await asyncio.sleep(0.05)
    assert len(ticks) == count


async def test_an_exclusive_schedule_skips_rounds_another_process_holds(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine)
    runner = JobRunner(f"kernel{uuid.uuid4().hex[:8]}", sessions)
    ticks: list[int] = []
    ticked = asyncio.Event()

    async def tick() -> None:
        ticks.append(1)
        ticked.set()

    async with advisory_lock(sessions, f"{runner.service}-schedule:nightly") as other:
        assert other
        runner.every("nightly", 0.01, tick, exclusive=True)
        await asyncio.sleep(0.1)
        assert ticks == []
    await asyncio.wait_for(ticked.wait(), timeout=5)
    await runner.stop()


async def test_stop_gives_jobs_their_grace_then_cancels(session_factory: async_sessionmaker[AsyncSession]) -> None:
    runner = JobRunner("kernel", session_factory, grace_seconds=0.05)
    finished: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.01)
        finished.append("quick")

    async def slow() -> None:
        await asyncio.sleep(60)
        finished.append("slow")

    quick_task = runner.spawn(quick(), name="quick")
    slow_task = runner.spawn(slow(), name="slow")
    await runner.stop()
    assert finished == ["quick"]
    assert quick_task.done()
    assert slow_task.cancelled()
