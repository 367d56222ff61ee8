"""Issue 9, defects 5, 6 and 10 on claims: NUL in a comment, a bank reference, a scheme code (enrolments,
preview, simulations, the path), expense facts or a lead is 422 naming the field; money is a plain decimal
string; counts and booleans are strict."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.claims.domain.reference import reference_scheme_data
from tests.claims.conftest import COUNTY, INSURER, SERVICE, VILLAGE
from tests.support.boundary import NUL, assert_refused

SOME = str(uuid.uuid4())
CLAIM = {
    "household_id": SOME,
    "category": "illness",
    "incident_date": "2026-03-05",
    "expense": {"total_cost": "120000.00"},
}
LEAD = {
    "source": "feed",
    "source_record_id": "medical_insurance:YB-1",
    "household_id": SOME,
    "county_code": "410602",
    "village_code": "410602100201",
    "category": "illness",
    "incident_date": "2026-03-05",
    "reported_date": "2026-03-06",
    "expense": {"total_cost": "100.00"},
    "evidence": {"department": "medical_insurance", "kind": "medical_expense"},
}

BODY_CASES: list[tuple[str, str, dict[str, Any], str, dict[str, str]]] = [
    ("POST", "/v1/claims", {**CLAIM, "comment": NUL}, "comment", VILLAGE),
    ("POST", "/v1/claims", {**CLAIM, "expense": {"total_cost": NUL}}, "expense", VILLAGE),
    ("POST", "/v1/claims", {**CLAIM, "expense": {NUL: "1.00"}}, "expense", VILLAGE),
    ("POST", f"/v1/claims/{SOME}/transitions", {"action": "start_investigation", "comment": NUL}, "comment", INSURER),
    (
        "POST",
        f"/v1/claims/{SOME}/transitions",
        {"action": "complete_investigation", "evidence": {"findings": NUL}},
        "evidence",
        INSURER,
    ),
    ("POST", "/v1/claims/leads", {**LEAD, "source_record_id": NUL}, "source_record_id", SERVICE),
    ("POST", "/v1/claims/leads", {**LEAD, "expense": {"total_cost": NUL}}, "expense", SERVICE),
    ("POST", "/v1/claims/leads", {**LEAD, "evidence": {"kind": NUL}}, "evidence.kind", SERVICE),
    (
        "POST",
        f"/v1/payments/{SOME}/confirmation",
        {"status": "paid", "paid_date": "2026-04-15", "bank_reference": NUL},
        "bank_reference",
        COUNTY,
    ),
    ("POST", f"/v1/payments/{SOME}/confirmation", {"status": "failed", "reason": NUL}, "reason", COUNTY),
    ("POST", "/v1/enrolments", {"scheme_code": NUL, "households": []}, "scheme_code", COUNTY),
    ("POST", "/v1/assessments:preview", {"scheme_code": NUL, "facts": {}}, "scheme_code", COUNTY),
    (
        "POST",
        "/v1/assessments:preview",
        {"scheme_code": "reference-2026", "facts": {"expense": {"x": NUL}}},
        "facts",
        COUNTY,
    ),
    ("POST", "/v1/simulations", {"county_code": "410602", "year": 2026, "scheme_code": NUL}, "scheme_code", COUNTY),
    ("POST", "/v1/simulations", {"county_code": "410602", "year": 2026, "scheme": {"code": NUL}}, "scheme", COUNTY),
    ("POST", f"/v1/notices/{SOME}/objections", {"claim_id": SOME, "reason": NUL}, "reason", VILLAGE),
    (
        "POST",
        f"/v1/notices/{SOME}/objections",
        {"claim_id": SOME, "reason": "不属实", "objector": NUL},
        "objector",
        VILLAGE,
    ),
    (
        "POST",
        f"/v1/notices/{SOME}/objections/{SOME}/decision",
        {"decision": "dismissed", "comment": NUL},
        "comment",
        COUNTY,
    ),
    ("POST", "/v1/schemes", {**reference_scheme_data(), "code": "ref\u0000-2026"}, "body", COUNTY),
    ("POST", "/v1/schemes", {**reference_scheme_data(), "name\u0000": "x"}, "body", COUNTY),
]


@pytest.mark.parametrize(("method", "path", "body", "field", "headers"), BODY_CASES)
async def test_nul_in_a_body_field_is_422_naming_it(
    claims_client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
    headers: dict[str, str],
) -> None:
    response = await claims_client.request(method, path, json=body, headers=headers)
    assert_refused(response, field)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/v1/schemes/a%00b", "path.code"),
        ("/v1/schemes/a%00b/versions", "path.code"),
        ("/v1/schemes/a%00b/versions/1", "path.code"),
        ("/v1/enrolments?scheme_code=a%00b", "query.scheme_code"),
        ("/v1/enrolments/summary?scheme_code=a%00b", "query.scheme_code"),
        ("/v1/claims?cursor=a%00b", "query.cursor"),
        (
            "/v1/claims?village_code=%D9%A4%D9%A1%D9%A0%D9%A6%D9%A0%D9%A2%D9%A1%D9%A0%D9%A0%D9%A2%D9%A0%D9%A1",
            "query.village_code",
        ),
        ("/v1/payments?cursor=a%00b", "query.cursor"),
        ("/v1/notices?cursor=a%00b", "query.cursor"),
        ("/v1/schemes?cursor=a%00b", "query.cursor"),
    ],
)
async def test_nul_in_a_path_or_query_is_422(claims_client: httpx.AsyncClient, url: str, field: str) -> None:
    assert_refused(await claims_client.get(url, headers=COUNTY), field)


@pytest.mark.parametrize("total", ["1E+5", "1e5", 100000, 100000.0, "12.345", True])
async def test_money_is_a_plain_decimal_string(claims_client: httpx.AsyncClient, total: Any) -> None:
    response = await claims_client.post(
        "/v1/payments/batches",
        json={"claim_ids": [SOME], "declared_count": 1, "declared_total": total},
        headers=COUNTY,
    )
    assert_refused(response, "declared_total")


@pytest.mark.parametrize("count", [1.5, "1", True, 1.0])
async def test_counts_are_strict(claims_client: httpx.AsyncClient, count: Any) -> None:
    response = await claims_client.post(
        "/v1/payments/batches",
        json={"claim_ids": [SOME], "declared_count": count, "declared_total": "1.00"},
        headers=COUNTY,
    )
    assert_refused(response, "declared_count")
    enrol = await claims_client.post(
        "/v1/enrolments",
        json={
            "scheme_code": "reference-2026",
            "households": [{"household_id": SOME, "village_code": "410602100201", "insured_people": count}],
        },
        headers=COUNTY,
    )
    assert_refused(enrol, "households[0].insured_people")
