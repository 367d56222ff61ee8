"""Issue 15: `shared.db.read_connection`, the connection a one-statement read runs on.

A request's fresh session gets a connection straight from the engine's pool, outside any
transaction, and gives it back; a session already in a transaction reads in it; a connection whose
statement failed is not pooled again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.db import read_connection
from shared.settings import async_database_url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(async_database_url(database_url), pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def test_a_fresh_session_reads_outside_a_transaction_and_gives_the_connection_back(engine: AsyncEngine) -> None:
    async with async_sessionmaker(engine)() as session:
        async with read_connection(session) as connection:
            assert isinstance(connection, asyncpg.Connection)
            assert not connection.is_in_transaction()  # autocommit: no BEGIN, no ROLLBACK round trips
            assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]
            pid = await connection.fetchval("SELECT pg_backend_pid()")
        assert not session.in_transaction()  # the session never began
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    async with async_sessionmaker(engine)() as session, read_connection(session) as connection:
        assert await connection.fetchval("SELECT pg_backend_pid()") == pid  # the same pooled connection


async def test_a_session_in_a_transaction_reads_in_it(engine: AsyncEngine) -> None:
    async with async_sessionmaker(engine)() as session:
        await session.execute(text("CREATE TEMP TABLE seen_here (n int) ON COMMIT DROP"))
        await session.execute(text("INSERT INTO seen_here VALUES (7)"))
        async with read_connection(session) as connection:
            assert connection.is_in_transaction()
            assert await connection.fetchval("SELECT n FROM seen_here") == 7  # the uncommitted row
        assert session.in_transaction()
        await session.rollback()


async def test_a_connection_whose_statement_failed_is_not_pooled_again(engine: AsyncEngine) -> None:
    async def fail(session: AsyncSession) -> int:
        async with read_connection(session) as connection:
            failed.append(await connection.fetchval("SELECT pg_backend_pid()"))
            return int(await connection.fetchval("SELECT 1 / 0"))

    failed: list[int] = []
    async with async_sessionmaker(engine)() as session:
        with pytest.raises(asyncpg.PostgresError):
            await fail(session)
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    async with async_sessionmaker(engine)() as session, read_connection(session) as connection:
        assert await connection.fetchval("SELECT pg_backend_pid()") != failed[0]  # a new connection
