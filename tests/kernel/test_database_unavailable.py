"""Issue 9, defect 9: a database outage answers 503 `database_unavailable` with Retry-After, not 500."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from services.claims.config import ClaimsSettings
from services.registry.config import RegistrySettings
from shared.app import ServiceSpec, build_app
from tests.conftest import make_settings
from tests.support.tokens import auth


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def outage_client() -> AsyncIterator[httpx.AsyncClient]:
    """The registry pointed at a port where no database listens."""
    from services.registry.app import create_app

    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/nowhere"
    app = create_app(make_settings(RegistrySettings, url))  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
            yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/regions"), ("GET", "/v1/households"), ("GET", "/v1/imports")],
)
async def test_connection_refused_is_503_with_retry_after(
    outage_client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await outage_client.request(method, path, headers=auth("county_officer"))
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    problem = response.json()
    assert problem["code"] == "database_unavailable"
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_readiness_still_says_database_unavailable(outage_client: httpx.AsyncClient) -> None:
    response = await outage_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


def _app_raising(database_url: str) -> FastAPI:
    router = APIRouter()

    @router.get("/boom/pool")
    async def pool() -> None:
        raise PoolTimeoutError("QueuePool limit of size 1 overflow 0 reached")

    @router.get("/boom/file")
    async def file() -> None:
        raise OSError(28, "No space left on device")  # not the database: stays a 500

    @router.get("/boom/terminated")
    async def terminated() -> None:
        engine = app.state.engine
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
            async with engine.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await asyncio.sleep(0.2)
            await conn.execute(text("SELECT 1"))

    spec = ServiceSpec(name="claims", title="t", description="d", routers=[router])
    app = build_app(spec, make_settings(ClaimsSettings, database_url))
    return app


async def test_pool_timeout_and_a_terminated_connection_are_503_a_disk_error_is_500(database_url: str) -> None:
    app = _app_raising(database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            pool = await client.get("/boom/pool")
            assert pool.status_code == 503
            assert pool.json()["code"] == "database_unavailable"
            assert "retry-after" in pool.headers
            terminated = await client.get("/boom/terminated")
            assert terminated.status_code == 503, terminated.text
            assert terminated.json()["code"] == "database_unavailable"
            disk = await client.get("/boom/file")
            assert disk.status_code == 500
            assert disk.json()["code"] == "internal_error"


def test_a_bad_statement_is_not_an_outage() -> None:
    from sqlalchemy.exc import ProgrammingError

    from shared.app import is_database_unavailable

    assert not is_database_unavailable(ProgrammingError("SELECT nope", {}, Exception("syntax error")))
    assert not is_database_unavailable(ValueError("x"))
    assert is_database_unavailable(PoolTimeoutError("pool"))
