"""The claim workflow of rules.md §2.4 over HTTP: every legal path, and every illegal step (role, region,
order) at every state answers 409 (403 for roles the endpoint never admits, 404 outside the caller's scope)."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from services.claims.domain.workflow import ClaimAction, ClaimState, Role
from tests.claims.conftest import (
    COUNTY,
    E1_EXPENSE,
    INSURER,
    REVIEW_STEPS,
    SERVICE,
    TOWNSHIP,
    VILLAGE,
    FakeRegistry,
    apply,
    create_reference_scheme,
    enrol,
    step,
    to_assessed,
    to_filed,
)
from tests.support.tokens import DEMO_COUNTY, DEMO_TOWNSHIP, DEMO_VILLAGE, OTHER_VILLAGE, auth
from tests.unit.test_claims_workflow import LEGAL

ENDPOINT_ACTIONS = [
    "start_investigation",
    "complete_investigation",
    "village_review",
    "township_review",
    "file",
    "assess",
    "publish_notice",
    "approve",
    "approve_override",
    "reject",
    "return",
]
HOME_REGION = {
    Role.VILLAGE_CADRE: DEMO_VILLAGE,
    Role.TOWNSHIP_OFFICER: DEMO_TOWNSHIP,
    Role.COUNTY_OFFICER: DEMO_COUNTY,
    Role.INSURER_ADJUSTER: DEMO_COUNTY,
    Role.SERVICE: "",
    Role.ADMIN: "",
    Role.AUDITOR: DEMO_COUNTY,
    Role.DEPARTMENT_FEEDER: DEMO_COUNTY,
}
NOT_ADMITTED = {Role.AUDITOR, Role.DEPARTMENT_FEEDER}  # the transitions endpoint refuses them outright (403)
BODY = {"evidence": {"findings": "x", "vote_result": "x"}, "reason_code": "test_reason", "comment": "redo"}


@pytest.fixture
async def ready(claims_client: httpx.AsyncClient, registry: FakeRegistry, today: Any) -> FakeRegistry:
    await create_reference_scheme(claims_client)
    today.set(date(2026, 4, 1))
    return registry


async def new_claim(client: httpx.AsyncClient, registry: FakeRegistry, **expense: Any) -> tuple[str, Any]:
    household = registry.add_household()
    await enrol(client, household)
    response = await apply(client, household, **(expense or E1_EXPENSE))
    assert response.status_code == 201, response.text
    return response.json()["id"], household


async def state_of(client: httpx.AsyncClient, claim_id: str) -> str:
    return str((await client.get(f"/v1/claims/{claim_id}", headers=COUNTY)).json()["state"])


async def check_illegal_steps(client: httpx.AsyncClient, claim_id: str, state: ClaimState) -> list[str]:
    """Every (action, role) the rules do not allow from `state`: nothing changes, and the answer says why."""
    wrong: list[str] = []
    for action in ENDPOINT_ACTIONS:
        for role in Role:
            if (state, ClaimAction(action), role) in LEGAL:
                continue
            response = await client.post(
                f"/v1/claims/{claim_id}/transitions",
                json={"action": action, **BODY},
                headers=auth(role.value, HOME_REGION[role]),
            )
            expected = {403} if role in NOT_ADMITTED else {409}
            if response.status_code not in expected:
                wrong.append(f"{state.value} {action} {role.value}: {response.status_code} {response.text[:200]}")
            elif response.status_code == 409:
                roles_for_action = {r for (_, a, r) in LEGAL if a.value == action}
                states_for_action = {s for (s, a, _) in LEGAL if a.value == action}
                reason = (
                    "wrong_role"
                    if role not in roles_for_action
                    else "wrong_order"
                    if state not in states_for_action
                    else "wrong_role"
                )
                if response.json()["code"] != reason:
                    wrong.append(f"{state.value} {action} {role.value}: {response.json()['code']} != {reason}")
    assert await state_of(client, claim_id) == state.value
    return wrong


async def test_every_illegal_step_along_the_whole_road(
    claims_client: httpx.AsyncClient, ready: FakeRegistry, today: Any
) -> None:
    client = claims_client
    claim_id, _ = await new_claim(client, ready)
    wrong = await check_illegal_steps(client, claim_id, ClaimState.REPORTED)
    expected_states = [
        ClaimState.INVESTIGATING,
        ClaimState.INVESTIGATED,
        ClaimState.VILLAGE_REVIEWED,
        ClaimState.TOWNSHIP_REVIEWED,
        ClaimState.FILED,
    ]
    for (action, headers, evidence), state in zip(REVIEW_STEPS, expected_states, strict=True):
        await step(client, claim_id, action, headers, evidence=evidence)
        wrong += await check_illegal_steps(client, claim_id, state)
    await step(client, claim_id, "assess", INSURER)
    wrong += await check_illegal_steps(client, claim_id, ClaimState.ASSESSED)
    await step(client, claim_id, "publish_notice", COUNTY)
    wrong += await check_illegal_steps(client, claim_id, ClaimState.IN_NOTICE)
    today.set(date(2026, 4, 11))
    await step(client, claim_id, "approve", SERVICE)
    wrong += await check_illegal_steps(client, claim_id, ClaimState.APPROVED)
    batch = await client.post(
        "/v1/payments/batches",
        json={"claim_ids": [claim_id], "declared_count": 1, "declared_total": "16000.00"},
        headers=COUNTY,
    )
    payment_id = batch.json()["payments"][0]["id"]
    wrong += await check_illegal_steps(client, claim_id, ClaimState.PAYING)
    await client.post(
        f"/v1/payments/{payment_id}/confirmation", json={"status": "failed", "reason": "账户冻结"}, headers=COUNTY
    )
    wrong += await check_illegal_steps(client, claim_id, ClaimState.PAYMENT_FAILED)
    await client.post(
        "/v1/payments/batches",
        json={"claim_ids": [claim_id], "declared_count": 1, "declared_total": "16000.00"},
        headers=COUNTY,
    )
    await client.post(
        f"/v1/payments/{payment_id}/confirmation", json={"status": "paid", "paid_date": "2026-04-20"}, headers=COUNTY
    )
    wrong += await check_illegal_steps(client, claim_id, ClaimState.PAID)

    rejected_id, _ = await new_claim(client, ready, total_cost="1000.00")
    await step(client, rejected_id, "start_investigation", INSURER)
    await step(client, rejected_id, "reject", INSURER, reason_code="fraud")
    wrong += await check_illegal_steps(client, rejected_id, ClaimState.REJECTED)
    assert wrong == []


# every legal step of the path with the right role, from a region of the wrong level or elsewhere
REGION_CASES = [
    # (action, role, region) → expected
    ("start_investigation", "insurer_adjuster", "", 409),  # national scope has no county level
    ("start_investigation", "insurer_adjuster", DEMO_TOWNSHIP, 409),
    ("start_investigation", "insurer_adjuster", "110101", 404),
    ("complete_investigation", "insurer_adjuster", DEMO_VILLAGE, 409),
    ("village_review", "village_cadre", DEMO_TOWNSHIP, 409),
    ("village_review", "village_cadre", OTHER_VILLAGE, 404),
    ("township_review", "township_officer", DEMO_COUNTY, 409),
    ("township_review", "township_officer", "410602101", 404),
    ("file", "county_officer", DEMO_TOWNSHIP, 409),
    ("file", "county_officer", "", 409),
    ("assess", "insurer_adjuster", DEMO_VILLAGE, 409),
    ("publish_notice", "county_officer", DEMO_VILLAGE, 409),
]


async def test_region_is_enforced_at_every_step(claims_client: httpx.AsyncClient, ready: FakeRegistry) -> None:
    client = claims_client
    claim_id, _ = await new_claim(client, ready)
    cases = {}
    for action, role, region, status in REGION_CASES:
        cases.setdefault(action, []).append((role, region, status))
    path = [*REVIEW_STEPS, ("assess", INSURER, {}), ("publish_notice", COUNTY, {})]
    for action, headers, evidence in path:
        for role, region, status in cases.get(action, []):
            response = await client.post(
                f"/v1/claims/{claim_id}/transitions",
                json={"action": action, "evidence": evidence},
                headers=auth(role, region),
            )
            assert response.status_code == status, (action, role, region, response.text)
            if status == 409:
                assert response.json()["code"] == "wrong_region"
        await step(client, claim_id, action, headers, evidence=evidence)


@pytest.mark.parametrize(
    ("steps_before", "actor", "final"),
    [
        (1, INSURER, "rejected"),  # investigating: the insurer
        (2, VILLAGE, "rejected"),  # investigated: the village
        (3, TOWNSHIP, "rejected"),  # village_reviewed: the township
        (4, COUNTY, "rejected"),  # township_reviewed: the county
        (5, INSURER, "rejected"),  # filed: the insurer
    ],
)
async def test_any_review_may_reject_with_a_reason(
    claims_client: httpx.AsyncClient, ready: FakeRegistry, steps_before: int, actor: dict[str, str], final: str
) -> None:
    claim_id, _ = await new_claim(claims_client, ready)
    for action, headers, evidence in REVIEW_STEPS[:steps_before]:
        await step(claims_client, claim_id, action, headers, evidence=evidence)
    no_reason = await claims_client.post(f"/v1/claims/{claim_id}/transitions", json={"action": "reject"}, headers=actor)
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason_code"
    result = await step(claims_client, claim_id, "reject", actor, reason_code="documents_forged", comment="伪造票据")
    assert result["claim"]["state"] == final
    assert result["claim"]["rejection_code"] == "documents_forged"
    assert result["transition"]["reason_code"] == "documents_forged"


@pytest.mark.parametrize(
    ("steps_before", "actor", "back_to"),
    [
        (2, VILLAGE, "investigating"),
        (3, TOWNSHIP, "investigated"),
        (4, COUNTY, "village_reviewed"),
        (5, INSURER, "township_reviewed"),
    ],
)
async def test_any_review_may_return_one_step(
    claims_client: httpx.AsyncClient, ready: FakeRegistry, steps_before: int, actor: dict[str, str], back_to: str
) -> None:
    claim_id, _ = await new_claim(claims_client, ready)
    for action, headers, evidence in REVIEW_STEPS[:steps_before]:
        await step(claims_client, claim_id, action, headers, evidence=evidence)
    no_comment = await claims_client.post(
        f"/v1/claims/{claim_id}/transitions", json={"action": "return"}, headers=actor
    )
    assert no_comment.status_code == 422
    result = await step(claims_client, claim_id, "return", actor, comment="补充材料 add the hospital invoice")
    assert result["claim"]["state"] == back_to
    # and the road goes on from there
    remaining = [
        s
        for s in REVIEW_STEPS
        if s[0]
        in {
            "investigating": ["complete_investigation", "village_review", "township_review", "file"],
            "investigated": ["village_review", "township_review", "file"],
            "village_reviewed": ["township_review", "file"],
            "township_reviewed": ["file"],
        }[back_to]
    ]
    for action, headers, evidence in remaining:
        await step(claims_client, claim_id, action, headers, evidence=evidence)
    assert await state_of(claims_client, claim_id) == "filed"


async def test_steps_need_their_evidence(claims_client: httpx.AsyncClient, ready: FakeRegistry) -> None:
    claim_id, _ = await new_claim(claims_client, ready)
    await step(claims_client, claim_id, "start_investigation", INSURER)
    missing = await claims_client.post(
        f"/v1/claims/{claim_id}/transitions", json={"action": "complete_investigation"}, headers=INSURER
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "evidence.findings"
    await step(
        claims_client,
        claim_id,
        "complete_investigation",
        INSURER,
        evidence={"findings": "入户核查属实", "photos": ["a.jpg"]},
    )
    missing_vote = await claims_client.post(
        f"/v1/claims/{claim_id}/transitions", json={"action": "village_review"}, headers=VILLAGE
    )
    assert missing_vote.json()["errors"][0]["field"] == "evidence.vote_result"
    history = (await claims_client.get(f"/v1/claims/{claim_id}/transitions", headers=VILLAGE)).json()
    assert history[-1]["evidence"] == {"findings": "入户核查属实", "photos": ["a.jpg"]}
    assert history[-1]["actor_role"] == "insurer_adjuster"
    assert history[-1]["actor_region"] == DEMO_COUNTY


async def test_if_match_detects_a_stale_read(claims_client: httpx.AsyncClient, ready: FakeRegistry) -> None:
    claim_id, _ = await new_claim(claims_client, ready)
    stale = await claims_client.post(
        f"/v1/claims/{claim_id}/transitions",
        json={"action": "start_investigation"},
        headers={**INSURER, "If-Match": '"5"'},
    )
    assert stale.status_code == 412
    ok = await claims_client.post(
        f"/v1/claims/{claim_id}/transitions",
        json={"action": "start_investigation"},
        headers={**INSURER, "If-Match": '"1"'},
    )
    assert ok.status_code == 200
    assert ok.headers["etag"] == '"2"'


async def test_payment_steps_are_not_taken_by_hand(claims_client: httpx.AsyncClient, ready: FakeRegistry) -> None:
    claim_id, _ = await new_claim(claims_client, ready)
    for action in ("start_payment", "confirm_payment", "uphold_objection", "dance"):
        response = await claims_client.post(
            f"/v1/claims/{claim_id}/transitions", json={"action": action}, headers=SERVICE
        )
        assert response.status_code == 422


async def test_ineligible_assessment_rejects_with_the_engine_code(
    claims_client: httpx.AsyncClient, ready: FakeRegistry
) -> None:
    household = ready.add_household(status="ordinary", members=3, income="90000.00")  # E4
    await enrol(claims_client, household)
    claim_id = (await apply(claims_client, household, total_cost="50000", basic_insurance_paid="20000")).json()["id"]
    await to_filed(claims_client, claim_id)
    result = await step(claims_client, claim_id, "assess", INSURER)
    assert result["claim"]["state"] == "rejected"
    assert result["claim"]["rejection_code"] == "income_above_line"
    assert result["transition"]["action"] == "reject"
    assert result["assessment"]["eligible"] is False
    assert result["assessment"]["payout"] == "0.00"


async def test_no_scheme_in_force_is_409(claims_client: httpx.AsyncClient, registry: FakeRegistry) -> None:
    household = registry.add_household()
    claim_id = (await apply(claims_client, household, **E1_EXPENSE)).json()["id"]
    await to_filed(claims_client, claim_id)
    response = await claims_client.post(
        f"/v1/claims/{claim_id}/transitions", json={"action": "assess"}, headers=INSURER
    )
    assert response.status_code == 409
    assert response.json()["code"] == "no_active_scheme"
    assert await state_of(claims_client, claim_id) == "filed"


async def test_assessed_claim_allowed_actions(claims_client: httpx.AsyncClient, ready: FakeRegistry) -> None:
    claim_id, _ = await new_claim(claims_client, ready)
    result = await to_assessed(claims_client, claim_id)
    assert result["claim"]["allowed_actions"] == []  # the insurer's view: nothing more to do
    county_view = (await claims_client.get(f"/v1/claims/{claim_id}", headers=COUNTY)).json()
    assert county_view["allowed_actions"] == ["publish_notice"]


def _second(role: str, region: str) -> dict[str, str]:
    """Another person with the same role and region (another `sub`)."""
    from shared.auth import mint_token
    from tests.support.tokens import JWT_SECRET

    return {"Authorization": "Bearer " + mint_token(JWT_SECRET, sub=f"test:second:{role}", roles=[role], region=region)}


async def test_keys_belong_to_their_caller_and_replay_only_in_scope(
    claims_client: httpx.AsyncClient, ready: FakeRegistry
) -> None:
    """Issue 9 (defects 4 and 8): a transition replayed with the same key and body from outside the
    claim's region is 404 without the claim; the caller's own replay is marked; another caller's
    same key string is its own request."""
    client = claims_client
    household = ready.add_household()
    await enrol(client, household)
    key = {"Idempotency-Key": "same-key"}
    created = await apply(client, household, headers={**VILLAGE, **key}, **E1_EXPENSE)
    assert created.status_code == 201, created.text
    assert "idempotency-replayed" not in created.headers
    again = await apply(client, household, headers={**VILLAGE, **key}, **E1_EXPENSE)
    assert again.status_code == 201
    assert again.headers["idempotency-replayed"] == "true"
    assert again.json()["id"] == created.json()["id"]
    colleague = await apply(client, household, headers={**_second("village_cadre", DEMO_VILLAGE), **key}, **E1_EXPENSE)
    assert colleague.status_code == 409, colleague.text  # its own attempt: the event is claimed already
    assert colleague.json()["code"] == "same_event"
    claim_id = created.json()["id"]

    url = f"/v1/claims/{claim_id}/transitions"
    body = {"action": "start_investigation", "evidence": {}}
    outsiders = [
        auth("county_officer", "410603"),
        auth("insurer_adjuster", "410603"),
        auth("village_cadre", OTHER_VILLAGE),
        auth("township_officer", "410602101"),
    ]
    for outsider in outsiders:  # no key: 404 like a GET, never 409 wrong_region / wrong_order
        for action in ("start_investigation", "file", "approve"):
            hidden = await client.post(url, json={"action": action, "evidence": {}}, headers=outsider)
            assert hidden.status_code == 404, hidden.text
            assert hidden.json()["code"] == "claim_not_found"
    first = await client.post(url, json=body, headers={**INSURER, **key})
    assert first.status_code == 200, first.text
    assert "idempotency-replayed" not in first.headers
    for outsider in outsiders:
        hidden = await client.post(url, json=body, headers={**outsider, **key})
        assert hidden.status_code == 404, hidden.text
        assert "state" not in hidden.json()
        assert "claim" not in hidden.json()
        assert "idempotency-replayed" not in hidden.headers
    replay = await client.post(url, json=body, headers={**INSURER, **key})
    assert replay.status_code == 200
    assert replay.headers["idempotency-replayed"] == "true"
    assert replay.json() == first.json()
    assert replay.headers["etag"] == first.headers["etag"]
    own = await client.post(url, json=body, headers={**_second("insurer_adjuster", DEMO_COUNTY), **key})
    assert own.status_code == 409, own.text
    assert own.json()["code"] == "wrong_order"
    history = (await client.get(f"{url}", headers=COUNTY)).json()
    assert [t["action"] for t in history].count("start_investigation") == 1


async def test_the_step_taker_changes_a_claim_only_at_the_version_it_was_read(
    claims_client: httpx.AsyncClient, ready: FakeRegistry, session: Any
) -> None:
    """One step-taker records every step (issue 11); it writes the new state only over the version the
    step was decided on, so a step decided on a stale read changes nothing, not even the history."""
    from uuid import UUID

    from sqlalchemy import func, select

    from services.claims.db.tables import claim, claim_transition
    from services.claims.domain.workflow import Actor, ClaimSnapshot, take_step
    from services.claims.service.claims import StepTaker
    from shared.auth import Principal
    from shared.errors import Conflict

    claim_id, _ = await new_claim(claims_client, ready)
    await step(claims_client, claim_id, "start_investigation", INSURER)  # version 1 -> 2
    row = (await session.execute(select(claim).where(claim.c.id == UUID(claim_id)))).mappings().one()
    assert (row["state"], row["version"]) == ("investigating", 2)
    history = select(func.count()).select_from(claim_transition).where(claim_transition.c.claim_id == UUID(claim_id))
    before = (await session.execute(history)).scalar_one()
    insurer = Principal(sub="insurer-1", roles=frozenset({Role.INSURER_ADJUSTER}), region=DEMO_COUNTY)
    actor = Actor(insurer.sub, Role.INSURER_ADJUSTER, DEMO_COUNTY)
    stale = ClaimSnapshot(UUID(claim_id), ClaimState.INVESTIGATING, 1, DEMO_COUNTY, row["village_code"])
    taker = StepTaker(session, insurer)
    with pytest.raises(Conflict) as info:
        await taker.take(take_step(stale, ClaimAction.COMPLETE_INVESTIGATION, actor, evidence={"findings": "x"}))
    assert info.value.code == "version_conflict"
    assert (await session.execute(history)).scalar_one() == before
    current = ClaimSnapshot(UUID(claim_id), ClaimState.INVESTIGATING, 2, DEMO_COUNTY, row["village_code"])
    transition = await taker.take(take_step(current, ClaimAction.COMPLETE_INVESTIGATION, actor))
    assert (transition.from_state, transition.to_state, transition.actor_role) == (
        "investigating",
        "investigated",
        "insurer_adjuster",
    )
    after = (await session.execute(select(claim.c.state, claim.c.version).where(claim.c.id == UUID(claim_id)))).one()
    assert tuple(after) == ("investigated", 3)
    assert (await session.execute(history)).scalar_one() == before + 1
