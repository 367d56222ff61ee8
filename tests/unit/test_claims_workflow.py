"""The claim workflow of rules.md §2.4: every legal step, every illegal one (role, order, region)."""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from decimal import Decimal

import pytest

from services.claims.domain.workflow import (
    REPORT,
    REVIEW_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Actor,
    ClaimAction,
    ClaimSnapshot,
    ClaimState,
    PaymentOutcome,
    RegionLevel,
    RejectionStage,
    Role,
    TransitionNotAllowed,
    allowed_actions,
    authorize,
    choose_role,
    find_transition,
    next_state,
    notice_last_day,
    notice_window_open,
    report,
    take_step,
)

S, A, R = ClaimState, ClaimAction, Role

# Written out by hand from rules.md §2.4 and the module's table, independent of TRANSITIONS:
# (from, action, role) → (to, region level of the step or None)
LEGAL: dict[tuple[ClaimState, ClaimAction, Role], tuple[ClaimState, RegionLevel | None]] = {
    (S.REPORTED, A.START_INVESTIGATION, R.INSURER_ADJUSTER): (S.INVESTIGATING, RegionLevel.COUNTY),
    (S.INVESTIGATING, A.COMPLETE_INVESTIGATION, R.INSURER_ADJUSTER): (S.INVESTIGATED, RegionLevel.COUNTY),
    (S.INVESTIGATED, A.VILLAGE_REVIEW, R.VILLAGE_CADRE): (S.VILLAGE_REVIEWED, RegionLevel.VILLAGE),
    (S.VILLAGE_REVIEWED, A.TOWNSHIP_REVIEW, R.TOWNSHIP_OFFICER): (S.TOWNSHIP_REVIEWED, RegionLevel.TOWNSHIP),
    (S.TOWNSHIP_REVIEWED, A.FILE, R.COUNTY_OFFICER): (S.FILED, RegionLevel.COUNTY),
    (S.FILED, A.ASSESS, R.INSURER_ADJUSTER): (S.ASSESSED, RegionLevel.COUNTY),
    (S.ASSESSED, A.PUBLISH_NOTICE, R.COUNTY_OFFICER): (S.IN_NOTICE, RegionLevel.COUNTY),
    (S.ASSESSED, A.PUBLISH_NOTICE, R.SERVICE): (S.IN_NOTICE, None),
    (S.IN_NOTICE, A.UPHOLD_OBJECTION, R.COUNTY_OFFICER): (S.INVESTIGATING, RegionLevel.COUNTY),
    (S.IN_NOTICE, A.APPROVE, R.SERVICE): (S.APPROVED, None),
    (S.IN_NOTICE, A.APPROVE_OVERRIDE, R.COUNTY_OFFICER): (S.APPROVED, RegionLevel.COUNTY),
    (S.APPROVED, A.START_PAYMENT, R.SERVICE): (S.PAYING, None),
    (S.PAYING, A.CONFIRM_PAYMENT, R.SERVICE): (S.PAID, None),
    (S.PAYING, A.FAIL_PAYMENT, R.SERVICE): (S.PAYMENT_FAILED, None),
    (S.PAYMENT_FAILED, A.RETRY_PAYMENT, R.SERVICE): (S.PAYING, None),
    (S.INVESTIGATING, A.REJECT, R.INSURER_ADJUSTER): (S.REJECTED, RegionLevel.COUNTY),
    (S.INVESTIGATED, A.REJECT, R.VILLAGE_CADRE): (S.REJECTED, RegionLevel.VILLAGE),
    (S.VILLAGE_REVIEWED, A.REJECT, R.TOWNSHIP_OFFICER): (S.REJECTED, RegionLevel.TOWNSHIP),
    (S.TOWNSHIP_REVIEWED, A.REJECT, R.COUNTY_OFFICER): (S.REJECTED, RegionLevel.COUNTY),
    (S.FILED, A.REJECT, R.INSURER_ADJUSTER): (S.REJECTED, RegionLevel.COUNTY),
    (S.INVESTIGATED, A.RETURN, R.VILLAGE_CADRE): (S.INVESTIGATING, RegionLevel.VILLAGE),
    (S.VILLAGE_REVIEWED, A.RETURN, R.TOWNSHIP_OFFICER): (S.INVESTIGATED, RegionLevel.TOWNSHIP),
    (S.TOWNSHIP_REVIEWED, A.RETURN, R.COUNTY_OFFICER): (S.VILLAGE_REVIEWED, RegionLevel.COUNTY),
    (S.FILED, A.RETURN, R.INSURER_ADJUSTER): (S.TOWNSHIP_REVIEWED, RegionLevel.COUNTY),
}

