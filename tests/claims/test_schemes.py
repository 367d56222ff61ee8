"""Schemes (versioned, immutable once used), enrolments (bulk, idempotent, premiums per township), demo seed."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import scheme_version
from services.claims.demo import seed_schemes
from services.claims.domain.reference import reference_scheme_data
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
