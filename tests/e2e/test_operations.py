"""What ops relies on: env-only start, graceful SIGTERM, outbox across restarts, backup and restore."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Header, Response

from shared.embedded_pg import EmbeddedPostgres, bin_dir, free_port
from shared.migrate import head_revision, upgrade
from tests.support.database import migrated_database
from tests.support.processes import ServiceProcess
from tests.support.stub_server import serve_in_thread
from tests.support.tokens import auth, service_env

pytestmark = pytest.mark.e2e

# uvicorn re-raises the SIGTERM it handled once shutdown is complete, so a graceful stop ends
# with -SIGTERM; the `service.stopped` log line (end of lifespan) is what proves it was graceful.
GRACEFUL = (0, -15)


def _pg(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _sql(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(_pg(url))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


@pytest.fixture
def seeded_e2e(e2e_database_url: str) -> str:

    async def seed() -> None:
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        from services.registry.demo import seed_regions
        from shared.settings import async_database_url

        engine = create_async_engine(async_database_url(e2e_database_url))
        async with async_sessionmaker(engine)() as session:
            await seed_regions(session)
        await engine.dispose()

    asyncio.run(seed())
    return e2e_database_url


@pytest.mark.parametrize("service", ["registry", "screening", "claims"])
def test_service_starts_from_environment_only(service: str, e2e_database_url: str, tmp_path: Path) -> None:
    proc = ServiceProcess(service, free_port(), service_env(e2e_database_url), tmp_path / f"{service}.log")
    proc.start(timeout=30)
    try:
        ready = httpx.get(f"{proc.url}/readyz", timeout=5)
        assert ready.json() == {"status": "ready", "service": service, "migration": ready.json()["migration"]}
        assert ready.json()["migration"] == head_revision()  # the newest of migrations/versions
    finally:
        assert proc.stop() in GRACEFUL
    assert '"event": "service.stopped"' in proc.logs()


def test_sigterm_lets_an_inflight_request_finish(seeded_e2e: str, tmp_path: Path) -> None:
    proc = ServiceProcess("registry", free_port(), service_env(seeded_e2e), tmp_path / "registry.log")
    proc.start()
    result: dict[str, object] = {}

    async def hold_lock_then_release() -> None:
        conn = await asyncpg.connect(_pg(seeded_e2e))
        tx = conn.transaction()
        await tx.start()
        await conn.execute("LOCK TABLE registry.region IN ACCESS EXCLUSIVE MODE")

        def request() -> None:
            try:
                response = httpx.get(f"{proc.url}/v1/regions", headers=auth("county_officer"), timeout=30)
                result["status"] = response.status_code
                result["count"] = len(response.json()["items"])
            except httpx.HTTPError as exc:
                result["error"] = repr(exc)

        thread = threading.Thread(target=request)
        thread.start()
        await asyncio.sleep(1.0)  # the request is now waiting on the lock, inside the service
        assert proc.proc is not None
        proc.proc.terminate()  # SIGTERM mid-request
        await asyncio.sleep(1.0)
        assert proc.proc.poll() is None, "the service exited with a request in flight"
        await tx.rollback()
        await conn.close()
        await asyncio.to_thread(thread.join, 30)

    asyncio.run(hold_lock_then_release())
    assert result.get("status") == 200, result
    assert result["count"] == 17
    assert proc.proc is not None
    assert proc.proc.wait(timeout=30) in GRACEFUL
    assert '"event": "service.stopped"' in proc.logs()


class SlowReceiver:
    def __init__(self, delay: float) -> None:
        self.keys: list[str] = []
        self.delay = delay
        app = FastAPI()

        @app.post("/v1/claims/leads")
        async def leads(idempotency_key: str = Header(alias="Idempotency-Key")) -> Response:
            self.keys.append(idempotency_key)
            await asyncio.sleep(self.delay)
            return Response('{"ok": true}', status_code=201, media_type="application/json")

        self.app = app


@pytest.fixture
def outbox_database(pg_server: str) -> Iterator[str]:
    """A database of its own: other e2e tests leave messages in the shared one's outbox."""
    with migrated_database(pg_server, "outbox") as url:
        yield url


