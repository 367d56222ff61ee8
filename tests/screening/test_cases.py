"""The monitoring case workflow (rules.md §1.4; issue acceptance 4, in process): every legal path,
illegal steps (wrong role, wrong region, wrong order, elimination too early, no labour …), the
registry status changes written to the outbox, notices and objections, measures, overdue cases."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import outbox
from shared.contracts.registry import MonitoringStatusChange
from tests.screening.conftest import PostFeed, RunScreening, all_leads
from tests.screening.support import (
    COUNTY,
    OTHER_TOWNSHIP_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    Clock,
    Household,
    add_household,
    medical,
    record,
)
from tests.support.tokens import auth

CADRE = auth("village_cadre", VILLAGE)
TOWNSHIP_OFFICER = auth("township_officer", TOWNSHIP)
COUNTY_OFFICER = auth("county_officer", COUNTY)

VISIT = {"home_visit_findings": "户主住院，务工收入中断", "visit_date": "2026-04-04"}
VERIFY = {**VISIT, "signed_consent": True}
VOTE = {"vote_result": {"approve": 7, "oppose": 1, "abstain": 1}}


class Workflow:
    """Drives one case through the API."""

    def __init__(self, client: httpx.AsyncClient, clock: Clock) -> None:
        self.client = client
        self.clock = clock

    async def open(
        self,
        household: Household,
        *,
        source: str = "cadre_visit",
        headers: dict[str, str] = CADRE,
        evidence: dict[str, Any] | None = None,
        expect: int = 201,
        **body: Any,
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/cases",
            json={"source": source, "household_id": str(household.id), "evidence": evidence or VISIT, **body},
            headers=headers,
        )
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result

    async def step(
        self,
        case: dict[str, Any],
        action: str,
        headers: dict[str, str],
        evidence: dict[str, Any] | None = None,
        *,
        expect: int = 200,
        extra_headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await self.client.post(
            f"/v1/cases/{case['id']}/transitions",
            json={"action": action, "evidence": evidence or {}, "comment": f"{action} by test"},
            headers={**headers, **(extra_headers or {})},
        )
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result

    async def to_notice(self, household: Household) -> dict[str, Any]:
        case = await self.open(household)
        await self.step(case, "start_verification", CADRE)
        await self.step(case, "verify", CADRE, VERIFY)
        await self.step(case, "village_review", CADRE, VOTE)
        return await self.step(case, "publish_notice", CADRE, {"notice_start_date": "2026-04-05", "notice_days": 5})

    async def to_monitoring(self, household: Household, monitoring_type: str = "marginal") -> dict[str, Any]:
        case = await self.to_notice(household)
        self.clock.to_date(date(2026, 4, 10))
        await self.step(case, "township_review", TOWNSHIP_OFFICER, {"objection_count": 0})
        return await self.step(case, "confirm", COUNTY_OFFICER, {"monitoring_type": monitoring_type})

    async def measure(
        self, case: dict[str, Any], delivered: str | None = "2026-04-10", measure_type: str = "employment"
    ) -> dict[str, Any]:
        response = await self.client.post(
            f"/v1/cases/{case['id']}/measures",
            json={
                "measure_type": measure_type,
                "description": "公益性岗位",
                "start_date": "2026-04-10",
                "delivered_date": delivered,
            },
            headers=CADRE,
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def wf(screening_client: httpx.AsyncClient, clock: Clock) -> Workflow:
    return Workflow(screening_client, clock)


async def _household(session: AsyncSession, **kwargs: Any) -> Household:
    kwargs.setdefault("incomes", {2025: "60000.00", 2024: "58000.00"})
    return await add_household(session, **kwargs)


def case_thresholds(history: list[dict[str, Any]]) -> str:
    """Every step of a case opened and decided in one year used that year's one version."""
    assert history[0]["threshold_version_id"] is not None
    return str(history[0]["threshold_version_id"])


async def _registry_messages(session: AsyncSession) -> list[Any]:
    rows = await session.execute(select(outbox).where(outbox.c.target == "registry").order_by(outbox.c.seq))
    return list(rows.mappings())


# --- legal paths ----------------------------------------------------------------------------


