"""Issue 15: the request's session (shared.db.get_session), made on first use, closed after the response.

One session per request, whichever dependencies ask for it; after the answer — a 200, a problem
the route raised in the middle of a transaction, an unhandled error — the session is closed and
its connection is back in the pool, its transaction rolled back. A session that began nothing is
not touched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.app import RequestContextMiddleware, install_error_handlers
from shared.db import SessionDep, request_session
from shared.errors import Conflict
from shared.settings import async_database_url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(async_database_url(database_url), pool_size=1, max_overflow=0, pool_timeout=2)
    yield engine
    await engine.dispose()


async def other(request: Request) -> AsyncSession:
    """A second dependency asking for the request's session."""
    return request_session(request)


def app_on(engine: AsyncEngine, seen: list[AsyncSession]) -> FastAPI:
    app = FastAPI()
    app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    install_error_handlers(app)

    @app.get("/both")
    async def both(session: SessionDep, again: Annotated[AsyncSession, Depends(other)]) -> dict[str, bool]:
        seen.extend([session, again])
        await session.execute(text("SELECT 1"))
        return {"same": session is again, "in_transaction": session.in_transaction()}

    @app.get("/conflict")
    async def conflict(session: SessionDep) -> None:
        seen.append(session)
        await session.execute(text("CREATE TEMP TABLE left_open (n int)"))
        raise Conflict("the change conflicts", code="conflict")

    @app.get("/crash")
    async def crash(session: SessionDep) -> None:
        seen.append(session)
        await session.execute(text("SELECT 1"))
        raise RuntimeError("boom")

    @app.get("/idle")
    async def idle(session: SessionDep) -> dict[str, bool]:
        seen.append(session)
        return {"in_transaction": session.in_transaction()}

    app.add_middleware(RequestContextMiddleware, service="test")
    return app


async def test_one_session_per_request_closed_after_every_kind_of_answer(engine: AsyncEngine) -> None:
    seen: list[AsyncSession] = []
    transport = httpx.ASGITransport(app=app_on(engine, seen), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for _ in range(3):  # pool_size=1 with no overflow: a connection not given back times the next out
            answer = await client.get("/both")
            assert answer.status_code == 200
            assert answer.json() == {"same": True, "in_transaction": True}
            assert not seen[-1].in_transaction()
            assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]

        answer = await client.get("/conflict")
        assert answer.status_code == 409
        assert answer.json()["code"] == "conflict"
        assert not seen[-1].in_transaction()
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]

        answer = await client.get("/crash")
        assert answer.status_code == 500
        assert answer.json()["code"] == "internal_error"
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]

        answer = await client.get("/idle")
        assert answer.json() == {"in_transaction": False}
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]

    async with engine.connect() as connection:  # the conflict's transaction was rolled back, not committed
        assert await connection.scalar(text("SELECT to_regclass('pg_temp.left_open') IS NULL"))
    assert len({id(s) for s in seen}) == 6  # three /both (two names, one session each), conflict, crash, idle
