"""Members over HTTP: add, update with If-Match, end membership, read by id, reveal (audited)."""

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


async def test_add_a_newborn(registry_client: httpx.AsyncClient, create_household: CreateHousehold) -> None:
    created = await create_household()
    born = date(2026, 1, 5)
    baby = member(
        "daughter",
        name="张小花",
        national_id=new_id(born, male=False),
        join_reason="birth",
        labour_ability="none",
        reason="新生儿落户",
    )
    path = f"/v1/households/{created['id']}/members"
    response = await registry_client.post(path, json=baby, headers=auth("village_cadre", DEMO_VILLAGE))
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["joined_on"] == born.isoformat()
    assert data["birth_date"] == born.isoformat()
    assert data["sex"] == "female"
    assert data["active"]
    assert response.headers["location"] == f"{path}/{data['id']}"
    household = (await registry_client.get(f"/v1/households/{created['id']}", headers=OFFICER)).json()
    assert household["member_count"] == 4
    assert household["version"] == 2
    listed = (await registry_client.get(path, headers=OFFICER)).json()["items"]
    assert len(listed) == 4
    assert listed[0]["relation"] == "head"
    by_id = await registry_client.get(f"/v1/members/{data['id']}", headers=OFFICER)
    assert by_id.status_code == 200
    assert by_id.json()["national_id_masked"] == data["national_id_masked"]
    assert (
        await registry_client.get(f"/v1/members/{data['id']}", headers=auth("village_cadre", OTHER_VILLAGE))
    ).status_code == 404
    stale = await registry_client.post(path, json=member("son"), headers={**OFFICER, "If-Match": '"1"'})
    assert stale.status_code == 412


