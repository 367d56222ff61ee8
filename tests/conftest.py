"""Test harness: one real PostgreSQL per session, migrations applied once, a rollback per test.

- `database_url`: a fresh, migrated database (embedded PostgreSQL, or TEST_DATABASE_URL's server).
- `connection`: a connection inside a transaction that is rolled back after the test; apps under
  test bind their sessions to it with `join_transaction_mode="create_savepoint"`, so a service's
  own `commit()` only releases a savepoint.
- `registry_client` / `screening_client` / `claims_client`: httpx clients over ASGITransport.
- `committed_url`: for tests that need real commits (concurrency, outbox), a separate database.
- `e2e_env`: a third database for services started as real processes.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import settings
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.settings import ServiceSettings, async_database_url
from tests.support.database import migrated_database, postgres_server
from tests.support.tokens import JWT_SECRET, PII_INDEX_KEY, PII_KEY

# Hypothesis profiles, loaded before any test module builds its @settings (which inherit from
# the loaded profile for what they do not set). `ci` (CI=true) is derandomized: the same
# examples every run, so a property test passes or fails on the code, not on the draw; its
# examples are listed with their blob for reproduction. `dev` is the local default; `explore`
# (HYPOTHESIS_PROFILE=explore) searches much harder before a release or after a rules change.
# A test's own max_examples still applies under every profile; no test sets derandomize or a seed.
settings.register_profile("ci", derandomize=True, max_examples=100, deadline=None, print_blob=True, database=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI", "").lower() == "true" else "dev")
)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    with migrated_database(pg_server, "test", rolled_back=True) as url:
        yield url


@pytest.fixture(scope="session")
def committed_url(pg_server: str) -> Iterator[str]:
    with migrated_database(pg_server, "committed") as url:
        yield url


@pytest.fixture(scope="session")
def e2e_database_url(pg_server: str) -> Iterator[str]:
    with migrated_database(pg_server, "e2e") as url:
        yield url


def make_settings(cls: type[ServiceSettings], database_url: str, **overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": JWT_SECRET,
        "pii_key": PII_KEY,
        "pii_index_key": PII_INDEX_KEY,
        "outbox_enabled": False,
        "log_json": True,
        "db_pool_size": 5,
        "gc_freeze": False,  # a test process builds many apps: frozen, the old ones' cycles would never go
    }
    if "import_parse_warm_start" in cls.model_fields:
        # a process per app built would be started; an import that cuts its file starts the pool itself
        values["import_parse_warm_start"] = False
        # one parse process whatever the machine's CPUs (the default is none on one CPU)
        values["import_parse_processes"] = 1
    values.update(overrides)
    return cls(**values)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(async_database_url(database_url), pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            if transaction.is_active:
                await transaction.rollback()


@pytest.fixture
def session_factory(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint", autoflush=False
    )


@pytest.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_factory() as s:
        yield s


class AppHarness:
    """Starts apps once per session (lifespan run); each test rebinds their sessions."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.apps: dict[str, FastAPI] = {}
        self._stack = AsyncExitStack()

    async def get(self, service: str) -> FastAPI:
        if service not in self.apps:
            module = __import__(f"services.{service}.app", fromlist=["create_app"])
            config = __import__(f"services.{service}.config", fromlist=["x"])
            settings_cls = next(
                getattr(config, n) for n in dir(config) if n.endswith("Settings") and n != "ServiceSettings"
            )
            app = module.create_app(make_settings(settings_cls, self.database_url))
            await self._stack.enter_async_context(app.router.lifespan_context(app))
            self.apps[service] = app
        return self.apps[service]

    async def close(self) -> None:
        await self._stack.aclose()


@pytest.fixture(scope="session")
async def app_harness(database_url: str) -> AsyncIterator[AppHarness]:
    harness = AppHarness(database_url)
    yield harness
    await harness.close()


ClientFactory = Callable[..., httpx.AsyncClient]


async def _client_for(
    harness: AppHarness, service: str, factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = await harness.get(service)
    original = app.state.sessionmaker
    app.state.sessionmaker = factory
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}.test") as client:
        yield client
    app.state.sessionmaker = original


@pytest.fixture
async def registry_client(
    app_harness: AppHarness, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client_for(app_harness, "registry", session_factory):
        yield client


@pytest.fixture
async def screening_client(
    app_harness: AppHarness, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client_for(app_harness, "screening", session_factory):
        yield client


@pytest.fixture
async def claims_client(
    app_harness: AppHarness, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client_for(app_harness, "claims", session_factory):
        yield client


@pytest.fixture(params=["registry", "screening", "claims"])
def service_client(request: pytest.FixtureRequest) -> tuple[str, httpx.AsyncClient]:
    """Each service's ASGI client in turn (a sync fixture, so it may request async ones)."""
    name = request.param
    return name, request.getfixturevalue(f"{name}_client")


@pytest.fixture
async def demo_regions(session: AsyncSession) -> None:
    from services.registry.demo import seed_regions

    await seed_regions(session)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # keep the slow process-level tests last so a quick failure shows first
    items.sort(key=lambda item: 1 if "e2e" in item.nodeid else 0)