async def test_identification_path_to_monitoring_and_the_registry_message(
    session: AsyncSession, wf: Workflow, screening_client: httpx.AsyncClient
) -> None:
    h = await _household(session)
    case = await wf.open(h)
    assert case["state"] == "lead"
    assert case["source"] == "cadre_visit"
    assert case["identification_deadline"] == "2026-05-01"  # 20 working days after Sunday 5 April
    assert case["allowed_actions"] == ["start_verification", "reject"]
    assert case["suggested_type"] == "sudden_hardship"
    case = await wf.step(case, "start_verification", CADRE)
    case = await wf.step(case, "verify", CADRE, VERIFY)
    case = await wf.step(case, "village_review", CADRE, VOTE)
    case = await wf.step(case, "publish_notice", CADRE, {"notice_start_date": "2026-04-05", "notice_days": 5})
    assert case["state"] == "notice"
    early = await wf.step(case, "township_review", TOWNSHIP_OFFICER, {"objection_count": 0}, expect=409)
    assert early["code"] == "notice_not_elapsed"
    wf.clock.to_date(date(2026, 4, 10))
    case = await wf.step(case, "township_review", TOWNSHIP_OFFICER)  # objection_count filled in: none recorded
    assert case["state"] == "township_reviewed"
    case = await wf.step(case, "confirm", COUNTY_OFFICER, {"monitoring_type": "marginal"})
    assert case["state"] == "monitoring"
    assert case["monitoring_type"] == "marginal"
    assert case["confirmed_at"].startswith("2026-04-10")

    history = (await screening_client.get(f"/v1/cases/{case['id']}/transitions", headers=CADRE)).json()
    assert [t["action"] for t in history] == [
        "open",
        "start_verification",
        "verify",
        "village_review",
        "publish_notice",
        "township_review",
        "confirm",
        "start_monitoring",
    ]
    assert [t["actor_role"] for t in history][-2:] == ["county_officer", "service"]
    assert history[5]["evidence"] == {"objection_count": 0}
    assert history[2]["evidence"]["signed_consent"] is True
    assert history[3]["evidence"]["vote_result"] == {"approve": 7, "oppose": 1, "abstain": 1}
    assert history[1]["actor_region"] == VILLAGE
    assert {t["threshold_version_id"] for t in history} == {case_thresholds(history)}

    [message] = await _registry_messages(session)
    assert message["method"] == "PUT"
    assert message["path"] == f"/v1/households/{h.id}/monitoring-status"
    assert message["ordering_key"] == str(h.id)
    assert message["idempotency_key"] == f"screening:case:{case['id']}:set"
    change = MonitoringStatusChange.model_validate(message["body"])
    assert (change.action, change.monitoring_type, str(change.case_id)) == ("set", "marginal", case["id"])
    assert str(change.effective_date) == "2026-04-10"


async def test_elimination_path_clears_the_status(session: AsyncSession, wf: Workflow) -> None:
    h = await _household(session)
    case = await wf.to_monitoring(h)
    await wf.measure(case)
    wf.clock.to_date(date(2026, 10, 10))  # six months after confirmation
    check = (await wf.client.get(f"/v1/cases/{case['id']}/elimination-check", headers=CADRE)).json()
    assert check == {"case_id": case["id"], "may_propose": True, "blockers": []}
    case = await wf.step(
        case, "propose_elimination", CADRE, {**VISIT, "visit_date": "2026-10-09", "elimination_kind": "assisted"}
    )
    assert case["elimination_kind"] == "assisted"
    case = await wf.step(case, "elimination_village_review", CADRE, VOTE)
    case = await wf.step(
        case, "publish_elimination_notice", CADRE, {"notice_start_date": "2026-10-10", "notice_days": 7}
    )
    wf.clock.to_date(date(2026, 10, 17))
    case = await wf.step(case, "elimination_township_review", TOWNSHIP_OFFICER)
    case = await wf.step(case, "eliminate", COUNTY_OFFICER)
    assert case["state"] == "eliminated"
    assert case["eliminated_at"].startswith("2026-10-17")
    assert case["allowed_actions"] == []
    messages = await _registry_messages(session)
    assert [m["body"]["action"] for m in messages] == ["set", "clear"]
    assert messages[1]["idempotency_key"] == f"screening:case:{case['id']}:clear"
    assert {m["ordering_key"] for m in messages} == {str(h.id)}
    MonitoringStatusChange.model_validate(messages[1]["body"])


