"""Issue 9, defects 5, 6 and 10 on screening: NUL and control characters in bodies, queries and feed records
are refused naming the field (never a 500, never stored); money is a plain decimal string."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.screening.conftest import PostFeed
from tests.screening.support import COUNTY, control_total, jsonl, medical, national_id
from tests.support.boundary import NUL, assert_refused
from tests.support.tokens import auth

OFFICER = auth("county_officer", COUNTY)
CADRE = auth("village_cadre", "410602100201")
SOME = str(uuid.uuid4())

BODY_CASES: list[tuple[str, str, dict[str, Any], str, dict[str, str]]] = [
    (
        "POST",
        "/v1/cases",
        {"source": "cadre_visit", "household_id": SOME, "risk_codes": [], "comment": NUL},
        "comment",
        CADRE,
    ),
    (
        "POST",
        "/v1/cases",
        {
            "source": "cadre_visit",
            "household_id": SOME,
            "evidence": {"home_visit_findings": NUL, "visit_date": "2026-03-02"},
        },
        "evidence",
        CADRE,
    ),
    (
        "POST",
        "/v1/cases",
        {"source": "cadre_visit", "household_id": SOME, "evidence": {"a\u0000": "x"}},
        "evidence",
        CADRE,
    ),
    ("POST", f"/v1/cases/{SOME}/transitions", {"action": "verify", "comment": NUL}, "comment", OFFICER),
    ("POST", f"/v1/cases/{SOME}/transitions", {"action": "verify", "evidence": {"x": [NUL]}}, "evidence", OFFICER),
    (
        "POST",
        f"/v1/cases/{SOME}/measures",
        {"measure_type": "industry", "description": NUL, "start_date": "2026-03-01"},
        "description",
        OFFICER,
    ),
    ("PATCH", f"/v1/cases/{SOME}/measures/{SOME}", {"description": NUL}, "description", OFFICER),
    ("POST", f"/v1/cases/{SOME}/objections", {"content": NUL}, "content", OFFICER),
    ("PATCH", f"/v1/cases/{SOME}/objections/{SOME}", {"status": "dismissed", "resolution": NUL}, "resolution", OFFICER),
    ("PUT", f"/v1/thresholds/{COUNTY}/2026", {"values": {"monitoring_line": "8700.00"}, "note": NUL}, "note", OFFICER),
    ("PUT", f"/v1/thresholds/{COUNTY}/2026", {"values": {"monitoring_line": NUL}}, "values", OFFICER),
    (
        "PUT",
        f"/v1/thresholds/{COUNTY}/2026",
        {"values": {"monitoring_line": "8700.00"}, "sources": {"monitoring_line": NUL}},
        "sources",
        OFFICER,
    ),
    ("POST", "/v1/runs", {"county_code": "٤١٠٦٠٢", "period": "2026-03"}, "county_code", OFFICER),
    # 公益岗 (issue 13)
    (
        "POST",
        "/v1/public-posts",
        {"region_code": COUNTY, "name": NUL, "monthly_wage": "800.00", "days_per_month": 20, "capacity": 1},
        "name",
        OFFICER,
    ),
    (
        "POST",
        "/v1/public-posts",
        {"region_code": "٤١٠٦٠٢", "name": "护林员", "monthly_wage": "800.00", "days_per_month": 20, "capacity": 1},
        "region_code",
        OFFICER,
    ),
    (
        "PUT",
        f"/v1/public-post-assignments/{SOME}/attendance/2026-03",
        {"days_attended": 20, "assessment": "pass", "note": NUL},
        "note",
        OFFICER,
    ),
    ("POST", f"/v1/public-post-assignments/{SOME}/end", {"end_date": "2026-03-31", "reason": NUL}, "reason", OFFICER),
    ("PATCH", f"/v1/public-posts/{SOME}", {"name": NUL}, "name", OFFICER),
    ("PUT", f"/v1/dibao-standards/{COUNTY}/2026", {"amounts": {"A": "480.00"}, "source": NUL}, "source", OFFICER),
    (
        "PUT",
        f"/v1/dibao-standards/{COUNTY}/2026",
        {"amounts": {"A": "480.00"}, "source": "x", "note": NUL},
        "note",
        OFFICER,
    ),
    ("POST", "/v1/dibao-payments", {"county_code": "٤١٠٦٠٢", "period": "2026-03"}, "county_code", OFFICER),
    (
        "POST",
        "/v1/care/subjects",
        {"household_id": SOME, "member_id": SOME, "care_group": "serious_illness", "note": NUL},
        "note",
        OFFICER,
    ),
    (
        "POST",
        "/v1/care/institutions",
        {"region_code": COUNTY, "name": NUL, "kind": "care_home", "carers": 1},
        "name",
        OFFICER,
    ),
    (
        "POST",
        f"/v1/care/subjects/{SOME}/placement",
        {"placement": "home", "guardian_name": NUL, "placed_on": "2026-03-01"},
        "guardian_name",
        OFFICER,
    ),
    (
        "POST",
        f"/v1/care/subjects/{SOME}/placement",
        {"placement": "home", "agreement_ref": NUL, "placed_on": "2026-03-01"},
        "agreement_ref",
        OFFICER,
    ),
    ("POST", f"/v1/care/subjects/{SOME}/visits", {"visit_date": "2026-03-01", "visitor": NUL}, "visitor", OFFICER),
    (
        "POST",
        f"/v1/care/subjects/{SOME}/visits",
        {"visit_date": "2026-03-01", "visitor": "x", "findings": NUL},
        "findings",
        OFFICER,
    ),
    (
        "POST",
        "/v1/adjustments/410602100201/2026-03:return",
        {"reason": NUL},
        "reason",
        auth("township_officer", "410602100"),
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field", "headers"), BODY_CASES)
async def test_nul_in_a_body_field_is_422_naming_it(
    screening_client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
    headers: dict[str, str],
) -> None:
    response = await screening_client.request(method, path, json=body, headers={**headers, "If-Match": '"1"'})
    assert_refused(response, field)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/cases", {"cursor": NUL}, "query.cursor"),
        ("/v1/cases", {"village_code": "٤١٠٦٠٢١٠٠٢٠١"}, "query.village_code"),
        ("/v1/runs", {"county_code": NUL}, "query.county_code"),
        ("/v1/feeds/medical_insurance/batches", {"cursor": NUL}, "query.cursor"),
        ("/v1/public-posts", {"county_code": COUNTY, "cursor": NUL}, "query.cursor"),
        ("/v1/public-posts", {"county_code": "٤١٠٦٠٢"}, "query.county_code"),
        ("/v1/care/suggestions", {"county_code": COUNTY, "cursor": NUL}, "query.cursor"),
        ("/v1/care/overdue-visits", {"county_code": NUL}, "query.county_code"),
        ("/v1/adjustments", {"village": NUL, "month": "2026-03"}, "query.village"),
        ("/v1/adjustments", {"village": "٤١٠٦٠٢١٠٠٢٠١", "month": "2026-03"}, "query.village"),
        ("/v1/adjustments", {"village": "410602100201", "month": NUL}, "query.month"),
        ("/v1/adjustments/overdue", {"county_code": NUL, "month": "2026-03"}, "query.county_code"),
    ],
)
async def test_query_values_are_checked(
    screening_client: httpx.AsyncClient, path: str, params: dict[str, Any], field: str
) -> None:
    headers = OFFICER if not path.startswith("/v1/feeds") else auth("department_feeder", department="medical_insurance")
    assert_refused(await screening_client.get(path, params=params, headers=headers), field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source_record_id": NUL}, "source_record_id"),
        ({"household_number": NUL}, "household_number"),
        ({"details": {"diagnosis": NUL}}, "details.diagnosis"),
        ({"details": {"bad\u0001key": "x"}}, "details"),
        ({"source_record_id": "YB-\ud800"}, "source_record_id"),
    ],
)
async def test_feed_records_with_control_characters_are_refused_naming_the_field(
    post_feed: PostFeed, screening_client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    good = medical("OK-1", national_id(), "5.00")
    bad = {**medical("BAD-1", national_id(), "1.00"), **change}
    records = [good, bad]
    body = "".join(json.dumps(r) + "\n" for r in records).encode()  # ASCII: a lone surrogate as \\ud800
    response = await screening_client.post(
        "/v1/feeds/medical_insurance/batches",
        params={"county_code": COUNTY, "record_count": 2, "control_total": control_total(records)},
        content=body,
        headers={"Content-Type": "application/x-ndjson", **auth("department_feeder", department="medical_insurance")},
    )
    assert response.status_code == 202, response.text
    batch = response.json()
    assert batch["status"] == "succeeded", batch
    assert (batch["counts"]["accepted"], batch["counts"]["invalid"]) == (1, 1)
    assert [(e["line"], e["field"], e["code"]) for e in batch["errors"]] == [(2, field, "invalid_character")]
    assert "\\u0000" not in response.text
    records_page = await screening_client.get(
        f"/v1/feeds/medical_insurance/batches/{batch['id']}/records", headers=OFFICER
    )
    assert [r["source_record_id"] for r in records_page.json()["items"]] == ["OK-1"]


@pytest.mark.parametrize("amount", ["1E+2", "1e2", "1_000", " NaN"])
async def test_feed_amounts_are_plain_decimals(post_feed: PostFeed, amount: str) -> None:
    bad = medical("BAD-1", national_id(), "1.00")
    bad["amounts"]["self_paid"] = amount
    batch = (await post_feed("medical_insurance", [bad], total="5.00")).json()  # the amounts that parse
    assert batch["counts"]["invalid"] == 1, batch
    assert [(e["field"], e["code"]) for e in batch["errors"]] == [("amounts.self_paid", "invalid_amount")]


async def test_a_json_number_with_an_exponent_is_not_an_amount(
    post_feed: PostFeed, screening_client: httpx.AsyncClient
) -> None:
    line = medical("BAD-1", national_id(), "1.00")
    line["amounts"]["total_cost"] = "__N__"
    body = jsonl([line]).replace(b'"__N__"', b"3e0")
    response = await screening_client.post(
        "/v1/feeds/medical_insurance/batches",
        params={"county_code": COUNTY, "record_count": 1, "control_total": "3.00"},
        content=body,
        headers={"Content-Type": "application/x-ndjson", **auth("department_feeder", department="medical_insurance")},
    )
    assert response.status_code == 202, response.text
    errors = response.json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("amounts.total_cost", "invalid_amount")]


@pytest.mark.parametrize("total", ["1E+2", "1e2", "-1.00", "1_000", "NaN", " 3.00x"])
async def test_the_declared_control_total_is_a_plain_decimal(post_feed: PostFeed, total: str) -> None:
    response = await post_feed("medical_insurance", [medical("YB-1", national_id(), "1.00")], total=total, expect=None)
    assert_refused(response, "query.control_total")
