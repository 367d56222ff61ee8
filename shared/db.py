"""Engine, sessions and the metadata conventions every schema uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import greenlet_spawn

from shared.settings import ServiceSettings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata(schema: str) -> MetaData:
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def create_engine(settings: ServiceSettings, *, application_name: str | None = None) -> AsyncEngine:
    # No pre-ping: a `SELECT 1` round trip on every checkout cost a third of a short read's database
    # time. A pooled connection that died (server restarted, backend terminated) fails on its first
    # statement instead; SQLAlchemy then invalidates it and every connection older than it, so that
    # request answers 503 database_unavailable (shared/app.py) and the next ones reconnect.
    return create_async_engine(
        settings.async_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=False,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={
            "server_settings": {"application_name": application_name or f"fangpin-{settings.service_name}"},
            "timeout": settings.db_connect_timeout_seconds,
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


_SESSION_KEY = "fangpin.session"


def request_session(request: Request) -> AsyncSession:
    """The request's session, made on first use (every dependency that asks gets the same one) and
    closed after the response by `close_request_session`, which the request middleware calls
    (shared/app.py). Not a generator dependency: FastAPI enters and leaves those through an exit
    stack with a shielded cancel scope, 113 of a household read's 1,772 Python calls (issue 15)."""
    state = request.scope.setdefault("state", {})
    session: AsyncSession | None = state.get(_SESSION_KEY)
    if session is None:
        sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
        session = state[_SESSION_KEY] = sessionmaker()
    return session


async def close_request_session(scope: MutableMapping[str, Any]) -> None:
    """After the response: the request's session closed — its transaction rolled back, its connection
    back in the pool — when it holds anything. One that holds nothing (a read through
    `read_connection`, a use case that committed) has nothing to give back; closing it cost 27 µs."""
    state = scope.get("state")
    session: AsyncSession | None = state.pop(_SESSION_KEY, None) if isinstance(state, dict) else None
    if session is not None and (session.in_transaction() or session.identity_map):
        await session.close()


async def get_session(request: Request) -> AsyncSession:
    """One session per request. The service layer commits explicitly; it is closed after the response."""
    return request_session(request)


SessionDep = Annotated[AsyncSession, Depends(get_session)]


@asynccontextmanager
async def read_connection(session: AsyncSession) -> AsyncIterator[Any]:
    """The asyncpg connection for a read that is one statement, as cheaply as the pool gives it.

    A session that has not begun and is bound to an engine (a request's session): a connection
    straight from the engine's pool, outside any transaction (autocommit), handed back after —
    no ORM transaction and no `Connection` around it, which was half the CPU of a household read's
    database part (issue 15: 400 → 190 µs a checkout). A connection whose statement failed is
    discarded, not pooled. Otherwise (a session in a transaction, or bound to a connection as the
    tests' outer transaction is) the session's own connection, in its transaction.
    """
    bind = session.bind
    if not isinstance(bind, AsyncEngine) or session.in_transaction():
        connection = await session.connection()
        yield (await connection.get_raw_connection()).driver_connection
        return
    pooled = await bind.raw_connection()
    try:
        yield pooled.driver_connection
    except BaseException:
        await greenlet_spawn(pooled.invalidate)  # a connection that failed a statement is not reused
        raise
    finally:
        await greenlet_spawn(pooled.close)
