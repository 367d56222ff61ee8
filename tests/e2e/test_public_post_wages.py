"""公益岗 wages reach the register (issue 13, acceptances 1 and 2), registry and screening as real processes:

1. an assignment with three months of attendance pays three wages; the registry's income for the year rises
   by their sum; a household that was a lead (income below the line) is not one in the next screening run;
   reversing the payments makes it a lead again;
2. one month's wage posted 50 times concurrently makes one payment and one registry income entry; posted
   (50 times again) while the registry is down, then the registry back up: still one entry.

The income year is last year (its months have all begun and are paid in the past); the runs are of last
year's last three months, which no other end-to-end test runs (a period's first run fixes the data it sees).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.processes import (
    NO_SCHEDULERS,
    ServiceProcess,
    national_id,
    ok,
    seeded_services,
)
from tests.support.tokens import auth, service_env

pytestmark = pytest.mark.e2e

COUNTY, VILLAGE = "410602", "410602100202"
OFFICER = auth("county_officer", COUNTY)
TODAY = datetime.now(timezone(timedelta(hours=8))).date()  # the services' dates are China dates
YEAR = TODAY.year - 1
WAGE = Decimal("1200.00")


@pytest.fixture(scope="module")
def services(e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    env = {**service_env(e2e_database_url), **NO_SCHEDULERS}
    with seeded_services(["registry", "screening"], env, tmp_path_factory.mktemp("public-posts-e2e")) as procs:
        yield procs


def query(url: str, statement: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(statement, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def poor_household(registry: httpx.Client) -> dict[str, Any]:
    """Three members, last year's net income 15000.00: 5000.00 a head, below the 6000.00 line."""
    body: dict[str, Any] = {
        "household_number": f"{VILLAGE}{random.randint(10**6, 10**7 - 1)}",
        "village_code": VILLAGE,
        "status": "ordinary",
        "members": [
            {"name": "李国强", "national_id": national_id(COUNTY, date(1975, 3, 2)), "relation": "head"},
            {"name": "张秀英", "national_id": national_id(COUNTY, date(1977, 6, 9)), "relation": "spouse"},
            {
                "name": "李小明",
                "national_id": national_id(COUNTY, date(2012, 9, 1)),
                "relation": "son",
                "labour_ability": "none",
            },
        ],
        "incomes": [{"year": YEAR, "wage_income": "15000.00"}],
    }
    return dict(ok(registry.post("/v1/households", json=body, headers=OFFICER), 201))


def net_income(registry: httpx.Client, household_id: str) -> Decimal:
    items = ok(registry.get(f"/v1/households/{household_id}/incomes", headers=OFFICER))["items"]
    return Decimal(next(i for i in items if i["year"] == YEAR)["net_income"])


def assistance_income(registry: httpx.Client, household_id: str) -> dict[str, Any]:
    return dict(
        ok(registry.get(f"/v1/households/{household_id}/assistance-income", params={"year": YEAR}, headers=OFFICER))
    )


def wait_for(check: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"never: {what}")