VILLAGE = "410602001001"
TOWNSHIP = VILLAGE[:9]
COUNTY = VILLAGE[:6]
REGION_FOR = {RegionLevel.VILLAGE: VILLAGE, RegionLevel.TOWNSHIP: TOWNSHIP, RegionLevel.COUNTY: COUNTY}


def _expected_reason(state: ClaimState, action: ClaimAction, role: Role) -> str:
    roles_for_action = {r for (_, a, r) in LEGAL if a is action}
    if role not in roles_for_action:
        return "wrong_role"
    states_for_action = {s for (s, a, _) in LEGAL if a is action}
    if state not in states_for_action:
        return "wrong_order"
    return "wrong_role"  # the action leaves this state, but it is another actor's step


@pytest.mark.parametrize(
    ("state", "action", "role"),
    list(LEGAL),
    ids=[f"{s.value}-{a.value}-{r.value}" for s, a, r in LEGAL],
)
def test_every_legal_step(state: ClaimState, action: ClaimAction, role: Role) -> None:
    to_state, level = LEGAL[(state, action, role)]
    assert next_state(state, action, role) is to_state
    assert next_state(state.value, action.value, role.value) is to_state  # plain strings work too
    assert find_transition(state, action, role).region_level_for(role) is level
    region = None if level is None else REGION_FOR[level]
    assert authorize(state, action, role, region, VILLAGE) is to_state


ALL_TRIPLES = [t for t in itertools.product(ClaimState, ClaimAction, Role) if t not in LEGAL]


@pytest.mark.parametrize(("state", "action", "role"), ALL_TRIPLES)
def test_every_illegal_step_is_refused_with_its_reason(state: ClaimState, action: ClaimAction, role: Role) -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        next_state(state, action, role)
    assert info.value.reason == _expected_reason(state, action, role)


def test_the_table_matches_the_hand_written_one() -> None:
    from_table = {
        (s, t.action, r): (t.to_state, t.region_level_for(r))
        for t in TRANSITIONS
        for s in t.from_states
        for r in t.roles
    }
    assert from_table == LEGAL


def test_happy_path_from_report_to_paid() -> None:
    path = [
        (A.START_INVESTIGATION, R.INSURER_ADJUSTER, S.INVESTIGATING),
        (A.COMPLETE_INVESTIGATION, R.INSURER_ADJUSTER, S.INVESTIGATED),
        (A.VILLAGE_REVIEW, R.VILLAGE_CADRE, S.VILLAGE_REVIEWED),
        (A.TOWNSHIP_REVIEW, R.TOWNSHIP_OFFICER, S.TOWNSHIP_REVIEWED),
        (A.FILE, R.COUNTY_OFFICER, S.FILED),
        (A.ASSESS, R.INSURER_ADJUSTER, S.ASSESSED),
        (A.PUBLISH_NOTICE, R.SERVICE, S.IN_NOTICE),
        (A.APPROVE, R.SERVICE, S.APPROVED),
        (A.START_PAYMENT, R.SERVICE, S.PAYING),
        (A.CONFIRM_PAYMENT, R.SERVICE, S.PAID),
    ]
    state = S.REPORTED
    for action, role, expected in path:
        state = next_state(state, action, role)
        assert state is expected
    assert state in TERMINAL_STATES


def test_an_upheld_objection_reopens_the_claim_and_it_goes_round_again() -> None:
    state = next_state(S.IN_NOTICE, A.UPHOLD_OBJECTION, R.COUNTY_OFFICER)
    assert state is S.INVESTIGATING
    for action, role in [
        (A.COMPLETE_INVESTIGATION, R.INSURER_ADJUSTER),
        (A.VILLAGE_REVIEW, R.VILLAGE_CADRE),
        (A.TOWNSHIP_REVIEW, R.TOWNSHIP_OFFICER),
        (A.FILE, R.COUNTY_OFFICER),
        (A.ASSESS, R.INSURER_ADJUSTER),
        (A.PUBLISH_NOTICE, R.COUNTY_OFFICER),
        (A.APPROVE_OVERRIDE, R.COUNTY_OFFICER),
    ]:
        state = next_state(state, action, role)
    assert state is S.APPROVED


