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


# Autovacuum off on every table of a database whose tests roll back. Its rows are never live to
# any other transaction, so an autovacuum of the dead ones records a table of thousands of pages
# holding no rows (reltuples 0); the planner then takes each such table for empty within a test
# that has just filled it, and plans a nested loop that scans 120,000 members once per household
# (CI hung for over an hour in the seed-004 statistics test). Never vacuumed, a table is estimated
# from its pages, as it is in a database where the rows are real.
_NO_AUTOVACUUM = """
DO $$
DECLARE t record;
BEGIN
    FOR t IN SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND n.nspname NOT LIKE 'pg_toast%'
    LOOP
        EXECUTE format('ALTER TABLE %I.%I SET (autovacuum_enabled = false)', t.nspname, t.relname);
    END LOOP;
END $$
"""


@contextmanager
def migrated_database(server_url: str, label: str, *, rolled_back: bool = False) -> Iterator[str]:
    """A fresh database on `server_url`, migrated to head; dropped afterwards.

    `rolled_back`: the tests on it roll their transactions back, so its tables are never
    autovacuumed (see _NO_AUTOVACUUM).
    """
    name = f"fangpin_{label}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    url = _with_database(server_url, name)
    try:
        upgrade(url)
        if rolled_back:
            asyncio.run(_admin(url, _NO_AUTOVACUUM))
        yield url
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
