"""No input makes the registry answer 500; the API's ID check agrees with the validator (hypothesis)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.registry.domain.national_id import make_national_id
from tests.registry.conftest import CreateHousehold, household_body, member
from tests.support.tokens import auth

pytestmark = pytest.mark.usefixtures("demo_regions")
OFFICER = auth("county_officer")
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

regions = st.sampled_from(["410602", "410603", "110101", "650102", "440305"])
births = st.dates(min_value=date(1920, 1, 1), max_value=date(2025, 12, 31))
sequences = st.integers(min_value=0, max_value=999)


@FUZZ
@given(region=regions, born=births, sequence=sequences, position=st.integers(0, 17), delta=st.integers(1, 9))
async def test_valid_ids_are_accepted_and_single_digit_corruptions_rejected(
    registry_client: httpx.AsyncClient, region: str, born: date, sequence: int, position: int, delta: int
) -> None:
    number = make_national_id(region, born, sequence)
    accepted = await registry_client.post(
        "/v1/households", json=household_body(members=[member("head", national_id=number)]), headers=OFFICER
    )
    # 409 only when hypothesis replays an example whose person is already registered
    assert accepted.status_code in (201, 409), accepted.text
    digits = "0123456789X" if position == 17 else "0123456789"
    original = number[position]
    replacement = digits[(digits.index(original) + delta) % len(digits)]
    corrupted = number[:position] + replacement + number[position + 1 :]
    rejected = await registry_client.post(
        "/v1/households", json=household_body(members=[member("head", national_id=corrupted)]), headers=OFFICER
    )
    assert rejected.status_code == 422, (number, corrupted, rejected.text)
    assert rejected.json()["code"] == "invalid_national_id"
    assert corrupted not in rejected.text


NASTY_BODIES: list[Any] = [
    None,
    [],
    "text",
    12,
    {"members": None},
    {"members": "x"},
    {"members": [{}]},
    {
        "household_number": "\u0000",
        "village_code": "410602100201",
        "members": [{"name": "a", "national_id": "1", "relation": "head"}],
    },
    {"household_number": "A1", "village_code": "410602100201", "address": "x" * 100_000, "members": []},
    {"household_number": "A1", "village_code": "41060210020\u0661"},
    {"household_number": "A1", "village_code": "410602100201", "incomes": [{"year": 10**30}]},
    {"household_number": "A1", "village_code": "410602100201", "insured_years": [-1, 99999999999999999999]},
]


@pytest.mark.parametrize("body", NASTY_BODIES)
async def test_malformed_households_are_422(registry_client: httpx.AsyncClient, body: Any) -> None:
    response = await registry_client.post("/v1/households", json=body, headers=OFFICER)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"name": "\\ud800"}',
        b"\xff\xfe",
        b'{"members": [' * 2000,
        b"null",
        b'{"household_number": "A1", "village_code": "410602100201", "members": [],'
        b' "incomes": [{"year": 2025, "wage_income": 1e309}]}',
    ],
)
async def test_unparseable_bodies_are_not_500(registry_client: httpx.AsyncClient, raw: bytes) -> None:
    response = await registry_client.post(
        "/v1/households", content=raw, headers={**OFFICER, "Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text


async def test_control_characters_and_lone_surrogates_in_names(registry_client: httpx.AsyncClient) -> None:
    for name in ("张\u0000三", "张\ud800三", "\u0007"):
        body = household_body(members=[member("head", name=name)])
        response = await registry_client.post(
            "/v1/households", content=json.dumps(body).encode(), headers={**OFFICER, "Content-Type": "application/json"}
        )
        assert response.status_code == 422, (name, response.text)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["410602100201", "2026-01-01", "head", "marginal", "set", "-1", "1e999", "\u0000"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "household_number",
                    "village_code",
                    "members",
                    "name",
                    "national_id",
                    "relation",
                    "year",
                    "amount",
                    "action",
                    "case_id",
                    "monitoring_type",
                    "region",
                    "cursor",
                    "limit",
                    "status",
                    "national_ids",
                    "purpose",
                    "reason",
                    "effective_date",
                    "source",
                    "x",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=12,
)


@FUZZ
@given(
    body=json_values,
    target=st.sampled_from(
        [
            ("post", "/v1/households"),
            ("post", "/v1/households:search"),
            ("post", "/v1/members:resolve"),
            ("post", "/v1/exports"),
            ("post", "/v1/households/{id}/members"),
            ("patch", "/v1/households/{id}"),
            ("put", "/v1/households/{id}/incomes/2025"),
            ("put", "/v1/households/{id}/monitoring-status"),
            ("post", "/v1/households/{id}/benefits"),
            ("post", "/v1/members/{member}:reveal"),
            ("post", "/v1/households/{id}:archive"),
            ("post", "/v1/households/{id}/members/{member}:end"),
        ]
    ),
)
async def test_no_json_body_makes_a_500(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, body: Any, target: tuple[str, str]
) -> None:
    created = await create_household()
    method, path = target
    path = path.format(id=created["id"], member=created["head_member_id"])
    headers = {**auth("admin", ""), "If-Match": "*"}
    response = await registry_client.request(method, path, json=body, headers=headers)
    assert response.status_code < 500, (method, path, body, response.text)


async def test_nothing_outside_the_api_is_500(registry_client: httpx.AsyncClient) -> None:
    for path in ("/v1/households/../../etc", "/v1/households/%00", "/v1/members/x:reveal", "/v1/imports/1/errors"):
        assert (await registry_client.get(path, headers=OFFICER)).status_code < 500
    long_ago = (date.today() - timedelta(days=365 * 200)).isoformat()
    facts = await registry_client.get(
        f"/v1/households/00000000-0000-7000-8000-000000000000/facts?as_of={long_ago}", headers=OFFICER
    )
    assert facts.status_code == 404


@pytest.mark.parametrize("values", [[5], [None], [["410602"]], [{"a": 1}]])
async def test_a_region_cursor_of_another_shape_is_not_500(
    registry_client: httpx.AsyncClient, values: list[Any]
) -> None:
    # A cursor holds the last code of a page (a string). One holding a number, null, a list or an
    # object reached the SQL comparison with the code column and answered 500 (issue 11 step 2).
    from shared.pagination import encode_cursor

    response = await registry_client.get(
        "/v1/regions", params={"cursor": encode_cursor(values), "limit": 2}, headers=OFFICER
    )
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["code"] == "invalid_cursor"