def test_an_objection_cannot_be_upheld_outside_the_notice() -> None:
    for state in (S.ASSESSED, S.APPROVED, S.PAYING, S.PAID):
        with pytest.raises(TransitionNotAllowed) as info:
            next_state(state, A.UPHOLD_OBJECTION, R.COUNTY_OFFICER)
        assert info.value.reason == "wrong_order"


def test_payment_failure_then_retry_then_paid_and_never_again() -> None:
    state = next_state(S.PAYING, A.FAIL_PAYMENT, R.SERVICE)
    assert state is S.PAYMENT_FAILED
    state = next_state(state, A.RETRY_PAYMENT, R.SERVICE)
    assert state is S.PAYING
    state = next_state(state, A.CONFIRM_PAYMENT, R.SERVICE)
    assert state is S.PAID
    for action in (A.START_PAYMENT, A.RETRY_PAYMENT, A.CONFIRM_PAYMENT, A.FAIL_PAYMENT):
        with pytest.raises(TransitionNotAllowed) as info:
            next_state(state, action, R.SERVICE)
        assert info.value.reason == "wrong_order"


def test_a_failed_payment_cannot_be_confirmed_without_a_retry() -> None:
    with pytest.raises(TransitionNotAllowed, match="wrong_order"):
        next_state(S.PAYMENT_FAILED, A.CONFIRM_PAYMENT, R.SERVICE)


@pytest.mark.parametrize("state", sorted(REVIEW_STATES))
def test_every_review_state_can_be_rejected_by_its_reviewer(state: ClaimState) -> None:
    roles = [r for (s, a, r) in LEGAL if s is state and a is A.REJECT]
    assert len(roles) == 1
    assert next_state(state, A.REJECT, roles[0]) is S.REJECTED


@pytest.mark.parametrize(
    ("state", "role", "back_to"),
    [
        (S.INVESTIGATED, R.VILLAGE_CADRE, S.INVESTIGATING),
        (S.VILLAGE_REVIEWED, R.TOWNSHIP_OFFICER, S.INVESTIGATED),
        (S.TOWNSHIP_REVIEWED, R.COUNTY_OFFICER, S.VILLAGE_REVIEWED),
        (S.FILED, R.INSURER_ADJUSTER, S.TOWNSHIP_REVIEWED),
    ],
)
def test_return_goes_one_step_back(state: ClaimState, role: Role, back_to: ClaimState) -> None:
    assert next_state(state, A.RETURN, role) is back_to


def test_rejected_and_paid_are_terminal() -> None:
    for state in TERMINAL_STATES:
        for role in Role:
            assert allowed_actions(state, role) == ()


def test_out_of_order_steps() -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        next_state(S.REPORTED, A.VILLAGE_REVIEW, R.VILLAGE_CADRE)  # skipping the investigation
    assert info.value.reason == "wrong_order"
    with pytest.raises(TransitionNotAllowed) as info:
        next_state(S.ASSESSED, A.APPROVE, R.SERVICE)  # no notice yet
    assert info.value.reason == "wrong_order"
    with pytest.raises(TransitionNotAllowed) as info:
        next_state(S.IN_NOTICE, A.START_PAYMENT, R.SERVICE)  # not approved yet
    assert info.value.reason == "wrong_order"


def test_wrong_roles() -> None:
    cases = [
        (S.INVESTIGATED, A.VILLAGE_REVIEW, R.TOWNSHIP_OFFICER),
        (S.FILED, A.ASSESS, R.COUNTY_OFFICER),
        (S.IN_NOTICE, A.APPROVE, R.COUNTY_OFFICER),  # the officer uses approve_override
        (S.APPROVED, A.START_PAYMENT, R.ADMIN),
        (S.VILLAGE_REVIEWED, A.REJECT, R.VILLAGE_CADRE),  # the township's step now
        (S.REPORTED, A.START_INVESTIGATION, R.VILLAGE_CADRE),
    ]
    for state, action, role in cases:
        with pytest.raises(TransitionNotAllowed) as info:
            next_state(state, action, role)
        assert info.value.reason == "wrong_role", (state, action, role)


