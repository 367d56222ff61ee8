"""Registry and claims as real processes: lead → claim → review → assessment → notice → approval (the
`fangpin advance-notices` CLI) → payment batch (bank accounts revealed by the registry) → paid → the
benefit shows in the registry's incomes, also when the registry was down when the payment was confirmed
(the claims outbox delivers it once the registry is back)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import (
    ROOT,
    ServiceProcess,
    national_id,
    ok,
    seeded_services,
)
from tests.support.tokens import auth, service_env

pytestmark = pytest.mark.e2e

COUNTY, TOWNSHIP, VILLAGE = "410602", "410602100", "410602100201"
OFFICER = auth("county_officer", COUNTY)
INSURER = auth("insurer_adjuster", COUNTY)
CADRE = auth("village_cadre", VILLAGE)
TOWNSHIP_OFFICER = auth("township_officer", TOWNSHIP)
SERVICE = auth("service", "")
ACCOUNTS: list[str] = []  # every bank account used, to check none reaches a log


@pytest.fixture(scope="module")
def services(e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    env = {**service_env(e2e_database_url), "FANGPIN_CLAIMS_SCHEDULER_ENABLED": "false"}
    with seeded_services(
        ["registry", "claims"], env, tmp_path_factory.mktemp("claims-e2e"), seed_says="'schemes'"
    ) as procs:
        yield procs


def new_household(registry: httpx.Client) -> dict[str, Any]:
    """Household of three with 45000 net income in 2025 (≈ rules.md E3 for an ordinary household)."""
    account = f"62220{random.randint(10**13, 10**14 - 1)}"
    ACCOUNTS.append(account)
    body = {
        "household_number": f"41060210020{random.randint(10**8, 10**9 - 1)}",
        "village_code": VILLAGE,
        "status": "ordinary",
        "bank_account": account,
        "bank_name": "中国农业银行鹤壁分行",
        "account_holder": "张建国",
        "insured_years": [2026],
        "members": [
            {"name": "张建国", "national_id": national_id(COUNTY, date(1968, 3, 15), "male"), "relation": "head"},
            {"name": "李秀英", "national_id": national_id(COUNTY, date(1970, 6, 2), "female"), "relation": "spouse"},
            {"name": "张小明", "national_id": national_id(COUNTY, date(2008, 9, 1), "male"), "relation": "son"},
        ],
        "incomes": [{"year": 2025, "wage_income": "45000.00"}, {"year": 2024, "wage_income": "47000.00"}],
    }
    return dict(ok(registry.post("/v1/households", json=body, headers=OFFICER), 201))


def claim_to_approved(claims: httpx.Client, household: dict[str, Any], database_url: str) -> str:
    member = household["members"][1]["id"]
    lead = {
        "source": "feed",
        "source_record_id": f"medical_insurance:{uuid.uuid4().hex}",
        "household_id": household["id"],
        "member_id": member,
        "county_code": COUNTY,
        "village_code": VILLAGE,
        "category": "illness",
        "incident_date": "2026-03-05",
        "reported_date": "2026-03-20",
        "expense": {"total_cost": "50000.00", "basic_insurance_paid": "20000.00"},
        "evidence": {"department": "medical_insurance", "kind": "medical_expense"},
    }
    accepted = ok(claims.post("/v1/claims/leads", json=lead, headers=SERVICE), 201)
    assert ok(claims.post("/v1/claims/leads", json=lead, headers=SERVICE))["claim_id"] == accepted["claim_id"]
    claim_id = accepted["claim_id"]
    claim = ok(claims.get(f"/v1/claims/{claim_id}", headers=CADRE))
    assert claim["facts_status"] == "ready"
    assert claim["household_facts"]["annual_net_income"] == "45000.00"
    assert claim["household_facts"]["member_count"] == 3
    for action, headers, evidence in [
        ("start_investigation", INSURER, {}),
        ("complete_investigation", INSURER, {"findings": "入户核查: 住院票据属实"}),
        ("village_review", CADRE, {"vote_result": "村两委 7/7 同意"}),
        ("township_review", TOWNSHIP_OFFICER, {}),
        ("file", OFFICER, {}),
    ]:
        ok(
            claims.post(
                f"/v1/claims/{claim_id}/transitions", json={"action": action, "evidence": evidence}, headers=headers
            )
        )
    assessed = ok(claims.post(f"/v1/claims/{claim_id}/transitions", json={"action": "assess"}, headers=INSURER))
    # ordinary: deductible 20000; b = 30000, (45000 − 30000)/3 = 5000 < 6000, X = 10000 × 0.5
    assert assessed["assessment"]["payout"] == "5000.00", assessed["assessment"]["breakdown"]
    notice = ok(claims.post("/v1/notices", json={"village_code": VILLAGE}, headers=OFFICER), 201)
    assert claim_id in {e["claim_id"] for e in notice["entries"]}
    after_window = date.fromisoformat(notice["last_day"]) + timedelta(days=1)
    advanced = subprocess.run(
        [sys.executable, "-m", "services.cli", "advance-notices", "--today", after_window.isoformat()],
        cwd=ROOT,
        env={**os.environ, **service_env(database_url)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert advanced.returncode == 0, advanced.stderr
    assert "approved" in advanced.stdout
    assert ok(claims.get(f"/v1/claims/{claim_id}", headers=OFFICER))["state"] == "approved"
    return str(claim_id)


def pay(claims: httpx.Client, claim_id: str) -> str:
    batch = ok(
        claims.post(
            "/v1/payments/batches",
            json={"claim_ids": [claim_id], "declared_count": 1, "declared_total": "5000.00"},
            headers=OFFICER,
        ),
        201,
    )
    bank_file = claims.get(f"/v1/payments/batches/{batch['id']}/bank-file", headers=OFFICER)
    assert bank_file.status_code == 200
    payment = batch["payments"][0]
    assert payment["bank_account"].startswith("*")
    assert payment["id"] in bank_file.text
    return str(payment["id"])


def confirm(claims: httpx.Client, payment_id: str) -> None:
    outcome = ok(
        claims.post(
            f"/v1/payments/{payment_id}/confirmation",
            json={"status": "paid", "paid_date": "2026-12-05", "bank_reference": "ABC-1"},
            headers=OFFICER,
        )
    )
    assert outcome["changed"] is True


def wait_for_benefit(registry: httpx.Client, household_id: str, payment_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        benefits = ok(registry.get(f"/v1/households/{household_id}/benefits", headers=OFFICER))["items"]
        if any(b["source_ref"] == payment_id for b in benefits):
            mine = [b for b in benefits if b["source_ref"] == payment_id]
            assert len(mine) == 1
            assert (mine[0]["source"], mine[0]["amount"], mine[0]["year"]) == ("claims", "5000.00", 2026)
            incomes = ok(registry.get(f"/v1/households/{household_id}/incomes", headers=OFFICER))["items"]
            year = next(i for i in incomes if i["year"] == 2026)
            assert year["benefit_income"] == "5000.00"
            return
        time.sleep(0.2)
    raise AssertionError(f"the benefit of payment {payment_id} never reached the registry")


def test_lead_to_paid_with_the_benefit_in_the_registry(
    services: dict[str, ServiceProcess], e2e_database_url: str
) -> None:
    with (
        httpx.Client(base_url=services["registry"].url, timeout=20) as registry,
        httpx.Client(base_url=services["claims"].url, timeout=20) as claims,
    ):
        scheme = claims.post("/v1/schemes", json=_reference(), headers=OFFICER)
        assert scheme.status_code in (201, 409), scheme.text
        household = new_household(registry)
        ok(
            claims.post(
                "/v1/enrolments",
                json={
                    "scheme_code": "reference-2026",
                    "households": [{"household_id": household["id"], "village_code": VILLAGE, "insured_people": 3}],
                },
                headers=OFFICER,
            ),
            201,
        )
        claim_id = claim_to_approved(claims, household, e2e_database_url)
        payment_id = pay(claims, claim_id)
        confirm(claims, payment_id)
        assert ok(claims.get(f"/v1/claims/{claim_id}", headers=OFFICER))["state"] == "paid"
        wait_for_benefit(registry, household["id"], payment_id)


def test_benefit_arrives_after_the_registry_was_down_at_payment_time(
    services: dict[str, ServiceProcess], e2e_database_url: str
) -> None:
    with (
        httpx.Client(base_url=services["registry"].url, timeout=20) as registry,
        httpx.Client(base_url=services["claims"].url, timeout=20) as claims,
    ):
        scheme = claims.post("/v1/schemes", json=_reference(), headers=OFFICER)
        assert scheme.status_code in (201, 409), scheme.text
        household = new_household(registry)
        claim_id = claim_to_approved(claims, household, e2e_database_url)
        payment_id = pay(claims, claim_id)

        services["registry"].stop()
        confirm(claims, payment_id)  # the registry is down: the claims service commits and keeps the message
        assert ok(claims.get(f"/v1/claims/{claim_id}", headers=OFFICER))["state"] == "paid"
        time.sleep(1.0)  # a few delivery attempts fail meanwhile
        services["registry"].start()
        wait_for_benefit(registry, household["id"], payment_id)
        assert "outbox.retry_scheduled" in services["claims"].logs()


def _reference() -> dict[str, Any]:
    from services.claims.domain.reference import reference_scheme_data

    return reference_scheme_data()


def test_claims_logs_carry_no_bank_accounts(services: dict[str, ServiceProcess]) -> None:
    logs = Path(services["claims"].log_path).read_text(errors="replace")
    assert ACCOUNTS
    assert not [a for a in ACCOUNTS if a in logs]
