"""Issue 15: what made the household read's p99 ten times its median at 16 connections.

- The pool: 10 kept + 10 overflow connections meant that a steady 16 requests at once closed 6
  connections as they came back and opened 6 again on the next burst (a connect and asyncpg's
  type set-up inside a request). The default keeps every connection it may open (20 + 0).
- The cyclic collector: a full collection walked the whole start-up heap (modules, routes, models,
  compiled statements). A served process freezes that heap after start-up (``gc.freeze``).
"""

from __future__ import annotations

import asyncio
import gc

from fastapi import FastAPI
from sqlalchemy import event, text

from services.claims.config import ClaimsSettings
from shared.app import ServiceSpec, build_app
from shared.db import create_engine
from tests.conftest import make_settings


def _app(database_url: str, **overrides: object) -> FastAPI:
    spec = ServiceSpec(name="claims", title="t", description="d", routers=[])
    return build_app(spec, make_settings(ClaimsSettings, database_url, **overrides))


async def _connects_per_burst(database_url: str, **pool: int) -> list[int]:
    """New database connections opened by each of three bursts of 16 statements at once."""
    defaults = ClaimsSettings.model_fields
    sizes = {"db_pool_size": defaults["db_pool_size"].default, "db_max_overflow": defaults["db_max_overflow"].default}
    engine = create_engine(make_settings(ClaimsSettings, database_url, **{**sizes, **pool}))
    opened: list[int] = [0]

    @event.listens_for(engine.sync_engine, "connect")
    def _count(*_: object) -> None:
        opened[-1] += 1

    async def one() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_sleep(0.05)"))

    counts = []
    try:
        for _ in range(3):
            opened.append(0)
            await asyncio.gather(*(one() for _ in range(16)))
            counts.append(opened[-1])
    finally:
        await engine.dispose()
    return counts


async def test_the_default_pool_opens_no_connection_after_the_first_burst(database_url: str) -> None:
    first, second, third = await _connects_per_burst(database_url)
    assert first == 16
    assert second == third == 0  # every connection came back to the pool and was kept


async def test_the_old_pool_reopened_its_overflow_on_every_burst(database_url: str) -> None:
    # the defaults before issue 15 (10 + 10): what the test above would have failed on
    first, second, third = await _connects_per_burst(database_url, db_pool_size=10, db_max_overflow=10)
    assert first == 16
    assert second == third == 6


async def test_a_served_process_freezes_its_start_up_heap(database_url: str) -> None:
    gc.unfreeze()
    app = _app(database_url, gc_freeze=True)
    try:
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count()
            assert frozen > 10_000  # the modules, routes and models made at start-up
            assert gc.isenabled()  # the collector still runs, for what is made later
    finally:
        gc.unfreeze()


async def test_freezing_is_a_setting(database_url: str) -> None:
    gc.unfreeze()
    app = _app(database_url)  # the tests' settings: gc_freeze off
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() == 0
