"""Concurrency against the real database with real commits (committed_url): the locks and constraints,
not luck, keep the money right.

- 20 assessments of one household in parallel never pay past the category or household cap;
- 50 identical lead posts make one claim;
- 50 concurrent confirmations of one payment make one payment (and one benefit message);
- 50 concurrent batches for one claim make one payment.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.claims.app import create_app
from services.claims.config import ClaimsSettings
from services.claims.db import tables as t
from services.claims.domain.reference import reference_scheme_data
from shared.settings import async_database_url
from tests.claims.conftest import E1_EXPENSE, FakeRegistry, registry_client_for
from tests.conftest import make_settings
from tests.support.tokens import auth


@dataclass
class World:
    client: httpx.AsyncClient
    registry: FakeRegistry
    engine: AsyncEngine
    county: str
    village: str

    def headers(self, role: str, level: int = 6) -> dict[str, str]:
        return auth(role, "" if role == "service" else self.village[:level])


@pytest.fixture
async def world(committed_url: str, today: Any) -> AsyncIterator[World]:
    county = f"{random.randint(500000, 899999)}"
    village = f"{county}100201"
    settings = make_settings(ClaimsSettings, committed_url, db_pool_size=10, db_max_overflow=30)
    app = create_app(settings)  # type: ignore[arg-type]
    registry = FakeRegistry()
    engine = create_async_engine(async_database_url(committed_url))
    today.set(date(2026, 4, 1))
    async with app.router.lifespan_context(app):
        await app.state.clients["registry"].aclose()
        app.state.clients["registry"] = registry_client_for(registry)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://claims.test", timeout=60) as client:
            world = World(client, registry, engine, county, village)
            scheme = reference_scheme_data() | {"code": f"concurrency-{county}", "county_code": county}
            response = await client.post("/v1/schemes", json=scheme, headers=world.headers("county_officer"))
            assert response.status_code == 201, response.text
            try:
                yield world
            finally:
                await _clean(engine, county)
    await engine.dispose()


async def _clean(engine: AsyncEngine, county: str) -> None:
    async with engine.begin() as conn:
        # the scheme-version guard (rightly) refuses to drop a used version; tests clean up as a superuser
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in (
            t.payment_attempt,
            t.payment,
            t.payment_batch,
            t.objection,
            t.notice_claim,
            t.notice,
            t.assessment,
            t.ledger,
            t.claim_transition,
            t.claim,
            t.enrolment,
            t.simulation,
            t.outbox,
        ):
            await conn.execute(delete(table).where(table.c.county_code == county))
        await conn.execute(delete(t.scheme_version).where(t.scheme_version.c.code == f"concurrency-{county}"))
        await conn.execute(delete(t.scheme).where(t.scheme.c.county_code == county))


async def _household(world: World, **kw: Any) -> Any:
    household = world.registry.add_household(village=world.village, **kw)
    response = await world.client.post(
        "/v1/enrolments",
        json={
            "scheme_code": f"concurrency-{world.county}",
            "households": [
                {"household_id": str(household.household_id), "village_code": world.village, "insured_people": 4}
            ],
        },
        headers=world.headers("county_officer"),
    )
    assert response.status_code == 201, response.text
    return household


async def _claim(world: World, household: Any, category: str, day: int, **expense: Any) -> str:
    response = await world.client.post(
        "/v1/claims",
        json={
            "household_id": str(household.household_id),
            "category": category,
            "incident_date": f"2026-03-{day:02d}",
            "reported_date": "2026-03-31",
            "expense": expense,
        },
        headers=world.headers("village_cadre", 12),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _step(world: World, claim_id: str, action: str, role: str, level: int = 6, **body: Any) -> httpx.Response:
    return await world.client.post(
        f"/v1/claims/{claim_id}/transitions", json={"action": action, **body}, headers=world.headers(role, level)
    )


async def _to_filed(world: World, claim_id: str) -> None:
    for action, role, level, evidence in [
        ("start_investigation", "insurer_adjuster", 6, {}),
        ("complete_investigation", "insurer_adjuster", 6, {"findings": "ok"}),
        ("village_review", "village_cadre", 12, {"vote_result": "ok"}),
        ("township_review", "township_officer", 9, {}),
        ("file", "county_officer", 6, {}),
    ]:
        response = await _step(world, claim_id, action, role, level, evidence=evidence)
        assert response.status_code == 200, response.text


async def _approved_claim(world: World, today: Any) -> str:
    household = await _household(world)
    claim_id = await _claim(world, household, "illness", 5, **E1_EXPENSE)
    await _to_filed(world, claim_id)
    assert (await _step(world, claim_id, "assess", "insurer_adjuster")).status_code == 200
    assert (await _step(world, claim_id, "publish_notice", "county_officer")).status_code == 200
    today.set(date(2026, 4, 11))
    assert (await _step(world, claim_id, "approve", "service")).status_code == 200
    return claim_id


async def test_parallel_assessments_never_pay_past_the_caps(world: World) -> None:
    household = await _household(world, status="ordinary", members=4, income="10000.00")
    # ten disasters and ten illnesses, each alone worth its category cap (100000); household cap 150000
    claims = [await _claim(world, household, "disaster_accident", day, assessed_loss="300000") for day in range(1, 11)]
    claims += [await _claim(world, household, "illness", day, total_cost="400000") for day in range(1, 11)]
    for claim_id in claims:
        await _to_filed(world, claim_id)

    responses = await asyncio.gather(*(_step(world, c, "assess", "insurer_adjuster") for c in claims))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    payouts = [Decimal(r.json()["assessment"]["payout"]) for r in responses]
    by_category: dict[str, Decimal] = {}
    for response, payout in zip(responses, payouts, strict=True):
        category = response.json()["claim"]["category"]
        by_category[category] = by_category.get(category, Decimal(0)) + payout
    assert sum(payouts) == Decimal("150000.00")  # exactly the household cap, never more
    assert all(total <= Decimal("100000.00") for total in by_category.values())
    async with world.engine.connect() as conn:
        paid = (
            await conn.execute(
                select(func.sum(t.ledger.c.paid)).where(t.ledger.c.household_id == household.household_id)
            )
        ).scalar_one()
        active = (
            await conn.execute(
                select(func.sum(t.assessment.c.payout)).where(
                    t.assessment.c.household_id == household.household_id, t.assessment.c.status == "active"
                )
            )
        ).scalar_one()
    assert paid == active == Decimal("150000.00")
    eligible = [r for r in responses if r.json()["assessment"]["eligible"]]
    assert len(eligible) >= 2  # one category filled to its cap, the other given the rest


async def test_fifty_identical_leads_make_one_claim(world: World) -> None:
    household = world.registry.add_household(village=world.village)
    lead = {
        "source": "feed",
        "source_record_id": f"medical:{uuid.uuid4().hex}",
        "household_id": str(household.household_id),
        "member_id": str(household.members[0].member_id),
        "county_code": world.county,
        "village_code": world.village,
        "category": "illness",
        "incident_date": "2026-03-05",
        "reported_date": "2026-03-20",
        "expense": E1_EXPENSE,
        "evidence": {"department": "medical_insurance", "kind": "medical_expense"},
    }
    responses = await asyncio.gather(
        *(world.client.post("/v1/claims/leads", json=lead, headers=world.headers("service")) for _ in range(50))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 49 + [201], [r.text for r in responses if r.status_code not in (200, 201)]
    assert len({r.json()["claim_id"] for r in responses}) == 1
    async with world.engine.connect() as conn:
        count = (
            await conn.execute(
                select(func.count()).select_from(t.claim).where(t.claim.c.source_record_id == lead["source_record_id"])
            )
        ).scalar_one()
    assert count == 1


async def test_fifty_confirmations_of_one_payment_make_one_payment(world: World, today: Any) -> None:
    claim_id = await _approved_claim(world, today)
    batch = await world.client.post(
        "/v1/payments/batches",
        json={"claim_ids": [claim_id], "declared_count": 1, "declared_total": "16000.00"},
        headers=world.headers("county_officer"),
    )
    assert batch.status_code == 201, batch.text
    payment_id = batch.json()["payments"][0]["id"]
    responses = await asyncio.gather(
        *(
            world.client.post(
                f"/v1/payments/{payment_id}/confirmation",
                json={"status": "paid", "paid_date": "2026-04-15", "bank_reference": "BK-1"},
                headers=world.headers("county_officer"),
            )
            for _ in range(50)
        )
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    assert sum(r.json()["changed"] for r in responses) == 1
    async with world.engine.connect() as conn:
        payments = (await conn.execute(select(t.payment).where(t.payment.c.claim_id == claim_id))).mappings().all()
        messages = (
            await conn.execute(
                select(func.count())
                .select_from(t.outbox)
                .where(t.outbox.c.idempotency_key == f"claims:benefit:{payment_id}")
            )
        ).scalar_one()
        paid_transitions = (
            await conn.execute(
                select(func.count())
                .select_from(t.claim_transition)
                .where(t.claim_transition.c.claim_id == claim_id, t.claim_transition.c.action == "confirm_payment")
            )
        ).scalar_one()
    assert [p["status"] for p in payments] == ["paid"]
    assert messages == 1
    assert paid_transitions == 1


async def test_fifty_concurrent_batches_for_one_claim_make_one_payment(world: World, today: Any) -> None:
    claim_id = await _approved_claim(world, today)
    body = {"claim_ids": [claim_id], "declared_count": 1, "declared_total": "16000.00"}
    responses = await asyncio.gather(
        *(
            world.client.post("/v1/payments/batches", json=body, headers=world.headers("county_officer"))
            for _ in range(50)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49, [r.text for r in responses if r.status_code not in (201, 409)]
    async with world.engine.connect() as conn:
        count = (
            await conn.execute(select(func.count()).select_from(t.payment).where(t.payment.c.claim_id == claim_id))
        ).scalar_one()
    assert count == 1