async def test_adding_refuses_bad_ids_second_heads_and_people_of_other_households(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    first = await create_household()
    second = await create_household()
    path = f"/v1/households/{second['id']}/members"
    bad = new_id()
    bad = bad[:17] + ("1" if bad[17] != "1" else "2")
    invalid = await registry_client.post(path, json=member("son", national_id=bad), headers=OFFICER)
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "national_id"
    head = await registry_client.post(path, json=member("head"), headers=OFFICER)
    assert head.status_code == 409
    assert head.json()["code"] == "head_exists"
    taken = first["_body"]["members"][2]["national_id"]
    other = await registry_client.post(path, json=member("son", national_id=taken), headers=OFFICER)
    assert other.status_code == 409
    assert other.json()["code"] == "person_in_other_household"
    assert other.json()["extra"]["other_household"]["household_id"] == first["id"]
    own = second["_body"]["members"][2]["national_id"]
    twice = await registry_client.post(path, json=member("son", national_id=own), headers=OFFICER)
    assert twice.status_code == 409
    assert twice.json()["code"] == "person_already_member"


async def test_update_member_with_if_match(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    created = await create_household()
    child = next(m for m in created["members"] if m["relation"] == "son")
    path = f"/v1/households/{created['id']}/members/{child['id']}"
    assert (await registry_client.patch(path, json={"health": "chronic"}, headers=OFFICER)).status_code == 428
    ok = await registry_client.patch(
        path,
        json={"health": "disabled", "disability_grade": 2, "school": "鹤壁市特殊教育学校", "reason": "残联认定"},
        headers={**OFFICER, "If-Match": '"1"'},
    )
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == '"2"'
    assert ok.json()["disability_grade"] == 2
    stale = await registry_client.patch(path, json={"school": "x"}, headers={**OFFICER, "If-Match": '"1"'})
    assert stale.status_code == 412
    no_grade = await registry_client.patch(path, json={"disability_grade": None}, headers={**OFFICER, "If-Match": "2"})
    assert no_grade.status_code == 422
    healthy = await registry_client.patch(path, json={"health": "healthy"}, headers={**OFFICER, "If-Match": "2"})
    assert healthy.status_code == 200
    assert healthy.json()["disability_grade"] is None
    head_change = await registry_client.patch(path, json={"relation": "head"}, headers={**OFFICER, "If-Match": "3"})
    assert head_change.status_code == 409
    assert head_change.json()["code"] == "head_via_household"
    history = (await registry_client.get(f"/v1/households/{created['id']}/history", headers=OFFICER)).json()["items"]
    update = next(e for e in history if e["action"] == "member.update" and e["reason"] == "残联认定")
    assert {c["field"] for c in update["changes"]} == {"health", "disability_grade", "school"}
    assert update["entity_id"] == child["id"]
    assert update["entity_type"] == "member"


async def test_correcting_an_id_number_is_checked_like_a_new_one(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    other = await create_household()
    child = next(m for m in created["members"] if m["relation"] == "son")
    path = f"/v1/households/{created['id']}/members/{child['id']}"
    born = date.fromisoformat(child["birth_date"])
    wrong_birth = await registry_client.patch(
        path,
        json={"birth_date": "2001-01-01" if born != date(2001, 1, 1) else "2002-01-01"},
        headers={**OFFICER, "If-Match": "1"},
    )
    assert wrong_birth.status_code == 422
    assert wrong_birth.json()["code"] == "birth_date_mismatch"
    taken = other["_body"]["members"][0]["national_id"]
    clash = await registry_client.patch(path, json={"national_id": taken}, headers={**OFFICER, "If-Match": "1"})
    assert clash.status_code == 409
    assert clash.json()["code"] == "person_in_other_household"
    fixed_id = new_id(date(2010, 6, 1), male=True)
    fixed = await registry_client.patch(path, json={"national_id": fixed_id}, headers={**OFFICER, "If-Match": "1"})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["birth_date"] == "2010-06-01"
    assert fixed.json()["sex"] == "male"
    assert fixed.json()["national_id_masked"] == fixed_id[:6] + "********" + fixed_id[14:]
    query = {"national_id": fixed_id}
    found = (await registry_client.post("/v1/households:search", json=query, headers=OFFICER)).json()
    assert [h["id"] for h in found["items"]] == [created["id"]]


async def test_ending_a_membership(registry_client: httpx.AsyncClient, create_household: CreateHousehold) -> None:
    created = await create_household()
    spouse = next(m for m in created["members"] if m["relation"] == "spouse")
    path = f"/v1/households/{created['id']}/members/{spouse['id']}:end"
    body = {"reason": "marriage_out", "effective_date": "2026-05-01", "note": "嫁至淇县"}
    assert (await registry_client.post(path, json=body, headers=OFFICER)).status_code == 428
    future = await registry_client.post(
        path, json={**body, "effective_date": "2999-01-01"}, headers={**OFFICER, "If-Match": "1"}
    )
    assert future.status_code == 422
    bad_reason = await registry_client.post(
        path, json={**body, "reason": "eloped"}, headers={**OFFICER, "If-Match": "1"}
    )
    assert bad_reason.status_code == 422
    ended = await registry_client.post(path, json=body, headers={**OFFICER, "If-Match": "1"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["active"] is False
    assert ended.json()["left_on"] == "2026-05-01"
    assert ended.json()["leave_reason"] == "marriage_out"
    again = await registry_client.post(path, json=body, headers={**OFFICER, "If-Match": "2"})
    assert again.status_code == 409
    assert again.json()["code"] == "membership_ended"
    household = (await registry_client.get(f"/v1/households/{created['id']}", headers=OFFICER)).json()
    assert household["member_count"] == 2
    assert len(household["members"]) == 2
    everyone = (
        await registry_client.get(f"/v1/households/{created['id']}?include_former_members=true", headers=OFFICER)
    ).json()
    assert len(everyone["members"]) == 3
    # she may join another household now
    person = created["_body"]["members"][1]["national_id"]
    new_home = household_body(
        OTHER_VILLAGE, members=[member("head"), member("spouse", national_id=person, join_reason="marriage_in")]
    )
    assert (await registry_client.post("/v1/households", json=new_home, headers=OFFICER)).status_code == 201


async def test_the_head_leaving_clears_the_head(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}/members/{created['head_member_id']}:end"
    ended = await registry_client.post(
        path, json={"reason": "death", "effective_date": "2026-03-02"}, headers={**OFFICER, "If-Match": "1"}
    )
    assert ended.status_code == 200
    household = (await registry_client.get(f"/v1/households/{created['id']}", headers=OFFICER)).json()
    assert household["head_member_id"] is None
    spouse = next(m for m in household["members"] if m["relation"] == "spouse")
    new_head = await registry_client.patch(
        f"/v1/households/{created['id']}",
        json={"head_member_id": spouse["id"]},
        headers={**OFFICER, "If-Match": str(household["version"])},
    )
    assert new_head.status_code == 200
    assert new_head.json()["head_member_id"] == spouse["id"]


@pytest.mark.parametrize("role", ["village_cadre", "township_officer", "auditor", "department_feeder"])
async def test_reveal_without_the_role_is_403(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, role: str
) -> None:
    created = await create_household()
    response = await registry_client.post(
        f"/v1/members/{created['head_member_id']}:reveal", json={"purpose": "核查身份"}, headers=auth(role)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"
    assert created["_body"]["members"][0]["national_id"] not in response.text


@pytest.mark.parametrize("role", ["county_officer", "insurer_adjuster", "service"])
async def test_reveal_with_the_role_is_audited(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession, role: str
) -> None:
    created = await create_household()
    head_id = created["head_member_id"]
    plain = next(m["national_id"] for m in created["_body"]["members"] if m["relation"] == "head")
    purpose = "理赔核查: 医疗费用报销材料核对"
    response = await registry_client.post(
        f"/v1/members/{head_id}:reveal", json={"purpose": purpose}, headers=auth(role, "410602")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["national_id"] == plain
    assert body["purpose"] == purpose
    row = (
        (
            await session.execute(
                text(
                    "SELECT action, resource_type, resource_id, actor_sub, actor_roles, detail"
                    " FROM audit.audit_log WHERE id = :id"
                ),
                {"id": body["audit_id"]},
            )
        )
        .mappings()
        .one()
    )
    assert row["action"] == "member.national_id.reveal"
    assert row["resource_id"] == head_id
    assert row["actor_roles"] == role
    assert row["actor_sub"] == f"test:{role}:410602"
    assert row["detail"]["purpose"] == purpose
    assert plain not in str(row["detail"])


async def test_reveal_outside_the_region_is_404_and_needs_a_purpose(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    path = f"/v1/members/{created['head_member_id']}:reveal"
    assert (
        await registry_client.post(path, json={"purpose": "核查身份"}, headers=auth("county_officer", "410603"))
    ).status_code == 404
    assert (await registry_client.post(path, json={}, headers=OFFICER)).status_code == 422
    assert (await registry_client.post(path, json={"purpose": "x"}, headers=OFFICER)).status_code == 422
    assert (await registry_client.post(path, json={"purpose": "核查身份"})).status_code == 401


async def test_a_replayed_key_answers_only_its_caller_in_scope(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    """Issue 9 (defect 4, one mechanism): keys belong to their caller and route; the household is
    loaded under the caller's scope (404 outside it) before any stored response is considered."""
    from shared.auth import Role, mint_token
    from tests.support.tokens import JWT_SECRET

    created = await create_household()
    path = f"/v1/households/{created['id']}/members"
    body = member("son", reason="迁入")
    key = {"Idempotency-Key": "member-1"}
    cadre = auth("village_cadre", DEMO_VILLAGE)
    first = await registry_client.post(path, json=body, headers={**cadre, **key})
    assert first.status_code == 201, first.text
    assert "idempotency-replayed" not in first.headers
    outsiders = [auth("county_officer", "410603"), auth("village_cadre", OTHER_VILLAGE)]
    for outsider in outsiders:
        hidden = await registry_client.post(path, json=body, headers={**outsider, **key})
        assert hidden.status_code == 404, hidden.text
        assert first.json()["id"] not in hidden.text
        assert "idempotency-replayed" not in hidden.headers
    again = await registry_client.post(path, json=body, headers={**cadre, **key})
    assert again.status_code == 201
    assert again.headers["idempotency-replayed"] == "true"
    assert again.json() == first.json()
    colleague = {
        "Authorization": "Bearer "
        + mint_token(JWT_SECRET, sub="test:second-cadre", roles=[Role.VILLAGE_CADRE], region=DEMO_VILLAGE)
    }
    own = await registry_client.post(path, json=body, headers={**colleague, **key})
    assert own.status_code == 409, own.text  # its own effect: the person is already in the household
    assert own.json()["code"] != "idempotency_key_reused"
    assert "idempotency-replayed" not in own.headers
