"""Thresholds per county and year (rules.md §1.1): demo defaults on first use, versions with
source notes, optimistic concurrency, withdrawal of an unused version, roles and scope."""

from __future__ import annotations

import httpx
import pytest

from tests.screening.support import COUNTY, TOWNSHIP, VILLAGE
from tests.support.tokens import auth

OFFICER = auth("county_officer", COUNTY)
URL = f"/v1/thresholds/{COUNTY}/2026"


async def test_demo_defaults_are_version_1_with_their_sources(screening_client: httpx.AsyncClient) -> None:
    response = await screening_client.get(URL, headers=OFFICER)
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    body = response.json()
    assert body["version"] == 1
    assert body["values"] == {
        "monitoring_line": "6000.00",
        "medical_warning_line": "10000.00",
        "education_warning_line": "8000.00",
        "disaster_warning_line": "5000.00",
        "accident_warning_line": "5000.00",
        "industry_warning_line": "10000.00",
        "income_drop_ratio": "0.30",
        "notice_min_days": 5,
        "identification_limit_working_days": 20,
        "suggested_list_day": 10,
        "illness_income_share": "0.5",
        "employment_line_factor": "1.5",
        "elimination_min_months": 6,
        "elimination_lead_free_runs": 6,
    }
    assert body["sources"]["monitoring_line"].startswith("[S] 6,000 in 2021 schemes")
    assert set(body["sources"]) == set(body["values"])
    again = await screening_client.get(URL, headers=auth("village_cadre", VILLAGE))
    assert again.json()["id"] == body["id"]  # seeded once


async def test_a_change_is_a_new_version_that_needs_if_match_and_sources(screening_client: httpx.AsyncClient) -> None:
    await screening_client.get(URL, headers=OFFICER)
    change = {"values": {"monitoring_line": "8700.00"}, "sources": {"monitoring_line": "[S] 云南省 2025 年"}}
    missing = await screening_client.put(URL, json=change, headers=OFFICER)
    assert missing.status_code == 428
    stale = await screening_client.put(URL, json=change, headers={**OFFICER, "If-Match": '"5"'})
    assert stale.status_code == 412
    assert stale.json()["extra"] == {"current_version": 1}
    no_source = await screening_client.put(
        URL, json={"values": {"monitoring_line": "8700.00"}}, headers={**OFFICER, "If-Match": '"1"'}
    )
    assert no_source.status_code == 422
    assert no_source.json()["code"] == "source_required"
    assert no_source.json()["errors"][0]["field"] == "sources.monitoring_line"
    ok = await screening_client.put(
        URL, json={**change, "note": "省里调高监测范围"}, headers={**OFFICER, "If-Match": '"1"'}
    )
    assert ok.status_code == 200, ok.text
    assert ok.headers["ETag"] == '"2"'
    body = ok.json()
    assert body["values"]["monitoring_line"] == "8700.00"
    assert body["values"]["medical_warning_line"] == "10000.00"  # kept
    assert body["sources"]["monitoring_line"] == "[S] 云南省 2025 年"
    assert body["sources"]["medical_warning_line"].startswith("[A]")
    same = await screening_client.put(
        URL, json={**change, "note": "省里调高监测范围"}, headers={**OFFICER, "If-Match": '"2"'}
    )
    assert same.status_code == 409
    assert same.json()["code"] == "no_change"
    versions = (await screening_client.get(f"{URL}/versions", headers=OFFICER)).json()
    assert [v["version"] for v in versions] == [1, 2]
    first = await screening_client.get(f"{URL}/versions/1", headers=OFFICER)
    assert first.json()["values"]["monitoring_line"] == "6000.00"
    listed = (await screening_client.get(f"/v1/thresholds/{COUNTY}", headers=OFFICER)).json()
    assert [(t["year"], t["version"]) for t in listed] == [(2026, 2)]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"monitoring_line": 6000.5}, "values.monitoring_line"),  # a float
        ({"monitoring_line": "0"}, "values.monitoring_line"),
        ({"monitoring_line": "6000.001"}, "values.monitoring_line"),
        ({"income_drop_ratio": "1.5"}, "values.income_drop_ratio"),
        ({"notice_min_days": 0}, "values.notice_min_days"),
        ({"suggested_list_day": 31}, "values.suggested_list_day"),
        ({"lottery_line": "1"}, "values.lottery_line"),
        ({"monitoring_line": "abc"}, "values.monitoring_line"),
    ],
)
async def test_invalid_values_are_422(
    screening_client: httpx.AsyncClient, values: dict[str, object], field: str
) -> None:
    await screening_client.get(URL, headers=OFFICER)
    response = await screening_client.put(
        URL, json={"values": values, "sources": dict.fromkeys(values, "x")}, headers={**OFFICER, "If-Match": '"1"'}
    )
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}


