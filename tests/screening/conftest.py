"""Screening fixtures: the app under test with a settable clock, feeds posted in one call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import AppHarness
from tests.screening.support import COUNTY, Clock, control_total, jsonl
from tests.support.tokens import auth

#: 2026-04-05 10:00 in China: the March run is due, the window is 2025-04-01 … 2026-03-31.
NOW = datetime(2026, 4, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
async def screening_app(app_harness: AppHarness, screening_client: httpx.AsyncClient) -> FastAPI:
    return await app_harness.get("screening")


@pytest.fixture
async def clock(screening_app: FastAPI) -> AsyncIterator[Clock]:
    original = screening_app.state.clock
    fixed = Clock(NOW)
    screening_app.state.clock = fixed
    yield fixed
    screening_app.state.clock = original


PostFeed = Callable[..., Any]


@pytest.fixture
def post_feed(screening_client: httpx.AsyncClient, clock: Clock) -> PostFeed:
    async def post(
        department: str,
        records: Sequence[dict[str, Any]],
        *,
        county: str = COUNTY,
        record_count: int | None = None,
        total: str | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        expect: int | None = 202,
    ) -> httpx.Response:
        params = {
            "county_code": county,
            "record_count": len(records) if record_count is None else record_count,
            "control_total": control_total(records) if total is None else total,
        }
        sent = {
            "Content-Type": "application/x-ndjson",
            **(headers or auth("department_feeder", county, department=department)),
        }
        if key:
            sent["Idempotency-Key"] = key
        response = await screening_client.post(
            f"/v1/feeds/{department}/batches", params=params, content=jsonl(records), headers=sent
        )
        if expect is not None:
            assert response.status_code == expect, response.text
        return response

    return post


RunScreening = Callable[..., Any]


@pytest.fixture
def run_screening(screening_client: httpx.AsyncClient, clock: Clock) -> RunScreening:
    async def run(period: str = "2026-03", county: str = COUNTY) -> dict[str, Any]:
        response = await screening_client.post(
            "/v1/runs", json={"county_code": county, "period": period}, headers=auth("county_officer", county)
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        assert body["status"] == "succeeded", body
        return body

    return run


async def all_leads(
    client: httpx.AsyncClient, run_id: str, region: str = COUNTY, **params: Any
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"/v1/runs/{run_id}/leads", params=query, headers=auth("county_officer", region))
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items
