"""A person is active in one household only, nationwide: `registry.person_claim` (docs/scale.md).

The rule crosses counties, so once members are sharded by county it cannot be a unique index on
`registry.member`; it is one claim row per active person, keyed by the national-ID blind index, written
in the transaction that starts or ends the membership. These tests follow the claim through every write
path (create, add, end, national-ID change, archive, import) and race two counties for one person."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from services.registry.db.regions_repository import RegionRepository
from services.registry.service.regions import region_row
from shared.settings import async_database_url
from tests.registry.conftest import CreateHousehold, household_body, member, new_id
from tests.registry.test_imports import COL, _import, template_rows, to_csv
from tests.support.tokens import auth

OFFICER = auth("county_officer")
# a second county (山城区) with one township and one village, so a person can be claimed from two counties
SECOND_COUNTY = "410603"
SECOND_VILLAGE = "410603100201"
SECOND_REGIONS = [(SECOND_COUNTY, "山城区"), ("410603100", "红旗街道"), (SECOND_VILLAGE, "红旗村")]
SECOND_OFFICER = auth("county_officer", SECOND_COUNTY)


async def _claims(session: AsyncSession, household_id: str) -> dict[str, str]:
    """member id -> county code of the claims held by a household."""
    rows = await session.execute(
        text("SELECT member_id, county_code FROM registry.person_claim WHERE household_id = :h"),
        {"h": uuid.UUID(household_id)},
    )
    return {str(m): c for m, c in rows}


async def _claim_matches_member(session: AsyncSession, member_id: str) -> bool:
    row = (
        await session.execute(
            text(
                "SELECT pc.national_id_index = m.national_id_index FROM registry.person_claim pc "
                "JOIN registry.member m ON m.id = pc.member_id WHERE pc.member_id = :m"
            ),
            {"m": uuid.UUID(member_id)},
        )
    ).first()
    return bool(row and row[0])


async def test_each_active_member_holds_one_claim_and_ending_releases_it(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    created = await create_household()
    members = (await registry_client.get(f"/v1/households/{created['id']}", headers=OFFICER)).json()["members"]
    assert set(await _claims(session, created["id"])) == {m["id"] for m in members}
    assert set((await _claims(session, created["id"])).values()) == {"410602"}

    son = next(m for m in members if m["relation"] == "son")
    ended = await registry_client.post(
        f"/v1/households/{created['id']}/members/{son['id']}:end",
        json={"reason": "moved_out", "effective_date": "2026-01-01"},
        headers={**OFFICER, "If-Match": f'"{son["version"]}"'},
    )
    assert ended.status_code == 200, ended.text
    assert son["id"] not in await _claims(session, created["id"])

    # released: the same person may now join another household, which then holds the claim
    other = await create_household()
    national_id = created["_body"]["members"][2]["national_id"]
    joined = await registry_client.post(
        f"/v1/households/{other['id']}/members",
        json=member("son", national_id=national_id, name="张小明"),
        headers=OFFICER,
    )
    assert joined.status_code == 201, joined.text
    assert joined.json()["id"] in await _claims(session, other["id"])


async def test_a_new_national_id_moves_the_claim_and_a_taken_one_is_refused(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    first = await create_household()
    second = await create_household()
    members = (await registry_client.get(f"/v1/households/{first['id']}", headers=OFFICER)).json()["members"]
    spouse = next(m for m in members if m["relation"] == "spouse")
    path = f"/v1/households/{first['id']}/members/{spouse['id']}"

    corrected = await registry_client.patch(
        path, json={"national_id": new_id()}, headers={**OFFICER, "If-Match": f'"{spouse["version"]}"'}
    )
    assert corrected.status_code == 200, corrected.text
    assert await _claim_matches_member(session, spouse["id"])
    # the old number is free again: nobody holds it
    old_index_free = await registry_client.post(
        f"/v1/households/{second['id']}/members",
        json=member("other", national_id=first["_body"]["members"][1]["national_id"]),
        headers=OFFICER,
    )
    assert old_index_free.status_code == 201, old_index_free.text

    taken = second["_body"]["members"][0]["national_id"]
    refused = await registry_client.patch(
        path, json={"national_id": taken}, headers={**OFFICER, "If-Match": f'"{corrected.json()["version"]}"'}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "person_in_other_household"


async def test_archiving_a_household_releases_its_claims(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    created = await create_household()
    assert len(await _claims(session, created["id"])) == 3
    archived = await registry_client.post(
        f"/v1/households/{created['id']}:archive",
        json={"reason": "迁出本县"},
        headers={**OFFICER, "If-Match": '"1"'},
    )
    assert archived.status_code == 200, archived.text
    assert await _claims(session, created["id"]) == {}


async def test_an_import_claims_every_imported_member(
    registry_client: httpx.AsyncClient, demo_regions: None, session: AsyncSession
) -> None:
    rows = template_rows(40)
    before = (await session.execute(text("SELECT count(*) FROM registry.person_claim"))).scalar_one()
    job = (await _import(registry_client, to_csv(rows))).json()
    assert job["status"] == "succeeded", job
    imported = job["result"]["imported_members"]
    assert imported == len(rows) - 1
    after = (await session.execute(text("SELECT count(*) FROM registry.person_claim"))).scalar_one()
    assert after - before == imported
    unmatched = (
        await session.execute(
            text(
                "SELECT count(*) FROM registry.member m WHERE m.import_job_id = :job AND NOT EXISTS ("
                " SELECT 1 FROM registry.person_claim pc WHERE pc.national_id_index = m.national_id_index"
                " AND pc.member_id = m.id AND pc.county_code = m.county_code)"
            ),
            {"job": uuid.UUID(job["id"])},
        )
    ).scalar_one()
    assert unmatched == 0
    assert rows[1][COL["national_id"]]  # the rows carried IDs (the claims are keyed by them)


async def test_the_database_refuses_a_second_claim_whatever_the_county(
    create_household: CreateHousehold, session: AsyncSession
) -> None:
    """Below the use cases: a member row of another county with the same blind index passes the per-county
    index of `member`, and the claim's primary key refuses it."""
    from sqlalchemy.exc import IntegrityError

    created = await create_household()
    head = uuid.UUID(created["head_member_id"])
    with pytest.raises(IntegrityError, match="person_claim_pkey"):
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO registry.person_claim (national_id_index, member_id, household_id, county_code) "
                    "SELECT national_id_index, :id, :household, '410603' FROM registry.member WHERE id = :head"
                ),
                {"id": uuid.uuid4(), "household": uuid.uuid4(), "head": head},
            )


