"""The test database: embedded PostgreSQL by default, TEST_DATABASE_URL when set."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared.embedded_pg import EmbeddedPostgres
from shared.migrate import upgrade


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def _asyncpg_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_url(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a server URL (database `postgres`); an embedded one is stopped afterwards."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield _with_database(given, "postgres")
        return
    base = Path(tempfile.mkdtemp(prefix="fangpin-test-"))
    server = EmbeddedPostgres(base / "pgdata", durable=False)
    server.start("postgres")
    try:
        yield server.url("postgres")
    finally:
        server.stop()


@contextmanager
def migrated_database(server_url: str, label: str) -> Iterator[str]:
    """A fresh database on `server_url`, migrated to head; dropped afterwards."""
    name = f"fangpin_{label}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    url = _with_database(server_url, name)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