def test_admin_auditor_and_feeder_do_no_workflow_step() -> None:
    for role in (R.ADMIN, R.AUDITOR, R.DEPARTMENT_FEEDER):
        assert all(allowed_actions(state, role) == () for state in ClaimState)
    assert allowed_actions(S.REPORTED, "mayor") == ()


def test_roles_match_shared_auth() -> None:
    auth = pytest.importorskip("shared.auth")
    assert {r.value for r in auth.Role} == {r.value for r in Role}
    assert next_state(S.INVESTIGATED, A.VILLAGE_REVIEW, auth.Role.VILLAGE_CADRE) is S.VILLAGE_REVIEWED


def test_a_national_scope_caller_is_refused_at_region_checked_steps() -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        authorize(S.TOWNSHIP_REVIEWED, A.FILE, R.COUNTY_OFFICER, "", VILLAGE)
    assert info.value.reason == "wrong_region"


def test_unknown_names() -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        next_state(S.REPORTED, "teleport", R.SERVICE)
    assert info.value.reason == "unknown_action"
    with pytest.raises(TransitionNotAllowed) as info:
        next_state(S.REPORTED, A.START_INVESTIGATION, "mayor")
    assert info.value.reason == "wrong_role"
    with pytest.raises(TransitionNotAllowed) as info:
        next_state("limbo", A.START_INVESTIGATION, R.INSURER_ADJUSTER)
    assert info.value.reason == "wrong_order"


# ---------------------------------------------------------------------------------------------
# Region


@pytest.mark.parametrize(
    ("state", "action", "role", "region", "allowed"),
    [
        (S.INVESTIGATED, A.VILLAGE_REVIEW, R.VILLAGE_CADRE, VILLAGE, True),
        (S.INVESTIGATED, A.VILLAGE_REVIEW, R.VILLAGE_CADRE, "410602001002", False),  # another village
        (S.INVESTIGATED, A.VILLAGE_REVIEW, R.VILLAGE_CADRE, TOWNSHIP, False),  # wrong level
        (S.INVESTIGATED, A.VILLAGE_REVIEW, R.VILLAGE_CADRE, None, False),
        (S.VILLAGE_REVIEWED, A.TOWNSHIP_REVIEW, R.TOWNSHIP_OFFICER, TOWNSHIP, True),
        (S.VILLAGE_REVIEWED, A.TOWNSHIP_REVIEW, R.TOWNSHIP_OFFICER, "410602002", False),
        (S.VILLAGE_REVIEWED, A.TOWNSHIP_REVIEW, R.TOWNSHIP_OFFICER, COUNTY, False),
        (S.TOWNSHIP_REVIEWED, A.FILE, R.COUNTY_OFFICER, COUNTY, True),
        (S.TOWNSHIP_REVIEWED, A.FILE, R.COUNTY_OFFICER, "410603", False),
        (S.TOWNSHIP_REVIEWED, A.FILE, R.COUNTY_OFFICER, VILLAGE, False),
        (S.REPORTED, A.START_INVESTIGATION, R.INSURER_ADJUSTER, COUNTY, True),
        (S.REPORTED, A.START_INVESTIGATION, R.INSURER_ADJUSTER, "110101", False),
        (S.IN_NOTICE, A.APPROVE, R.SERVICE, None, True),  # the service is not region-checked
        (S.PAYING, A.CONFIRM_PAYMENT, R.SERVICE, "whatever", True),
    ],
)
def test_region_is_enforced_per_step(
    state: ClaimState, action: ClaimAction, role: Role, region: str | None, allowed: bool
) -> None:
    if allowed:
        assert authorize(state, action, role, region, VILLAGE) is LEGAL[(state, action, role)][0]
    else:
        with pytest.raises(TransitionNotAllowed) as info:
            authorize(state, action, role, region, VILLAGE)
        assert info.value.reason == "wrong_region"


def test_role_and_order_are_checked_before_region() -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        authorize(S.REPORTED, A.VILLAGE_REVIEW, R.VILLAGE_CADRE, "999999999999", VILLAGE)
    assert info.value.reason == "wrong_order"


# ---------------------------------------------------------------------------------------------
# Notice window


