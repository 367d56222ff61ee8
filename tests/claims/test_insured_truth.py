"""One truth for "insured in year Y" (issue 14, acceptance 3): the registry's `insured_years`.

The demo county's households are seeded in the registry (registry.household, read through its
contract `registry.household_snapshot_v1`), none is enrolled through claims' API: the enrolment
summary, the assessment and the simulation must all count the registry's insured households, so
the summary's people equal their members, the loss ratio is a number, and a household the
registry stops listing as insured drops out everywhere.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.demo import seed_households
from tests.claims.conftest import (
    COUNTY,
    E1_EXPENSE,
    INSURER,
    FakeRegistry,
    apply,
    create_reference_scheme,
    to_assessed,
)
from tests.support.pii import suite_cipher

YEAR = 2026
SNAPSHOT = "registry.household_snapshot_v1"


async def wait_for(client: httpx.AsyncClient, location: str) -> dict[str, Any]:
    for _ in range(200):
        job = (await client.get(location, headers=COUNTY)).json()
        if job["status"] in ("succeeded", "failed"):
            return dict(job)
        await asyncio.sleep(0.05)
    raise AssertionError("simulation did not finish")


async def registry_insured(session: AsyncSession) -> tuple[int, int]:
    """(households, members) the registry lists as insured in YEAR in the demo county."""
    row = (
        await session.execute(
            text(
                f"SELECT count(*), coalesce(sum(member_count), 0) FROM {SNAPSHOT} "
                "WHERE county_code = '410602' AND :year = ANY(insured_years)"
            ),
            {"year": YEAR},
        )
    ).one()
    return int(row[0]), int(row[1])


async def test_enrolment_assessment_and_simulation_count_the_registrys_insured(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, session: AsyncSession, today: Any
) -> None:
    from datetime import date

    assert await seed_households(session, 24, pii=suite_cipher()) == 24
    # the registry's truth for the year: every other household insured (whatever year the seed chose)
    await session.execute(
        text(
            "UPDATE registry.household h SET insured_years = CASE WHEN n.k % 2 = 0 THEN ARRAY[CAST(:year AS int)] "
            "ELSE ARRAY[]::int[] END FROM (SELECT id, row_number() OVER (ORDER BY household_number) AS k "
            "FROM registry.household WHERE county_code = '410602') n WHERE n.id = h.id"
        ),
        {"year": YEAR},
    )
    await session.commit()
    households, members = await registry_insured(session)
    assert households == 12
    assert members > 12

    await create_reference_scheme(claims_client)  # pool_mode enrolled, 100.00 a person; nobody enrolled via API
    summary = (
        await claims_client.get("/v1/enrolments/summary", params={"scheme_code": "reference-2026"}, headers=COUNTY)
    ).json()
    assert summary["households"] == households
    assert summary["insured_people"] == members  # the insured households' members
    assert Decimal(summary["premium"]) == Decimal("100.00") * members

    # a claim of an insured household and one of a household the registry does not list as insured
    rows = (
        await session.execute(
            text(
                f"SELECT household_id, village_code, member_count, insured_years FROM {SNAPSHOT} "
                "WHERE county_code = '410602' ORDER BY household_number"
            )
        )
    ).all()
    insured = next(r for r in rows if YEAR in r.insured_years)
    uninsured = next(r for r in rows if YEAR not in r.insured_years)
    today.set(date(2026, 4, 1))
    claims = {}
    for row in (insured, uninsured):
        facts = registry.add_household(members=row.member_count, insured_years=list(row.insured_years))
        del registry.households[facts.household_id]
        facts = facts.model_copy(update={"household_id": row.household_id, "village_code": row.village_code})
        registry.households[row.household_id] = facts
        claim_id = (await apply(claims_client, facts, **E1_EXPENSE)).json()["id"]
        claims[row.household_id] = await to_assessed(claims_client, claim_id, row.village_code)
    insured_claim = claims[insured.household_id]["claim"]
    assert insured_claim["state"] == "assessed", insured_claim
    assert Decimal(insured_claim["assessment"]["payout"]) > 0
    uninsured_claim = claims[uninsured.household_id]["claim"]
    assert uninsured_claim["assessment"]["rejection_code"] == "not_insured", uninsured_claim

    response = await claims_client.post(
        "/v1/simulations",
        json={"county_code": "410602", "year": YEAR, "scheme_code": "reference-2026"},
        headers=INSURER,
    )
    assert response.status_code == 202, response.text
    job = await wait_for(claims_client, response.headers["location"])
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["insured_people"] == summary["insured_people"] == members
    assert result["loss_ratio"] is not None  # numeric: the pool is the registry's insured people
    payout = Decimal(result["payout"])
    assert payout == Decimal(result["current_payout"]) == Decimal(insured_claim["assessment"]["payout"])
    assert Decimal(result["loss_ratio"]) == (payout / (Decimal("100.00") * members)).quantize(Decimal("0.0001"))
    assert result["rejections"] == {"not_insured": 1}

    # the registry takes one household off the year's insured list: it leaves the count everywhere
    gone = next(r for r in rows if YEAR in r.insured_years and r.household_id != insured.household_id)
    await session.execute(
        text("UPDATE registry.household SET insured_years = ARRAY[]::int[] WHERE id = :id"), {"id": gone.household_id}
    )
    await session.commit()
    after = (
        await claims_client.get("/v1/enrolments/summary", params={"scheme_code": "reference-2026"}, headers=COUNTY)
    ).json()
    assert after["households"] == households - 1
    assert after["insured_people"] == members - gone.member_count == (await registry_insured(session))[1]
    listed = (
        await claims_client.get(
            "/v1/enrolments",
            params={"household_id": str(gone.household_id), "scheme_code": "reference-2026"},
            headers=COUNTY,
        )
    ).json()
    assert listed["items"] == []
    assert uuid.UUID(str(insured.household_id))


async def test_the_scheduler_round_brings_the_registrys_insured_in(
    claims_client: httpx.AsyncClient, session: AsyncSession, session_factory: Any
) -> None:
    from services.claims.service.schemes import sync_insured

    assert await seed_households(session, 6, pii=suite_cipher()) == 6
    await session.execute(
        text("UPDATE registry.household SET insured_years = ARRAY[CAST(:year AS int)]"), {"year": YEAR}
    )
    await session.commit()
    await create_reference_scheme(claims_client)
    before = await claims_client.get("/v1/enrolments", params={"scheme_code": "reference-2026"}, headers=COUNTY)
    assert before.json()["items"] == []
    assert await sync_insured(session_factory, YEAR) == 6
    listed = (
        await claims_client.get("/v1/enrolments", params={"scheme_code": "reference-2026"}, headers=COUNTY)
    ).json()["items"]
    _, members = await registry_insured(session)
    assert len(listed) == 6
    assert sum(item["insured_people"] for item in listed) == members
    assert await sync_insured(session_factory, YEAR) == 6  # a second round changes nothing
    assert await sync_insured(session_factory, 2030) == 0  # no scheme in force that year
