"""Responsible cadres 帮扶责任人 (issue 12; rules.md §3): assign, list, correct, end, a cadre's households, the
household read and search, the audited phone reveal; phones encrypted at rest, masked in every answer; every route 404
outside the caller's region; overlaps 409; bad input 422 naming the field."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from services.registry.db.tables import ENCRYPTED_COLUMNS
from services.registry.domain.cadres import Assignment, is_current, overlapping, periods_overlap, same_person
from shared.clock import pinned_today
from shared.settings import async_database_url
from tests.registry.conftest import CreateHousehold, household_body
from tests.registry.test_personal_data import find_plain
from tests.support.pii import suite_cipher
from tests.support.tokens import DEMO_TOWNSHIP, OTHER_VILLAGE, auth

pytestmark = pytest.mark.usefixtures("demo_regions")
OFFICER = auth("county_officer")
TOWNSHIP = auth("township_officer", DEMO_TOWNSHIP)
OTHER_TOWNSHIP = auth("township_officer", OTHER_VILLAGE[:9])
OTHER_COUNTY = auth("county_officer", "410603")
PHONE = "13912345678"
MASKED = "139****5678"
TODAY = date(2026, 7, 1)


@pytest.fixture(autouse=True)
def business_day() -> Iterator[None]:
    with pinned_today(TODAY):
        yield


def cadre(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "王志刚",
        "work_unit": "鹤山区农业农村局",
        "affiliation": "县直",
        "phone": PHONE,
        "start_date": "2026-01-05",
    }
    body.update(fields)
    return body


async def assign(
    client: httpx.AsyncClient, household_id: str, headers: dict[str, str] = OFFICER, **fields: Any
) -> httpx.Response:
    return await client.post(f"/v1/households/{household_id}/cadres", json=cadre(**fields), headers=headers)


async def assigned(client: httpx.AsyncClient, household_id: str, **fields: Any) -> dict[str, Any]:
    response = await assign(client, household_id, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# ---------------------------------------------------------------- the rules (pure)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((date(2026, 1, 1), None), (date(2027, 1, 1), None), True),  # open ends always meet
        ((date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 4, 1), None), False),
        ((date(2026, 1, 1), date(2026, 4, 1)), (date(2026, 4, 1), None), True),  # the same last/first day
        ((date(2026, 5, 1), date(2026, 6, 1)), (date(2026, 1, 1), date(2026, 4, 30)), False),
        ((date(2026, 5, 1), date(2026, 6, 1)), (date(2026, 5, 15), date(2026, 5, 20)), True),
    ],
)
def test_periods_overlap(a: tuple[date, date | None], b: tuple[date, date | None], expected: bool) -> None:
    assert periods_overlap(*a, *b) is expected
    assert periods_overlap(*b, *a) is expected


def test_same_person_and_current() -> None:
    one = Assignment("王志刚", b"p1", "农业农村局", date(2026, 1, 1), None)
    assert same_person(one, Assignment("王志刚", b"p1", "另一单位", date(2026, 1, 1), None))
    assert not same_person(one, Assignment("王志刚", b"p2", "农业农村局", date(2026, 1, 1), None))
    assert not same_person(one, Assignment("王志", b"p1", "农业农村局", date(2026, 1, 1), None))
    # without a phone on record: the work unit decides
    assert same_person(Assignment("王志刚", None, "农业农村局", date(2026, 1, 1), None), one)
    assert not same_person(Assignment("王志刚", None, "教育局", date(2026, 1, 1), None), one)
    later = Assignment("王志刚", b"p1", "农业农村局", date(2027, 1, 1), None)
    ended = Assignment("王志刚", b"p1", "农业农村局", date(2025, 1, 1), date(2026, 12, 31))
    assert overlapping(later, [ended]) is None
    assert overlapping(later, [ended, one]) is one
    assert is_current(date(2026, 1, 1), None, date(2026, 1, 1))
    assert is_current(date(2026, 1, 1), date(2026, 7, 1), date(2026, 7, 1))
    assert not is_current(date(2026, 1, 1), date(2026, 6, 30), date(2026, 7, 1))
    assert not is_current(date(2026, 8, 1), None, date(2026, 7, 1))


def test_the_phone_is_declared_for_key_rotation() -> None:
    declared = {(c.table, c.column): c for c in ENCRYPTED_COLUMNS}
    column = declared[("household_cadre", "phone_enc")]
    assert column.purpose == "cadre_phone"
    assert column.index_column == "phone_index"


# ---------------------------------------------------------------- assign, list, read


async def test_assign_lists_and_shows_on_the_household_masked(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    hid = created["id"]
    headers = {**OFFICER, "Idempotency-Key": "cadre-1"}
    response = await assign(registry_client, hid, headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/v1/households/{hid}/cadres/{body['id']}"
    assert body["name"] == "王志刚"
    assert (body["work_unit"], body["affiliation"]) == ("鹤山区农业农村局", "县直")
    assert body["phone_masked"] == MASKED
    assert (body["start_date"], body["end_date"], body["current"]) == ("2026-01-05", None, True)
    assert PHONE not in response.text
    # a retry with the same key answers the first result, and assigns nobody twice
    again = await assign(registry_client, hid, headers)
    assert again.status_code == 201
    assert again.json()["id"] == body["id"]
    assert again.headers.get("Idempotency-Replayed") == "true"

    listed = (await registry_client.get(f"/v1/households/{hid}/cadres", headers=OFFICER)).json()["items"]
    assert [c["id"] for c in listed] == [body["id"]]
    one = await registry_client.get(f"/v1/households/{hid}/cadres/{body['id']}", headers=auth("auditor"))
    assert one.status_code == 200
    assert one.headers["ETag"] == '"1"'
    household = await registry_client.get(f"/v1/households/{hid}", headers=OFFICER)
    assert [c["id"] for c in household.json()["cadres"]] == [body["id"]]
    assert household.json()["cadres"][0]["phone_masked"] == MASKED
    assert PHONE not in household.text
    assert household.json()["version"] == created["version"] + 1  # the household's representation changed


async def test_a_planned_or_future_assignment_is_listed_but_not_current(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    hid = (await create_household())["id"]
    future = await assigned(registry_client, hid, name="李红", phone="13700001111", start_date="2026-09-01")
    past = await assigned(registry_client, hid, start_date="2025-01-01", end_date="2025-12-31")
    running = await assigned(registry_client, hid, start_date="2026-01-01", end_date="2026-12-31")
    assert (future["current"], past["current"], running["current"]) == (False, False, True)
    items = (await registry_client.get(f"/v1/households/{hid}/cadres", headers=OFFICER)).json()["items"]
    assert [c["id"] for c in items] == [past["id"], running["id"], future["id"]]  # by start date
    current = await registry_client.get(
        f"/v1/households/{hid}/cadres", params={"current_only": "true"}, headers=OFFICER
    )
    assert [c["id"] for c in current.json()["items"]] == [running["id"]]
    household = (await registry_client.get(f"/v1/households/{hid}", headers=OFFICER)).json()
    assert [c["id"] for c in household["cadres"]] == [running["id"]]


async def test_the_phone_is_stored_encrypted_with_a_blind_index(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    hid = (await create_household())["id"]
    body = await assigned(registry_client, hid, phone="139 1234-5678")  # stored as its digits
    assert body["phone_masked"] == MASKED
    row = (
        (
            await session.execute(
                text(
                    "SELECT phone_enc, phone_index, phone_masked, county_code FROM registry.household_cadre "
                    "WHERE id = :id"
                ),
                {"id": body["id"]},
            )
        )
        .mappings()
        .one()
    )
    raw = bytes(row["phone_enc"])
    assert PHONE.encode() not in raw
    cipher = suite_cipher()  # the apps' cipher: AES-GCM/HMAC-SHA256, or SM4/HMAC-SM3 under make test-sm4
    assert cipher.decrypt(raw, purpose="cadre_phone") == PHONE
    assert bytes(row["phone_index"]) == cipher.blind_index(PHONE, purpose="cadre_phone")
    assert (row["phone_masked"], row["county_code"]) == (MASKED, "410602")
    history = (
        await session.execute(
            text(
                "SELECT changes::text FROM registry.household_history WHERE entity_type = 'cadre' AND entity_id = :id"
            ),
            {"id": body["id"]},
        )
    ).scalar_one()
    assert MASKED in history
    assert PHONE not in history
    # and nowhere else in the registry or audit schemas, after a search by phone and a reveal
    await registry_client.post("/v1/cadres:search", json={"phone": PHONE}, headers=OFFICER)
    revealed = await registry_client.post(
        f"/v1/households/{hid}/cadres/{body['id']}/phone:reveal", json={"purpose": "联系核实帮扶"}, headers=OFFICER
    )
    assert revealed.json()["phone"] == PHONE
    assert await find_plain(session, [PHONE]) == []


# ---------------------------------------------------------------- end


async def test_end_needs_if_match_and_a_sensible_date(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    hid = (await create_household())["id"]
    body = await assigned(registry_client, hid)
    path = f"/v1/households/{hid}/cadres/{body['id']}:end"
    assert (await registry_client.post(path, json={"end_date": "2026-06-30"}, headers=OFFICER)).status_code == 428
    stale = await registry_client.post(path, json={"end_date": "2026-06-30"}, headers={**OFFICER, "If-Match": '"7"'})
    assert stale.status_code == 412
    for day, reason in (("2026-01-04", "before"), ("2026-07-02", "future")):
        refused = await registry_client.post(path, json={"end_date": day}, headers={**OFFICER, "If-Match": '"1"'})
        assert refused.status_code == 422, (reason, refused.text)
        assert refused.json()["errors"][0]["field"] == "end_date"
    ended = await registry_client.post(
        path, json={"end_date": "2026-06-30", "reason": "干部轮换"}, headers={**OFFICER, "If-Match": '"1"'}
    )
    assert ended.status_code == 200, ended.text
    assert ended.headers["ETag"] == '"2"'
    assert (ended.json()["end_date"], ended.json()["end_reason"], ended.json()["current"]) == (
        "2026-06-30",
        "干部轮换",
        False,
    )
    again = await registry_client.post(path, json={"end_date": "2026-06-30"}, headers={**OFFICER, "If-Match": '"2"'})
    assert again.status_code == 409
    assert again.json()["code"] == "cadre_assignment_ended"
    household = (await registry_client.get(f"/v1/households/{hid}", headers=OFFICER)).json()
    assert household["cadres"] == []
    # an assignment of another household under this household's path is not found
    other = (await create_household())["id"]
    foreign = await assigned(registry_client, other)
    missing = await registry_client.post(
        f"/v1/households/{hid}/cadres/{foreign['id']}:end", json={"end_date": "2026-06-30"}, headers=OFFICER
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "cadre_not_found"


# ---------------------------------------------------------------- correct


async def test_a_mistyped_phone_is_corrected_in_place_masked_in_the_history(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    hid = (await create_household())["id"]
    body = await assigned(registry_client, hid)
    path = f"/v1/households/{hid}/cadres/{body['id']}"
    new_phone, new_masked = "13987654321", "139****4321"
    assert (await registry_client.patch(path, json={"phone": new_phone}, headers=OFFICER)).status_code == 428
    stale = await registry_client.patch(path, json={"phone": new_phone}, headers={**OFFICER, "If-Match": '"5"'})
    assert stale.status_code == 412
    household_version = (await registry_client.get(f"/v1/households/{hid}", headers=OFFICER)).json()["version"]
    corrected = await registry_client.patch(
        path,
        json={"phone": new_phone, "affiliation": None, "reason": "电话录入有误"},
        headers={**OFFICER, "If-Match": '"1"'},
    )
    assert corrected.status_code == 200, corrected.text
    read = corrected.json()
    assert corrected.headers["ETag"] == '"2"'
    assert (read["id"], read["phone_masked"], read["affiliation"], read["name"]) == (
        body["id"],
        new_masked,
        None,
        "王志刚",
    )
    assert new_phone not in corrected.text
    household = (await registry_client.get(f"/v1/households/{hid}", headers=OFFICER)).json()
    assert household["version"] == household_version + 1  # the household read shows its cadres
    assert [c["phone_masked"] for c in household["cadres"]] == [new_masked]
    # the cadre is found by the new phone, not by the old one
    found = await registry_client.post("/v1/cadres:search", json={"phone": new_phone}, headers=OFFICER)
    assert [i["assignment"]["id"] for i in found.json()["items"]] == [body["id"]]
    old = await registry_client.post("/v1/cadres:search", json={"phone": PHONE}, headers=OFFICER)
    assert old.json()["items"] == []
    cipher = suite_cipher()
    stored = (
        await session.execute(
            text("SELECT phone_enc, phone_index FROM registry.household_cadre WHERE id = :id"), {"id": body["id"]}
        )
    ).one()
    assert cipher.decrypt(bytes(stored.phone_enc), purpose="cadre_phone") == new_phone
    assert bytes(stored.phone_index) == cipher.blind_index(new_phone, purpose="cadre_phone")
    history = (await registry_client.get(f"/v1/households/{hid}/history", headers=OFFICER)).json()["items"]
    entry = next(e for e in history if e["action"] == "cadre.correct")
    assert entry["reason"] == "电话录入有误"
    assert {c["field"]: (c["before"], c["after"]) for c in entry["changes"]} == {
        "affiliation": ("县直", None),
        "phone": (MASKED, new_masked),
    }
    audited = (
        (
            await session.execute(
                text("SELECT action FROM audit.audit_log WHERE resource_id = :id ORDER BY id"), {"id": body["id"]}
            )
        )
        .scalars()
        .all()
    )
    assert audited == ["cadre.assign", "cadre.correct"]
    assert await find_plain(session, [PHONE, new_phone]) == []
    # the same values again change nothing: no new version, no history entry
    same = await registry_client.patch(path, json={"phone": new_phone}, headers={**OFFICER, "If-Match": '"2"'})
    assert same.status_code == 200
    assert same.json()["version"] == 2


async def test_a_correction_is_refused_where_an_assignment_could_not_be_made(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    hid = (await create_household())["id"]
    ended = await assigned(registry_client, hid, start_date="2026-01-01", end_date="2026-03-31")
    running = await assigned(registry_client, hid, start_date="2026-04-01", phone="13700001111")
    base = f"/v1/households/{hid}/cadres"
    late = await registry_client.patch(
        f"{base}/{ended['id']}", json={"start_date": "2026-04-15"}, headers={**OFFICER, "If-Match": '"1"'}
    )
    assert late.status_code == 422, late.text
    assert late.json()["errors"][0]["field"] == "start_date"
    # the running assignment's phone corrected to the ended one's: the same cadre, overlapping dates
    clash = await registry_client.patch(
        f"{base}/{running['id']}",
        json={"phone": PHONE, "start_date": "2026-03-01"},
        headers={**OFFICER, "If-Match": '"1"'},
    )
    assert clash.status_code == 409, clash.text
    assert (clash.json()["code"], clash.json()["extra"]["cadre_id"]) == ("cadre_assignment_overlap", ended["id"])
    for field in ("name", "phone", "start_date", "work_unit"):
        null = await registry_client.patch(
            f"{base}/{running['id']}", json={field: None}, headers={**OFFICER, "If-Match": '"1"'}
        )
        assert null.status_code == 422, (field, null.text)
        assert null.json()["errors"][0]["field"] == field
    unknown = await registry_client.patch(
        f"{base}/{running['id']}", json={"end_date": "2026-06-30"}, headers={**OFFICER, "If-Match": '"1"'}
    )
    assert unknown.status_code == 422  # ending goes through :end
    items = (await registry_client.get(base, headers=OFFICER)).json()["items"]
    assert {(c["id"], c["version"]) for c in items} == {(ended["id"], 1), (running["id"], 1)}  # nothing changed


# ---------------------------------------------------------------- overlaps and bad input


async def test_the_same_cadre_twice_for_overlapping_dates_is_409(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    hid = (await create_household())["id"]
    first = await assigned(registry_client, hid, start_date="2026-01-01", end_date="2026-03-31")
    clash = await assign(registry_client, hid, start_date="2026-03-31", phone="139-1234-5678")
    assert clash.status_code == 409, clash.text
    assert clash.json()["code"] == "cadre_assignment_overlap"
    assert clash.json()["extra"]["cadre_id"] == first["id"]
    zh = await registry_client.post(
        f"/v1/households/{hid}/cadres",
        json=cadre(start_date="2026-02-01"),
        headers={**OFFICER, "Accept-Language": "zh-CN"},
    )
    assert zh.status_code == 409
    assert zh.json()["title"] == "帮扶时间重叠"
    # after the first one ends, the same cadre again; another cadre at the same time
    assert (await assign(registry_client, hid, start_date="2026-04-01")).status_code == 201
    assert (await assign(registry_client, hid, name="李红", phone="13700001111")).status_code == 201
    # the same name with another phone is another person
    assert (await assign(registry_client, hid, phone="13700002222")).status_code == 201
    # and the same cadre may help another household at the same time
    other = (await create_household())["id"]
    assert (await assign(registry_client, other)).status_code == 201


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "王" * 51}, "name"),
        ({"name": ""}, "name"),
        ({"name": "王\u0000刚"}, "name"),
        ({"work_unit": "x" * 101}, "work_unit"),
        ({"affiliation": "县\t直"}, "affiliation"),
        ({"phone": "12"}, "phone"),
        ({"phone": "1391234567a"}, "phone"),
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"end_date": "2026-01-04"}, "end_date"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, fields: dict[str, Any], field: str
) -> None:
    hid = (await create_household())["id"]
    response = await assign(registry_client, hid, **fields)
    assert response.status_code == 422, response.text
    assert field in {e["field"].split(".")[-1] for e in response.json()["errors"]}, response.text
    listed = (await registry_client.get(f"/v1/households/{hid}/cadres", headers=OFFICER)).json()["items"]
    assert listed == []


async def test_a_missing_name_or_phone_is_refused(registry_client: httpx.AsyncClient) -> None:
    for body in ({k: v for k, v in cadre().items() if k != "name"}, {k: v for k, v in cadre().items() if k != "phone"}):
        hid = str(uuid.uuid4())
        response = await registry_client.post(f"/v1/households/{hid}/cadres", json=body, headers=OFFICER)
        assert response.status_code == 422, response.text


# ---------------------------------------------------------------- a cadre's households, household search


async def test_a_cadres_households_by_name_or_phone_in_the_callers_region(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    here = await create_household()
    there = await create_household(village=OTHER_VILLAGE)
    unrelated = await create_household()
    await assigned(registry_client, here["id"])
    await assigned(registry_client, there["id"], start_date="2025-01-01", end_date="2025-12-31")
    await assigned(registry_client, unrelated["id"], name="李红", phone="13700001111")

    async def found(headers: dict[str, str], **params: Any) -> list[str]:
        response = await registry_client.get("/v1/cadres", params=params, headers=headers)
        assert response.status_code == 200, response.text
        assert PHONE not in response.text
        return [item["household_number"] for item in response.json()["items"]]

    both = sorted([here["household_number"], there["household_number"]])
    assert sorted(await found(OFFICER, phone=PHONE)) == both
    assert sorted(await found(OFFICER, name="王志刚")) == both
    assert await found(OFFICER, phone="139-1234-5678", current_only="true") == [here["household_number"]]
    assert await found(TOWNSHIP, name="王志刚") == [here["household_number"]]  # the other township's is not shown
    assert await found(OTHER_COUNTY, phone=PHONE) == []
    assert await found(OFFICER, name="王志刚", phone="13700001111") == []  # filters combine with AND
    posted = await registry_client.post("/v1/cadres:search", json={"phone": PHONE, "limit": 1}, headers=OFFICER)
    assert posted.status_code == 200
    page = posted.json()
    assert len(page["items"]) == 1
    assert page["next_cursor"]
    item = page["items"][0]
    assert item["assignment"]["phone_masked"] == MASKED
    assert item["head_name"] == "张建国"
    assert item["village_name"]
    rest = await registry_client.post(
        "/v1/cadres:search", json={"phone": PHONE, "cursor": page["next_cursor"]}, headers=OFFICER
    )
    assert len(rest.json()["items"]) == 1
    assert rest.json()["items"][0]["household_number"] != item["household_number"]
    nothing = await registry_client.get("/v1/cadres", headers=OFFICER)
    assert nothing.status_code == 422
    assert (await registry_client.get("/v1/cadres", params={"phone": "12"}, headers=OFFICER)).status_code == 422


async def test_household_search_filters_by_current_cadre_within_scope(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    here = await create_household()
    there = await create_household(village=OTHER_VILLAGE)
    former = await create_household()
    await assigned(registry_client, here["id"])
    await assigned(registry_client, there["id"])
    await assigned(registry_client, former["id"], start_date="2025-01-01", end_date="2025-12-31")

    async def numbers(headers: dict[str, str], **query: Any) -> list[str]:
        response = await registry_client.post("/v1/households:search", json=query, headers=headers)
        assert response.status_code == 200, response.text
        return sorted(h["household_number"] for h in response.json()["items"])

    assert await numbers(OFFICER, cadre="王志刚") == sorted([here["household_number"], there["household_number"]])
    assert await numbers(TOWNSHIP, cadre="王志刚") == [here["household_number"]]
    assert await numbers(OFFICER, cadre="王志") == []  # exact, not a prefix
    listed = await registry_client.get("/v1/households", params={"cadre": "王志刚"}, headers=TOWNSHIP)
    assert [h["household_number"] for h in listed.json()["items"]] == [here["household_number"]]
    bad = await registry_client.post("/v1/households:search", json={"cadre": "王" * 51}, headers=OFFICER)
    assert bad.status_code == 422


# ---------------------------------------------------------------- scope, roles, reveal, audit


async def test_every_route_is_404_outside_the_region(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    hid = (await create_household())["id"]
    body = await assigned(registry_client, hid)
    base = f"/v1/households/{hid}/cadres"
    for headers in (OTHER_TOWNSHIP, OTHER_COUNTY, auth("village_cadre", OTHER_VILLAGE)):
        calls = [
            await registry_client.post(base, json=cadre(name="李红"), headers={**headers, "Idempotency-Key": "k"}),
            await registry_client.get(base, headers=headers),
            await registry_client.get(f"{base}/{body['id']}", headers=headers),
            await registry_client.post(
                f"{base}/{body['id']}:end", json={"end_date": "2026-06-30"}, headers={**headers, "If-Match": '"1"'}
            ),
            await registry_client.post(
                f"{base}/{body['id']}/phone:reveal", json={"purpose": "联系核实帮扶"}, headers=headers
            ),
            await registry_client.patch(
                f"{base}/{body['id']}", json={"phone": "13700001111"}, headers={**headers, "If-Match": '"1"'}
            ),
        ]
        assert [c.status_code for c in calls] == [404] * 6, [c.text for c in calls]
        assert {c.json()["code"] for c in calls} == {"household_not_found"}
        assert all(PHONE not in c.text for c in calls)
    # nothing changed
    items = (await registry_client.get(base, headers=OFFICER)).json()["items"]
    assert [(c["id"], c["end_date"]) for c in items] == [(body["id"], None)]


@pytest.mark.parametrize(
    ("role", "may_write", "may_reveal"),
    [
        ("village_cadre", True, True),
        ("township_officer", True, True),
        ("county_officer", True, True),
        ("auditor", False, False),
        ("insurer_adjuster", False, True),
        ("department_feeder", False, False),
    ],
)
async def test_who_may_call_what(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, role: str, may_write: bool, may_reveal: bool
) -> None:
    hid = (await create_household())["id"]
    body = await assigned(registry_client, hid)
    region = "410602" if role != "village_cadre" else "410602100201"
    headers = auth(role, region)
    write = await assign(registry_client, hid, headers, name="李红", phone="13700001111")
    assert write.status_code == (201 if may_write else 403), write.text
    corrected = await registry_client.patch(
        f"/v1/households/{hid}/cadres/{body['id']}",
        json={"work_unit": "鹤山区民政局"},
        headers={**headers, "If-Match": '"1"'},
    )
    assert corrected.status_code == (200 if may_write else 403), corrected.text
    version = '"2"' if may_write else '"1"'
    ended = await registry_client.post(
        f"/v1/households/{hid}/cadres/{body['id']}:end",
        json={"end_date": "2026-06-30"},
        headers={**headers, "If-Match": version},
    )
    assert ended.status_code == (200 if may_write else 403), ended.text
    reveal = await registry_client.post(
        f"/v1/households/{hid}/cadres/{body['id']}/phone:reveal", json={"purpose": "联系核实"}, headers=headers
    )
    assert reveal.status_code == (200 if may_reveal else 403), reveal.text
    listed = await registry_client.get(f"/v1/households/{hid}/cadres", headers=headers)
    assert listed.status_code == (403 if role == "department_feeder" else 200)
    assert (await registry_client.get(f"/v1/households/{hid}/cadres")).status_code == 401


async def test_reveal_and_writes_are_audited_without_the_number(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    hid = (await create_household())["id"]
    body = await assigned(registry_client, hid)
    purpose = "联系帮扶责任人核实帮扶情况"
    reveal = await registry_client.post(
        f"/v1/households/{hid}/cadres/{body['id']}/phone:reveal", json={"purpose": purpose}, headers=OFFICER
    )
    assert reveal.status_code == 200, reveal.text
    assert (reveal.json()["phone"], reveal.json()["purpose"]) == (PHONE, purpose)
    assert (
        await registry_client.post(f"/v1/households/{hid}/cadres/{body['id']}/phone:reveal", json={}, headers=OFFICER)
    ).status_code == 422
    ended = await registry_client.post(
        f"/v1/households/{hid}/cadres/{body['id']}:end",
        json={"end_date": "2026-06-30"},
        headers={**OFFICER, "If-Match": '"1"'},
    )
    assert ended.status_code == 200
    rows = (
        (
            await session.execute(
                text(
                    "SELECT id, action, resource_type, actor_sub, detail FROM audit.audit_log "
                    "WHERE resource_id = :id ORDER BY id"
                ),
                {"id": body["id"]},
            )
        )
        .mappings()
        .all()
    )
    assert [r["action"] for r in rows] == ["cadre.assign", "cadre.phone.reveal", "cadre.end"]
    assert {r["resource_type"] for r in rows} == {"cadre"}
    assert {r["actor_sub"] for r in rows} == {"test:county_officer:410602"}
    assert rows[1]["id"] == reveal.json()["audit_id"]
    assert rows[1]["detail"]["purpose"] == purpose
    assert rows[1]["detail"]["phone_masked"] == MASKED
    assert all(PHONE not in str(r["detail"]) for r in rows)
    history = await registry_client.get(f"/v1/households/{hid}/history", headers=OFFICER)
    assert history.status_code == 200, history.text
    entries = [e for e in history.json()["items"] if e["entity_type"] == "cadre"]
    assert [e["action"] for e in entries] == ["cadre.end", "cadre.assign"]
    assigned_fields = {c["field"]: c["after"] for c in entries[1]["changes"]}
    assert assigned_fields["phone"] == MASKED
    assert assigned_fields["name"] == "王志刚"
    assert entries[0]["changes"] == [{"field": "end_date", "before": None, "after": "2026-06-30"}]
    assert PHONE not in history.text


async def test_archiving_ends_the_running_assignments_and_takes_no_new_cadre(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    hid = created["id"]
    running = await assigned(registry_client, hid)
    planned = await assigned(registry_client, hid, end_date="2026-12-31", name="李红", phone="13700001111")
    past = await assigned(registry_client, hid, start_date="2025-01-01", end_date="2025-12-31")
    future = await assigned(registry_client, hid, start_date="2026-09-01", name="赵军", phone="13700002222")
    version = (await registry_client.get(f"/v1/households/{hid}", headers=OFFICER)).headers["ETag"]
    archived = await registry_client.post(
        f"/v1/households/{hid}:archive", json={"reason": "全户迁出"}, headers={**OFFICER, "If-Match": version}
    )
    assert archived.status_code == 200, archived.text
    assert archived.json()["cadres"] == []
    items = {
        c["id"]: c for c in (await registry_client.get(f"/v1/households/{hid}/cadres", headers=OFFICER)).json()["items"]
    }
    assert items[running["id"]]["end_date"] == "2026-07-01"
    assert items[running["id"]]["end_reason"] == "household archived: 全户迁出"
    assert items[planned["id"]]["end_date"] == "2026-07-01"
    assert items[past["id"]]["end_date"] == "2025-12-31"  # ended already: untouched
    assert items[future["id"]]["end_date"] is None  # not begun: as it was
    history = (await registry_client.get(f"/v1/households/{hid}/history", headers=OFFICER)).json()["items"]
    ends = {e["entity_id"]: e["changes"] for e in history if e["action"] == "cadre.end"}
    assert ends == {
        running["id"]: [{"field": "end_date", "before": None, "after": "2026-07-01"}],
        planned["id"]: [{"field": "end_date", "before": "2026-12-31", "after": "2026-07-01"}],
    }
    response = await assign(registry_client, hid)
    assert response.status_code == 409
    assert response.json()["code"] == "household_archived"
    ended = await registry_client.post(
        f"/v1/households/{hid}/cadres/{future['id']}:end",
        json={"end_date": "2026-07-01"},
        headers={**OFFICER, "If-Match": '"1"'},
    )
    assert ended.status_code == 409
    assert ended.json()["code"] == "household_archived"


async def test_the_routes_are_documented(registry_client: httpx.AsyncClient) -> None:
    spec = (await registry_client.get("/openapi.json")).json()
    paths = spec["paths"]
    assign_op = paths["/v1/households/{household_id}/cadres"]["post"]
    assert {"201", "404", "409", "412", "422"} <= set(assign_op["responses"])
    assert "Idempotency-Key" in {p["name"] for p in assign_op["parameters"]}
    end_op = paths["/v1/households/{household_id}/cadres/{cadre_id}:end"]["post"]
    assert {"409", "412", "428"} <= set(end_op["responses"])
    correct_op = paths["/v1/households/{household_id}/cadres/{cadre_id}"]["patch"]
    assert {"404", "409", "412", "422", "428"} <= set(correct_op["responses"])
    assert "更正" in correct_op["summary"]
    assert "phone" in {p["name"] for p in paths["/v1/cadres"]["get"]["parameters"]}
    assert "/v1/households/{household_id}/cadres/{cadre_id}/phone:reveal" in paths
    assert "/v1/cadres:search" in paths
    assert "cadres" in spec["components"]["schemas"]["HouseholdRead"]["properties"]


async def test_two_concurrent_assignments_of_the_same_cadre_make_one(
    committed_registry: tuple[Any, httpx.AsyncClient], committed_url: str
) -> None:
    """With real commits: the household's row lock serialises the overlap check, so one of two simultaneous
    requests for the same cadre gets 409; two different cadres at the same moment both get theirs."""
    _, client = committed_registry
    created = (await client.post("/v1/households", json=household_body(), headers=OFFICER)).json()
    hid = created["id"]
    try:
        path = f"/v1/households/{hid}/cadres"
        same = await asyncio.gather(*(client.post(path, json=cadre(), headers=OFFICER) for _ in range(4)))
        assert sorted(r.status_code for r in same) == [201, 409, 409, 409], [r.text for r in same]
        others = await asyncio.gather(
            client.post(path, json=cadre(name="李红", phone="13700001111"), headers=OFFICER),
            client.post(path, json=cadre(name="赵军", phone="13700002222"), headers=OFFICER),
        )
        assert [r.status_code for r in others] == [201, 201]
        listed = (await client.get(path, headers=OFFICER)).json()["items"]
        assert sorted(c["name"] for c in listed) == ["李红", "王志刚", "赵军"]
    finally:
        engine = create_async_engine(async_database_url(committed_url))
        try:
            async with engine.begin() as conn:
                for table in ("household_cadre", "household_history", "income", "member"):
                    await conn.execute(text(f"DELETE FROM registry.{table} WHERE household_id = :id"), {"id": hid})
                await conn.execute(text("DELETE FROM registry.household WHERE id = :id"), {"id": hid})
        finally:
            await engine.dispose()