def test_notice_window_counts_the_first_day() -> None:
    published = date(2026, 5, 1)
    assert notice_last_day(published, 10) == date(2026, 5, 10)
    assert notice_window_open(published, 10, date(2026, 5, 1))
    assert notice_window_open(published, 10, date(2026, 5, 10))
    assert not notice_window_open(published, 10, date(2026, 5, 11))
    assert not notice_window_open(published, 10, date(2026, 4, 30))


# --- take_step: the step and its effects (issue 11: the domain answers with everything a step changes)

CLAIM_ID = uuid.UUID("00000000-0000-0000-0000-0000000000c1")
PAYMENT = PaymentOutcome(
    payment_id=uuid.UUID("00000000-0000-0000-0000-0000000000d1"),
    household_id=uuid.UUID("00000000-0000-0000-0000-0000000000e1"),
    category="illness",
    amount=Decimal("16000.00"),
    paid_date=date(2026, 4, 15),
)
# Written out by hand: which steps are audited, how, and which send the registry a message.
AUDIT_OF: dict[ClaimAction, tuple[str, str]] = {
    A.ASSESS: ("claims.claim.assess", "claim"),
    A.REJECT: ("claims.claim.reject", "claim"),
    A.APPROVE: ("claims.claim.approve", "claim"),
    A.APPROVE_OVERRIDE: ("claims.claim.approve_override", "claim"),
    A.CONFIRM_PAYMENT: ("claims.payment.paid", "payment"),
    A.FAIL_PAYMENT: ("claims.payment.failed", "payment"),
}


def _claim(state: ClaimState, version: int = 4) -> ClaimSnapshot:
    return ClaimSnapshot(CLAIM_ID, state, version, COUNTY, VILLAGE)


@pytest.mark.parametrize(
    ("state", "action", "role"),
    list(LEGAL),
    ids=[f"{s.value}-{a.value}-{r.value}" for s, a, r in LEGAL],
)
def test_every_legal_step_returns_its_effects(state: ClaimState, action: ClaimAction, role: Role) -> None:
    to_state, level = LEGAL[(state, action, role)]
    region = "" if level is None else REGION_FOR[level]
    actor = Actor("user-1", role, region)
    step = take_step(
        _claim(state),
        action,
        actor,
        comment="why",
        reason_code="R1" if action is A.REJECT else None,
        evidence={"k": "v"},
        payment=PAYMENT,
    )
    assert step.state is to_state
    assert step.claim == _claim(state)  # the version the change is made under
    t = step.transition
    assert (t.action, t.from_state, t.to_state) == (action.value, state, to_state)
    assert (t.actor_sub, t.actor_role, t.actor_region) == ("user-1", role.value, region)
    assert (t.comment, t.evidence) == ("why", {"k": "v"})
    if action is A.REJECT:
        assert step.changes == {"rejection_code": "R1", "rejection_stage": "review"}
        assert t.reason_code == "R1"
    else:
        assert step.changes == {}
    if action in AUDIT_OF:
        assert step.audit is not None
        assert (step.audit.action, step.audit.resource_type) == AUDIT_OF[action]
        if AUDIT_OF[action][1] == "claim":
            assert step.audit.resource_id == CLAIM_ID
            assert dict(step.audit.detail) == {
                "from": state.value,
                "to": to_state.value,
                "reason_code": "R1" if action is A.REJECT else None,
            }
        else:
            assert step.audit.resource_id == PAYMENT.payment_id
            assert dict(step.audit.detail) == {"claim_id": str(CLAIM_ID), "amount": "16000.00"}
    else:
        assert step.audit is None
    if action is A.CONFIRM_PAYMENT:
        (benefit,) = step.messages
        assert (benefit.payment_id, benefit.household_id, benefit.county_code) == (
            PAYMENT.payment_id,
            PAYMENT.household_id,
            COUNTY,
        )
        assert (benefit.amount, benefit.paid_date, benefit.category) == (
            Decimal("16000.00"),
            date(2026, 4, 15),
            "illness",
        )
    else:
        assert step.messages == ()


@pytest.mark.parametrize(("state", "action", "role"), ALL_TRIPLES[::7])
def test_an_illegal_step_has_no_effects(state: ClaimState, action: ClaimAction, role: Role) -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        take_step(_claim(state), action, Actor("u", role, COUNTY), payment=PAYMENT)
    assert info.value.reason == _expected_reason(state, action, role)