async def _cleanup(url: str, household_ids: list[str]) -> None:
    engine = create_async_engine(async_database_url(url))
    try:
        async with engine.begin() as conn:
            for table in ("person_claim", "household_history", "income", "benefit", "member"):
                await conn.execute(
                    text(f"DELETE FROM registry.{table} WHERE household_id = ANY(CAST(:ids AS uuid[]))"),
                    {"ids": household_ids},
                )
            await conn.execute(
                text("DELETE FROM registry.household WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": household_ids}
            )
    finally:
        await engine.dispose()


async def test_the_same_person_added_in_two_counties_at_once(
    committed_registry: tuple[Any, httpx.AsyncClient], committed_url: str
) -> None:
    """Two county officers, two counties (two shards on Citus), one person: one succeeds, one is refused."""
    app, client = committed_registry
    async with app.state.sessionmaker() as session:
        await RegionRepository(session).upsert_many([region_row(code, name) for code, name in SECOND_REGIONS])
        await session.commit()
    first = (await client.post("/v1/households", json=household_body(), headers=OFFICER)).json()
    second = (await client.post("/v1/households", json=household_body(SECOND_VILLAGE), headers=SECOND_OFFICER)).json()
    assert "id" in first, first
    assert "id" in second, second
    try:
        for _ in range(3):
            person = member("son", national_id=new_id())
            responses = await asyncio.gather(
                client.post(f"/v1/households/{first['id']}/members", json=person, headers=OFFICER),
                client.post(f"/v1/households/{second['id']}/members", json=person, headers=SECOND_OFFICER),
            )
            assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
            refused = next(r for r in responses if r.status_code == 409)
            assert refused.json()["code"] == "person_in_other_household"
    finally:
        await _cleanup(committed_url, [first["id"], second["id"]])
