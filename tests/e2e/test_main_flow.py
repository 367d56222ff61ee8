"""The three services as real processes, end to end across every boundary:

registry (household, insured this year) → screening (a medical-insurance feed record matches the
head of household) → claims (a claim lead arrives through screening's outbox, the claim freezes the
registry's facts) — and a repeat of the department's record makes no second claim.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

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

COUNTY, VILLAGE = "410602", "410602101202"
OFFICER = auth("county_officer", COUNTY)
FEEDER = auth("department_feeder", COUNTY, department="medical_insurance")
TODAY = datetime.now(timezone(timedelta(hours=8))).date()


@pytest.fixture(scope="module")
def services(e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    env = {**service_env(e2e_database_url), **NO_SCHEDULERS}
    with seeded_services(["registry", "screening", "claims"], env, tmp_path_factory.mktemp("main-flow")) as procs:
        yield procs


def wait_for(probe: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def post_batch(screening: httpx.Client, record: dict[str, Any], total: str) -> dict[str, Any]:
    sent = screening.post(
        "/v1/feeds/medical_insurance/batches",
        params={"county_code": COUNTY, "record_count": 1, "control_total": total},
        content=json.dumps(record, ensure_ascii=False).encode() + b"\n",
        headers={"Content-Type": "application/x-ndjson", **FEEDER},
    )
    assert sent.status_code == 202, sent.text
    location = sent.headers["Location"]
    return dict(
        wait_for(
            lambda: (job := ok(screening.get(location, headers=FEEDER)))["status"] not in ("queued", "running") and job,
            "the feed batch job",
        )
    )


def test_a_hospital_bill_becomes_one_claim_with_the_registry_facts(services: dict[str, ServiceProcess]) -> None:
    with (
        httpx.Client(base_url=services["registry"].url, timeout=20) as registry,
        httpx.Client(base_url=services["screening"].url, timeout=20) as screening,
        httpx.Client(base_url=services["claims"].url, timeout=20) as claims,
    ):
        head_id = national_id(COUNTY, date(1966, 4, 18))
        household = ok(
            registry.post(
                "/v1/households",
                headers=OFFICER,
                json={
                    "household_number": f"{VILLAGE}-E2E{random.randint(10**5, 10**6 - 1)}",
                    "village_code": VILLAGE,
                    "status": "lifted_out",
                    "insured_years": [TODAY.year],
                    "members": [
                        {"name": "孙德明", "national_id": head_id, "relation": "head"},
                        {"name": "周玉梅", "national_id": national_id(COUNTY, date(1969, 9, 2)), "relation": "spouse"},
                    ],
                    "incomes": [{"year": TODAY.year - 1, "wage_income": "16000.00"}],
                },
            ),
            201,
        )

        record = {
            "source_record_id": f"YB-{random.randint(10**8, 10**9)}",
            "national_id": head_id,
            "kind": "medical_expense",
            "event_date": str(TODAY - timedelta(days=12)),
            "amounts": {
                "total_cost": "80000.00",
                "basic_insurance": "40000.00",
                "critical_illness_insurance": "10000.00",
                "self_paid": "30000.00",
            },
        }
        batch = post_batch(screening, record, "160000.00")
        assert batch["status"] == "succeeded", batch
        assert batch["counts"]["matched"] == 1

        def the_claims() -> list[dict[str, Any]]:
            page = ok(claims.get("/v1/claims", params={"household_id": household["id"]}, headers=OFFICER))
            return list(page["items"])

        claim = wait_for(the_claims, "the claim lead to reach claims")[0]
        assert claim["category"] == "illness"
        assert claim["source"] == "feed"
        assert record["source_record_id"] in claim["source_record_id"]
        assert claim["village_code"] == VILLAGE
        assert claim["facts_status"] == "ready"
        facts = claim["household_facts"]
        assert facts["status"] == "lifted_out"
        assert facts["member_count"] == 2
        assert head_id not in json.dumps(claim, ensure_ascii=False)  # frozen facts keep IDs masked

        # the department sends the same record again, in a new batch: skipped, no second claim
        again = post_batch(screening, record, "160000.00")
        assert again["counts"]["duplicates"] == 1
        time.sleep(1.5)  # give a (wrong) second lead time to arrive
        assert len(the_claims()) == 1

        # a cadre of another village does not see it
        other = auth("village_cadre", "410602100201")
        listed = ok(claims.get("/v1/claims", params={"household_id": household["id"]}, headers=other))
        assert listed["items"] == []


def test_metrics_show_endpoints_jobs_and_the_outbox_after_that_traffic(services: dict[str, ServiceProcess]) -> None:
    """Runs after the flow above (same processes): what an operator's Prometheus would scrape."""
    scraped = {name: httpx.get(f"{proc.url}/metrics", timeout=10).text for name, proc in services.items()}
    registry, screening, claims = scraped["registry"], scraped["screening"], scraped["claims"]
    # per endpoint: route templates, never raw ids
    assert (
        'fangpin_http_requests_total{method="POST",route="/v1/households",service="registry",status="201"}' in registry
    )
    assert 'route="/v1/feeds/{department}/batches",service="screening",status="202"' in screening
    assert 'fangpin_http_request_duration_seconds_bucket{le="0.1",method="GET",route="/v1/claims"' in claims
    # per job: the feed batches, with their rows
    assert 'fangpin_job_duration_seconds_count{job="feed_batch",service="screening"} 2.0' in screening
    assert 'fangpin_job_rows_total{job="feed_batch",outcome="matched",service="screening"}' in screening
    # the outbox: the claim lead went to claims; nothing left waiting
    assert 'fangpin_outbox_delivered_total{service="screening",target="claims"} 1.0' in screening
    assert 'fangpin_outbox_pending{service="screening"} 0.0' in screening
    assert "fangpin_outbox_delivery_failures_total" in screening
