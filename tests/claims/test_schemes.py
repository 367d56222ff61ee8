"""Schemes (versioned, immutable once used), enrolments (bulk, idempotent, premiums per township), demo seed."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import scheme_version
from services.claims.demo import seed_schemes
from services.claims.domain.assessment import assess, parse_claim_input
from services.claims.domain.reference import reference_scheme_data
from services.claims.domain.scheme import parse_scheme
from tests.claims.conftest import (
    COUNTY,
    E1_EXPENSE,
    INSURER,
    FakeRegistry,
    apply,
    create_reference_scheme,
    enrol,
    to_assessed,
)
from tests.support.tokens import DEMO_COUNTY, DEMO_TOWNSHIP, DEMO_VILLAGE, auth


async def test_create_read_list(claims_client: httpx.AsyncClient) -> None:
    created = await create_reference_scheme(claims_client)
    assert created["version"] == 1
    assert created["status"] == "active"
    assert created["used"] is False
    assert created["scheme"]["premium_per_person"] == "100.00"
    assert created["scheme"]["version"] == 1

    got = await claims_client.get("/v1/schemes/reference-2026", headers=auth("village_cadre", DEMO_VILLAGE))
    assert got.status_code == 200
    assert got.headers["etag"] == '"1"'
    listed = await claims_client.get("/v1/schemes?county_code=410602&year=2026", headers=COUNTY)
    assert [s["code"] for s in listed.json()["items"]] == ["reference-2026"]
    elsewhere = await claims_client.get("/v1/schemes", headers=auth("county_officer", "110101"))
    assert elsewhere.json()["items"] == []
    assert (
        await claims_client.get("/v1/schemes/reference-2026", headers=auth("county_officer", "110101"))
    ).status_code == 404


async def test_invalid_scheme_is_422_with_paths(claims_client: httpx.AsyncClient) -> None:
    body = reference_scheme_data()
    body["categories"]["illness"]["tiers"][0]["from"] = "100"
    body["categories"]["school_entry"]["lump_sums"]["doctorate"] = "1.00"
    body["status"] = "maybe"
    response = await claims_client.post("/v1/schemes", json=body, headers=COUNTY)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_scheme"
    assert {"categories.illness.tiers[0].from", "categories.school_entry.lump_sums.doctorate", "status"} <= {
        e["field"] for e in problem["errors"]
    }


@pytest.mark.parametrize("role", ["village_cadre", "township_officer", "insurer_adjuster", "auditor", "service"])
async def test_only_county_officers_write_schemes(claims_client: httpx.AsyncClient, role: str) -> None:
    response = await claims_client.post("/v1/schemes", json=reference_scheme_data(), headers=auth(role, DEMO_COUNTY))
    assert response.status_code == 403


async def test_another_countys_officer_cannot_create(claims_client: httpx.AsyncClient) -> None:
    response = await claims_client.post(
        "/v1/schemes", json=reference_scheme_data(), headers=auth("county_officer", "110101")
    )
    assert response.status_code == 403
    assert response.json()["code"] == "out_of_scope"


async def test_one_active_scheme_per_county_and_year(claims_client: httpx.AsyncClient) -> None:
    await create_reference_scheme(claims_client)
    again = await claims_client.post("/v1/schemes", json=reference_scheme_data(), headers=COUNTY)
    assert again.status_code == 409
    assert again.json()["code"] == "scheme_exists"
    other = reference_scheme_data() | {"code": "other-2026"}
    taken = await claims_client.post("/v1/schemes", json=other, headers=COUNTY)
    assert taken.status_code == 409
    assert taken.json()["code"] == "scheme_year_taken"
    draft = await claims_client.post("/v1/schemes", json=other | {"status": "draft"}, headers=COUNTY)
    assert draft.status_code == 201
    assert draft.json()["status"] == "draft"


async def test_edit_makes_a_version_and_needs_if_match(claims_client: httpx.AsyncClient) -> None:
    await create_reference_scheme(claims_client)
    body = reference_scheme_data() | {"premium_per_person": "120.00"}
    missing = await claims_client.put("/v1/schemes/reference-2026", json=body, headers=COUNTY)
    assert missing.status_code == 428
    stale = await claims_client.put("/v1/schemes/reference-2026", json=body, headers={**COUNTY, "If-Match": '"7"'})
    assert stale.status_code == 412
    edited = await claims_client.put("/v1/schemes/reference-2026", json=body, headers={**COUNTY, "If-Match": '"1"'})
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2
    assert edited.headers["etag"] == '"2"'
    v1 = await claims_client.get("/v1/schemes/reference-2026/versions/1", headers=COUNTY)
    assert v1.json()["scheme"]["premium_per_person"] == "100.00"
    versions = await claims_client.get("/v1/schemes/reference-2026/versions", headers=COUNTY)
    assert [v["version"] for v in versions.json()] == [1, 2]
    moved = await claims_client.put(
        "/v1/schemes/reference-2026", json=body | {"year": 2027}, headers={**COUNTY, "If-Match": '"2"'}
    )
    assert moved.status_code == 422
    assert moved.json()["errors"][0]["field"] == "year"


async def test_a_used_version_is_immutable_in_the_database(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, session: AsyncSession
) -> None:
    await create_reference_scheme(claims_client)
    household = registry.add_household()
    await enrol(claims_client, household)
    claim = (await apply(claims_client, household, **E1_EXPENSE)).json()
    await to_assessed(claims_client, claim["id"])
    got = await claims_client.get("/v1/schemes/reference-2026", headers=COUNTY)
    assert got.json()["used"] is True

    # not through the API, and not by hand either: the trigger refuses
    with pytest.raises(DBAPIError, match="immutable"):
        async with session.begin_nested():
            await session.execute(
                update(scheme_version)
                .where(scheme_version.c.code == "reference-2026", scheme_version.c.version == 1)
                .values(body=text('body || \'{"premium_per_person": "1.00"}\'::jsonb'))
            )
    with pytest.raises(DBAPIError, match="cannot be deleted"):
        async with session.begin_nested():
            await session.execute(text("DELETE FROM claims.scheme_version WHERE code = 'reference-2026'"))

    # an edit makes version 2; the assessment keeps version 1
    edited = await claims_client.put(
        "/v1/schemes/reference-2026",
        json=reference_scheme_data() | {"notice_days": 7},
        headers={**COUNTY, "If-Match": '"1"'},
    )
    assert edited.json()["version"] == 2
    assessments = await claims_client.get(f"/v1/claims/{claim['id']}/assessments", headers=INSURER)
    assert assessments.json()[0]["scheme_version"] == 1
    stored = (await session.execute(select(scheme_version.c.body).where(scheme_version.c.version == 1))).scalar_one()
    assert stored["notice_days"] == 10
    cannot_draft = await claims_client.put(
        "/v1/schemes/reference-2026",
        json=reference_scheme_data() | {"status": "draft"},
        headers={**COUNTY, "If-Match": '"2"'},
    )
    assert cannot_draft.status_code == 409


async def test_seed_puts_the_reference_scheme_in_force_once(session: AsyncSession) -> None:
    assert await seed_schemes(session) == 1
    assert await seed_schemes(session) == 0
    row = (
        await session.execute(select(scheme_version.c.body).where(scheme_version.c.code == "reference-2026"))
    ).scalar_one()
    assert row["categories"]["illness"]["cap"] == "100000.00"
    assert row["insurer"] == "中国人寿财产保险股份有限公司鹤壁市中心支公司"
    assert (row["contract_start"], row["contract_end"]) == ("2026-01-01", "2026-12-31")


# ---------------------------------------------------------------- enrolments


def _households(n: int, village: str = DEMO_VILLAGE, people: int = 3) -> list[dict[str, object]]:
    return [{"household_id": str(uuid.uuid4()), "village_code": village, "insured_people": people} for _ in range(n)]


async def test_bulk_enrolment_is_idempotent_and_totals_premiums_per_township(claims_client: httpx.AsyncClient) -> None:
    await create_reference_scheme(claims_client)
    first = _households(3)
    other_township = _households(2, village="410602101201", people=5)
    response = await claims_client.post(
        "/v1/enrolments",
        json={"scheme_code": "reference-2026", "households": first + other_township},
        headers=COUNTY,
    )
    assert response.status_code == 201, response.text
    assert response.json() == {
        "scheme_code": "reference-2026",
        "year": 2026,
        "enrolled": 5,
        "already_enrolled": 0,
        "pool_rows": 0,
    }
    again = await claims_client.post(
        "/v1/enrolments",
        json={"scheme_code": "reference-2026", "households": first + _households(1)},
        headers=COUNTY,
    )
    assert again.json()["enrolled"] == 1
    assert again.json()["already_enrolled"] == 3

    summary = (await claims_client.get("/v1/enrolments/summary?scheme_code=reference-2026", headers=COUNTY)).json()
    assert summary["townships"] == [
        {"township_code": "410602100", "households": 4, "insured_people": 12, "premium": "1200.00"},
        {"township_code": "410602101", "households": 2, "insured_people": 10, "premium": "1000.00"},
    ]
    assert (summary["households"], summary["insured_people"], summary["premium"]) == (6, 22, "2200.00")
    township_view = await claims_client.get(
        "/v1/enrolments/summary?scheme_code=reference-2026", headers=auth("township_officer", DEMO_TOWNSHIP)
    )
    assert [t["township_code"] for t in township_view.json()["townships"]] == ["410602100"]

    listed = await claims_client.get("/v1/enrolments?scheme_code=reference-2026&limit=4", headers=COUNTY)
    assert len(listed.json()["items"]) == 4
    rest = await claims_client.get(
        f"/v1/enrolments?scheme_code=reference-2026&cursor={listed.json()['next_cursor']}", headers=COUNTY
    )
    assert len(rest.json()["items"]) == 2


async def test_idempotency_key_replays_the_first_answer(claims_client: httpx.AsyncClient) -> None:
    await create_reference_scheme(claims_client)
    body = {"scheme_code": "reference-2026", "households": _households(2)}
    headers = {**COUNTY, "Idempotency-Key": "enrol-1"}
    first = await claims_client.post("/v1/enrolments", json=body, headers=headers)
    second = await claims_client.post("/v1/enrolments", json=body, headers=headers)
    assert first.json() == second.json()
    assert second.json()["enrolled"] == 2
    reused = await claims_client.post("/v1/enrolments", json={**body, "households": _households(1)}, headers=headers)
    assert reused.status_code == 409
    assert reused.json()["code"] == "idempotency_key_reused"


async def test_enrolment_refuses_what_it_cannot_take(claims_client: httpx.AsyncClient) -> None:
    await create_reference_scheme(claims_client)
    twice = _households(1)
    response = await claims_client.post(
        "/v1/enrolments",
        json={
            "scheme_code": "reference-2026",
            "households": twice + twice + _households(1, village="110101001001"),
            "pool": [{"township_code": "410602100", "insured_people": 1000}],
        },
        headers=COUNTY,
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "households[1].household_id",
        "households[2].village_code",
        "pool[0]",
    }
    missing = await claims_client.post("/v1/enrolments", json={"scheme_code": "nope", "households": []}, headers=COUNTY)
    assert missing.status_code == 404


async def test_all_rural_pool_shares(claims_client: httpx.AsyncClient) -> None:
    await create_reference_scheme(claims_client, pool_mode="all_rural")
    pool = [
        {"township_code": "410602100", "insured_people": 20000},
        {"township_code": "410602101", "insured_people": 15000},
    ]
    response = await claims_client.post(
        "/v1/enrolments", json={"scheme_code": "reference-2026", "pool": pool}, headers=COUNTY
    )
    assert response.status_code == 201, response.text
    # a second post replaces the notional figure rather than adding to it
    await claims_client.post("/v1/enrolments", json={"scheme_code": "reference-2026", "pool": pool[:1]}, headers=COUNTY)
    summary = (await claims_client.get("/v1/enrolments/summary?scheme_code=reference-2026", headers=COUNTY)).json()
    assert summary["pool_mode"] == "all_rural"
    assert summary["insured_people"] == 35000
    assert summary["premium"] == "3500000.00"
    assert summary["county_code"] == DEMO_COUNTY


# ---------------------------------------------------------------- issue 10: counties' real schemes

OTHER_COUNTY_CODE = "410621"
OTHER_COUNTY = auth("county_officer", OTHER_COUNTY_CODE)
REF_INSURER = "中国人寿财产保险股份有限公司鹤壁市中心支公司"


def second_county_scheme() -> dict[str, object]:
    """浚县-like: postgraduate entry, four illness tiers, the line as 4000.00 × 1.5."""
    body = reference_scheme_data()
    body.pop("protection_line")
    body.update(
        code="qixian-2026",
        county_code=OTHER_COUNTY_CODE,
        insurer="中华联合财产保险股份有限公司浚县支公司",
        policy_number="ZH-410621-2026-07",
        contract_start="2026-01-01",
        contract_end="2026-12-31",
        poverty_standard="4000.00",
        protection_line_multiplier="1.5",
    )
    categories = body["categories"]
    assert isinstance(categories, dict)
    categories["illness"]["tiers"] = [
        {"from": "0", "to": "10000", "rate": "0.40"},
        {"from": "10000", "to": "30000", "rate": "0.55"},
        {"from": "30000", "to": "60000", "rate": "0.65"},
        {"from": "60000", "to": None, "rate": "0.75"},
    ]
    categories["school_entry"]["lump_sums"] = {"senior_high": "1500.00", "postgraduate": "8000.00"}
    return body


def _preview_facts(category: str, expense: dict[str, str], **household: object) -> dict[str, object]:
    return {
        "category": category,
        "household": {
            "status": "unstable",
            "members": 4,
            "annual_net_income": "30000.00",
            "insured": True,
            "negative_list": False,
            **household,
        },
        "incident_date": "2026-09-01",
        "reported_date": "2026-09-05",
        "expense": expense,
    }


async def test_the_reference_scheme_with_an_insurer_stores_previews_assesses_and_shows_on_the_notice(
    claims_client: httpx.AsyncClient, registry: FakeRegistry
) -> None:
    created = await create_reference_scheme(
        claims_client, insurer=REF_INSURER, policy_number="PICC-2026-001", contract_start="2026-01-01"
    )
    assert created["scheme"]["insurer"] == REF_INSURER
    assert created["scheme"]["policy_number"] == "PICC-2026-001"
    preview = await claims_client.post(
        "/v1/assessments:preview",
        json={"scheme_code": "reference-2026", "facts": _preview_facts("illness", E1_EXPENSE)},
        headers=COUNTY,
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["payout"] == "16000.00"  # E1
    household = registry.add_household()
    await enrol(claims_client, household)
    claim_id = (await apply(claims_client, household, headers=COUNTY, **E1_EXPENSE)).json()["id"]
    assessed = await to_assessed(claims_client, claim_id)
    assert assessed["assessment"]["payout"] == "16000.00"
    notice = await claims_client.post("/v1/notices", json={"village_code": DEMO_VILLAGE}, headers=COUNTY)
    assert notice.status_code == 201, notice.text
    assert notice.json()["schemes"] == [
        {
            "code": "reference-2026",
            "version": 1,
            "insurer": REF_INSURER,
            "policy_number": "PICC-2026-001",
            "contract_start": "2026-01-01",
            "contract_end": None,
        }
    ]
    page = await claims_client.get(f"/v1/notices/{notice.json()['id']}/print", headers=COUNTY)
    assert page.status_code == 200
    assert f"承保机构：{REF_INSURER}" in page.text
    assert "保单号：PICC-2026-001" in page.text


async def test_a_second_countys_scheme_with_postgraduate_entry_and_four_tiers(
    claims_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = second_county_scheme()
    response = await claims_client.post("/v1/schemes", json=body, headers=OTHER_COUNTY)
    assert response.status_code == 201, response.text
    stored = response.json()["scheme"]
    assert (stored["protection_line"], stored["poverty_standard"], stored["protection_line_multiplier"]) == (
        "6000.00",
        "4000.00",
        "1.5",
    )
    assert stored["categories"]["school_entry"]["lump_sums"]["postgraduate"] == "8000.00"
    cases = [
        (_preview_facts("school_entry", {"level": "postgraduate"}, members=5, annual_net_income="25000"), "8000.00"),
        # b = 80000, X = 75000: 10000×0.40 + 20000×0.55 + 30000×0.65 + 15000×0.75
        (_preview_facts("illness", {"total_cost": "120000", "basic_insurance_paid": "40000"}), "45750.00"),
    ]
    for facts, payout in cases:
        preview = await claims_client.post(
            "/v1/assessments:preview", json={"scheme_code": "qixian-2026", "facts": facts}, headers=OTHER_COUNTY
        )
        assert preview.status_code == 200, preview.text
        assert preview.json()["payout"] == payout
        inline = await claims_client.post(
            "/v1/assessments:preview", json={"scheme": body, "facts": facts}, headers=OTHER_COUNTY
        )
        assert inline.json()["payout"] == payout
    # assess through the engine with the stored version, as a claim would
    row = (
        await session.execute(select(scheme_version.c.body).where(scheme_version.c.code == "qixian-2026"))
    ).scalar_one()
    engine_facts, prior = parse_claim_input(cases[0][0])
    assert assess(parse_scheme(row, stored=True), engine_facts, prior).payout == Decimal("8000.00")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"protection_line": "6500.00"}, "protection_line"),
        ({"contract_start": "2026-12-31", "contract_end": "2026-01-01"}, "contract_end"),
        ({"protection_line_multiplier": "0"}, "protection_line_multiplier"),
    ],
)
async def test_inconsistent_line_or_contract_is_422_naming_the_field(
    claims_client: httpx.AsyncClient, changes: dict[str, str], field: str
) -> None:
    body = {**second_county_scheme(), **changes}
    response = await claims_client.post("/v1/schemes", json=body, headers=OTHER_COUNTY)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_scheme"
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_a_lump_sum_of_zero_is_422(claims_client: httpx.AsyncClient) -> None:
    body = reference_scheme_data()
    body["categories"]["school_entry"]["lump_sums"]["senior_high"] = "0.00"
    response = await claims_client.post("/v1/schemes", json=body, headers=COUNTY)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["categories.school_entry.lump_sums.senior_high"]


async def test_income_drop_preview_with_prior_payment_is_already_paid(claims_client: httpx.AsyncClient) -> None:
    await create_reference_scheme(claims_client)
    facts = _preview_facts(
        "income_drop", {}, status="ordinary", annual_net_income="20000", previous_annual_net_income="40000"
    )
    facts["prior"] = {"category_paid": "4000.00", "household_paid": "4000.00"}
    response = await claims_client.post(
        "/v1/assessments:preview", json={"scheme_code": "reference-2026", "facts": facts}, headers=COUNTY
    )
    assert response.status_code == 200, response.text
    assert (response.json()["eligible"], response.json()["rejection_code"]) == (False, "already_paid_this_year")
