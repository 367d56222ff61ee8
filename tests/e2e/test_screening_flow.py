"""Registry and screening as real processes (issue 4, acceptance 4):

- a department batch and a monthly run as background jobs find a lead; the case opened from it is
  confirmed by the county while the registry is down, and the household's monitoring status
  changes once the registry is back (the screening outbox delivers the command);
- a case from a cadre visit is confirmed, then its risk is eliminated, which clears the status.

The notice periods and the six months before elimination are passed by moving the case's dates
back in the database: the processes use the real clock.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
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

COUNTY, TOWNSHIP, VILLAGE = "410602", "410602100", "410602100202"
OFFICER = auth("county_officer", COUNTY)
CADRE = auth("village_cadre", VILLAGE)
TOWNSHIP_OFFICER = auth("township_officer", TOWNSHIP)
FEEDER = auth("department_feeder", COUNTY, department="medical_insurance")
TODAY = datetime.now(timezone(timedelta(hours=8))).date()  # the services' dates are China dates
VISIT = {"home_visit_findings": "入户核实: 家中主要劳动力住院", "visit_date": str(TODAY)}


@pytest.fixture(scope="module")
def services(e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    env = {**service_env(e2e_database_url), **NO_SCHEDULERS}
    with seeded_services(["registry", "screening"], env, tmp_path_factory.mktemp("screening-e2e")) as procs:
        yield procs


def sql(url: str, statement: str, *args: Any) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(statement, *args)
        finally:
            await conn.close()

    asyncio.run(run())


def new_household(registry: httpx.Client) -> tuple[dict[str, Any], list[str]]:
    """A household of three with 45000 net income last year, and its members' ID numbers."""
    body: dict[str, Any] = {
        "household_number": f"{VILLAGE}{random.randint(10**6, 10**7 - 1)}",
        "village_code": VILLAGE,
        "status": "ordinary",
        "members": [
            {"name": "王建军", "national_id": national_id(COUNTY, date(1972, 5, 1)), "relation": "head"},
            {"name": "赵桂兰", "national_id": national_id(COUNTY, date(1974, 8, 9)), "relation": "spouse"},
            {
                "name": "王小红",
                "national_id": national_id(COUNTY, date(2009, 2, 3)),
                "relation": "daughter",
                "labour_ability": "none",
            },
        ],
        "incomes": [{"year": TODAY.year - 1, "wage_income": "45000.00"}],
    }
    created = dict(ok(registry.post("/v1/households", json=body, headers=OFFICER), 201))
    return created, [m["national_id"] for m in body["members"]]