async def test_rejecting_an_elimination_keeps_monitoring(session: AsyncSession, wf: Workflow) -> None:
    h = await _household(session)
    case = await wf.to_monitoring(h)
    await wf.measure(case)
    wf.clock.to_date(date(2026, 10, 12))
    await wf.step(case, "propose_elimination", CADRE, {**VISIT, "elimination_kind": "natural"})
    case = await wf.step(case, "reject", CADRE, {"reason": "村民代表不同意"})
    assert case["state"] == "monitoring"
    assert case["elimination_kind"] is None
    assert [m["body"]["action"] for m in await _registry_messages(session)] == ["set"]


@pytest.mark.parametrize(
    ("steps", "role", "returns_to"),
    [
        (["start_verification"], CADRE, "lead"),
        (["start_verification", "verify"], CADRE, "verifying"),
        (["start_verification", "verify", "village_review"], CADRE, "verified"),
        (["start_verification", "verify", "village_review", "publish_notice"], TOWNSHIP_OFFICER, "village_reviewed"),
    ],
)
async def test_every_review_step_may_reject_or_return(
    session: AsyncSession, wf: Workflow, steps: list[str], role: dict[str, str], returns_to: str
) -> None:
    evidence = {
        "verify": VERIFY,
        "village_review": VOTE,
        "publish_notice": {"notice_start_date": "2026-04-05", "notice_days": 5},
    }
    for target in ("return", "reject"):
        h = await _household(session)
        case = await wf.open(h)
        for action in steps:
            case = await wf.step(case, action, CADRE, evidence.get(action))
        if case["state"] == "notice":
            wf.clock.to_date(date(2026, 4, 11))
        case = await wf.step(case, target, role, {"reason": "材料不全"})
        assert case["state"] == (returns_to if target == "return" else "rejected")
        wf.clock.to_date(date(2026, 4, 5))
    # a rejected case is closed: the household may be opened again
    again = await wf.open(h)
    assert again["state"] == "lead"


async def test_a_case_from_a_lead(
    session: AsyncSession,
    wf: Workflow,
    post_feed: PostFeed,
    run_screening: RunScreening,
    screening_client: httpx.AsyncClient,
) -> None:
    h = await _household(session, incomes={2025: "15000.00"}, status="lifted_out")
    run = await run_screening()
    leads = await all_leads(screening_client, run["id"])
    assert [x["household_id"] for x in leads] == [str(h.id)], leads
    [lead] = leads
    refused = await screening_client.post(
        "/v1/cases", json={"source": "screening", "lead_id": lead["id"]}, headers=CADRE
    )
    assert refused.status_code == 409  # leads are opened by the township or county
    assert refused.json()["code"] == "wrong_role"
    response = await screening_client.post(
        "/v1/cases", json={"source": "screening", "lead_id": lead["id"]}, headers=TOWNSHIP_OFFICER
    )
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["lead_id"] == lead["id"]
    assert case["risk_codes"] == ["income_low"]
    assert case["suggested_type"] == "unstable"
    lead_now = (await screening_client.get(f"/v1/runs/{run['id']}/leads/{lead['id']}", headers=COUNTY_OFFICER)).json()
    assert lead_now["state"] == "case_opened"
    twice = await screening_client.post(
        "/v1/cases", json={"source": "screening", "lead_id": lead["id"]}, headers=TOWNSHIP_OFFICER
    )
    assert twice.status_code == 409
    assert twice.json()["code"] == "lead_not_open"
    # the next run puts the new evidence on the case, not a second lead
    await post_feed("medical_insurance", [medical("YB-1", h.national_ids[0], "7500.00")])  # ≥ 0.5 × I
    rerun = await run_screening()
    assert rerun["result"]["leads"] == 0
    assert rerun["result"]["case_evidence"] == 1
    [evidence] = (await screening_client.get(f"/v1/cases/{case['id']}/evidence", headers=CADRE)).json()
    assert evidence["run_id"] == rerun["id"]
    assert set(evidence["codes"]) == {"income_low", "illness"}
    assert evidence["is_lead"] is True
    assert h.id == uuid.UUID(case["household_id"])


async def test_self_report_needs_the_signed_application(session: AsyncSession, wf: Workflow) -> None:
    h = await _household(session)
    missing = await wf.open(h, source="self_report", evidence={"application_date": "2026-04-01"}, expect=409)
    assert missing["code"] == "missing_evidence"
    case = await wf.open(
        h,
        source="self_report",
        evidence={"application_date": "2026-04-01", "signed_application": True},
        risk_codes=["illness"],
    )
    assert case["source"] == "self_report"
    assert case["risk_codes"] == ["illness"]