@pytest.fixture
def outbox_message(outbox_database: str) -> uuid.UUID:
    message_id = uuid.uuid4()
    asyncio.run(
        _sql(
            outbox_database,
            "INSERT INTO screening.outbox_message (id, target, method, path, body, idempotency_key) "
            "VALUES ($1, 'claims', 'POST', '/v1/claims/leads', '{\"n\": 1}', $2)",
            message_id,
            f"lead:{message_id}",
        )
    )
    return message_id


def _status(url: str, message_id: uuid.UUID) -> asyncpg.Record:
    return asyncio.run(_sql(url, "SELECT status, attempts FROM screening.outbox_message WHERE id = $1", message_id))[0]


def test_outbox_keeps_messages_across_shutdown_and_delivers_once(
    outbox_database: str, outbox_message: uuid.UUID, tmp_path: Path
) -> None:
    e2e_database_url = outbox_database
    claims_port = free_port()
    env = {
        **service_env(e2e_database_url),
        "FANGPIN_CLAIMS_URL": f"http://127.0.0.1:{claims_port}",
        "FANGPIN_OUTBOX_POLL_SECONDS": "0.1",
        "FANGPIN_OUTBOX_MAX_BACKOFF_SECONDS": "0.5",
    }
    proc = ServiceProcess("screening", free_port(), env, tmp_path / "screening.log")

    # 1. the receiver is down: attempts fail, the message stays pending through a SIGTERM
    proc.start()
    deadline = time.monotonic() + 15
    while _status(e2e_database_url, outbox_message)["attempts"] < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.stop() in GRACEFUL
    row = _status(e2e_database_url, outbox_message)
    assert row["status"] == "pending"
    assert row["attempts"] >= 2

    # 2. receiver up but slow; SIGTERM lands while the delivery is in flight: it completes, once
    receiver = SlowReceiver(delay=1.5)
    with serve_in_thread(receiver.app, port=claims_port):
        proc.start()
        deadline = time.monotonic() + 15
        while not receiver.keys and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.keys, "the dispatcher never reached the receiver"
        assert proc.stop() in GRACEFUL
        assert _status(e2e_database_url, outbox_message)["status"] == "delivered"
        proc.start()  # a restart does not send it again
        time.sleep(1.0)
        assert proc.stop() in GRACEFUL
    assert receiver.keys == [f"lead:{outbox_message}"]


def test_backup_and_restore_round_trip(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pgdata", durable=False)
    url = server.start("fangpin")
    try:
        upgrade(url)
        asyncio.run(
            _sql(
                url,
                "INSERT INTO registry.region (code, name, level, prefix) "
                "VALUES ('410602000000', '鹤山区', 'county', '410602')",
            )
        )
        dump = tmp_path / "fangpin.dump"
        port = str(server.port)
        common = ["-h", "127.0.0.1", "-p", port, "-U", "postgres"]
        subprocess.run([str(bin_dir() / "pg_dump"), *common, "-Fc", "-f", str(dump), "fangpin"], check=True)
        server.create_database("restored")
        subprocess.run([str(bin_dir() / "pg_restore"), *common, "-d", "restored", "--no-owner", str(dump)], check=True)
        restored = server.url("restored")
        rows = asyncio.run(_sql(restored, "SELECT name FROM registry.region"))
        assert [r["name"] for r in rows] == ["鹤山区"]
        version = asyncio.run(_sql(restored, "SELECT version_num FROM public.alembic_version"))
        original = asyncio.run(_sql(url, "SELECT version_num FROM public.alembic_version"))
        assert version == original
        # the append-only trigger came back too
        with pytest.raises(asyncpg.RaiseError):
            asyncio.run(_sql(restored, "DELETE FROM audit.audit_log"))
    finally:
        server.stop()
