"""POST /v1/assessments:preview: rules.md §2.3 E1–E11 verbatim over HTTP, validation, no 500 for any input."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import assessment, claim, scheme
from services.claims.domain.reference import reference_scheme_data
from tests.claims.conftest import COUNTY, create_reference_scheme
from tests.support.tokens import DEMO_VILLAGE, auth

CADRE = auth("village_cadre", DEMO_VILLAGE)


def household(status: str, n: int, income: str, previous: str | None = None) -> dict[str, Any]:
    return {
        "status": status,
        "members": n,
        "annual_net_income": income,
        "previous_annual_net_income": previous,
        "insured": True,
        "negative_list": False,
    }


def facts(
    category: str,
    hh: dict[str, Any],
    expense: dict[str, Any] | None = None,
    *,
    incident: str = "2026-03-05",
    reported: str = "2026-03-20",
    prior: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "category": category,
        "household": hh,
        "incident_date": incident,
        "reported_date": reported,
        "expense": expense or {},
        "prior": prior
        or {"category_base": "0", "category_paid": "0", "household_paid": "0", "same_student_level_paid": False},
    }


E1_EXPENSE = {
    "total_cost": "120000.00",
    "non_compliant_cost": "5000.00",
    "basic_insurance_paid": "60000.00",
    "critical_illness_paid": "15000.00",
    "medical_assistance_paid": "5000.00",
    "other_compensation": "0",
}
E1_HH = household("unstable", 4, "30000.00", "36000.00")

# rules.md §2.3, verbatim: (id, facts, expected payout or rejection code)
WORKED_EXAMPLES: list[tuple[str, dict[str, Any], str]] = [
    ("E1", facts("illness", E1_HH, E1_EXPENSE), "16000.00"),
    (
        "E2",
        facts(
            "illness",
            E1_HH,
            {"total_cost": "25000", "basic_insurance_paid": "15000"},
            prior={"category_base": "35000", "category_paid": "16000", "household_paid": "16000"},
        ),
        "6000.00",
    ),
    (
        "E3",
        facts("illness", household("marginal", 3, "45000"), {"total_cost": "50000", "basic_insurance_paid": "20000"}),
        "5000.00",
    ),
    (
        "E4",
        facts("illness", household("ordinary", 3, "90000"), {"total_cost": "50000", "basic_insurance_paid": "20000"}),
        "income_above_line",
    ),
    ("E5", facts("school_entry", household("ordinary", 5, "25000"), {"level": "undergraduate"}), "5000.00"),
    ("E6", facts("income_drop", household("lifted_out", 4, "20000", "40000")), "4000.00"),
    (
        "E7",
        facts(
            "industry_loss",
            household("ordinary", 4, "28000"),
            {"assessed_loss": "30000", "insurance_compensation": "8000"},
        ),
        "10000.00",
    ),
    (
        "E8",
        facts(
            "disaster_accident",
            household("ordinary", 5, "50000"),
            {"assessed_loss": "80000", "compensation_received": "10000"},
        ),
        "42600.00",
    ),
    (
        "E9",
        facts("in_school", household("ordinary", 4, "22000"), {"education_cost": "15000", "aid_received": "6000"}),
        "3000.00",
    ),
    (
        "E10",
        facts(
            "disaster_accident",
            household("ordinary", 4, "10000"),
            {"assessed_loss": "300000"},
            prior={"category_base": "0", "category_paid": "0", "household_paid": "120000"},
        ),
        "30000.00",
    ),
    ("E11", facts("illness", E1_HH, E1_EXPENSE, incident="2026-01-05", reported="2026-08-01"), "reported_late"),
]


@pytest.mark.parametrize(
    ("facts_body", "expected"), [c[1:] for c in WORKED_EXAMPLES], ids=[c[0] for c in WORKED_EXAMPLES]
)
async def test_worked_examples_inline_scheme(
    claims_client: httpx.AsyncClient, facts_body: dict[str, Any], expected: str
) -> None:
    response = await claims_client.post(
        "/v1/assessments:preview", json={"scheme": reference_scheme_data(), "facts": facts_body}, headers=CADRE
    )
    assert response.status_code == 200, response.text
    body = response.json()
    if expected[0].isdigit():
        assert body["eligible"] is True
        assert body["payout"] == expected
        assert body["rejection_code"] is None
        assert body["breakdown"]["payout"] == expected
    else:
        assert body["eligible"] is False
        assert body["payout"] == "0.00"
        assert body["rejection_code"] == expected
    assert body["scheme"] == {"code": "reference-2026", "version": 1}
    assert body["explanation"][0].startswith("方案 Scheme: reference-2026 v1")


async def test_e1_breakdown_over_http(claims_client: httpx.AsyncClient) -> None:
    response = await claims_client.post(
        "/v1/assessments:preview",
        json={"scheme": reference_scheme_data(), "facts": WORKED_EXAMPLES[0][1]},
        headers=CADRE,
    )
    bd = response.json()["breakdown"]
    assert (bd["b"], bd["B"], bd["D"], bd["X"], bd["g"], bd["f"]) == (
        "35000.00",
        "35000.00",
        "5000.00",
        "30000.00",
        "16000.00",
        "16000.00",
    )
    assert [t["pay"] for t in bd["tiers"]] == ["10000.00", "6000.00", "0.00"]
    assert bd["scheme"]["code"] == "reference-2026"


@pytest.mark.parametrize(
    ("facts_body", "expected"), [c[1:] for c in WORKED_EXAMPLES], ids=[c[0] for c in WORKED_EXAMPLES]
)
async def test_worked_examples_by_scheme_code_store_nothing(
    claims_client: httpx.AsyncClient, session: AsyncSession, facts_body: dict[str, Any], expected: str
) -> None:
    await create_reference_scheme(claims_client)
    counts_before = [
        (await session.execute(select(func.count()).select_from(t))).scalar_one() for t in (claim, assessment, scheme)
    ]
    response = await claims_client.post(
        "/v1/assessments:preview",
        json={"scheme_code": "reference-2026", "scheme_version": 1, "facts": facts_body},
        headers=CADRE,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["payout"] if body["eligible"] else body["rejection_code"]) == expected
    counts_after = [
        (await session.execute(select(func.count()).select_from(t))).scalar_one() for t in (claim, assessment, scheme)
    ]
    assert counts_after == counts_before
    version = await claims_client.get("/v1/schemes/reference-2026", headers=COUNTY)
    assert version.json()["used"] is False  # a preview does not make a version "used"


async def test_scheme_errors_carry_field_paths(claims_client: httpx.AsyncClient) -> None:
    bad = reference_scheme_data()
    bad["categories"]["illness"]["tiers"][1]["from"] = "25000"
    bad["categories"]["in_school"]["tiers"][0]["rate"] = "1.5"
    bad["categories"]["illness"]["deductible"].pop("marginal")
    response = await claims_client.post(
        "/v1/assessments:preview", json={"scheme": bad, "facts": WORKED_EXAMPLES[0][1]}, headers=CADRE
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "invalid_scheme"
    fields = {e["field"] for e in problem["errors"]}
    assert {
        "scheme.categories.illness.tiers[1].from",
        "scheme.categories.in_school.tiers[0].rate",
        "scheme.categories.illness.deductible.marginal",
    } <= fields


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"household": {"members": 0}}, {"facts.household.members"}),
        ({"expense": {"total_cost": "12.345", "bogus": "1"}}, {"facts.expense.total_cost", "facts.expense.bogus"}),
        ({"prior": {"category_paid": "-1"}}, {"facts.prior.category_paid"}),
        ({"incident_date": "2026-13-01"}, {"facts.incident_date"}),
    ],
)
async def test_facts_errors_carry_field_paths(
    claims_client: httpx.AsyncClient, change: dict[str, Any], fields: set[str]
) -> None:
    body = copy.deepcopy(WORKED_EXAMPLES[0][1])
    for key, value in change.items():
        if isinstance(value, dict):
            body[key].update(value)
        else:
            body[key] = value
    response = await claims_client.post(
        "/v1/assessments:preview", json={"scheme": reference_scheme_data(), "facts": body}, headers=CADRE
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_facts"
    assert fields <= {e["field"] for e in response.json()["errors"]}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"facts": {}}, 422, "validation_failed"),  # neither scheme nor scheme_code
        ({"scheme": {}, "scheme_code": "x", "facts": {}}, 422, "validation_failed"),
        ({"scheme_code": "no-such-scheme", "facts": WORKED_EXAMPLES[0][1]}, 404, "scheme_not_found"),
        (
            {"scheme": reference_scheme_data(), "scheme_version": 2, "facts": WORKED_EXAMPLES[0][1]},
            422,
            "validation_failed",
        ),
        ({"scheme": [], "facts": {}}, 422, "validation_failed"),
        ({"scheme": reference_scheme_data(), "facts": {"category": "theft"}}, 422, "invalid_facts"),
    ],
)
async def test_request_shape_errors(claims_client: httpx.AsyncClient, body: Any, status: int, code: str) -> None:
    response = await claims_client.post("/v1/assessments:preview", json=body, headers=CADRE)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_preview_needs_a_token(claims_client: httpx.AsyncClient) -> None:
    response = await claims_client.post("/v1/assessments:preview", json={"facts": {}})
    assert response.status_code == 401


async def test_preview_of_another_countys_scheme_is_not_found(claims_client: httpx.AsyncClient) -> None:
    await create_reference_scheme(claims_client)
    elsewhere = auth("village_cadre", "110101001001")
    response = await claims_client.post(
        "/v1/assessments:preview",
        json={"scheme_code": "reference-2026", "facts": WORKED_EXAMPLES[0][1]},
        headers=elsewhere,
    )
    assert response.status_code == 404


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
amounts = st.one_of(st.text(max_size=8), st.integers(-5, 10**15), st.floats(), st.none(), st.just("12.5"))


@st.composite
def near_valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"scheme": reference_scheme_data(), "facts": copy.deepcopy(WORKED_EXAMPLES[0][1])}
    target = draw(st.sampled_from(["scheme", "household", "expense", "prior", "top", "facts"]))
    value = draw(json_values | amounts)
    key = draw(
        st.sampled_from(
            [
                "premium_per_person",
                "year",
                "categories",
                "tiers",
                "members",
                "total_cost",
                "category_base",
                "incident_date",
                "status",
                "x",
            ]
        )
    )
    if target == "scheme":
        body["scheme"][key] = value
    elif target == "household":
        body["facts"]["household"][key] = value
    elif target == "expense":
        body["facts"]["expense"][key] = value
    elif target == "prior":
        body["facts"]["prior"][key] = value
    elif target == "facts":
        body["facts"][key] = value
    else:
        body[key] = value
    return body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=near_valid_bodies() | json_values)
async def test_no_input_makes_a_500(claims_client: httpx.AsyncClient, body: Any) -> None:
    # NaN and infinities go out as the non-standard tokens Python's json reads back
    response = await claims_client.post(
        "/v1/assessments:preview", content=json.dumps(body), headers={**CADRE, "Content-Type": "application/json"}
    )
    assert response.status_code in (200, 404, 422), response.text
    if response.status_code != 200:
        assert response.headers["content-type"].startswith("application/problem+json")
