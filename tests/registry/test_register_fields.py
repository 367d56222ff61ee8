"""The register's §3 fields (issue 12): causes, years, risk types, relocation, grids, member education and
work, insurance years — through create, PATCH (history), read and search, inside the caller's region; region
and grid names beside the codes."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.registry.conftest import CreateHousehold, member
from tests.support.tokens import DEMO_VILLAGE, OTHER_VILLAGE, auth

pytestmark = pytest.mark.usefixtures("demo_regions")
OFFICER = auth("county_officer")
ADMIN = auth("admin", "")
GRID = f"{DEMO_VILLAGE}01"
OTHER_GRID = f"{OTHER_VILLAGE}01"


async def _grids(client: httpx.AsyncClient) -> None:
    csv = f"code,name,网格长\n{GRID},鹤壁集村一组网格,王立新\n{OTHER_GRID},姬家山村一网格,李四\n"
    response = await client.post(
        "/v1/regions:import", content=csv.encode(), headers={**ADMIN, "Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["grids"] == 2, response.text


async def _search(client: httpx.AsyncClient, headers: dict[str, str] = OFFICER, **query: object) -> list[str]:
    response = await client.post("/v1/households:search", json=query, headers=headers)
    assert response.status_code == 200, response.text
    return [h["household_number"] for h in response.json()["items"]]


async def test_fields_create_read_with_names(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    await _grids(registry_client)
    created = await create_household(
        poverty_cause="illness",
        other_causes=["lack_of_skills", "lack_of_funds"],
        registered_year=2016,
        lifted_out_year=2019,
        relocated=True,
        resettlement_site="鹤壁集镇安置小区",
        grid_code=GRID,
        members=[
            member(
                "head",
                education_level="junior",
                employment="out_of_province",
                months_worked=10,
                medical_insured_years=[2025, 2026],
                pension_insured_years=[2026],
            )
        ],
    )
    read = (await registry_client.get(f"/v1/households/{created['id']}", headers=OFFICER)).json()
    assert read["poverty_cause"] == "illness"
    assert read["other_causes"] == ["lack_of_skills", "lack_of_funds"]
    assert (read["registered_year"], read["lifted_out_year"]) == (2016, 2019)
    assert read["relocated"] is True
    assert read["resettlement_site"] == "鹤壁集镇安置小区"
    assert (read["county_name"], read["township_name"], read["village_name"]) == ("鹤山区", "鹤壁集镇", "鹤壁集村")
    assert (read["grid_code"], read["grid_name"], read["grid_leader"]) == (GRID, "鹤壁集村一组网格", "王立新")
    head = read["members"][0]
    assert head["education_level"] == "junior"
    assert head["employment"] == "out_of_province"
    assert head["months_worked"] == 10
    assert head["medical_insured_years"] == [2025, 2026]
    assert head["pension_insured_years"] == [2026]
    listed = (await registry_client.get("/v1/households", params={"grid_code": GRID}, headers=OFFICER)).json()
    summary = next(h for h in listed["items"] if h["id"] == created["id"])
    assert (summary["township_name"], summary["village_name"]) == ("鹤壁集镇", "鹤壁集村")
    assert summary["poverty_cause"] == "illness"
    assert summary["lifted_out_year"] == 2019


async def test_refusals(registry_client: httpx.AsyncClient, create_household: CreateHousehold) -> None:
    await _grids(registry_client)
    bad = [
        {"status": "ordinary", "lifted_out_year": 2019},  # 脱贫年度 only for 脱贫户
        {"poverty_cause": "illness", "other_causes": ["illness"]},
        {"other_causes": ["education", "disaster", "marriage"]},  # at most two
        {"poverty_cause": "bad_luck"},
        {"resettlement_site": "某地"},  # without relocated
        {"members": [member("head", months_worked=13)]},
        {"members": [member("head", employment="abroad")]},
    ]
    from tests.registry.conftest import household_body

    for fields in bad:
        response = await registry_client.post("/v1/households", json=household_body(**fields), headers=OFFICER)
        assert response.status_code == 422, (fields, response.text)
    # a grid of another village
    response = await registry_client.post("/v1/households", json=household_body(grid_code=OTHER_GRID), headers=OFFICER)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "unknown_grid"
    # risk types only while monitored
    h = await create_household()
    response = await registry_client.patch(
        f"/v1/households/{h['id']}", json={"risk_types": ["illness"]}, headers={**OFFICER, "If-Match": '"1"'}
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "household_not_monitored"


async def _patch(client: httpx.AsyncClient, url: str, body: dict[str, object]) -> dict[str, object]:
    current = (await client.get(url, headers=OFFICER)).json()
    response = await client.patch(url, json=body, headers={**OFFICER, "If-Match": f'"{current["version"]}"'})
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


async def test_patch_keeps_history_of_every_new_field(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    await _grids(registry_client)
    h = await create_household(poverty_cause="illness", registered_year=2015)
    url = f"/v1/households/{h['id']}"
    await _patch(
        registry_client,
        url,
        {
            "poverty_cause": "disability",
            "other_causes": ["lack_of_labour"],
            "registered_year": 2016,
            "lifted_out_year": 2020,
            "relocated": True,
            "resettlement_site": "安置点一",
            "grid_code": GRID,
            "reason": "致贫原因复核",
        },
    )
    await registry_client.put(
        f"{url}/monitoring-status",
        json={
            "action": "set",
            "monitoring_type": "unstable",
            "case_id": str(uuid.uuid4()),
            "reason": "确认",
            "effective_date": "2026-05-01",
        },
        headers=auth("service", ""),
    )
    after = await _patch(registry_client, url, {"risk_types": ["illness", "basic_medical"]})
    assert after["risk_types"] == ["illness", "basic_medical"]
    head = h["members"][0]
    member_url = f"{url}/members/{head['id']}"
    current = (await registry_client.get(member_url, headers=OFFICER)).json()
    response = await registry_client.patch(
        member_url,
        json={
            "education_level": "senior",
            "employment": "in_county",
            "months_worked": 6,
            "pension_insured_years": [2026],
        },
        headers={**OFFICER, "If-Match": f'"{current["version"]}"'},
    )
    assert response.status_code == 200, response.text
    history = (await registry_client.get(f"{url}/history", headers=OFFICER)).json()
    changed = {c["field"]: c for e in history["items"] if e["action"].endswith("update") for c in e["changes"]}
    for field in (
        "poverty_cause",
        "other_causes",
        "registered_year",
        "lifted_out_year",
        "relocated",
        "resettlement_site",
        "grid_code",
        "risk_types",
        "education_level",
        "employment",
        "months_worked",
        "pension_insured_years",
    ):
        assert field in changed, field
    assert changed["poverty_cause"]["before"] == "illness"
    assert changed["poverty_cause"]["after"] == "disability"
    assert changed["risk_types"]["after"] == ["illness", "basic_medical"]


async def test_new_filters_respect_region_scope(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    await _grids(registry_client)
    here = await create_household(
        members=[member("head", name="上官甲")], poverty_cause="education", lifted_out_year=2018, registered_year=2014
    )
    there = await create_household(
        village=OTHER_VILLAGE,
        members=[member("head", name="上官乙")],
        poverty_cause="education",
        lifted_out_year=2018,
        grid_code=OTHER_GRID,
    )
    other_cause = await create_household(members=[member("head", name="上官丙")], poverty_cause="disaster")
    both = {here["household_number"], there["household_number"]}
    assert set(await _search(registry_client, name_prefix="上官", poverty_cause=["education"])) == both
    assert set(await _search(registry_client, name_prefix="上官", poverty_cause=["education", "disaster"])) == both | {
        other_cause["household_number"]
    }
    assert set(await _search(registry_client, name_prefix="上官", lifted_out_year=2018)) == both
    assert await _search(registry_client, name_prefix="上官", registered_year=2014) == [here["household_number"]]
    assert await _search(registry_client, name_prefix="上官", grid_code=OTHER_GRID) == [there["household_number"]]
    cadre = auth("village_cadre", DEMO_VILLAGE)
    for query in (
        {"poverty_cause": ["education"]},
        {"lifted_out_year": 2018},
        {"grid_code": OTHER_GRID},
    ):
        found = await _search(registry_client, cadre, name_prefix="上官", **query)
        assert there["household_number"] not in found, query
    assert await _search(registry_client, cadre, name_prefix="上官", grid_code=OTHER_GRID) == []
    elsewhere = auth("county_officer", "410603")
    assert await _search(registry_client, elsewhere, name_prefix="上官", poverty_cause=["education"]) == []
    listed = await registry_client.get(
        "/v1/households", params={"name_prefix": "上官", "poverty_cause": "education"}, headers=cadre
    )
    assert [x["household_number"] for x in listed.json()["items"]] == [here["household_number"]]