async def test_one_open_case_per_household(session: AsyncSession, wf: Workflow) -> None:
    h = await _household(session)
    first = await wf.open(h)
    second = await wf.client.post(
        "/v1/cases", json={"source": "cadre_visit", "household_id": str(h.id), "evidence": VISIT}, headers=CADRE
    )
    assert second.status_code == 409
    assert second.json()["code"] == "case_already_open"
    assert second.json()["extra"]["case_id"] == first["id"]


# --- illegal steps --------------------------------------------------------------------------


async def test_wrong_role_wrong_region_wrong_order(session: AsyncSession, wf: Workflow) -> None:
    h = await _household(session)
    case = await wf.open(h)
    await wf.step(case, "start_verification", CADRE)
    await wf.step(case, "verify", CADRE, VERIFY)
    role = await wf.step(case, "village_review", TOWNSHIP_OFFICER, VOTE, expect=409)
    assert role["code"] == "wrong_role"
    # outside the caller's region: 404 like a GET (issue 9 defect 8), not 409 naming the case's state
    neighbour = await wf.step(case, "village_review", auth("village_cadre", OTHER_TOWNSHIP_VILLAGE), VOTE, expect=404)
    assert neighbour["code"] == "not_found"
    other_village = await wf.step(case, "village_review", auth("village_cadre", VILLAGE[:-1] + "9"), VOTE, expect=404)
    assert other_village["code"] == "not_found"
    loose_token = await wf.step(case, "village_review", auth("village_cadre", TOWNSHIP), VOTE, expect=409)
    assert loose_token["code"] == "wrong_region"  # a cadre's token names one village
    order = await wf.step(case, "confirm", COUNTY_OFFICER, {"monitoring_type": "marginal"}, expect=409)
    assert order["code"] == "wrong_order"
    assert "possible: reject, return, village_review" in order["detail"]
    unknown = await wf.client.post(f"/v1/cases/{case['id']}/transitions", json={"action": "promote"}, headers=CADRE)
    assert unknown.status_code == 422
    # nothing changed
    now = (await wf.client.get(f"/v1/cases/{case['id']}", headers=CADRE)).json()
    assert now["state"] == "verified"
    assert now["version"] == 3


async def test_evidence_is_checked(session: AsyncSession, wf: Workflow) -> None:
    h = await _household(session)
    case = await wf.open(h)
    await wf.step(case, "start_verification", CADRE)
    no_consent = await wf.step(case, "verify", CADRE, {**VISIT, "signed_consent": False}, expect=409)
    assert no_consent["code"] == "missing_evidence"
    assert no_consent["errors"][0]["field"] == "evidence.signed_consent"
    future = await wf.step(case, "verify", CADRE, {**VERIFY, "visit_date": "2026-05-01"}, expect=409)
    assert future["code"] == "invalid_evidence"
    await wf.step(case, "verify", CADRE, VERIFY)
    lost = await wf.step(case, "village_review", CADRE, {"vote_result": {"approve": 3, "oppose": 3}}, expect=409)
    assert lost["code"] == "vote_not_passed"
    await wf.step(case, "village_review", CADRE, VOTE)
    short = await wf.step(
        case, "publish_notice", CADRE, {"notice_start_date": "2026-04-05", "notice_days": 4}, expect=409
    )
    assert short["code"] == "notice_too_short"


async def test_if_match_and_idempotent_steps(session: AsyncSession, wf: Workflow) -> None:
    h = await _household(session)
    case = await wf.open(h)
    stale = await wf.step(case, "start_verification", CADRE, expect=412, extra_headers={"If-Match": '"7"'})
    assert stale["code"] == "version_conflict"
    key = {"Idempotency-Key": "step-1"}
    first = await wf.step(case, "start_verification", CADRE, extra_headers={"If-Match": '"1"', **key})
    replay = await wf.client.post(
        f"/v1/cases/{case['id']}/transitions",
        json={"action": "start_verification", "evidence": {}, "comment": "start_verification by test"},
        headers={**CADRE, **key},
    )
    assert replay.status_code == 200
    assert replay.headers["Idempotency-Replayed"] == "true"
    assert replay.json()["version"] == first["version"] == 2