def wait_job(client: httpx.Client, location: str, headers: dict[str, str], timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = ok(client.get(location, headers=headers))
        if job["status"] not in ("queued", "running"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {location} did not finish")


def step(
    screening: httpx.Client, case_id: str, action: str, headers: dict[str, str], evidence: dict[str, Any] | None = None
) -> dict[str, Any]:
    return dict(
        ok(
            screening.post(
                f"/v1/cases/{case_id}/transitions", json={"action": action, "evidence": evidence or {}}, headers=headers
            )
        )
    )


def through_notice(screening: httpx.Client, case_id: str, url: str) -> None:
    step(screening, case_id, "start_verification", CADRE)
    step(screening, case_id, "verify", CADRE, {**VISIT, "signed_consent": True})
    step(screening, case_id, "village_review", CADRE, {"vote_result": {"approve": 9, "oppose": 0}})
    step(screening, case_id, "publish_notice", CADRE, {"notice_start_date": str(TODAY), "notice_days": 5})
    sql(
        url,
        "UPDATE screening.monitoring_case SET notice_start_date = $1 WHERE id = $2::uuid",
        TODAY - timedelta(days=6),
        case_id,
    )  # the notice has run its days
    step(screening, case_id, "township_review", TOWNSHIP_OFFICER)


def wait_status(registry: httpx.Client, household_id: str, status: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = ok(registry.get(f"/v1/households/{household_id}/monitoring-status", headers=OFFICER))
        if current["status"] == status:
            return dict(current)
        time.sleep(0.2)
    raise AssertionError(f"household {household_id} never reached status {status}")


def test_lead_to_confirmation_while_the_registry_is_down(
    services: dict[str, ServiceProcess], e2e_database_url: str
) -> None:
    with (
        httpx.Client(base_url=services["registry"].url, timeout=20) as registry,
        httpx.Client(base_url=services["screening"].url, timeout=20) as screening,
    ):
        household, national_ids = new_household(registry)
        # the department batch: a large hospital bill of the head of household (a background job)
        head_national_id = national_ids[0]
        day = str(TODAY - timedelta(days=20))
        line = {
            "source_record_id": f"YB-{random.randint(10**8, 10**9)}",
            "national_id": head_national_id,
            "kind": "medical_expense",
            "event_date": day,
            "amounts": {"total_cost": "60000.00", "basic_insurance": "20000.00", "self_paid": "40000.00"},
        }
        sent = screening.post(
            "/v1/feeds/medical_insurance/batches",
            params={"county_code": COUNTY, "record_count": 1, "control_total": "120000.00"},
            content=json.dumps(line, ensure_ascii=False).encode() + b"\n",
            headers={"Content-Type": "application/x-ndjson", **FEEDER},
        )
        assert sent.status_code == 202, sent.text
        batch = wait_job(screening, sent.headers["Location"], FEEDER)
        assert batch["status"] == "succeeded"
        assert batch["counts"]["matched"] == 1

        period = f"{TODAY.year:04d}-{TODAY.month:02d}"
        started = screening.post("/v1/runs", json={"county_code": COUNTY, "period": period}, headers=OFFICER)
        assert started.status_code == 202, started.text
        run = wait_job(screening, started.headers["Location"], OFFICER)
        assert run["status"] == "succeeded", run
        leads = ok(screening.get(f"/v1/runs/{run['id']}/leads", params={"limit": 500}, headers=OFFICER))["items"]
        lead = next(x for x in leads if x["household_id"] == household["id"])
        assert "illness" in lead["codes"]
        assert lead["evidence"][0]["batch_id"] == batch["id"]

        case = ok(
            screening.post("/v1/cases", json={"source": "screening", "lead_id": lead["id"]}, headers=TOWNSHIP_OFFICER),
            201,
        )
        through_notice(screening, case["id"], e2e_database_url)

        services["registry"].stop()
        confirmed = step(screening, case["id"], "confirm", OFFICER, {"monitoring_type": "marginal"})
        assert confirmed["state"] == "monitoring"
        time.sleep(1.0)  # delivery attempts fail while the registry is down
        services["registry"].start()
        status = wait_status(registry, household["id"], "marginal")
        assert status["monitoring_case_id"] == case["id"]
        assert "outbox.retry_scheduled" in services["screening"].logs()


def test_confirmation_then_elimination_clears_the_status(
    services: dict[str, ServiceProcess], e2e_database_url: str
) -> None:
    with (
        httpx.Client(base_url=services["registry"].url, timeout=20) as registry,
        httpx.Client(base_url=services["screening"].url, timeout=20) as screening,
    ):
        household, _ = new_household(registry)
        case = ok(
            screening.post(
                "/v1/cases",
                json={"source": "cadre_visit", "household_id": household["id"], "evidence": VISIT},
                headers=CADRE,
            ),
            201,
        )
        through_notice(screening, case["id"], e2e_database_url)
        step(screening, case["id"], "confirm", OFFICER, {"monitoring_type": "sudden_hardship"})
        wait_status(registry, household["id"], "sudden_hardship")

        ok(
            screening.post(
                f"/v1/cases/{case['id']}/measures",
                json={
                    "measure_type": "health",
                    "description": "大病救助 + 家庭医生签约",
                    "start_date": str(TODAY),
                    "delivered_date": str(TODAY),
                },
                headers=CADRE,
            ),
            201,
        )
        early = screening.post(
            f"/v1/cases/{case['id']}/transitions",
            json={"action": "propose_elimination", "evidence": {**VISIT, "elimination_kind": "assisted"}},
            headers=CADRE,
        )
        assert early.status_code == 409
        assert [e["code"] for e in early.json()["errors"]] == ["too_early"]
        sql(
            e2e_database_url,
            "UPDATE screening.monitoring_case SET confirmed_at = confirmed_at - interval '7 months' "
            "WHERE id = $1::uuid",
            case["id"],
        )
        step(screening, case["id"], "propose_elimination", CADRE, {**VISIT, "elimination_kind": "assisted"})
        step(screening, case["id"], "elimination_village_review", CADRE, {"vote_result": {"approve": 8, "oppose": 1}})
        step(
            screening,
            case["id"],
            "publish_elimination_notice",
            CADRE,
            {"notice_start_date": str(TODAY), "notice_days": 7},
        )
        sql(
            e2e_database_url,
            "UPDATE screening.monitoring_case SET notice_start_date = $1 WHERE id = $2::uuid",
            TODAY - timedelta(days=8),
            case["id"],
        )
        step(screening, case["id"], "elimination_township_review", TOWNSHIP_OFFICER)
        eliminated = step(screening, case["id"], "eliminate", OFFICER)
        assert eliminated["state"] == "eliminated"
        status = wait_status(registry, household["id"], "ordinary")
        assert status["monitoring_case_id"] is None
