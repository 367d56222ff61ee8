"""/readyz: not ready behind head, ready at head and when the database is ahead (rolling upgrade)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from services.claims.app import create_app
from services.claims.config import ClaimsSettings
from shared.migrate import upgrade
from tests.conftest import make_settings
from tests.support.database import _admin, _with_database


@pytest.fixture
def partial_database(pg_server: str) -> Iterator[str]:
    name = f"fangpin_partial_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(pg_server, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(pg_server, name)
    finally:
        asyncio.run(_admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _ready(url: str) -> httpx.Response:
    app = create_app(make_settings(ClaimsSettings, url))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://c") as c:
        return await c.get("/readyz")


async def _set_version(url: str, version: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE public.alembic_version SET version_num = $1", version)
    finally:
        await conn.close()


async def test_readiness_follows_the_migration_state(partial_database: str) -> None:
    never = await _ready(partial_database)
    assert never.status_code == 503
    assert never.json()["code"] == "migrations_pending"

    await asyncio.to_thread(upgrade, partial_database, "0001_kernel")
    behind = await _ready(partial_database)
    assert behind.status_code == 503
    assert "0001_kernel" in behind.json()["detail"]

    await asyncio.to_thread(upgrade, partial_database, "head")
    assert (await _ready(partial_database)).status_code == 200

    await _set_version(partial_database, "9999_from_a_newer_release")
    ahead = await _ready(partial_database)
    assert ahead.status_code == 200
    assert ahead.json()["migration"] == "9999_from_a_newer_release"


async def test_unreachable_database_is_not_ready() -> None:
    from shared.embedded_pg import free_port

    response = await _ready(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
