"""Races with real commits: the database, not the check before it, keeps a person in one household;
If-Match lets exactly one of two concurrent updates through."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.settings import async_database_url
from tests.registry.conftest import household_body, member, new_id
from tests.support.tokens import OTHER_VILLAGE, auth

OFFICER = auth("county_officer")


async def _cleanup(url: str, household_ids: list[str]) -> None:
    engine = create_async_engine(async_database_url(url))
    try:
        async with engine.begin() as conn:
            for table in ("household_history", "income", "benefit", "member"):
                await conn.execute(
                    text(f"DELETE FROM registry.{table} WHERE household_id = ANY(CAST(:ids AS uuid[]))"),
                    {"ids": household_ids},
                )
            await conn.execute(
                text("DELETE FROM registry.household WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": household_ids}
            )
    finally:
        await engine.dispose()


async def test_the_same_person_added_to_two_households_at_once(
    committed_registry: tuple[Any, httpx.AsyncClient], committed_url: str
) -> None:
    _, client = committed_registry
    first = (await client.post("/v1/households", json=household_body(), headers=OFFICER)).json()
    second = (await client.post("/v1/households", json=household_body(OTHER_VILLAGE), headers=OFFICER)).json()
    try:
        for _ in range(3):
            person = member("son", national_id=new_id())
            responses = await asyncio.gather(
                client.post(f"/v1/households/{first['id']}/members", json=person, headers=OFFICER),
                client.post(f"/v1/households/{second['id']}/members", json=person, headers=OFFICER),
            )
            assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
            refused = next(r for r in responses if r.status_code == 409)
            assert refused.json()["code"] == "person_in_other_household"
    finally:
        await _cleanup(committed_url, [first["id"], second["id"]])


async def test_two_updates_with_the_same_etag(
    committed_registry: tuple[Any, httpx.AsyncClient], committed_url: str
) -> None:
    _, client = committed_registry
    created = (await client.post("/v1/households", json=household_body(), headers=OFFICER)).json()
    try:
        path = f"/v1/households/{created['id']}"
        headers = {**OFFICER, "If-Match": '"1"'}
        responses = await asyncio.gather(
            client.patch(path, json={"address": "东院"}, headers=headers),
            client.patch(path, json={"address": "西院"}, headers=headers),
        )
        assert sorted(r.status_code for r in responses) == [200, 412]
        final = (await client.get(path, headers=OFFICER)).json()
        winner = next(r for r in responses if r.status_code == 200).json()
        assert final["address"] == winner["address"]
        assert final["version"] == 2
    finally:
        await _cleanup(committed_url, [created["id"]])
