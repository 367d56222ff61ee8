"""Simulation: a draft scheme on a year's stored claim facts; totals by category and township, loss ratio."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import simulation
from services.claims.domain.reference import reference_scheme_data
from tests.claims.conftest import (
    COUNTY,
    E1_EXPENSE,
    INSURER,
    FakeRegistry,
    apply,
    create_reference_scheme,
    enrol,
    step,
    to_assessed,
)
from tests.conftest import AppHarness
from tests.support.tokens import OTHER_VILLAGE, auth


async def wait_for(client: httpx.AsyncClient, location: str) -> dict[str, Any]:
    for _ in range(100):
        job = (await client.get(location, headers=COUNTY)).json()
        if job["status"] in ("succeeded", "failed"):
            return dict(job)
        await asyncio.sleep(0.05)
    raise AssertionError("simulation did not finish")


async def test_simulate_a_draft_on_the_years_claims(claims_client: httpx.AsyncClient, registry: FakeRegistry) -> None:
    await create_reference_scheme(claims_client)
    here = registry.add_household()  # unstable, n = 4, I = 30000: E1 → 16000
    there = registry.add_household(village=OTHER_VILLAGE, status="ordinary", members=4, income="28000.00")
    await enrol(claims_client, here, there)
    e1 = (await apply(claims_client, here, **E1_EXPENSE)).json()["id"]
    await to_assessed(claims_client, e1)
    e7 = (
        await apply(
            claims_client, there, "industry_loss", headers=COUNTY, assessed_loss="30000", insurance_compensation="8000"
        )
    ).json()["id"]  # E7 → 10000, still only reported
    rejected = (await apply(claims_client, here, incident="2026-05-01", total_cost="99999")).json()["id"]
    await step(claims_client, rejected, "start_investigation", INSURER)
    await step(claims_client, rejected, "reject", INSURER, reason_code="fraud")  # a reviewer's no: left out

    draft = reference_scheme_data() | {
        "code": "draft-2027",
        "year": 2027,
        "premium_per_person": "150.00",
        "insurer": "中原农业保险股份有限公司",  # issue 10: the insurer is shown in the simulation
        "policy_number": "ZY-2027-1",
        "poverty_standard": "4000.00",
        "protection_line_multiplier": "1.5",
    }
    draft["categories"]["illness"]["tiers"][0]["rate"] = "0.60"  # 20000×0.6 + 10000×0.6 = 18000
    response = await claims_client.post(
        "/v1/simulations", json={"county_code": "410602", "year": 2026, "scheme": draft}, headers=INSURER
    )
    assert response.status_code == 202, response.text
    job = await wait_for(claims_client, response.headers["location"])
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["scheme"] == {
        "code": "draft-2027",
        "version": 1,
        "applied_as_year": 2026,
        "insurer": "中原农业保险股份有限公司",
        "policy_number": "ZY-2027-1",
        "contract_start": None,
        "contract_end": None,
        "protection_line": "6000.00",
        "poverty_standard": "4000.00",
        "protection_line_multiplier": "1.5",
    }
    assert (result["claims"], result["eligible"], result["payout"]) == (2, 2, "28000.00")
    assert result["current_payout"] == "16000.00"
    assert result["by_category"] == {
        "illness": {"claims": 1, "eligible": 1, "payout": "18000.00"},
        "industry_loss": {"claims": 1, "eligible": 1, "payout": "10000.00"},
    }
    assert result["by_township"] == {
        "410602100": {"claims": 1, "eligible": 1, "payout": "18000.00"},
        "410602101": {"claims": 1, "eligible": 1, "payout": "10000.00"},
    }
    assert result["insured_people"] == 8
    assert result["premium_pool"] == "1200.00"
    assert result["loss_ratio"] == "23.3333"
    assert job["progress"] == {"done": 2, "total": 2}
    assert e7


async def test_simulation_replays_the_ledger_per_household(
    claims_client: httpx.AsyncClient, registry: FakeRegistry
) -> None:
    await create_reference_scheme(claims_client)
    household = registry.add_household()
    await enrol(claims_client, household)
    await apply(claims_client, household, **E1_EXPENSE)
    await apply(claims_client, household, incident="2026-06-01", total_cost="25000", basic_insurance_paid="15000")
    response = await claims_client.post(
        "/v1/simulations",
        json={"county_code": "410602", "year": 2026, "scheme_code": "reference-2026"},
        headers=COUNTY,
    )
    job = await wait_for(claims_client, response.headers["location"])
    assert job["result"]["payout"] == "22000.00"  # E1 16000 then E2 6000


async def test_simulation_input_and_scope(claims_client: httpx.AsyncClient) -> None:
    await create_reference_scheme(claims_client)
    both = await claims_client.post("/v1/simulations", json={"county_code": "410602", "year": 2026}, headers=COUNTY)
    assert both.status_code == 422
    other = reference_scheme_data() | {"county_code": "110101"}
    wrong_county = await claims_client.post(
        "/v1/simulations", json={"county_code": "410602", "year": 2026, "scheme": other}, headers=COUNTY
    )
    assert wrong_county.status_code == 422
    outside = await claims_client.post(
        "/v1/simulations",
        json={"county_code": "410602", "year": 2026, "scheme_code": "reference-2026"},
        headers=auth("county_officer", "110101"),
    )
    assert outside.status_code == 404
    cadre = await claims_client.post(
        "/v1/simulations",
        json={"county_code": "410602", "year": 2026, "scheme_code": "reference-2026"},
        headers=auth("village_cadre", "410602100201"),
    )
    assert cadre.status_code == 403


async def test_jobs_left_behind_are_resumed_or_failed(
    claims_client: httpx.AsyncClient, session: AsyncSession, app_harness: AppHarness
) -> None:
    await create_reference_scheme(claims_client)
    scheme = reference_scheme_data() | {"version": 1}
    long_ago = datetime.now(UTC) - timedelta(days=1)
    queued, running = uuid.uuid4(), uuid.uuid4()
    await session.execute(
        simulation.insert().values(
            id=queued, county_code="410602", year=2026, scheme=scheme, status="queued", errors=[], created_at=long_ago
        )
    )
    await session.execute(
        simulation.insert().values(
            id=running,
            county_code="410602",
            year=2026,
            scheme=scheme,
            status="running",
            errors=[],
            created_at=long_ago,
            started_at=long_ago,
        )
    )
    await session.commit()
    app = await app_harness.get("claims")
    found = await app.state.jobs.recover()  # the kernel's job runner (a scheduler round calls it)
    await app.state.jobs.drain()
    assert found.resumed == [("simulation", queued)]
    assert found.failed == [("simulation", running)]
    done = (await claims_client.get(f"/v1/simulations/{queued}", headers=COUNTY)).json()
    assert done["status"] == "succeeded"
    failed = (await claims_client.get(f"/v1/simulations/{running}", headers=COUNTY)).json()
    assert failed["status"] == "failed"
    assert "interrupted" in failed["errors"][0]
