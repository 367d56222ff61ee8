"""Incomes per year, benefits (idempotent, transfer income), monitoring status (idempotent, by case)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.registry.conftest import CreateHousehold
from tests.support.tokens import DEMO_VILLAGE, auth

pytestmark = pytest.mark.usefixtures("demo_regions")
OFFICER = auth("county_officer")
SERVICE = auth("service", "")


async def test_incomes_per_year_with_per_capita_net_income(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}/incomes"
    amounts = {
        "wage_income": "10000.01",
        "business_income": "0",
        "property_income": "0.00",
        "transfer_income": "500",
        "production_costs": "1000.00",
    }
    new = await registry_client.put(f"{path}/2026", json=amounts, headers=auth("village_cadre", DEMO_VILLAGE))
    assert new.status_code == 201, new.text
    assert new.headers["etag"] == '"1"'
    body = new.json()
    assert body["net_income"] == "9500.01"
    assert body["member_count"] == 3
    assert body["per_capita_net_income"] == "3166.67"  # 9500.01 / 3, half up
    assert body["wage_income"] == "10000.01"
    assert body["business_income"] == "0.00"
    unchanged = await registry_client.put(f"{path}/2026", json=amounts, headers=OFFICER)
    assert unchanged.status_code == 428
    changed = await registry_client.put(
        f"{path}/2026",
        json={**amounts, "wage_income": "12000.00", "reason": "补录工资"},
        headers={**OFFICER, "If-Match": '"1"'},
    )
    assert changed.status_code == 200
    assert changed.json()["net_income"] == "11500.00"
    stale = await registry_client.put(f"{path}/2026", json=amounts, headers={**OFFICER, "If-Match": '"1"'})
    assert stale.status_code == 412
    for bad in (
        {"wage_income": "-1"},
        {"wage_income": "1.001"},
        {"wage_income": "1e400"},
        {"wage_income": "abc"},
        {"wage_income": "123456789012345.00"},
    ):
        response = await registry_client.put(f"{path}/2027", json=bad, headers=OFFICER)
        assert response.status_code == 422, bad
    assert (await registry_client.put(f"{path}/1999", json=amounts, headers=OFFICER)).status_code == 422
    years = [i["year"] for i in (await registry_client.get(path, headers=OFFICER)).json()["items"]]
    assert years == [2026, 2025]
    history = (await registry_client.get(f"/v1/households/{created['id']}/history", headers=OFFICER)).json()["items"]
    income_update = next(e for e in history if e["action"] == "income.update")
    assert income_update["changes"] == [
        {"field": "incomes.2026.wage_income", "before": "10000.01", "after": "12000.00"}
    ]
    household = (await registry_client.get(f"/v1/households/{created['id']}", headers=OFFICER)).json()
    assert household["latest_income"]["year"] == 2026


def _benefit(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "source": "claims",
        "source_ref": f"payment-{uuid.uuid4().hex[:10]}",
        "programme": "anti_poverty_insurance",
        "category": "illness",
        "amount": "16000.00",
        "paid_date": "2026-04-18",
        "year": 2026,
    }
    body.update(overrides)
    return body


async def test_a_benefit_counts_as_transfer_income_of_its_year(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}/benefits"
    body = _benefit(year=2025, paid_date="2025-12-20", amount="3000.00")
    response = await registry_client.post(path, json=body, headers=SERVICE)
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == "3000.00"
    assert response.json()["household_id"] == created["id"]
    income = (await registry_client.get(f"/v1/households/{created['id']}/incomes", headers=OFFICER)).json()["items"][0]
    assert income["benefit_income"] == "3000.00"
    assert income["transfer_total"] == "4200.00"
    assert income["net_income"] == "23700.00"
    assert income["per_capita_net_income"] == "7900.00"
    # a benefit for a year without incomes creates that year
    await registry_client.post(path, json=_benefit(amount="500.00"), headers=OFFICER)
    years = {
        i["year"]: i
        for i in (await registry_client.get(f"/v1/households/{created['id']}/incomes", headers=OFFICER)).json()["items"]
    }
    assert years[2026]["net_income"] == "500.00"
    assert years[2026]["wage_income"] == "0.00"
    snapshot = (
        await session.execute(
            text(
                "SELECT income_year, annual_net_income, previous_annual_net_income FROM registry.household_snapshot_v1 "
                "WHERE household_id = :id"
            ),
            {"id": created["id"]},
        )
    ).one()
    assert tuple(map(str, snapshot)) == ("2026", "500.00", "23700.00")
    listed = (await registry_client.get(path, headers=OFFICER)).json()["items"]
    assert [b["amount"] for b in listed] == ["500.00", "3000.00"]


async def test_benefits_are_idempotent_by_key_and_by_source_reference(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}/benefits"
    body = _benefit()
    first = await registry_client.post(path, json=body, headers={**SERVICE, "Idempotency-Key": "pay-1"})
    replay = await registry_client.post(path, json=body, headers={**SERVICE, "Idempotency-Key": "pay-1"})
    assert first.status_code == replay.status_code == 201
    assert first.json() == replay.json()
    same_ref = await registry_client.post(path, json=body, headers={**SERVICE, "Idempotency-Key": "pay-2"})
    assert same_ref.status_code == 200
    assert same_ref.json()["id"] == first.json()["id"]
    no_key = await registry_client.post(path, json=body, headers=SERVICE)
    assert no_key.status_code == 200
    assert no_key.json()["id"] == first.json()["id"]
    conflict = await registry_client.post(path, json={**body, "amount": "17000.00"}, headers=SERVICE)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "benefit_reference_conflict"
    income = (await registry_client.get(f"/v1/households/{created['id']}/incomes", headers=OFFICER)).json()["items"]
    assert next(i for i in income if i["year"] == 2026)["benefit_income"] == "16000.00"  # counted once
    assert (
        await registry_client.post(path, json=_benefit(), headers=auth("village_cadre", DEMO_VILLAGE))
    ).status_code == 403
    assert (await registry_client.post(path, json=_benefit(amount="0"), headers=SERVICE)).status_code == 422


def _change(action: str, case_id: uuid.UUID, monitoring_type: str | None = None, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "action": action,
        "case_id": str(case_id),
        "reason": "县级确认",
        "effective_date": "2026-05-10",
    }
    if monitoring_type:
        body["monitoring_type"] = monitoring_type
    body.update(extra)
    return body


async def test_monitoring_status_set_and_cleared_by_case(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}/monitoring-status"
    case = uuid.uuid4()
    set_ = await registry_client.put(path, json=_change("set", case, "marginal"), headers=SERVICE)
    assert set_.status_code == 200, set_.text
    assert set_.json() == {
        "household_id": created["id"],
        "status": "marginal",
        "monitoring_case_id": str(case),
        "version": 2,
    }
    again = await registry_client.put(path, json=_change("set", case, "marginal"), headers=SERVICE)
    assert again.json()["version"] == 2  # a redelivery changes nothing
    other = await registry_client.put(path, json=_change("set", uuid.uuid4(), "unstable"), headers=SERVICE)
    assert other.status_code == 409
    assert other.json()["code"] == "monitored_by_other_case"
    assert other.json()["extra"]["monitoring_case_id"] == str(case)
    retyped = await registry_client.post(path, json=_change("set", case, "sudden_hardship"), headers=OFFICER)
    assert retyped.status_code == 200
    assert retyped.json()["status"] == "sudden_hardship"
    household = (await registry_client.get(f"/v1/households/{created['id']}", headers=OFFICER)).json()
    assert household["monitoring"] == {"case_id": str(case), "since": "2026-05-10", "origin": "case"}
    assert household["base_status"] == "lifted_out"
    patch = await registry_client.patch(
        f"/v1/households/{created['id']}",
        json={"status": "ordinary"},
        headers={**OFFICER, "If-Match": str(household["version"])},
    )
    assert patch.status_code == 409
    assert patch.json()["code"] == "household_monitored"
    wrong_clear = await registry_client.put(path, json=_change("clear", uuid.uuid4()), headers=SERVICE)
    assert wrong_clear.status_code == 409
    cleared = await registry_client.put(path, json=_change("clear", case, effective_date="2026-12-01"), headers=SERVICE)
    assert cleared.status_code == 200
    assert cleared.json()["status"] == "lifted_out"
    assert cleared.json()["monitoring_case_id"] is None
    repeat = await registry_client.put(path, json=_change("clear", case), headers=SERVICE)
    assert repeat.status_code == 200
    assert repeat.json()["version"] == cleared.json()["version"]
    history = (await registry_client.get(f"/v1/households/{created['id']}/history", headers=OFFICER)).json()["items"]
    status_entries = [e for e in history if e["entity_type"] == "status"]
    assert [e["action"] for e in status_entries] == ["status.clear", "status.set", "status.set"]
    assert status_entries[-1]["changes"][0] == {"field": "status", "before": "lifted_out", "after": "marginal"}
    read = await registry_client.get(path, headers=auth("village_cadre", DEMO_VILLAGE))
    assert read.status_code == 200
    assert read.json()["status"] == "lifted_out"


async def test_monitoring_status_roles_validation_and_idempotency_key(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}/monitoring-status"
    case = uuid.uuid4()
    for role in ("village_cadre", "township_officer", "insurer_adjuster"):
        assert (
            await registry_client.put(path, json=_change("set", case, "marginal"), headers=auth(role))
        ).status_code == 403
    no_type = await registry_client.put(path, json=_change("set", case), headers=SERVICE)
    assert no_type.status_code == 422
    assert no_type.json()["code"] == "invalid_monitoring_type"
    not_monitoring = await registry_client.put(path, json=_change("set", case, "ordinary"), headers=SERVICE)
    assert not_monitoring.status_code == 422
    keyed = {**SERVICE, "Idempotency-Key": "case-confirmed-1"}
    first = await registry_client.put(path, json=_change("set", case, "unstable"), headers=keyed)
    replay = await registry_client.put(path, json=_change("set", case, "unstable"), headers=keyed)
    assert first.json() == replay.json()
    assert replay.headers.get("idempotency-replayed") == "true"
    reused = await registry_client.put(path, json=_change("clear", case), headers=keyed)
    assert reused.status_code == 409
    assert reused.json()["code"] == "idempotency_key_reused"


async def test_facts_as_of_a_date(registry_client: httpx.AsyncClient, create_household: CreateHousehold) -> None:
    created = await create_household()
    hid = created["id"]
    case = uuid.uuid4()
    await registry_client.put(
        f"/v1/households/{hid}/monitoring-status",
        json=_change("set", case, "marginal", effective_date="2026-05-10"),
        headers=SERVICE,
    )
    spouse = next(m for m in created["members"] if m["relation"] == "spouse")
    await registry_client.post(
        f"/v1/households/{hid}/members/{spouse['id']}:end",
        json={"reason": "death", "effective_date": "2026-06-01"},
        headers={**OFFICER, "If-Match": "1"},
    )
    now = (await registry_client.get(f"/v1/households/{hid}/facts", headers=auth("insurer_adjuster"))).json()
    assert now["status"] == "marginal"
    assert now["member_count"] == 2
    assert now["income_year"] == 2025
    assert now["annual_net_income"] == "20700.00"
    assert now["previous_annual_net_income"] is None
    assert now["bank_account_masked"] == "***************0123"
    assert now["has_bank_account"]
    before = (await registry_client.get(f"/v1/households/{hid}/facts?as_of=2026-05-01", headers=SERVICE)).json()
    assert before["status"] == "lifted_out"
    assert before["member_count"] == 3
    assert before["labour_count"] == 2
    assert {m["relation"] for m in before["members"]} == {"head", "spouse", "son"}
    assert all("national_id" not in m for m in before["members"])
    assert (await registry_client.get(f"/v1/households/{hid}/facts", headers=auth("auditor"))).status_code == 403


async def test_bank_account_reveal_is_for_the_service_and_audited(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    created = await create_household(bank_name="中国农业银行鹤壁分行", account_holder="张建国")
    path = f"/v1/households/{created['id']}/bank-account:reveal"
    body = {"purpose": "理赔支付 claim 7f3c2a"}
    for role in ("county_officer", "insurer_adjuster", "village_cadre"):
        assert (await registry_client.post(path, json=body, headers=auth(role))).status_code == 403
    revealed = await registry_client.post(path, json=body, headers=SERVICE)
    assert revealed.status_code == 200
    assert revealed.json() == {
        "household_id": created["id"],
        "bank_account": "6222021234567890123",
        "bank_name": "中国农业银行鹤壁分行",
        "account_holder": "张建国",
    }
    row = (
        await session.execute(
            text(
                "SELECT detail FROM audit.audit_log"
                " WHERE action = 'household.bank_account.reveal' AND resource_id = :id"
            ),
            {"id": created["id"]},
        )
    ).scalar_one()
    assert row["purpose"] == body["purpose"]
    assert "6222021234567890123" not in str(row)


async def test_phone_reveal_for_calling_the_household(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    path = f"/v1/households/{created['id']}/phone:reveal"
    revealed = await registry_client.post(
        path, json={"purpose": "入户走访前电话联系"}, headers=auth("village_cadre", DEMO_VILLAGE)
    )
    assert revealed.status_code == 200
    assert revealed.json()["phone"] == "13812345678"
    assert (
        await registry_client.post(path, json={"purpose": "入户走访前电话联系"}, headers=auth("auditor"))
    ).status_code == 403


async def test_resolve_national_ids_in_order(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    created = await create_household()
    ids = [m["national_id"] for m in created["_body"]["members"]]
    query = {"national_ids": [ids[1], "410602199001011230", "not an id", ids[0].lower()]}
    for role, region in (("service", ""), ("department_feeder", "410602"), ("county_officer", "410602")):
        response = await registry_client.post("/v1/members:resolve", json=query, headers=auth(role, region))
        assert response.status_code == 200, (role, response.text)
        results = response.json()["results"]
        assert len(results) == 4
        assert results[0]["household_id"] == created["id"]
        assert results[0]["county_code"] == "410602"
        assert results[0]["national_id_masked"] == ids[1][:6] + "********" + ids[1][14:]
        assert results[1]["member_id"] is None
        assert results[2]["member_id"] is None
        assert results[3]["member_id"] == created["head_member_id"]
        assert ids[1] not in response.text
    elsewhere = await registry_client.post("/v1/members:resolve", json=query, headers=auth("service", "410603"))
    assert all(r["member_id"] is None for r in elsewhere.json()["results"])
    assert (
        await registry_client.post("/v1/members:resolve", json=query, headers=auth("village_cadre"))
    ).status_code == 403
    too_many = {"national_ids": ["410602199001011230"] * 10001}
    assert (await registry_client.post("/v1/members:resolve", json=too_many, headers=SERVICE)).status_code == 422
