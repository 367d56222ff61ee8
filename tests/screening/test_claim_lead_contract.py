"""Claim leads written by SQL are exactly the contract model's JSON (issue 11).

The feed batch and the screening run write thousands of claim-lead messages in one statement
each; the body comes from `claim_lead_body_sql()`, generated from `shared.contracts.claims.ClaimLead`.
What lands in the outbox must be what `ClaimLead(...).model_dump(mode="json")` would send: every
field, nested evidence included, nulls where a field does not apply, nothing else.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.claim_lead_repository import SOURCE_COLUMNS, claim_lead_body_sql
from services.screening.db.tables import outbox
from shared.contracts.claims import ClaimLead, LeadEvidence
from tests.screening.conftest import PostFeed, RunScreening
from tests.screening.support import add_household, medical, record

pytestmark = pytest.mark.usefixtures("clock")


def _keys(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


async def _claim_bodies(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(select(outbox.c.body).where(outbox.c.target == "claims").order_by(outbox.c.seq))
    return [body for (body,) in rows]


def _assert_is_the_models_json(body: dict[str, Any]) -> ClaimLead:
    lead = ClaimLead.model_validate(body)
    assert body == lead.model_dump(mode="json")  # every field, nulls included, no extra key
    assert set(body) == _keys(ClaimLead)
    assert set(body["evidence"]) == _keys(LeadEvidence)
    return lead


def test_the_sql_names_every_field_of_the_contract() -> None:
    top = {f for f in ClaimLead.model_fields if f != "evidence"}
    assert set(SOURCE_COLUMNS) == top | {f"evidence_{f}" for f in LeadEvidence.model_fields}
    sql = claim_lead_body_sql("c")
    for name in [*ClaimLead.model_fields, *LeadEvidence.model_fields]:
        assert f"'{name}'," in sql


async def test_the_body_sql_of_a_row_is_the_models_json(session: AsyncSession) -> None:
    """The builder alone, on one row of typed values (dates, uuids, nulls, a jsonb expense)."""
    row = (
        await session.execute(
            text(
                f"""SELECT {claim_lead_body_sql("c")} FROM (SELECT
                    'feed' AS source, 'medical_insurance:YB-9' AS source_record_id,
                    gen_random_uuid() AS household_id, CAST(NULL AS uuid) AS member_id,
                    '410602' AS county_code, '410602001001' AS village_code, 'illness' AS category,
                    DATE '2026-02-01' AS incident_date, DATE '2026-04-05' AS reported_date,
                    '{{"total_cost": "100.00"}}'::jsonb AS expense,
                    'medical_insurance' AS evidence_department, gen_random_uuid() AS evidence_batch_id,
                    gen_random_uuid() AS evidence_feed_record_id, CAST(NULL AS uuid) AS evidence_run_id,
                    'medical_expense' AS evidence_kind) c"""
            )
        )
    ).scalar_one()
    lead = _assert_is_the_models_json(row)
    assert lead.member_id is None
    assert lead.evidence.run_id is None
    assert row["incident_date"] == "2026-02-01"
    assert row["expense"] == {"total_cost": "100.00"}


async def test_feed_claim_leads_are_the_models_json(session: AsyncSession, post_feed: PostFeed) -> None:
    insured = await add_household(session, insured_years=[2026])
    await post_feed("medical_insurance", [medical("YB-1", insured.national_ids[0], "9000.00", day="2026-02-01")])
    await post_feed(
        "education",
        [record("JY-1", "school_admission", "2026-03-01", national_id=insured.national_ids[1], level="undergraduate")],
    )
    bodies = await _claim_bodies(session)
    assert len(bodies) == 2
    illness, entry = (_assert_is_the_models_json(b) for b in bodies)
    assert (illness.category, entry.category) == ("illness", "school_entry")
    assert bodies[0]["evidence"]["run_id"] is None  # a feed lead names no run: null, as the model sends it
    assert bodies[0]["evidence"]["department"] == "medical_insurance"


async def test_run_claim_leads_are_the_models_json(session: AsyncSession, run_screening: RunScreening) -> None:
    dropped = await add_household(session, incomes={2025: "15000.00", 2024: "30000.00"}, insured_years=[2026])
    run = await run_screening()
    [body] = await _claim_bodies(session)
    lead = _assert_is_the_models_json(body)
    assert (lead.category, lead.household_id, str(lead.evidence.run_id)) == ("income_drop", dropped.id, run["id"])
    assert body["member_id"] is None
    assert body["evidence"]["batch_id"] is None
    assert body["expense"] == {}
