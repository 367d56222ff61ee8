"""Issue 9, defects 5, 6 and 10 on the registry: NUL and control characters, loose query values and loose
money/booleans are 422 naming the field, never a 500 and never stored."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.registry.conftest import CreateHousehold, household_body, member
from tests.support.boundary import NUL, assert_refused
from tests.support.tokens import auth

pytestmark = pytest.mark.usefixtures("demo_regions")
OFFICER = auth("county_officer")
SERVICE = auth("service", "")
SOME = str(uuid.uuid4())

MONITORING = {
    "action": "set",
    "monitoring_type": "unstable",
    "case_id": SOME,
    "reason": "监测",
    "effective_date": "2026-03-01",
}
BENEFIT = {
    "source": "claims",
    "source_ref": "pay-1",
    "programme": "anti_poverty_insurance",
    "category": "illness",
    "amount": "1200.00",
    "paid_date": "2026-03-01",
    "year": 2026,
}

# (method, path, body, field, headers); the household id is filled in by the test
BODY_CASES: list[tuple[str, str, dict[str, Any], str, dict[str, str]]] = [
    ("PUT", "/v1/households/{h}/monitoring-status", {**MONITORING, "reason": NUL}, "reason", SERVICE),
    ("POST", "/v1/households/{h}/monitoring-status", {**MONITORING, "reason": NUL}, "reason", SERVICE),
    ("POST", "/v1/households/{h}/benefits", {**BENEFIT, "source_ref": NUL}, "source_ref", SERVICE),
    ("POST", "/v1/households/{h}/benefits", {**BENEFIT, "source": NUL}, "source", SERVICE),
    ("POST", "/v1/households/{h}/benefits", {**BENEFIT, "programme": NUL}, "programme", SERVICE),
    ("POST", "/v1/households/{h}/benefits", {**BENEFIT, "category": NUL}, "category", SERVICE),
    ("POST", "/v1/households/{h}/bank-account:reveal", {"purpose": "理赔支付" + NUL}, "purpose", SERVICE),
    ("POST", "/v1/households/{h}/phone:reveal", {"purpose": "回访核实" + NUL}, "purpose", OFFICER),
    ("POST", "/v1/households/{h}:archive", {"reason": NUL}, "reason", OFFICER),
    ("PATCH", "/v1/households/{h}", {"reason": NUL}, "reason", OFFICER),
    ("PATCH", "/v1/households/{h}", {"account_holder": "张\t三"}, "account_holder", OFFICER),
    ("PUT", "/v1/households/{h}/incomes/2025", {"wage_income": "1.00", "reason": NUL}, "reason", OFFICER),
    (
        "POST",
        "/v1/households/{h}/members/{h}:end",
        {"reason": "death", "effective_date": "2026-01-01", "note": NUL},
        "note",
        OFFICER,
    ),
    ("POST", "/v1/households:search", {"name_prefix": NUL}, "name_prefix", OFFICER),
    ("POST", "/v1/households:search", {"national_id": NUL}, "national_id", OFFICER),
    ("POST", "/v1/members:resolve", {"national_ids": ["410602196803151312", NUL]}, "national_ids", SERVICE),
    ("POST", "/v1/members/{h}:reveal", {"purpose": "核查身份" + NUL}, "purpose", OFFICER),
    ("POST", "/v1/exports", {"region": "410602", "purpose": NUL, "reveal": True}, "purpose", OFFICER),
]


@pytest.mark.parametrize(("method", "path", "body", "field", "headers"), BODY_CASES)
async def test_nul_in_a_body_field_is_422_naming_it(
    registry_client: httpx.AsyncClient,
    create_household: CreateHousehold,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
    headers: dict[str, str],
) -> None:
    household = await create_household()
    url = path.format(h=household["id"])
    response = await registry_client.request(method, url, json=body, headers={**headers, "If-Match": '"1"'})
    assert_refused(response, field)


@pytest.mark.parametrize("field", ["name", "national_id", "school"])
async def test_nul_in_a_member_field_is_422(registry_client: httpx.AsyncClient, field: str) -> None:
    body = household_body(members=[member("head", **{field: "张" + NUL})])
    assert_refused(await registry_client.post("/v1/households", json=body, headers=OFFICER), f"members[0].{field}")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"name_prefix": NUL}, "query.name_prefix"),
        ({"name_prefix": " "}, "query.name_prefix"),
        ({"name_prefix": "张\t三"}, "query.name_prefix"),
        ({"household_number": " "}, "query.household_number"),
        ({"household_number": NUL}, "query.household_number"),
        ({"household_number": "A/1"}, "query.household_number"),
        ({"region": "٤١٠٦٠٢"}, "query.region"),
        ({"cursor": NUL}, "query.cursor"),
        ({"status": ["ordinary", "lifted_out", "unstable", "marginal", "sudden_hardship", "ordinary"]}, "query.status"),
    ],
)
async def test_query_values_are_as_strict_as_the_search_body(
    registry_client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await registry_client.get("/v1/households", params=params, headers=OFFICER)
    assert_refused(response, field)


async def test_query_booleans_still_parse_as_fastapi_does(registry_client: httpx.AsyncClient) -> None:
    response = await registry_client.get(
        "/v1/households", params={"tekun": "true", "include_archived": "false"}, headers=OFFICER
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("url", "statuses"),
    [
        ("/v1/regions/a%00b", (404, 422)),
        ("/v1/regions/a%00b/children", (404, 422)),
        ("/v1/regions?parent=a%00b", (422,)),
        ("/v1/imports/00000000-0000-0000-0000-000000000000/errors?cursor=a%00b", (404, 422)),
        ("/v1/imports/template?lang=a%00b", (200, 422)),
    ],
)
async def test_nul_in_a_path_or_query_is_not_500(
    registry_client: httpx.AsyncClient, url: str, statuses: tuple[int, ...]
) -> None:
    response = await registry_client.get(url, headers=OFFICER)
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("amount", ["1E+5", "1e5", 100000, 100000.0, "12.345", "1000000000000"])
async def test_money_is_a_plain_decimal_string(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, amount: Any
) -> None:
    household = await create_household()
    benefit = await registry_client.post(
        f"/v1/households/{household['id']}/benefits", json={**BENEFIT, "amount": amount}, headers=SERVICE
    )
    assert_refused(benefit, "amount")
    income = await registry_client.put(
        f"/v1/households/{household['id']}/incomes/2025",
        json={"wage_income": amount},
        headers={**OFFICER, "If-Match": '"1"'},
    )
    assert_refused(income, "wage_income")
    created = await registry_client.post(
        "/v1/households", json=household_body(incomes=[{"year": 2025, "wage_income": amount}]), headers=OFFICER
    )
    assert_refused(created, "incomes[0].wage_income")
    listed = await registry_client.get(f"/v1/households/{household['id']}/benefits", headers=OFFICER)
    assert listed.json()["items"] == []  # nothing was stored as 100000.00


@pytest.mark.parametrize("value", [0, 1, "yes", "true"])
async def test_booleans_are_strict_in_bodies(registry_client: httpx.AsyncClient, value: Any) -> None:
    assert_refused(
        await registry_client.post("/v1/households", json=household_body(tekun=value), headers=OFFICER), "tekun"
    )
    assert_refused(
        await registry_client.post("/v1/households:search", json={"include_archived": value}, headers=OFFICER),
        "include_archived",
    )


@pytest.mark.parametrize("value", [2025.5, "2025", True])
async def test_years_are_strict_integers(registry_client: httpx.AsyncClient, value: Any) -> None:
    assert_refused(
        await registry_client.post("/v1/households", json=household_body(insured_years=[value]), headers=OFFICER),
        "insured_years[0]",
    )
    assert_refused(
        await registry_client.post(
            "/v1/households", json=household_body(incomes=[{"year": value, "wage_income": "1.00"}]), headers=OFFICER
        ),
        "incomes[0].year",
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("member_name", "张\u0000三"),
        ("address", "三组\u001b12号"),
        ("school", "中学\n二部"),
        ("member_name", "张\ud800"),
        ("household_number", "H\u0085001"),
        ("address", "三组\t12号"),
    ],
)
def test_import_cells_follow_the_string_rule(column: str, value: str) -> None:
    from tests.unit.test_registry_import_rows import codes_at, head, member, parse

    result = parse([head(), member(**{column: value})])
    assert (column, "invalid_character") in codes_at(result, 3), result.errors
    assert codes_at(result, 2) == []  # the good row is untouched
    assert all(value not in e.message for e in result.errors)  # the cell is not quoted back
