"""Notices (公示): per village, notice_days window, objections reopen, printable and masked, advance-notices."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from services.claims.service.common import Runtime
from services.claims.service.notices import advance_notices
from tests.claims.conftest import (
    COUNTY,
    E1_EXPENSE,
    INSURER,
    TOWNSHIP,
    VILLAGE,
    FakeRegistry,
    apply,
    create_reference_scheme,
    enrol,
    step,
    to_assessed,
)
from tests.conftest import AppHarness
from tests.support.tokens import OTHER_VILLAGE, auth


@pytest.fixture
async def setup(claims_client: httpx.AsyncClient, registry: FakeRegistry, today: Any) -> FakeRegistry:
    await create_reference_scheme(claims_client)
    today.set(date(2026, 4, 1))
    return registry


async def assessed_claim(client: httpx.AsyncClient, registry: FakeRegistry, village: str | None = None) -> str:
    household = registry.add_household(**({"village": village} if village else {}))
    await enrol(client, household)
    claim_id = str((await apply(client, household, headers=COUNTY, **E1_EXPENSE)).json()["id"])
    await to_assessed(client, claim_id, household.village_code)
    return claim_id


async def publish(client: httpx.AsyncClient, village: str = "410602100201") -> dict[str, Any]:
    response = await client.post("/v1/notices", json={"village_code": village}, headers=COUNTY)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def claim_state(client: httpx.AsyncClient, claim_id: str) -> str:
    return str((await client.get(f"/v1/claims/{claim_id}", headers=COUNTY)).json()["state"])


async def test_a_village_notice_lists_its_assessed_claims(
    claims_client: httpx.AsyncClient, setup: FakeRegistry
) -> None:
    first = await assessed_claim(claims_client, setup)
    second = await assessed_claim(claims_client, setup)
    elsewhere = await assessed_claim(claims_client, setup, village=OTHER_VILLAGE)
    notice = await publish(claims_client)
    assert notice["published_on"] == "2026-04-01"
    assert notice["notice_days"] == 10
    assert notice["last_day"] == "2026-04-10"
    assert notice["window_open"] is True
    assert {e["claim_id"] for e in notice["entries"]} == {first, second}
    entry = notice["entries"][0]
    assert entry["household_head"] == "张*丰"  # the county's notice policy: first and last character
    assert entry["person"] == "张*丰"
    assert entry["national_id"] == "410602********1234"
    assert entry["payout"] == "16000.00"
    assert await claim_state(claims_client, first) == "in_notice"
    assert await claim_state(claims_client, elsewhere) == "assessed"
    again = await claims_client.post("/v1/notices", json={"village_code": "410602100201"}, headers=COUNTY)
    assert again.status_code == 409
    assert again.json()["code"] == "nothing_to_publish"
    # a claim published on the same day by the per-claim step joins the same notice
    via_step = await step(claims_client, elsewhere, "publish_notice", COUNTY)
    assert via_step["claim"]["notice_id"] != notice["id"]
    listed = await claims_client.get("/v1/notices", headers=VILLAGE)
    assert [n["id"] for n in listed.json()["items"]] == [notice["id"]]


async def test_printable_notice_masks_names_and_ids(claims_client: httpx.AsyncClient, setup: FakeRegistry) -> None:
    await assessed_claim(claims_client, setup)
    notice = await publish(claims_client)
    page = await claims_client.get(f"/v1/notices/{notice['id']}/print", headers=VILLAGE)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "防贫保险理赔公示" in html
    assert "张*丰" in html
    assert "张三丰" not in html
    assert "410602********1234" in html
    assert "16,000.00" in html
    assert "2026-04-01 至 2026-04-10" in html
    assert (
        await claims_client.get(f"/v1/notices/{notice['id']}/print", headers=auth("village_cadre", OTHER_VILLAGE))
    ).status_code == 404


async def test_approval_waits_for_the_window(
    claims_client: httpx.AsyncClient, setup: FakeRegistry, today: Any, app_harness: AppHarness
) -> None:
    claim_id = await assessed_claim(claims_client, setup)
    notice = await publish(claims_client)
    early = await claims_client.post(
        f"/v1/claims/{claim_id}/transitions", json={"action": "approve_override"}, headers=COUNTY
    )
    assert early.status_code == 409
    assert early.json()["code"] == "notice_window_open"
    runtime = Runtime.from_app(await app_harness.get("claims"))
    on_last_day = await advance_notices(runtime.sessionmaker, runtime, date(2026, 4, 10))
    assert on_last_day.approved == 0
    after = await advance_notices(runtime.sessionmaker, runtime, date(2026, 4, 11))
    assert after.approved == 1
    assert (await claims_client.get(f"/v1/notices/{notice['id']}", headers=COUNTY)).json()["status"] == "closed"
    assert await claim_state(claims_client, claim_id) == "approved"
    history = (await claims_client.get(f"/v1/claims/{claim_id}/transitions", headers=COUNTY)).json()
    assert history[-1]["action"] == "approve"
    assert history[-1]["actor_role"] == "service"
    again = await advance_notices(runtime.sessionmaker, runtime, date(2026, 4, 12))
    assert again.approved == 0


async def test_objection_upheld_reopens_the_claim_and_releases_the_ledger(
    claims_client: httpx.AsyncClient, setup: FakeRegistry, today: Any, app_harness: AppHarness
) -> None:
    claim_id = await assessed_claim(claims_client, setup)
    notice = await publish(claims_client)
    objection = await claims_client.post(
        f"/v1/notices/{notice['id']}/objections",
        json={"claim_id": claim_id, "objector": "王五", "reason": "该户有商品房 owns a flat in town"},
        headers=VILLAGE,
    )
    assert objection.status_code == 201, objection.text
    assert objection.json()["objector"] == "王*"
    assert objection.json()["status"] == "open"

    # an undecided objection holds the approval past the window
    runtime = Runtime.from_app(await app_harness.get("claims"))
    held = await advance_notices(runtime.sessionmaker, runtime, date(2026, 4, 20))
    assert (held.approved, held.waiting_on_objections) == (0, 1)
    today.set(date(2026, 4, 20))
    blocked = await claims_client.post(
        f"/v1/claims/{claim_id}/transitions", json={"action": "approve_override"}, headers=COUNTY
    )
    assert blocked.json()["code"] == "objection_pending"

    not_county = await claims_client.post(
        f"/v1/notices/{notice['id']}/objections/{objection.json()['id']}/decision",
        json={"decision": "upheld", "comment": "核实属实"},
        headers=TOWNSHIP,
    )
    assert not_county.status_code == 403
    upheld = await claims_client.post(
        f"/v1/notices/{notice['id']}/objections/{objection.json()['id']}/decision",
        json={"decision": "upheld", "comment": "核实属实 confirmed"},
        headers=COUNTY,
    )
    assert upheld.status_code == 200, upheld.text
    assert upheld.json()["status"] == "upheld"
    claim = (await claims_client.get(f"/v1/claims/{claim_id}", headers=COUNTY)).json()
    assert claim["state"] == "investigating"
    assert claim["assessment"] is None  # the assessment was superseded
    assessments = (await claims_client.get(f"/v1/claims/{claim_id}/assessments", headers=COUNTY)).json()
    assert [a["status"] for a in assessments] == ["superseded"]
    shown = (await claims_client.get(f"/v1/notices/{notice['id']}", headers=COUNTY)).json()
    assert shown["entries"][0]["status"] == "withdrawn"
    assert shown["status"] == "closed"
    # deciding again the same way is a no-op; the other way is refused
    same = await claims_client.post(
        f"/v1/notices/{notice['id']}/objections/{objection.json()['id']}/decision",
        json={"decision": "upheld", "comment": "again"},
        headers=COUNTY,
    )
    assert same.status_code == 200
    other = await claims_client.post(
        f"/v1/notices/{notice['id']}/objections/{objection.json()['id']}/decision",
        json={"decision": "dismissed", "comment": "again"},
        headers=COUNTY,
    )
    assert other.status_code == 409

    # re-investigated and re-assessed: the ledger was released, so the figure is E1's again
    for action, headers, evidence in [
        ("complete_investigation", INSURER, {"findings": "复查: 商品房系子女所有"}),
        ("village_review", VILLAGE, {"vote_result": "7/7"}),
        ("township_review", TOWNSHIP, {}),
        ("file", COUNTY, {}),
    ]:
        await step(claims_client, claim_id, action, headers, evidence=evidence)
    again = await step(claims_client, claim_id, "assess", INSURER)
    assert again["assessment"]["payout"] == "16000.00"
    assert again["assessment"]["facts"]["prior"] == {
        "category_base": "0.00",
        "category_paid": "0.00",
        "household_paid": "0.00",
        "same_student_level_paid": False,
    }


async def test_dismissed_objection_lets_the_claim_through(
    claims_client: httpx.AsyncClient, setup: FakeRegistry, app_harness: AppHarness
) -> None:
    claim_id = await assessed_claim(claims_client, setup)
    notice = await publish(claims_client)
    objection = (
        await claims_client.post(
            f"/v1/notices/{notice['id']}/objections",
            json={"claim_id": claim_id, "reason": "不清楚 unclear"},
            headers=VILLAGE,
        )
    ).json()
    dismissed = await claims_client.post(
        f"/v1/notices/{notice['id']}/objections/{objection['id']}/decision",
        json={"decision": "dismissed", "comment": "经核查无此情况"},
        headers=COUNTY,
    )
    assert dismissed.json()["status"] == "dismissed"
    runtime = Runtime.from_app(await app_harness.get("claims"))
    assert (await advance_notices(runtime.sessionmaker, runtime, date(2026, 4, 11))).approved == 1
    listed = (await claims_client.get(f"/v1/notices/{notice['id']}/objections", headers=VILLAGE)).json()
    assert [o["status"] for o in listed] == ["dismissed"]


async def test_objections_only_in_the_window_and_for_listed_claims(
    claims_client: httpx.AsyncClient, setup: FakeRegistry, today: Any
) -> None:
    claim_id = await assessed_claim(claims_client, setup)
    unlisted = await assessed_claim(claims_client, setup, village=OTHER_VILLAGE)
    notice = await publish(claims_client)
    wrong_claim = await claims_client.post(
        f"/v1/notices/{notice['id']}/objections", json={"claim_id": unlisted, "reason": "xx"}, headers=COUNTY
    )
    assert wrong_claim.status_code == 409
    assert wrong_claim.json()["code"] == "not_on_notice"
    today.set(date(2026, 4, 10))  # the last day still counts
    last_day = await claims_client.post(
        f"/v1/notices/{notice['id']}/objections", json={"claim_id": claim_id, "reason": "last day"}, headers=VILLAGE
    )
    assert last_day.status_code == 201
    today.set(date(2026, 4, 11))
    late = await claims_client.post(
        f"/v1/notices/{notice['id']}/objections", json={"claim_id": claim_id, "reason": "too late"}, headers=VILLAGE
    )
    assert late.status_code == 409
    assert late.json()["code"] == "notice_window_closed"
    insurer = await claims_client.post(
        f"/v1/notices/{notice['id']}/objections", json={"claim_id": claim_id, "reason": "xx"}, headers=INSURER
    )
    assert insurer.status_code == 403


async def test_notice_days_come_from_the_scheme_version(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, today: Any
) -> None:
    await create_reference_scheme(claims_client, notice_days=5)
    today.set(date(2026, 5, 30))
    claim_id = await assessed_claim(claims_client, registry)
    notice = await publish(claims_client)
    assert notice["last_day"] == "2026-06-03"
    assert claim_id in {e["claim_id"] for e in notice["entries"]}