def run_leads(screening: httpx.Client, period: str) -> set[str]:
    started = screening.post("/v1/runs", json={"county_code": COUNTY, "period": period}, headers=OFFICER)
    assert started.status_code == 202, started.text

    def finished() -> dict[str, Any] | None:
        job = ok(screening.get(started.headers["Location"], headers=OFFICER))
        return None if job["status"] in ("queued", "running") else dict(job)

    run = wait_for(finished, f"the run of {period} finishes")
    assert run["status"] == "succeeded", run
    households: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = ok(screening.get(f"/v1/runs/{run['id']}/leads", params=params, headers=OFFICER))
        households |= {x["household_id"] for x in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            return households


def assignment_on_a_post(screening: httpx.Client, household: dict[str, Any], name: str) -> str:
    post = ok(
        screening.post(
            "/v1/public-posts",
            json={"region_code": VILLAGE, "name": name, "monthly_wage": f"{WAGE}", "days_per_month": 20, "capacity": 3},
            headers=OFFICER,
        ),
        201,
    )
    assignment = ok(
        screening.post(
            f"/v1/public-posts/{post['id']}/assignments",
            json={
                "household_id": household["id"],
                "member_id": household["members"][0]["id"],
                "start_date": f"{YEAR}-01-01",
            },
            headers=OFFICER,
        ),
        201,
    )
    return str(assignment["id"])


def attend(screening: httpx.Client, assignment_id: str, period: str, days: int = 20) -> None:
    ok(
        screening.put(
            f"/v1/public-post-assignments/{assignment_id}/attendance/{period}",
            json={"days_attended": days, "assessment": "pass"},
            headers=OFFICER,
        ),
        201,
    )


def test_three_wages_lift_a_lead_and_their_reversal_brings_it_back(services: dict[str, ServiceProcess]) -> None:
    with (
        httpx.Client(base_url=services["registry"].url, timeout=20) as registry,
        httpx.Client(base_url=services["screening"].url, timeout=20) as screening,
    ):
        household = poor_household(registry)
        hid = household["id"]
        assert hid in run_leads(screening, f"{YEAR}-10")
        before = net_income(registry, hid)
        assert before == Decimal("15000.00")

        assignment_id = assignment_on_a_post(screening, household, "护林员")
        payments = []
        for month in (1, 2, 3):
            period = f"{YEAR}-{month:02d}"
            attend(screening, assignment_id, period)
            paid = ok(
                screening.post(
                    f"/v1/public-post-assignments/{assignment_id}/wages",
                    json={"period": period, "paid_date": f"{YEAR}-{month + 1:02d}-05"},
                    headers=OFFICER,
                ),
                201,
            )
            assert Decimal(paid["amount"]) == WAGE
            payments.append(paid)

        def delivered() -> bool:
            items = assistance_income(registry, hid)["items"]
            return sorted(i["payment_id"] for i in items if i["status"] == "posted") == sorted(
                p["id"] for p in payments
            )

        wait_for(delivered, "the three wages reach the registry")
        sum_paid = sum((Decimal(p["amount"]) for p in payments), Decimal(0))
        assert sum_paid == Decimal("3600.00")
        assert net_income(registry, hid) == before + sum_paid
        totals = assistance_income(registry, hid)["totals"]
        assert totals == [{"year": YEAR, "income_type": "wage", "amount": "3600.00", "payments": 3}]
        assert hid not in run_leads(screening, f"{YEAR}-11")  # 18600.00 / 3 = 6200.00 a head

        for p in payments:
            ok(
                screening.post(f"/v1/payments/{p['id']}/reversal", json={"reason": "考勤录错，冲正"}, headers=OFFICER),
                201,
            )

        def reversed_all() -> bool:
            items = assistance_income(registry, hid)["items"]
            return len(items) == 3 and all(i["status"] == "reversed" for i in items)

        wait_for(reversed_all, "the three reversals reach the registry")
        assert net_income(registry, hid) == before
        assert assistance_income(registry, hid)["totals"] == []
        assert hid in run_leads(screening, f"{YEAR}-12")


async def _post_many(url: str, path: str, body: dict[str, Any], times: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return list(await asyncio.gather(*(client.post(path, json=body, headers=OFFICER) for _ in range(times))))


def _one_payment(responses: list[httpx.Response]) -> str:
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (len(responses) - 1) + [201], [r.text for r in responses if r.status_code >= 300]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    return ids.pop()


def test_one_wage_posted_fifty_times_makes_one_income_entry_even_while_the_registry_is_down(
    services: dict[str, ServiceProcess], e2e_database_url: str
) -> None:
    with httpx.Client(base_url=services["registry"].url, timeout=20) as registry:
        household = poor_household(registry)
    hid = household["id"]
    with httpx.Client(base_url=services["screening"].url, timeout=20) as screening:
        assignment_id = assignment_on_a_post(screening, household, "保洁员")
        for month in (4, 5):
            attend(screening, assignment_id, f"{YEAR}-{month:02d}")
    wages = f"/v1/public-post-assignments/{assignment_id}/wages"

    # 50 at once, the registry up
    april = _one_payment(
        asyncio.run(
            _post_many(services["screening"].url, wages, {"period": f"{YEAR}-04", "paid_date": f"{YEAR}-05-05"}, 50)
        )
    )
    with httpx.Client(base_url=services["registry"].url, timeout=20) as registry:
        wait_for(lambda: assistance_income(registry, hid)["items"], "April's wage reaches the registry")

    # 50 at once, the registry down; then up again
    services["registry"].stop()
    try:
        may = _one_payment(
            asyncio.run(
                _post_many(services["screening"].url, wages, {"period": f"{YEAR}-05", "paid_date": f"{YEAR}-06-05"}, 50)
            )
        )

        def attempted() -> bool:
            rows = query(
                e2e_database_url,
                "SELECT status, attempts FROM screening.outbox_message WHERE idempotency_key = $1",
                f"screening:assistance:{may}",
            )
            return len(rows) == 1 and rows[0]["attempts"] >= 1 and rows[0]["status"] != "delivered"

        wait_for(attempted, "a delivery of May's wage fails while the registry is down")
    finally:
        services["registry"].start()

    with httpx.Client(base_url=services["registry"].url, timeout=20) as registry:

        def both() -> list[dict[str, Any]] | None:
            items = assistance_income(registry, hid)["items"]
            return items if len(items) >= 2 else None

        items = wait_for(both, "May's wage reaches the registry once it is back")
        time.sleep(1.5)  # a late duplicate delivery would land by now (poll 0.2 s, backoff at most 1 s)
        items = assistance_income(registry, hid)["items"]
        assert sorted(i["payment_id"] for i in items) == sorted([april, may])
        assert assistance_income(registry, hid)["totals"] == [
            {"year": YEAR, "income_type": "wage", "amount": f"{2 * WAGE}", "payments": 2}
        ]
        assert net_income(registry, hid) == Decimal("15000.00") + 2 * WAGE

    for payment_id in (april, may):
        assert [
            r[0]
            for r in query(
                e2e_database_url,
                "SELECT count(*) FROM registry.benefit WHERE source = 'screening' AND source_ref = $1",
                payment_id,
            )
        ] == [1]
        assert [
            (r["status"], r["n"])
            for r in query(
                e2e_database_url,
                "SELECT status, count(*) AS n FROM screening.outbox_message WHERE idempotency_key = $1 GROUP BY status",
                f"screening:assistance:{payment_id}",
            )
        ] == [("delivered", 1)]
        assert [
            r[0]
            for r in query(
                e2e_database_url,
                "SELECT count(*) FROM screening.assistance_payment WHERE measure_id = "
                "(SELECT measure_id FROM screening.assistance_payment WHERE id = $1::uuid) AND kind = 'payment'",
                payment_id,
            )
        ] == [2]
