"""The whole road of one claim through the API: application → … → paid, with the benefit in the outbox."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import outbox
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


async def test_application_to_paid(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, session: AsyncSession, today: Any
) -> None:
    from datetime import date

    await create_reference_scheme(claims_client)
    household = registry.add_household()
    await enrol(claims_client, household)
    created = await apply(claims_client, household, **E1_EXPENSE)
    assert created.status_code == 201, created.text
    claim = created.json()
    assert claim["state"] == "reported"
    assert claim["household_facts"]["member_count"] == 4

    result = await to_assessed(claims_client, claim["id"])
    assert result["claim"]["state"] == "assessed"
    assert result["assessment"]["payout"] == "16000.00"

    today.set(date(2026, 4, 1))
    notice = await claims_client.post("/v1/notices", json={"village_code": household.village_code}, headers=COUNTY)
    assert notice.status_code == 201, notice.text
    assert notice.json()["last_day"] == "2026-04-10"
    await step(claims_client, claim["id"], "approve_override", COUNTY, expect=409)
    today.set(date(2026, 4, 11))
    await step(claims_client, claim["id"], "approve_override", COUNTY)

    batch = await claims_client.post(
        "/v1/payments/batches",
        json={"claim_ids": [claim["id"]], "declared_count": 1, "declared_total": "16000.00"},
        headers=COUNTY,
    )
    assert batch.status_code == 201, batch.text
    payment = batch.json()["payments"][0]
    assert payment["bank_account"].endswith("0123")
    confirmed = await claims_client.post(
        f"/v1/payments/{payment['id']}/confirmation",
        json={"status": "paid", "paid_date": "2026-04-15"},
        headers=COUNTY,
    )
    assert confirmed.status_code == 200, confirmed.text
    final = (await claims_client.get(f"/v1/claims/{claim['id']}", headers=INSURER)).json()
    assert final["state"] == "paid"
    messages = (await session.execute(select(outbox))).mappings().all()
    assert len(messages) == 1
    assert messages[0]["body"]["amount"] == "16000.00"