@pytest.mark.parametrize(
    ("role", "region", "reason"),
    [
        (R.INSURER_ADJUSTER, "410603", "wrong_region"),  # another county
        (R.INSURER_ADJUSTER, VILLAGE, "wrong_region"),  # a village code for a county step
        (R.INSURER_ADJUSTER, "", "wrong_region"),  # national: refused at every region-checked step
        (R.VILLAGE_CADRE, VILLAGE, "wrong_role"),
    ],
)
def test_take_step_checks_the_region(role: Role, region: str, reason: str) -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        take_step(_claim(S.REPORTED), A.START_INVESTIGATION, Actor("u", role, region))
    assert info.value.reason == reason


def test_an_ineligible_assessment_is_a_reject_at_the_assessment_stage_with_the_payout_audited() -> None:
    actor = Actor("ins", R.INSURER_ADJUSTER, COUNTY)
    step = take_step(
        _claim(S.FILED),
        A.REJECT,
        actor,
        reason_code="over_cap",
        stage=RejectionStage.ASSESSMENT,
        audit_detail={"payout": "0.00"},
    )
    assert step.state is S.REJECTED
    assert step.changes == {"rejection_code": "over_cap", "rejection_stage": "assessment"}
    assert step.audit is not None
    assert dict(step.audit.detail) == {"from": "filed", "to": "rejected", "reason_code": "over_cap", "payout": "0.00"}


def test_payment_steps_need_their_payment() -> None:
    service = Actor("svc", R.SERVICE, "")
    with pytest.raises(ValueError, match="settles a payment"):
        take_step(_claim(S.PAYING), A.FAIL_PAYMENT, service)
    unpaid = PaymentOutcome(PAYMENT.payment_id, PAYMENT.household_id, "illness", Decimal("1.00"))
    with pytest.raises(ValueError, match="paid_date"):
        take_step(_claim(S.PAYING), A.CONFIRM_PAYMENT, service, payment=unpaid)
    assert take_step(_claim(S.PAYING), A.FAIL_PAYMENT, service, payment=unpaid).messages == ()


def test_report_is_the_intake_step() -> None:
    step = report(CLAIM_ID, COUNTY, VILLAGE, Actor("cadre", R.VILLAGE_CADRE, VILLAGE), comment="c", evidence={"a": 1})
    assert step.state is S.REPORTED
    t = step.transition
    assert (t.action, t.from_state, t.to_state, t.actor_role) == (REPORT, None, S.REPORTED, "village_cadre")
    assert (t.comment, t.evidence, t.reason_code) == ("c", {"a": 1}, None)
    assert step.audit is None
    assert step.messages == ()
    assert step.changes == {}


@pytest.mark.parametrize(
    ("state", "action", "roles", "region", "expected"),
    [
        # the one allowed role of several is chosen
        (S.REPORTED, A.START_INVESTIGATION, {R.AUDITOR, R.INSURER_ADJUSTER}, COUNTY, R.INSURER_ADJUSTER),
        (S.ASSESSED, A.PUBLISH_NOTICE, {R.COUNTY_OFFICER, R.SERVICE}, COUNTY, R.COUNTY_OFFICER),  # first by name
        (S.ASSESSED, A.PUBLISH_NOTICE, {R.COUNTY_OFFICER, R.SERVICE}, VILLAGE, R.SERVICE),  # not region-checked
        # refusals: wrong_region is the most telling, then wrong_order, then wrong_role
        (S.REPORTED, A.START_INVESTIGATION, {R.INSURER_ADJUSTER, R.VILLAGE_CADRE}, VILLAGE, "wrong_region"),
        (S.FILED, A.START_INVESTIGATION, {R.INSURER_ADJUSTER, R.VILLAGE_CADRE}, COUNTY, "wrong_order"),
        (S.REPORTED, A.START_INVESTIGATION, {R.AUDITOR, R.ADMIN}, COUNTY, "wrong_role"),
        (S.REPORTED, A.START_INVESTIGATION, set(), COUNTY, "wrong_role"),
    ],
)
def test_choose_role(
    state: ClaimState, action: ClaimAction, roles: set[Role], region: str, expected: Role | str
) -> None:
    if isinstance(expected, Role):
        assert choose_role(state, action, roles, region, VILLAGE) is expected
    else:
        with pytest.raises(TransitionNotAllowed) as info:
            choose_role(state, action, roles, region, VILLAGE)
        assert info.value.reason == expected
