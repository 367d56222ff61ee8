"""Households over HTTP: create, read (masked, scoped), update with If-Match, archive, history."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.registry.conftest import CreateHousehold, household_body, member, new_id
from tests.support.tokens import DEMO_VILLAGE, OTHER_VILLAGE, auth

pytestmark = pytest.mark.usefixtures("demo_regions")
OFFICER = auth("county_officer")


async def test_create_returns_the_household_masked_with_etag_and_location(
    registry_client: httpx.AsyncClient,
) -> None:
    body = household_body(dibao="B", insured_years=[2026, 2025], bank_name="中国农业银行", account_holder="张建国")
    response = await registry_client.post("/v1/households", json=body, headers=OFFICER)
    assert response.status_code == 201, response.text
    data = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/v1/households/{data['id']}"
    assert data["county_code"] == "410602"
    assert data["township_code"] == "410602100"
    assert data["status"] == data["base_status"] == "lifted_out"
    assert data["phone_masked"] == "138****5678"
    assert data["bank_account_masked"] == "***************0123"
    assert data["has_bank_account"]
    assert "bank_account" not in data
    assert "phone" not in data
    assert data["insured_years"] == [2025, 2026]
    assert data["member_count"] == 3
    assert data["labour_count"] == 2
    head = next(m for m in data["members"] if m["relation"] == "head")
    assert data["head_member_id"] == head["id"]
    for m, sent in zip(
        sorted(data["members"], key=lambda m: m["name"]), sorted(body["members"], key=lambda m: m["name"]), strict=True
    ):
        plain = sent["national_id"]
        assert m["national_id_masked"] == plain[:6] + "********" + plain[14:]
        assert m["birth_date"] == f"{plain[6:10]}-{plain[10:12]}-{plain[12:14]}"
        assert m["sex"] == ("male" if int(plain[16]) % 2 else "female")
    income = data["latest_income"]
    assert income["year"] == 2025
    assert income["net_income"] == "20700.00"  # 18000 + 3500 + 1200 - 2000
    assert income["per_capita_net_income"] == "6900.00"
    assert plain not in response.text


async def test_read_scope_roles_and_authentication(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}"
    assert (await registry_client.get(path)).status_code == 401
    assert (await registry_client.get(path, headers={"Authorization": "Bearer nonsense"})).status_code == 401
    own = await registry_client.get(path, headers=auth("village_cadre", DEMO_VILLAGE))
    assert own.status_code == 200
    assert own.headers["etag"] == '"1"'
    other = await registry_client.get(path, headers=auth("village_cadre", OTHER_VILLAGE))
    assert other.status_code == 404
    assert other.json()["code"] == "household_not_found"
    assert other.headers["content-type"].startswith("application/problem+json")
    assert (await registry_client.get(path, headers=auth("township_officer", "410602100"))).status_code == 200
    assert (await registry_client.get(path, headers=auth("township_officer", "410602101"))).status_code == 404
    assert (await registry_client.get(path, headers=auth("county_officer", "410603"))).status_code == 404
    feeder = await registry_client.get(path, headers=auth("department_feeder", "410602", department="medical"))
    assert feeder.status_code == 403
    assert feeder.json()["code"] == "role_not_allowed"
    for role in ("auditor", "insurer_adjuster", "service", "admin"):
        assert (await registry_client.get(path, headers=auth(role, ""))).status_code == 200, role
    missing = await registry_client.get("/v1/households/00000000-0000-7000-8000-000000000000", headers=OFFICER)
    assert missing.status_code == 404
    assert (await registry_client.get("/v1/households/not-a-uuid", headers=OFFICER)).status_code == 422


async def test_invalid_check_digit_is_422_with_the_field(registry_client: httpx.AsyncClient) -> None:
    good = new_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    body = household_body(members=[member("head"), member("spouse", national_id=bad)])
    response = await registry_client.post("/v1/households", json=body, headers=OFFICER)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "invalid_national_id"
    assert problem["errors"] == [
        {
            "field": "members[1].national_id",
            "message": "the check digit (last character) does not match",
            "code": "invalid_check_digit",
        }
    ]
    assert bad not in response.text


async def test_birth_date_that_disagrees_with_the_id_is_422(registry_client: httpx.AsyncClient) -> None:
    number = new_id(date(1970, 3, 15))
    body = household_body(members=[member("head", national_id=number, birth_date="1970-03-16")])
    response = await registry_client.post("/v1/households", json=body, headers=OFFICER)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "birth_date_mismatch"
    assert problem["errors"][0]["field"] == "members[0].birth_date"
    same = household_body(members=[member("head", national_id=number, birth_date="1970-03-15")])
    assert (await registry_client.post("/v1/households", json=same, headers=OFFICER)).status_code == 201


@pytest.mark.parametrize(
    ("mutate", "code", "detail_code"),
    [
        (lambda n: n[:17], "invalid_national_id", "invalid_format"),
        (lambda n: n[:6] + "20991231" + n[14:17] + "0", "invalid_national_id", None),
        (lambda n: n[:10] + "1340" + n[14:], "invalid_national_id", None),
        (lambda n: "ABCDEFGHIJKLMNOPQR", "invalid_national_id", "invalid_format"),
    ],
)
async def test_other_invalid_ids_are_422(
    registry_client: httpx.AsyncClient, mutate: object, code: str, detail_code: str | None
) -> None:
    number = mutate(new_id())  # type: ignore[operator]
    body = household_body(members=[member("head", national_id=number)])
    response = await registry_client.post("/v1/households", json=body, headers=OFFICER)
    assert response.status_code == 422
    assert response.json()["code"] == code
    if detail_code:
        assert response.json()["errors"][0]["code"] == detail_code


async def test_sex_that_disagrees_with_the_id_is_422(registry_client: httpx.AsyncClient) -> None:
    number = new_id(male=True)
    body = household_body(members=[member("head", national_id=number, sex="female")])
    response = await registry_client.post("/v1/households", json=body, headers=OFFICER)
    assert response.status_code == 422
    assert response.json()["code"] == "sex_mismatch"
    assert response.json()["errors"][0]["field"] == "members[0].sex"


@pytest.mark.parametrize(
    "members",
    [
        [{"relation": "spouse"}],
        [{"relation": "head"}, {"relation": "head"}],
        [],
    ],
)
async def test_exactly_one_head_is_required(registry_client: httpx.AsyncClient, members: list[dict]) -> None:
    body = household_body(members=[member(m["relation"]) for m in members] or None)
    if not members:
        body["members"] = []
    response = await registry_client.post("/v1/households", json=body, headers=OFFICER)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"


async def test_the_same_person_twice_in_one_body_is_422(registry_client: httpx.AsyncClient) -> None:
    number = new_id()
    body = household_body(members=[member("head", national_id=number), member("son", national_id=number)])
    response = await registry_client.post("/v1/households", json=body, headers=OFFICER)
    assert response.status_code == 422
    assert response.json()["code"] == "duplicate_national_id"


async def test_the_same_person_in_two_households_is_409_with_a_masked_reference(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    first = await create_household()
    person = first["_body"]["members"][1]["national_id"]
    second = household_body(OTHER_VILLAGE, members=[member("head"), member("spouse", national_id=person)])
    response = await registry_client.post("/v1/households", json=second, headers=OFFICER)
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "person_in_other_household"
    assert problem["errors"][0]["field"] == "members[1].national_id"
    other = problem["extra"]["other_household"]
    number = first["household_number"]
    assert other["household_number_masked"] == number[:6] + "*" * (len(number) - 8) + number[-2:]
    assert other["household_id"] == first["id"]  # the county officer may see it
    assert person not in response.text
    assert number not in response.text
    # A cadre of the other village learns that the person is registered elsewhere, not where.
    cadre = await registry_client.post("/v1/households", json=second, headers=auth("village_cadre", OTHER_VILLAGE))
    assert cadre.status_code == 409
    assert cadre.json()["extra"]["other_household"]["household_id"] is None


async def test_household_number_is_unique_in_the_county(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    first = await create_household()
    again = household_body(household_number=first["household_number"])
    response = await registry_client.post("/v1/households", json=again, headers=OFFICER)
    assert response.status_code == 409
    assert response.json()["code"] == "household_number_taken"


async def test_village_must_exist_and_be_in_scope(registry_client: httpx.AsyncClient) -> None:
    unknown = await registry_client.post("/v1/households", json=household_body("410602100299"), headers=OFFICER)
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_village"
    foreign = await registry_client.post(
        "/v1/households", json=household_body(OTHER_VILLAGE), headers=auth("village_cadre", DEMO_VILLAGE)
    )
    assert foreign.status_code == 403
    assert foreign.json()["code"] == "out_of_scope"
    auditor = await registry_client.post("/v1/households", json=household_body(), headers=auth("auditor"))
    assert auditor.status_code == 403


async def test_create_is_idempotent_by_key(registry_client: httpx.AsyncClient, session: AsyncSession) -> None:
    body = household_body()
    headers = {**OFFICER, "Idempotency-Key": "create-1"}
    first = await registry_client.post("/v1/households", json=body, headers=headers)
    second = await registry_client.post("/v1/households", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotency-replayed"] == "true"
    count = await session.scalar(
        text("SELECT count(*) FROM registry.household WHERE household_number = :n"), {"n": body["household_number"]}
    )
    assert count == 1
    other = await registry_client.post("/v1/households", json=household_body(), headers=headers)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"


async def test_update_needs_if_match_and_refuses_a_stale_one(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}"
    missing = await registry_client.patch(path, json={"address": "新地址"}, headers=OFFICER)
    assert missing.status_code == 428
    assert missing.json()["code"] == "if_match_required"
    ok = await registry_client.patch(
        path, json={"address": "新地址 1号", "dibao": "A", "reason": "复核"}, headers={**OFFICER, "If-Match": '"1"'}
    )
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == '"2"'
    assert ok.json()["address"] == "新地址 1号"
    assert ok.json()["dibao"] == "A"
    stale = await registry_client.patch(path, json={"address": "又一个"}, headers={**OFFICER, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_conflict"
    assert stale.json()["extra"]["current_version"] == 2
    weak = await registry_client.patch(path, json={"tekun": True}, headers={**OFFICER, "If-Match": 'W/"2"'})
    assert weak.status_code == 200
    assert weak.json()["version"] == 3
    garbage = await registry_client.patch(path, json={"tekun": True}, headers={**OFFICER, "If-Match": "yesterday"})
    assert garbage.status_code == 412
    # sending what is already there changes nothing (no new version, no history entry)
    same = await registry_client.patch(path, json={"tekun": True}, headers={**OFFICER, "If-Match": '"3"'})
    assert same.status_code == 200
    assert same.json()["version"] == 3


async def test_every_change_is_in_the_history_with_before_and_after(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}"
    await registry_client.patch(
        path,
        json={"address": "新地址", "bank_account": "6217000011112222333", "reason": "更换银行卡"},
        headers={**OFFICER, "If-Match": '"1"', "X-Request-ID": "req-history-1"},
    )
    history = (await registry_client.get(f"{path}/history", headers=OFFICER)).json()["items"]
    latest = history[0]
    assert latest["action"] == "household.update"
    assert latest["reason"] == "更换银行卡"
    assert latest["request_id"] == "req-history-1"
    assert latest["actor"] == {"sub": "test:county_officer:410602", "role": "county_officer", "region": "410602"}
    changes = {c["field"]: c for c in latest["changes"]}
    assert changes["address"] == {"field": "address", "before": "鹤壁集镇鹤壁集村三组12号", "after": "新地址"}
    assert changes["bank_account"] == {
        "field": "bank_account",
        "before": "***************0123",
        "after": "***************2333",
    }
    actions = [e["action"] for e in history]
    assert actions.count("member.add") == 3
    assert "household.create" in actions
    assert "income.create" in actions
    audit_actions = (
        (
            await session.execute(
                text("SELECT action FROM audit.audit_log WHERE detail->>'household_id' = :id ORDER BY id"),
                {"id": created["id"]},
            )
        )
        .scalars()
        .all()
    )
    assert audit_actions.count("household.update") == 1
    assert audit_actions.count("member.add") == 3
    page = (await registry_client.get(f"{path}/history?limit=2", headers=OFFICER)).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    rest = (await registry_client.get(f"{path}/history?limit=50&cursor={page['next_cursor']}", headers=OFFICER)).json()
    ids = [e["id"] for e in page["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids)) == len(history)


async def test_status_is_ordinary_or_lifted_out_here_and_monitoring_types_are_refused(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}"
    refused = await registry_client.patch(path, json={"status": "marginal"}, headers={**OFFICER, "If-Match": '"1"'})
    assert refused.status_code == 422
    changed = await registry_client.patch(path, json={"status": "ordinary"}, headers={**OFFICER, "If-Match": '"1"'})
    assert changed.json()["status"] == changed.json()["base_status"] == "ordinary"


async def test_move_within_the_county_only(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}"
    moved = await registry_client.patch(
        path, json={"village_code": OTHER_VILLAGE}, headers={**OFFICER, "If-Match": "1"}
    )
    assert moved.status_code == 200
    assert moved.json()["village_code"] == OTHER_VILLAGE
    assert moved.json()["township_code"] == OTHER_VILLAGE[:9]
    admin = auth("admin", "")
    await registry_client.post(
        "/v1/regions:import",
        content="code,name\n410603100201,某村\n".encode(),
        headers={**admin, "Content-Type": "text/csv"},
    )
    away = await registry_client.patch(path, json={"village_code": "410603100201"}, headers={**admin, "If-Match": "2"})
    assert away.status_code == 422
    assert away.json()["code"] == "county_change_not_allowed"


async def test_negative_list_needs_a_reason(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}"
    bare = await registry_client.patch(path, json={"negative_list": True}, headers={**OFFICER, "If-Match": "1"})
    assert bare.status_code == 422
    ok = await registry_client.patch(
        path,
        json={"negative_list": True, "negative_list_reason": "家庭成员为公职人员"},
        headers={**OFFICER, "If-Match": "1"},
    )
    assert ok.status_code == 200
    assert ok.json()["negative_list"]
    off = await registry_client.patch(path, json={"negative_list": False}, headers={**OFFICER, "If-Match": "2"})
    assert off.json()["negative_list_reason"] is None


async def test_changing_the_head(registry_client: httpx.AsyncClient, create_household: CreateHousehold) -> None:
    created = await create_household()
    spouse = next(m for m in created["members"] if m["relation"] == "spouse")
    path = f"/v1/households/{created['id']}"
    changed = await registry_client.patch(
        path, json={"head_member_id": spouse["id"], "reason": "户主变更"}, headers={**OFFICER, "If-Match": "1"}
    )
    assert changed.status_code == 200
    relations = {m["id"]: m["relation"] for m in changed.json()["members"]}
    assert changed.json()["head_member_id"] == spouse["id"]
    assert relations[spouse["id"]] == "head"
    assert relations[created["head_member_id"]] == "other"
    stranger = await registry_client.patch(
        path, json={"head_member_id": "00000000-0000-7000-8000-000000000000"}, headers={**OFFICER, "If-Match": "2"}
    )
    assert stranger.status_code == 422
    assert stranger.json()["code"] == "invalid_head"


async def test_archive_keeps_the_household_and_frees_its_people(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}"
    reason = {"reason": "全户迁出"}
    cadre = await registry_client.post(f"{path}:archive", json=reason, headers=auth("village_cadre", DEMO_VILLAGE))
    assert cadre.status_code == 403
    missing = await registry_client.post(f"{path}:archive", json={"reason": "全户迁出"}, headers=OFFICER)
    assert missing.status_code == 428
    archived = await registry_client.post(f"{path}:archive", json=reason, headers={**OFFICER, "If-Match": "1"})
    assert archived.status_code == 200, archived.text
    data = archived.json()
    assert data["archived_at"]
    assert data["archive_reason"] == "全户迁出"
    assert data["member_count"] == 0
    assert all(not m["active"] for m in data["members"])
    assert (await registry_client.get(path, headers=OFFICER)).status_code == 200  # never deleted
    again = await registry_client.patch(
        path, json={"address": "x"}, headers={**OFFICER, "If-Match": str(data["version"])}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "household_archived"
    # its people may now be registered elsewhere
    person = created["_body"]["members"][0]["national_id"]
    elsewhere = household_body(OTHER_VILLAGE, members=[member("head", national_id=person)])
    assert (await registry_client.post("/v1/households", json=elsewhere, headers=OFFICER)).status_code == 201
    by_number = {"household_number": created["household_number"]}
    listed = (await registry_client.post("/v1/households:search", json=by_number, headers=OFFICER)).json()
    assert listed["items"] == []
    with_archived = (
        await registry_client.post(
            "/v1/households:search",
            json={"household_number": created["household_number"], "include_archived": True},
            headers=OFFICER,
        )
    ).json()
    assert with_archived["items"][0]["archived"] is True
