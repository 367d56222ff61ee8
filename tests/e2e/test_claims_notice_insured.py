"""Registry and claims as real processes (issue 14): the notice PDF names the village as the real registry
does (claims reads /v1/regions with its service token), and the enrolment summary and a simulation count
the registry's insured households, with nobody enrolled through claims' API."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_claims_flow import OFFICER, VILLAGE, claim_to_approved, new_household
from tests.support.processes import (
    ServiceProcess,
    ok,
    seeded_services,
)
from tests.support.tokens import auth, service_env

pytestmark = pytest.mark.e2e
INSURER = auth("insurer_adjuster", "410602")


@pytest.fixture(scope="module")
def stack(e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    env = {**service_env(e2e_database_url), "FANGPIN_CLAIMS_SCHEDULER_ENABLED": "false"}
    with seeded_services(["registry", "claims"], env, tmp_path_factory.mktemp("notice-e2e")) as procs:
        yield procs


def registry_insured_members(registry: httpx.Client, year: int) -> tuple[int, int]:
    households = members = 0
    cursor = None
    while True:
        params: dict[str, Any] = {"insured_year": year, "region": "410602", "limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = ok(registry.get("/v1/households", params=params, headers=OFFICER))
        households += len(page["items"])
        members += sum(item["member_count"] for item in page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return households, members


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
def test_notice_pdf_and_the_insured_count_against_the_real_registry(
    stack: dict[str, ServiceProcess], e2e_database_url: str, tmp_path: Path
) -> None:
    with (
        httpx.Client(base_url=stack["registry"].url, timeout=30) as registry,
        httpx.Client(base_url=stack["claims"].url, timeout=30) as claims,
    ):
        household = new_household(registry)  # insured in 2026, three members
        claim_id = claim_to_approved(claims, household, e2e_database_url)
        claim = ok(claims.get(f"/v1/claims/{claim_id}", headers=OFFICER))
        notice_id = claim["notice_id"]
        assert notice_id
        pdf = claims.get(f"/v1/notices/{notice_id}/print.pdf", headers=OFFICER)
        assert pdf.status_code == 200, pdf.text
        (tmp_path / "notice.pdf").write_bytes(pdf.content)
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(tmp_path / "notice.pdf"), "-"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert f"公示村：鹤山区鹤壁集镇鹤壁集村（{VILLAGE}）" in text
        assert "张*国" in text  # 张建国 under the default policy
        assert "张建国" not in text
        assert "出具单位：鹤山区防贫保险工作领导小组办公室" in text

        households, members = registry_insured_members(registry, 2026)
        assert households >= 1
        summary = ok(claims.get("/v1/enrolments/summary", params={"scheme_code": "reference-2026"}, headers=OFFICER))
        assert (summary["households"], summary["insured_people"]) == (households, members)
        job = claims.post(
            "/v1/simulations",
            json={"county_code": "410602", "year": 2026, "scheme_code": "reference-2026"},
            headers=INSURER,
        )
        assert job.status_code == 202, job.text
        for _ in range(200):
            state = ok(claims.get(job.headers["location"], headers=INSURER))
            if state["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.1)
        assert state["status"] == "succeeded", state
        result = state["result"]
        assert result["insured_people"] == members
        assert result["loss_ratio"] is not None
        assert Decimal(result["premium_pool"]) == Decimal(result["premium_per_person"]) * members
