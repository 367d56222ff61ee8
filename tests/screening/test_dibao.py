"""低保 (rules.md §4; issue 13) over HTTP against the real database: the county's standard by class,
versioned like the thresholds with seed 004's 462 / 354 / 200 as version 1, and the month's payments
generated for every household measure in a class, once, each to the registry through the outbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import outbox
from tests.screening.support import COUNTY, TOWNSHIP, VILLAGE, Clock, add_household
from tests.support.tokens import auth

OFFICER = auth("county_officer", COUNTY)
OTHER_OFFICER = auth("county_officer", "410603")
TOWNSHIP_OFFICER = auth("township_officer", TOWNSHIP)
CADRE = auth("village_cadre", VILLAGE)


async def dibao_measure(client: httpx.AsyncClient, household: Any, cls: str, persons: int, **over: Any) -> Any:
    body = {
        "household_id": str(household.id),
        "measure_type": "dibao",
        "status": "in_progress",
        "start_date": "2026-01-01",
        "details": {"dibao_class": cls, "persons": persons},
        **over,
    }
    r = await client.post("/v1/measures", json=body, headers=CADRE)
    assert r.status_code == 201, r.text
    return r.json()


async def test_the_standard_is_versioned_with_the_seed_amounts_first(
    screening_client: httpx.AsyncClient, session: AsyncSession, clock: Clock
) -> None:
    first = await screening_client.get(f"/v1/dibao-standards/{COUNTY}/2026", headers=CADRE)
    assert first.status_code == 200, first.text
    assert first.json()["amounts"] == {"A": "462.00", "B": "354.00", "C": "200.00"}
    assert first.json()["version"] == 1
    assert first.headers["etag"] == '"1"'

    change = {"amounts": {"A": "480.00"}, "source": "[S] 县民政局 2026 年 7 月起低保标准"}
    stale = await screening_client.put(f"/v1/dibao-standards/{COUNTY}/2026", json=change, headers=OFFICER)
    assert stale.status_code == 428
    new = await screening_client.put(
        f"/v1/dibao-standards/{COUNTY}/2026", json=change, headers={**OFFICER, "If-Match": '"1"'}
    )
    assert new.status_code == 200, new.text
    assert new.json()["amounts"] == {"A": "480.00", "B": "354.00", "C": "200.00"}
    assert new.json()["version"] == 2
    same = await screening_client.put(
        f"/v1/dibao-standards/{COUNTY}/2026", json=change, headers={**OFFICER, "If-Match": '"2"'}
    )
    assert same.status_code == 409
    assert same.json()["code"] == "no_change"
    old = await screening_client.put(
        f"/v1/dibao-standards/{COUNTY}/2026", json=change, headers={**OFFICER, "If-Match": '"1"'}
    )
    assert old.status_code == 412
    versions = (await screening_client.get(f"/v1/dibao-standards/{COUNTY}/2026/versions", headers=CADRE)).json()
    assert [(v["version"], v["amounts"]["A"]) for v in versions] == [(1, "462.00"), (2, "480.00")]

    # the first version of a new year names every class
    partial = await screening_client.put(f"/v1/dibao-standards/{COUNTY}/2027", json=change, headers=OFFICER)
    assert partial.status_code == 422
    assert {e["field"] for e in partial.json()["errors"]} == {"amounts.B", "amounts.C"}
    full = {"amounts": {"A": "500.00", "B": "380.00", "C": "220.00"}, "source": "[S] 2027"}
    made = await screening_client.put(f"/v1/dibao-standards/{COUNTY}/2027", json=full, headers=OFFICER)
    assert made.status_code == 201

    for bad in ({"A": "0"}, {"A": "462.001"}, {"D": "1.00"}, {"A": "-1"}):
        r = await screening_client.put(
            f"/v1/dibao-standards/{COUNTY}/2026",
            json={"amounts": bad, "source": "x"},
            headers={**OFFICER, "If-Match": '"2"'},
        )
        assert r.status_code == 422, (bad, r.text)
    assert (
        await screening_client.put(f"/v1/dibao-standards/{COUNTY}/2026", json=change, headers=TOWNSHIP_OFFICER)
    ).status_code == 403
    assert (await screening_client.get(f"/v1/dibao-standards/{COUNTY}/2026", headers=OTHER_OFFICER)).status_code == 404
    audit = await session.execute(
        text("SELECT count(*) FROM audit.audit_log WHERE action = 'screening.dibao_standard.versioned'")
    )
    assert audit.scalar_one() == 2


async def test_a_month_of_dibao_is_paid_once_to_each_household_in_a_class(
    screening_client: httpx.AsyncClient, session: AsyncSession, clock: Clock
) -> None:
    a, c, ended, planned, o = [await add_household(session) for _ in range(5)]
    ma = await dibao_measure(screening_client, a, "A", 2)
    mc = await dibao_measure(screening_client, c, "C", 3)
    await dibao_measure(screening_client, ended, "B", 1, status="delivered", end_date="2026-01-31")
    await dibao_measure(screening_client, planned, "B", 1, status="planned")
    await screening_client.post(
        "/v1/measures",
        json={"household_id": str(o.id), "measure_type": "tekun", "status": "in_progress", "details": {}},
        headers=CADRE,
    )

    run = await screening_client.post(
        "/v1/dibao-payments",
        json={"county_code": COUNTY, "period": "2026-03", "paid_date": "2026-03-25"},
        headers=OFFICER,
    )
    assert run.status_code == 200, run.text
    result = run.json()
    assert result["standard_version"] == 1
    assert result["created"] == 2
    assert result["created_amount"] == "1524.00"  # 2 × 462 + 3 × 200
    assert result["paid_before"] == 0

    paid = {
        m["id"]: (await screening_client.get(f"/v1/measures/{m['id']}/payments", headers=CADRE)).json()
        for m in (ma, mc)
    }
    assert [(p["period"], p["amount"], p["income_type"], p["year"]) for p in paid[ma["id"]]] == [
        ("2026-03", "924.00", "transfer", 2026)
    ]
    assert paid[mc["id"]][0]["amount"] == "600.00"
    assert paid[mc["id"]][0]["details"]["standard_version"] == 1
    assert paid[mc["id"]][0]["details"]["dibao_class"] == "C"

    messages = list((await session.execute(select(outbox).order_by(outbox.c.seq))).mappings())
    income = [m for m in messages if m["path"].endswith("/assistance-income")]
    assert sorted(Decimal(m["body"]["amount"]) for m in income) == [Decimal("600.00"), Decimal("924.00")]
    assert {m["body"]["measure_type"] for m in income} == {"dibao"}
    assert {m["idempotency_key"] for m in income} == {f"screening:assistance:{p[0]['id']}" for p in paid.values()}

    again = (
        await screening_client.post(
            "/v1/dibao-payments", json={"county_code": COUNTY, "period": "2026-03"}, headers=OFFICER
        )
    ).json()
    assert (again["created"], again["paid_before"], again["created_amount"]) == (0, 2, "0.00")
    assert len([m for m in (await session.execute(select(outbox))).mappings() if m["path"].endswith("-income")]) == 2

    # a reversed month is paid again by the next run, at the standard then current
    await screening_client.post(
        f"/v1/payments/{paid[ma['id']][0]['id']}/reversal", json={"reason": "人数核减"}, headers=CADRE
    )
    await screening_client.put(
        f"/v1/dibao-standards/{COUNTY}/2026",
        json={"amounts": {"A": "480.00"}, "source": "[S] 新标准"},
        headers={**OFFICER, "If-Match": '"1"'},
    )
    third = (
        await screening_client.post(
            "/v1/dibao-payments", json={"county_code": COUNTY, "period": "2026-03"}, headers=OFFICER
        )
    ).json()
    assert (third["created"], third["created_amount"], third["standard_version"]) == (1, "960.00", 2)

    january = (
        await screening_client.post(
            "/v1/dibao-payments", json={"county_code": COUNTY, "period": "2026-01"}, headers=OFFICER
        )
    ).json()
    assert january["created"] == 3  # the delivered measure ended on 2026-01-31 covers January

    # scope and validation
    assert (
        await screening_client.post(
            "/v1/dibao-payments", json={"county_code": COUNTY, "period": "2026-03"}, headers=TOWNSHIP_OFFICER
        )
    ).status_code == 403
    assert (
        await screening_client.post(
            "/v1/dibao-payments", json={"county_code": COUNTY, "period": "2026-03"}, headers=CADRE
        )
    ).status_code == 403
    for bad in (
        {"county_code": COUNTY, "period": "2026-13"},
        {"county_code": "41060", "period": "2026-03"},
        {"county_code": COUNTY, "period": "2026-03", "paid_date": "2026-05-01"},
    ):
        r = await screening_client.post("/v1/dibao-payments", json=bad, headers=OFFICER)
        assert r.status_code == 422, (bad, r.text)
    audit = await session.execute(
        text("SELECT count(*) FROM audit.audit_log WHERE action = 'screening.dibao_payments.generated'")
    )
    assert audit.scalar_one() == 4
