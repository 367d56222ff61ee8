"""Issue 15: no pre-ping on checkout. A pooled connection that died while idle fails the request
that gets it with 503 database_unavailable (not 500), and the pool recovers on the next request."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import text

from services.claims.config import ClaimsSettings
from shared.app import ServiceSpec, build_app
from tests.conftest import make_settings


def _app(database_url: str) -> FastAPI:
    router = APIRouter()

    @router.get("/pid")
    async def pid(request: Request) -> dict[str, int]:
        async with request.app.state.engine.connect() as conn:
            return {"pid": int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())}

    spec = ServiceSpec(name="claims", title="t", description="d", routers=[router])
    return build_app(spec, make_settings(ClaimsSettings, database_url, db_pool_size=1, db_max_overflow=0))


async def test_a_connection_killed_in_the_pool_is_one_503_then_the_pool_reconnects(database_url: str) -> None:
    app = _app(database_url)
    async with app.router.lifespan_context(app):
        assert app.state.engine.pool._pre_ping is False  # the checkout costs no round trip
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = await client.get("/pid")
            assert first.status_code == 200, first.text
            pooled = first.json()["pid"]
            killer = build_app(
                ServiceSpec(name="claims", title="t", description="d", routers=[]),
                make_settings(ClaimsSettings, database_url),
            )
            async with killer.router.lifespan_context(killer), killer.state.engine.connect() as conn:
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pooled})
            dead = await client.get("/pid")
            assert dead.status_code == 503, dead.text
            assert dead.json()["code"] == "database_unavailable"
            assert "retry-after" in dead.headers
            again = await client.get("/pid")
            assert again.status_code == 200, again.text
            assert again.json()["pid"] != pooled