async def test_the_first_version_of_a_year_needs_every_line(screening_client: httpx.AsyncClient) -> None:
    partial = await screening_client.put(
        f"/v1/thresholds/{COUNTY}/2027", json={"values": {"monitoring_line": "7000"}}, headers=OFFICER
    )
    assert partial.status_code == 422
    assert "values.medical_warning_line" in {e["field"] for e in partial.json()["errors"]}
    lines = {
        "monitoring_line": "7000.00",
        "medical_warning_line": "12000.00",
        "education_warning_line": "8000.00",
        "disaster_warning_line": "5000.00",
        "accident_warning_line": "5000.00",
        "industry_warning_line": "10000.00",
        "income_drop_ratio": "0.25",
    }
    created = await screening_client.put(
        f"/v1/thresholds/{COUNTY}/2027",
        json={"values": lines, "sources": dict.fromkeys(lines, "[S] 县政府文件")},
        headers=OFFICER,
    )
    assert created.status_code == 201, created.text
    assert created.json()["sources"]["notice_min_days"].startswith("[S]")  # a default kept its demo source


async def test_withdrawing_the_latest_unused_version(screening_client: httpx.AsyncClient) -> None:
    await screening_client.get(URL, headers=OFFICER)
    await screening_client.put(
        URL,
        json={"values": {"notice_min_days": 7}, "sources": {"notice_min_days": "县文件"}},
        headers={**OFFICER, "If-Match": '"1"'},
    )
    older = await screening_client.delete(f"{URL}/versions/1", headers={**OFFICER, "If-Match": '"1"'})
    assert older.status_code == 409
    assert older.json()["code"] == "not_latest_version"
    no_match = await screening_client.delete(f"{URL}/versions/2", headers=OFFICER)
    assert no_match.status_code == 428
    gone = await screening_client.delete(f"{URL}/versions/2", headers={**OFFICER, "If-Match": '"2"'})
    assert gone.status_code == 204
    assert (await screening_client.get(URL, headers=OFFICER)).json()["version"] == 1


async def test_roles_and_scope(screening_client: httpx.AsyncClient) -> None:
    body = {"values": {"notice_min_days": 7}, "sources": {"notice_min_days": "县文件"}}
    for role, region in (("township_officer", TOWNSHIP), ("village_cadre", VILLAGE), ("auditor", COUNTY)):
        response = await screening_client.put(URL, json=body, headers=auth(role, region))
        assert response.status_code == 403, role
    elsewhere = await screening_client.put("/v1/thresholds/410603/2026", json=body, headers=OFFICER)
    assert elsewhere.status_code == 403
    assert elsewhere.json()["code"] == "out_of_scope"
    assert (await screening_client.get("/v1/thresholds/410603/2026", headers=OFFICER)).status_code == 404
    assert (await screening_client.get(URL, headers=auth("department_feeder", COUNTY))).status_code == 403
    assert (await screening_client.get(URL)).status_code == 401
    assert (await screening_client.get(f"/v1/thresholds/{COUNTY}/1999", headers=OFFICER)).status_code == 422
    assert (await screening_client.get(f"{URL}/versions/9", headers=OFFICER)).status_code == 404