async def test_objections_during_the_notice(session: AsyncSession, wf: Workflow) -> None:
    h = await _household(session)
    case = await wf.open(h)
    too_soon = await wf.client.post(f"/v1/cases/{case['id']}/objections", json={"content": "他家有车"}, headers=CADRE)
    assert too_soon.status_code == 409
    assert too_soon.json()["code"] == "notice_not_open"
    case = await wf.to_notice(await _household(session))
    raised = await wf.client.post(f"/v1/cases/{case['id']}/objections", json={"content": "他家有车"}, headers=CADRE)
    assert raised.status_code == 201, raised.text
    objection = raised.json()
    wf.clock.to_date(date(2026, 4, 10))
    late = await wf.client.post(f"/v1/cases/{case['id']}/objections", json={"content": "again"}, headers=CADRE)
    assert late.json()["code"] == "notice_not_open"  # the notice ran 5–9 April
    blocked = await wf.step(case, "township_review", TOWNSHIP_OFFICER, expect=409)
    assert blocked["code"] == "objections_unresolved"
    cadre_cannot = await wf.client.patch(
        f"/v1/cases/{case['id']}/objections/{objection['id']}",
        json={"status": "dismissed", "resolution": "核实无车"},
        headers=CADRE,
    )
    assert cadre_cannot.status_code == 403
    resolved = await wf.client.patch(
        f"/v1/cases/{case['id']}/objections/{objection['id']}",
        json={"status": "dismissed", "resolution": "核实车辆为亲属所有"},
        headers={**TOWNSHIP_OFFICER, "If-Match": '"1"'},
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "dismissed"
    wrong_count = await wf.step(case, "township_review", TOWNSHIP_OFFICER, {"objection_count": 0}, expect=409)
    assert wrong_count["code"] == "invalid_evidence"
    case = await wf.step(case, "township_review", TOWNSHIP_OFFICER)
    history = (await wf.client.get(f"/v1/cases/{case['id']}/transitions", headers=CADRE)).json()
    assert history[-1]["evidence"]["objection_count"] == 1
    assert "核实车辆为亲属所有" in history[-1]["evidence"]["objection_handling"]


# --- elimination conditions -----------------------------------------------------------------


async def test_elimination_too_early_and_without_measures(session: AsyncSession, wf: Workflow) -> None:
    h = await _household(session)
    case = await wf.to_monitoring(h)
    refused = await wf.step(case, "propose_elimination", CADRE, {**VISIT, "elimination_kind": "assisted"}, expect=409)
    assert refused["code"] == "elimination_blocked"
    assert [e["code"] for e in refused["errors"]] == ["too_early", "no_measure_delivered"]
    assert refused["extra"]["blockers"][0]["figures"]["earliest_date"] == "2026-10-10"
    await wf.measure(case, delivered=None)  # planned, not delivered: still blocked
    wf.clock.to_date(date(2026, 10, 9))
    refused = await wf.step(case, "propose_elimination", CADRE, {**VISIT, "elimination_kind": "assisted"}, expect=409)
    assert [e["code"] for e in refused["errors"]] == ["too_early", "no_measure_delivered"]


async def test_a_household_without_labour_stays_monitored(session: AsyncSession, wf: Workflow) -> None:
    h = await _household(session, labour=["none", "none"])
    case = await wf.to_monitoring(h)
    await wf.measure(case)
    wf.clock.to_date(date(2026, 11, 1))
    refused = await wf.step(case, "propose_elimination", CADRE, {**VISIT, "elimination_kind": "natural"}, expect=409)
    assert [e["code"] for e in refused["errors"]] == ["no_labour"]
    assert "家庭无劳动能力成员" in refused["errors"][0]["message"]


async def test_income_below_line_recent_lead_and_open_housing_risk_block_elimination(
    session: AsyncSession, wf: Workflow, post_feed: PostFeed, run_screening: RunScreening
) -> None:
    h = await _household(session, incomes={2025: "15000.00"})  # 5000 per person
    case = await wf.to_monitoring(h)
    await wf.measure(case)
    await post_feed("housing", [record("ZJ-1", "housing_unsafe", "2026-04-01", household_number=h.number)])
    wf.clock.to_date(date(2026, 10, 12))
    await run_screening("2026-09")  # the household is still a lead in September
    refused = await wf.step(case, "propose_elimination", CADRE, {**VISIT, "elimination_kind": "natural"}, expect=409)
    assert [e["code"] for e in refused["errors"]] == ["income_below_line", "recent_lead", "open_housing_or_water_risk"]
    # a delivered housing measure resolves the housing risk, for elimination and for the next run
    await wf.measure(case, delivered="2026-10-11", measure_type="housing_safety")
    refused = await wf.step(case, "propose_elimination", CADRE, {**VISIT, "elimination_kind": "natural"}, expect=409)
    assert [e["code"] for e in refused["errors"]] == ["income_below_line", "recent_lead"]
    october = await run_screening("2026-10")
    evidence = (await wf.client.get(f"/v1/cases/{case['id']}/evidence", headers=CADRE)).json()
    latest = next(e for e in evidence if e["run_id"] == october["id"])
    assert "housing" not in latest["codes"]
    assert "income_low" in latest["codes"]


# --- measures, reading, overdue, roles ------------------------------------------------------


async def test_measures(session: AsyncSession, wf: Workflow) -> None:
    h = await _household(session)
    early = await wf.open(h)
    refused = await wf.client.post(
        f"/v1/cases/{early['id']}/measures",
        json={"measure_type": "industry", "description": "养殖", "start_date": "2026-04-01"},
        headers=CADRE,
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "case_not_monitored"
    case = await wf.to_monitoring(await _household(session))
    measure = await wf.measure(case, delivered=None, measure_type="industry")
    assert measure["delivered"] is False
    url = f"/v1/cases/{case['id']}/measures/{measure['id']}"
    assert (await wf.client.patch(url, json={"delivered_date": "2026-04-21"}, headers=CADRE)).status_code == 428
    bad = await wf.client.patch(url, json={"delivered_date": "2026-04-01"}, headers={**CADRE, "If-Match": '"1"'})
    assert bad.status_code == 422  # before the start
    done = await wf.client.patch(url, json={"delivered_date": "2026-04-10"}, headers={**CADRE, "If-Match": '"1"'})
    assert done.status_code == 200, done.text
    assert done.json()["delivered"] is True
    assert done.headers["ETag"] == '"2"'
    stale = await wf.client.patch(url, json={"description": "x"}, headers={**CADRE, "If-Match": '"1"'})
    assert stale.status_code == 412
    listed = (await wf.client.get(f"/v1/cases/{case['id']}/measures", headers=auth("auditor", COUNTY))).json()
    assert [m["measure_type"] for m in listed] == ["industry"]


async def test_overdue_identifications_are_listed(session: AsyncSession, wf: Workflow) -> None:
    slow = await wf.open(await _household(session))
    wf.clock.to_date(date(2026, 5, 1))
    assert (await wf.client.get("/v1/cases", params={"overdue": "true"}, headers=COUNTY_OFFICER)).json()["items"] == []
    wf.clock.to_date(date(2026, 5, 2))
    listed = (await wf.client.get("/v1/cases", params={"overdue": "true"}, headers=COUNTY_OFFICER)).json()["items"]
    assert [c["id"] for c in listed] == [slow["id"]]
    assert listed[0]["overdue"] is True


async def test_reading_is_region_scoped_and_roles_are_checked(session: AsyncSession, wf: Workflow) -> None:
    h = await _household(session)
    case = await wf.open(h)
    url = f"/v1/cases/{case['id']}"
    assert (await wf.client.get(url, headers=auth("village_cadre", OTHER_TOWNSHIP_VILLAGE))).status_code == 404
    assert (await wf.client.get(url, headers=auth("county_officer", "410603"))).status_code == 404
    assert (await wf.client.get(url, headers=auth("auditor", COUNTY))).status_code == 200
    assert (await wf.client.get(url, headers=auth("department_feeder", COUNTY))).status_code == 403
    auditor = await wf.step(case, "start_verification", auth("auditor", COUNTY), expect=403)
    assert auditor["code"] == "role_not_allowed"
    assert (await wf.client.get(url)).status_code == 401
    listed = await wf.client.get("/v1/cases", headers=auth("village_cadre", OTHER_TOWNSHIP_VILLAGE))
    assert listed.json()["items"] == []
    outsider = await add_household(session, village="410603100201")
    hidden = await wf.client.post(
        "/v1/cases", json={"source": "cadre_visit", "household_id": str(outsider.id), "evidence": VISIT}, headers=CADRE
    )
    assert hidden.status_code == 404
    missing = await wf.client.get(f"/v1/cases/{uuid.uuid4()}", headers=CADRE)
    assert missing.status_code == 404
