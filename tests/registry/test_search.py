"""Search: name prefix, exact ID by blind index, region, status, flags, insured; cursor pages; scope."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.registry.conftest import CreateHousehold, member
from tests.support.tokens import DEMO_VILLAGE, OTHER_VILLAGE, auth

pytestmark = pytest.mark.usefixtures("demo_regions")
OFFICER = auth("county_officer")


async def _search(client: httpx.AsyncClient, headers: dict[str, str] = OFFICER, **query: object) -> list[str]:
    response = await client.post("/v1/households:search", json=query, headers=headers)
    assert response.status_code == 200, response.text
    return [h["household_number"] for h in response.json()["items"]]


async def test_filters(registry_client: httpx.AsyncClient, create_household: CreateHousehold) -> None:
    surname = "欧阳"  # rare enough not to collide with other households in this test's transaction
    a = await create_household(members=[member("head", name=f"{surname}明")], dibao="A", insured_years=[2026])
    b = await create_household(
        village=OTHER_VILLAGE, members=[member("head", name=f"{surname}红")], tekun=True, status="ordinary"
    )
    c = await create_household(
        members=[member("head", name="司马光")],
        negative_list=True,
        negative_list_reason="公职人员",
        insured_years=[2025],
    )
    await registry_client.put(
        f"/v1/households/{c['id']}/monitoring-status",
        json={
            "action": "set",
            "monitoring_type": "marginal",
            "case_id": str(uuid.uuid4()),
            "reason": "确认",
            "effective_date": "2026-05-01",
        },
        headers=auth("service", ""),
    )
    numbers = {x["household_number"]: x for x in (a, b, c)}
    assert set(await _search(registry_client, name_prefix=surname)) == {a["household_number"], b["household_number"]}
    assert await _search(registry_client, name_prefix=f"{surname}明") == [a["household_number"]]
    c_head = c["_body"]["members"][0]["national_id"]
    assert await _search(registry_client, national_id=c_head) == [c["household_number"]]
    assert await _search(registry_client, name_prefix=surname, region=OTHER_VILLAGE) == [b["household_number"]]
    assert await _search(registry_client, name_prefix=surname, region="410602101") == [b["household_number"]]
    mine = set(await _search(registry_client, region="410602"))
    assert set(numbers) <= mine
    assert c["household_number"] in await _search(registry_client, status=["marginal"])
    assert a["household_number"] not in await _search(registry_client, status=["marginal", "ordinary"])
    assert await _search(registry_client, name_prefix=surname, dibao=True) == [a["household_number"]]
    assert await _search(registry_client, name_prefix=surname, dibao_class="A") == [a["household_number"]]
    assert await _search(registry_client, name_prefix=surname, dibao=False) == [b["household_number"]]
    assert await _search(registry_client, name_prefix=surname, tekun=True) == [b["household_number"]]
    assert await _search(registry_client, name_prefix="司马", negative_list=True) == [c["household_number"]]
    assert await _search(registry_client, name_prefix=surname, insured_year=2026) == [a["household_number"]]
    assert await _search(registry_client, name_prefix="司马", insured_year=2026) == []
    # GET with query parameters (no ID numbers in URLs)
    listed = await registry_client.get(
        "/v1/households", params={"name_prefix": surname, "tekun": "true"}, headers=OFFICER
    )
    assert [h["household_number"] for h in listed.json()["items"]] == [b["household_number"]]
    summary = listed.json()["items"][0]
    assert summary["head_name"] == f"{surname}红"
    assert summary["member_count"] == 1
    assert summary["head_national_id_masked"].count("*") == 8


async def test_scope_limits_every_search(registry_client: httpx.AsyncClient, create_household: CreateHousehold) -> None:
    here = await create_household(members=[member("head", name="慕容复")])
    there = await create_household(village=OTHER_VILLAGE, members=[member("head", name="慕容博")])
    cadre = auth("village_cadre", DEMO_VILLAGE)
    assert await _search(registry_client, cadre, name_prefix="慕容") == [here["household_number"]]
    assert await _search(registry_client, cadre, name_prefix="慕容", region="410602") == [here["household_number"]]
    assert await _search(registry_client, cadre, name_prefix="慕容", region=OTHER_VILLAGE) == []
    person = there["_body"]["members"][0]["national_id"]
    assert await _search(registry_client, cadre, national_id=person) == []
    assert await _search(registry_client, auth("county_officer", "410603"), name_prefix="慕容") == []
    assert (await registry_client.post("/v1/households:search", json={})).status_code == 401
    assert (
        await registry_client.post(
            "/v1/households:search", json={}, headers=auth("department_feeder", department="medical")
        )
    ).status_code == 403


async def test_cursor_pages_are_stable_and_complete(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = [await create_household(members=[member("head", name=f"东方{i}")]) for i in range(7)]
    expected = sorted(h["household_number"] for h in created)
    seen: list[str] = []
    cursor = None
    while True:
        query: dict[str, object] = {"name_prefix": "东方", "limit": 3}
        if cursor:
            query["cursor"] = cursor
        page = (await registry_client.post("/v1/households:search", json=query, headers=OFFICER)).json()
        seen += [h["household_number"] for h in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == expected


async def test_bad_queries_are_422_not_500(registry_client: httpx.AsyncClient) -> None:
    for query in (
        {"cursor": "garbage!"},
        {"cursor": "WzFd"},
        {"national_id": "123"},
        {"region": "4106021"},
        {"limit": 0},
        {"limit": 501},
        {"status": ["rich"]},
        {"unknown": 1},
        {"name_prefix": "a\u0000b"},
    ):
        response = await registry_client.post("/v1/households:search", json=query, headers=OFFICER)
        assert response.status_code == 422, (query, response.text)
    # LIKE wildcards in a name are literal
    assert await _search(registry_client, name_prefix="%") == []
    assert await _search(registry_client, name_prefix="_") == []
