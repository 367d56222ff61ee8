"""Assessment in the service: the ledger carries the year to date between claims (E1 → E2), the stored
breakdown re-computes to the same figures, and every ledger-backed rule (caps, duplicates, insurance)."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import ledger, scheme_version
from services.claims.domain.assessment import assess, parse_claim_input
from services.claims.domain.scheme import parse_scheme
from tests.claims.conftest import (
    COUNTY,
    E1_EXPENSE,
    INSURER,
    FakeRegistry,
    apply,
    create_reference_scheme,
    enrol,
    to_assessed,
)


async def assessed(client: httpx.AsyncClient, household: Any, category: str = "illness", **kw: Any) -> dict[str, Any]:
    response = await apply(client, household, category, **kw)
    assert response.status_code == 201, response.text
    return await to_assessed(client, response.json()["id"])


async def ledger_of(session: AsyncSession, household: Any) -> dict[str, tuple[str, str]]:
    rows = (await session.execute(select(ledger).where(ledger.c.household_id == household.household_id))).mappings()
    return {r["category"]: (f"{r['base']:.2f}", f"{r['paid']:.2f}") for r in rows if r["base"] or r["paid"]}


async def test_e1_then_e2_through_the_ledger(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, session: AsyncSession
) -> None:
    await create_reference_scheme(claims_client)
    household = registry.add_household(status="unstable", members=4, income="30000.00")
    await enrol(claims_client, household)
    e1 = await assessed(claims_client, household, **E1_EXPENSE)
    assert e1["assessment"]["payout"] == "16000.00"
    assert await ledger_of(session, household) == {"illness": ("35000.00", "16000.00")}
    e2 = await assessed(
        claims_client,
        household,
        incident="2026-06-01",
        reported="2026-06-10",
        total_cost="25000",
        basic_insurance_paid="15000",
    )
    assert e2["assessment"]["payout"] == "6000.00"
    bd = e2["assessment"]["breakdown"]
    assert (bd["b"], bd["B"], bd["X"], bd["f"], bd["category_paid"]) == (
        "10000.00",
        "45000.00",
        "40000.00",
        "22000.00",
        "16000.00",
    )
    assert await ledger_of(session, household) == {"illness": ("45000.00", "22000.00")}


async def test_stored_assessment_recomputes_to_the_same_figures(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, session: AsyncSession
) -> None:
    await create_reference_scheme(claims_client)
    household = registry.add_household()
    await enrol(claims_client, household)
    await assessed(claims_client, household, **E1_EXPENSE)
    second = await assessed(
        claims_client, household, incident="2026-06-01", total_cost="25000", basic_insurance_paid="15000"
    )
    stored = second["assessment"]
    # by hand, from what is stored: the facts and prior on the assessment and the scheme version it names
    body = (
        await session.execute(
            select(scheme_version.c.body).where(
                scheme_version.c.code == stored["scheme_code"], scheme_version.c.version == stored["scheme_version"]
            )
        )
    ).scalar_one()
    facts, prior = parse_claim_input(stored["facts"])
    again = assess(parse_scheme(body), facts, prior)
    assert f"{again.payout:.2f}" == stored["payout"]
    assert again.breakdown == stored["breakdown"]
    # and through the API
    verification = await claims_client.get(f"/v1/claims/{stored['claim_id']}/assessments/verification", headers=INSURER)
    assert verification.json()["same"] is True
    assert verification.json()["recomputed_payout"] == "6000.00"


async def test_household_cap_spans_categories(claims_client: httpx.AsyncClient, registry: FakeRegistry) -> None:
    await create_reference_scheme(claims_client, household_annual_cap="50000.00")
    household = registry.add_household(status="ordinary", members=4, income="10000.00")
    await enrol(claims_client, household)
    disaster = await assessed(claims_client, household, "disaster_accident", assessed_loss="80000")
    assert disaster["assessment"]["payout"] == "49600.00"  # X = 78000: 50000×0.6 + 28000×0.7
    illness = await assessed(claims_client, household, incident="2026-05-01", **E1_EXPENSE)
    assert illness["assessment"]["payout"] == "400.00"  # R = 50000 − 49600
    assert illness["assessment"]["breakdown"]["household_cap_applied"] is True
    third = await assessed(
        claims_client,
        household,
        "in_school",
        incident="2026-09-01",
        member=2,
        education_cost="15000",
        aid_received="6000",
    )
    assert third["claim"]["state"] == "rejected"
    assert third["claim"]["rejection_code"] == "household_cap_reached"


async def test_school_entry_pays_a_student_and_level_once(
    claims_client: httpx.AsyncClient, registry: FakeRegistry
) -> None:
    await create_reference_scheme(claims_client)
    household = registry.add_household(status="ordinary", members=5, income="25000.00")
    await enrol(claims_client, household)
    first = await assessed(
        claims_client, household, "school_entry", incident="2026-09-01", member=2, level="undergraduate"
    )
    assert first["assessment"]["payout"] == "5000.00"
    again = await assessed(
        claims_client, household, "school_entry", incident="2026-09-02", member=2, level="undergraduate"
    )
    assert again["claim"]["rejection_code"] == "duplicate"
    sibling = await assessed(
        claims_client, household, "school_entry", incident="2026-09-01", member=3, level="undergraduate"
    )
    assert sibling["assessment"]["payout"] == "5000.00"


async def test_income_drop_once_a_year(claims_client: httpx.AsyncClient, registry: FakeRegistry) -> None:
    await create_reference_scheme(claims_client)
    household = registry.add_household(status="lifted_out", members=4, income="20000.00", previous="40000.00")
    await enrol(claims_client, household)
    e6 = await assessed(claims_client, household, "income_drop", member=None)
    assert e6["assessment"]["payout"] == "4000.00"
    again = await assessed(claims_client, household, "income_drop", incident="2026-07-01", member=None)
    assert again["claim"]["rejection_code"] == "already_paid_this_year"


async def test_insurance_comes_from_enrolment_or_the_pool(
    claims_client: httpx.AsyncClient, registry: FakeRegistry
) -> None:
    await create_reference_scheme(claims_client)
    outsider = registry.add_household()
    rejected = await assessed(claims_client, outsider, **E1_EXPENSE)
    assert rejected["claim"]["rejection_code"] == "not_insured"
    assert rejected["assessment"]["facts"]["household"]["insured"] is False
    on_roster = registry.add_household(insured_years=[2026])  # the registry's roster counts too
    assert (await assessed(claims_client, on_roster, **E1_EXPENSE))["assessment"]["payout"] == "16000.00"


async def test_all_rural_covers_every_household(claims_client: httpx.AsyncClient, registry: FakeRegistry) -> None:
    await create_reference_scheme(claims_client, pool_mode="all_rural")
    household = registry.add_household()
    result = await assessed(claims_client, household, **E1_EXPENSE)
    assert result["assessment"]["payout"] == "16000.00"


async def test_negative_list_and_missing_income(claims_client: httpx.AsyncClient, registry: FakeRegistry) -> None:
    await create_reference_scheme(claims_client, pool_mode="all_rural")
    listed = registry.add_household(negative_list=True)
    assert (await assessed(claims_client, listed, **E1_EXPENSE))["claim"]["rejection_code"] == "negative_list"
    unknown_income = registry.add_household(income=None, previous=None)
    result = await assessed(claims_client, unknown_income, **E1_EXPENSE)
    assert result["assessment"]["facts"]["household"]["annual_net_income"] == "0.00"
    assert result["claim"]["household_facts"]["annual_net_income"] is None


amounts = st.integers(min_value=0, max_value=400_000)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(losses=st.lists(amounts, min_size=1, max_size=5))
async def test_a_households_sequence_never_pays_past_its_caps(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, session: AsyncSession, losses: list[int]
) -> None:
    """Through the service, claims of one household and category: the sum of payouts is f(B) of the total
    base (until a cap binds), never above the category cap, and the ledger agrees with the assessments."""
    if (await claims_client.get("/v1/schemes/reference-2026", headers=COUNTY)).status_code != 200:
        await create_reference_scheme(claims_client)
    household = registry.add_household(status="ordinary", members=4, income="10000.00")
    await enrol(claims_client, household)
    total_paid = 0.0
    for i, loss in enumerate(losses):
        result = await assessed(
            claims_client, household, "disaster_accident", incident=f"2026-04-{i + 1:02d}", assessed_loss=str(loss)
        )
        total_paid += float(result["assessment"]["payout"])
    base = sum(losses)
    x = max(0, base - 2000)
    expected = min(0.6 * min(x, 50000) + 0.7 * max(0, x - 50000), 100000)
    assert abs(total_paid - expected) < 0.01
    rows = await ledger_of(session, household)
    assert float(rows.get("disaster_accident", ("0", "0"))[1]) == round(total_paid, 2)
