"""The claims API as a whole: every endpoint needs a token, the documented paths exist, the scheduler runs."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date
from typing import Any

import httpx
import pytest

from services.claims.app import create_app
from services.claims.config import ClaimsSettings
from services.claims.jobs import advance_from_cli, run_once
from services.claims.service.common import Runtime
from tests.claims.conftest import COUNTY, E1_EXPENSE, FakeRegistry, apply, create_reference_scheme, enrol, to_assessed
from tests.conftest import AppHarness, make_settings


async def test_every_endpoint_needs_a_token(claims_client: httpx.AsyncClient) -> None:
    spec = (await claims_client.get("/openapi.json")).json()
    checked = 0
    for template, operations in spec["paths"].items():
        if not template.startswith("/v1/"):
            continue
        path = re.sub(r"\{[^}]*version\}", "1", template)
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        for method in operations:
            response = await claims_client.request(method.upper(), path)
            assert response.status_code == 401, (method, template, response.status_code)
            checked += 1
    assert checked >= 30


async def test_the_documented_paths_exist(claims_client: httpx.AsyncClient) -> None:
    spec = (await claims_client.get("/openapi.json")).json()
    paths = set(spec["paths"])
    for documented in (
        "/v1/schemes",
        "/v1/enrolments",
        "/v1/claims",
        "/v1/claims/{claim_id}/transitions",
        "/v1/assessments:preview",
        "/v1/notices",
        "/v1/notices/{notice_id}/objections",
        "/v1/payments",
        "/v1/simulations",
    ):
        assert documented in paths
    assert spec["components"]["schemas"]["PaymentRead"]["properties"]["amount"]["type"] == "string"


async def test_a_scheduler_round_approves_and_fetches(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, app_harness: AppHarness, today: Any
) -> None:
    await create_reference_scheme(claims_client)
    today.set(date(2026, 4, 1))
    household = registry.add_household()
    await enrol(claims_client, household)
    claim_id = (await apply(claims_client, household, **E1_EXPENSE)).json()["id"]
    await to_assessed(claims_client, claim_id)
    await claims_client.post("/v1/notices", json={"village_code": household.village_code}, headers=COUNTY)
    today.set(date(2026, 4, 11))
    await run_once(Runtime.from_app(await app_harness.get("claims")))
    assert (await claims_client.get(f"/v1/claims/{claim_id}", headers=COUNTY)).json()["state"] == "approved"


async def test_the_scheduler_hook_starts_and_stops(committed_url: str) -> None:
    settings = make_settings(ClaimsSettings, committed_url, scheduler_enabled=True, scheduler_interval_seconds=0.05)
    app = create_app(settings)  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        await asyncio.sleep(0.3)  # a few rounds on a quiet database
    result = await advance_from_cli(committed_url, date(2026, 1, 1))
    assert result.approved == 0


@pytest.mark.parametrize("interval", [0.0, -1.0])
def test_scheduler_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError):
        ClaimsSettings(scheduler_interval_seconds=interval)


async def test_claims_metrics_are_exposed(claims_client: httpx.AsyncClient) -> None:
    text = (await claims_client.get("/metrics")).text
    for name in (
        "fangpin_claims_assessments_total",
        "fangpin_claims_assessed_payout_yuan_total",
        "fangpin_claims_payment_confirmations_total",
        "fangpin_claims_leads_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')} counter" in text or f"# TYPE {name} counter" in text
