"""Intake: leads from screening (idempotent by source record), cadre applications, one claim per event,
facts frozen from the registry, and what happens when the registry is unreachable."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.claims.jobs import refresh_pending_facts
from services.claims.service.claims import ClaimService
from services.claims.service.common import Runtime
from tests.claims.conftest import (
    COUNTY,
    E1_EXPENSE,
    INSURER,
    SERVICE,
    VILLAGE,
    FakeRegistry,
    apply,
    create_reference_scheme,
    step,
)
from tests.conftest import AppHarness
from tests.support.tokens import DEMO_VILLAGE, OTHER_VILLAGE, auth


def lead(household: Any, **changes: Any) -> dict[str, Any]:
    body = {
        "source": "feed",
        "source_record_id": f"medical:{uuid.uuid4().hex}",
        "household_id": str(household.household_id),
        "member_id": str(household.members[1].member_id),
        "county_code": household.county_code,
        "village_code": household.village_code,
        "category": "illness",
        "incident_date": "2026-03-05",
        "reported_date": "2026-03-20",
        "expense": E1_EXPENSE,
        "evidence": {"department": "medical_insurance", "kind": "medical_expense", "batch_id": str(uuid.uuid4())},
    }
    body.update(changes)
    return body


async def test_a_lead_makes_one_claim_whatever_the_repeats(
    claims_client: httpx.AsyncClient, registry: FakeRegistry
) -> None:
    household = registry.add_household()
    body = lead(household)
    first = await claims_client.post("/v1/claims/leads", json=body, headers=SERVICE)
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True
    claim_id = first.json()["claim_id"]
    assert first.headers["location"] == f"/v1/claims/{claim_id}"
    again = await claims_client.post("/v1/claims/leads", json=body, headers=SERVICE)
    assert again.status_code == 200
    assert again.json() == {"claim_id": claim_id, "created": False}
    # another source record for the same event (same member, category, day) is the same claim
    other = await claims_client.post("/v1/claims/leads", json=body | {"source_record_id": "civil:42"}, headers=SERVICE)
    assert other.status_code == 200
    assert other.json()["claim_id"] == claim_id

    claim = (await claims_client.get(f"/v1/claims/{claim_id}", headers=VILLAGE)).json()
    assert claim["source"] == "feed"
    assert claim["facts_status"] == "ready"
    assert claim["household_facts"]["household_id"] == str(household.household_id)
    assert claim["household_facts"]["members"][0]["national_id_masked"] == "410602********1234"
    assert claim["expense"]["total_cost"] == "120000.00"
    history = (await claims_client.get(f"/v1/claims/{claim_id}/transitions", headers=VILLAGE)).json()
    assert [h["action"] for h in history] == ["report"]
    assert history[0]["evidence"]["lead"]["department"] == "medical_insurance"


@pytest.mark.parametrize("role", ["village_cadre", "county_officer", "insurer_adjuster", "department_feeder"])
async def test_only_services_send_leads(claims_client: httpx.AsyncClient, registry: FakeRegistry, role: str) -> None:
    household = registry.add_household()
    response = await claims_client.post("/v1/claims/leads", json=lead(household), headers=auth(role))
    assert response.status_code == 403


async def test_a_lead_with_bad_facts_is_422(claims_client: httpx.AsyncClient, registry: FakeRegistry) -> None:
    household = registry.add_household()
    response = await claims_client.post(
        "/v1/claims/leads", json=lead(household, expense={"total_cost": "abc"}), headers=SERVICE
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "expense.total_cost"
    unknown = await claims_client.post(
        "/v1/claims/leads", json=lead(household, household_id=str(uuid.uuid4())), headers=SERVICE
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_household"


async def test_a_lead_is_accepted_while_the_registry_is_down_and_facts_follow(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, app_harness: AppHarness
) -> None:
    await create_reference_scheme(claims_client)
    household = registry.add_household()
    registry.down = True
    accepted = await claims_client.post("/v1/claims/leads", json=lead(household), headers=SERVICE)
    assert accepted.status_code == 201
    claim_id = accepted.json()["claim_id"]
    claim = (await claims_client.get(f"/v1/claims/{claim_id}", headers=VILLAGE)).json()
    assert claim["facts_status"] == "pending"
    assert claim["household_facts"] is None
    assert claim["village_code"] == DEMO_VILLAGE

    # investigation needs the facts: still down → 503, nothing changes
    refused = await claims_client.post(
        f"/v1/claims/{claim_id}/transitions", json={"action": "start_investigation"}, headers=INSURER
    )
    assert refused.status_code == 503
    assert refused.json()["code"] == "registry_unavailable"

    # the scheduler's round fetches them once the registry is back
    registry.down = False
    app = await app_harness.get("claims")
    assert await refresh_pending_facts(Runtime.from_app(app)) == 1
    claim = (await claims_client.get(f"/v1/claims/{claim_id}", headers=VILLAGE)).json()
    assert claim["facts_status"] == "ready"
    assert claim["household_facts"]["member_count"] == 4
    await step(claims_client, claim_id, "start_investigation", INSURER)


async def test_facts_are_fetched_on_the_first_step_if_still_pending(
    claims_client: httpx.AsyncClient, registry: FakeRegistry
) -> None:
    household = registry.add_household()
    registry.down = True
    claim_id = (await claims_client.post("/v1/claims/leads", json=lead(household), headers=SERVICE)).json()["claim_id"]
    registry.down = False
    result = await step(claims_client, claim_id, "start_investigation", INSURER)
    assert result["claim"]["facts_status"] == "ready"
    assert result["claim"]["state"] == "investigating"


async def test_a_cadre_applies(claims_client: httpx.AsyncClient, registry: FakeRegistry) -> None:
    household = registry.add_household()
    response = await apply(claims_client, household, **E1_EXPENSE)
    assert response.status_code == 201, response.text
    claim = response.json()
    assert claim["source"] == "application"
    assert claim["state"] == "reported"
    assert claim["version"] == 1
    assert response.headers["etag"] == '"1"'
    assert claim["allowed_actions"] == []  # the village cadre acts later, after the investigation
    as_insurer = (await claims_client.get(f"/v1/claims/{claim['id']}", headers=INSURER)).json()
    assert as_insurer["allowed_actions"] == ["start_investigation"]
    assert registry.fact_calls == 1


async def test_the_same_event_is_409_with_the_existing_claim(
    claims_client: httpx.AsyncClient, registry: FakeRegistry
) -> None:
    household = registry.add_household()
    first = (await apply(claims_client, household, **E1_EXPENSE)).json()
    again = await apply(claims_client, household, total_cost="1000.00")
    assert again.status_code == 409
    problem = again.json()
    assert problem["code"] == "same_event"
    assert problem["extra"]["claim"]["id"] == first["id"]
    # another member, or another day, is another event
    assert (await apply(claims_client, household, member=1, **E1_EXPENSE)).status_code == 201
    assert (await apply(claims_client, household, incident="2026-03-06", **E1_EXPENSE)).status_code == 201
    # a lead for the first event finds the application's claim
    repeat = await claims_client.post(
        "/v1/claims/leads", json=lead(household, member_id=str(household.members[0].member_id)), headers=SERVICE
    )
    assert repeat.status_code == 200
    assert repeat.json()["claim_id"] == first["id"]


async def test_application_with_an_idempotency_key_replays(
    claims_client: httpx.AsyncClient, registry: FakeRegistry
) -> None:
    household = registry.add_household()
    headers = {**VILLAGE, "Idempotency-Key": "app-1"}
    first = await apply(claims_client, household, headers=headers, **E1_EXPENSE)
    second = await apply(claims_client, household, headers=headers, **E1_EXPENSE)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]


async def test_application_needs_the_registry(claims_client: httpx.AsyncClient, registry: FakeRegistry) -> None:
    household = registry.add_household()
    registry.down = True
    response = await apply(claims_client, household, **E1_EXPENSE)
    assert response.status_code == 503
    assert response.json()["code"] == "registry_unavailable"


async def test_application_scope_and_members(claims_client: httpx.AsyncClient, registry: FakeRegistry) -> None:
    household = registry.add_household()
    elsewhere = await apply(claims_client, household, headers=auth("village_cadre", OTHER_VILLAGE), **E1_EXPENSE)
    assert elsewhere.status_code == 404
    unknown = await claims_client.post(
        "/v1/claims",
        json={"household_id": str(uuid.uuid4()), "category": "illness", "incident_date": "2026-03-05"},
        headers=VILLAGE,
    )
    assert unknown.status_code == 404
    stranger = await claims_client.post(
        "/v1/claims",
        json={
            "household_id": str(household.household_id),
            "member_id": str(uuid.uuid4()),
            "category": "illness",
            "incident_date": "2026-03-05",
        },
        headers=VILLAGE,
    )
    assert stranger.status_code == 422
    assert stranger.json()["code"] == "member_not_in_household"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "illness", "incident_date": "2099-01-01"}, "incident_date"),
        ({"category": "illness", "incident_date": "2026-03-05", "reported_date": "2026-03-01"}, "reported_date"),
        (
            {"category": "school_entry", "incident_date": "2026-09-01", "expense": {"level": "undergraduate"}},
            "member_id",
        ),
        ({"category": "illness", "incident_date": "2026-03-05", "expense": {"level": "x"}}, "expense.level"),
        ({"category": "theft", "incident_date": "2026-03-05"}, "category"),
    ],
)
async def test_application_validation(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, body: dict[str, Any], field: str
) -> None:
    household = registry.add_household()
    response = await claims_client.post(
        "/v1/claims", json={"household_id": str(household.household_id), **body}, headers=VILLAGE
    )
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}


async def test_school_entry_application_records_the_student(
    claims_client: httpx.AsyncClient, registry: FakeRegistry
) -> None:
    household = registry.add_household()
    response = await apply(
        claims_client,
        household,
        "school_entry",
        incident="2026-09-01",
        reported="2026-09-10",
        member=2,
        level="undergraduate",
    )
    assert response.status_code == 201, response.text
    assert response.json()["expense"] == {
        "level": "undergraduate",
        "student_member_id": str(household.members[2].member_id),
    }


async def test_lists_are_region_scoped_and_paged(claims_client: httpx.AsyncClient, registry: FakeRegistry) -> None:
    here = registry.add_household()
    there = registry.add_household(village=OTHER_VILLAGE)
    for i in range(3):
        await apply(claims_client, here, incident=f"2026-03-0{i + 1}", **E1_EXPENSE)
    await apply(claims_client, there, headers=COUNTY, **E1_EXPENSE)
    village = await claims_client.get("/v1/claims?limit=2", headers=VILLAGE)
    assert len(village.json()["items"]) == 2
    rest = await claims_client.get(f"/v1/claims?limit=2&cursor={village.json()['next_cursor']}", headers=VILLAGE)
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    county = await claims_client.get("/v1/claims?category=illness", headers=COUNTY)
    assert len(county.json()["items"]) == 4
    other = await claims_client.get(f"/v1/claims?village_code={OTHER_VILLAGE}", headers=VILLAGE)
    assert other.json()["items"] == []
    assert (await claims_client.get("/v1/claims?cursor=garbage", headers=VILLAGE)).status_code == 422
    hidden = next(c["id"] for c in county.json()["items"] if c["village_code"] == OTHER_VILLAGE)
    assert (await claims_client.get(f"/v1/claims/{hidden}", headers=VILLAGE)).status_code == 404


async def test_service_refresh_is_a_no_op_for_ready_claims(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, app_harness: AppHarness
) -> None:
    household = registry.add_household()
    claim = (await apply(claims_client, household, **E1_EXPENSE)).json()
    app = await app_harness.get("claims")
    async with app.state.sessionmaker() as session:
        assert await ClaimService(session, Runtime.from_app(app)).refresh_facts(uuid.UUID(claim["id"])) is True
    assert registry.fact_calls == 1


async def test_names_are_masked_for_readers_who_do_not_work_the_claim(
    claims_client: httpx.AsyncClient, registry: FakeRegistry
) -> None:
    household = registry.add_household(insured_years=[2026])
    created = await apply(claims_client, household, **E1_EXPENSE)
    assert created.status_code == 201, created.text
    claim_id = created.json()["id"]
    worker = (await claims_client.get(f"/v1/claims/{claim_id}", headers=auth("county_officer"))).json()
    assert [m["name"] for m in worker["household_facts"]["members"]][:2] == ["张三丰", "李四"]
    audit_view = (await claims_client.get(f"/v1/claims/{claim_id}", headers=auth("auditor"))).json()
    assert [m["name"] for m in audit_view["household_facts"]["members"]][:2] == ["张**", "李*"]
    assert all("********" in m["national_id_masked"] for m in audit_view["household_facts"]["members"])
