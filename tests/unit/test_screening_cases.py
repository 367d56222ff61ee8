"""The monitoring case workflow (rules.md §1.4) and the risk elimination conditions."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.screening.domain.cases import (
    FORWARD_TRANSITIONS,
    IDENTIFICATION_STATES,
    OPEN_STATES,
    OPENING_EVIDENCE,
    OPENING_ROLES,
    REFUSAL_CODES,
    REVIEW_TRANSITIONS,
    TERMINAL_STATES,
    TRANSITION_INDEX,
    TRANSITIONS,
    Actor,
    CaseAction,
    CaseSnapshot,
    CaseSource,
    CaseState,
    EliminationKind,
    MonitoringType,
    NoticeRule,
    RegistryEffect,
    Role,
    Track,
    Transition,
    TransitionOutcome,
    allowed_actions,
    apply,
    is_identification_overdue,
    open_case,
    region_allows,
)
from services.screening.domain.elimination import (
    Blocker,
    BlockerCode,
    EliminationFacts,
    earliest_proposal_date,
    elimination_blockers,
)
from services.screening.domain.errors import TransitionRefused
from services.screening.domain.thresholds import DEMO_THRESHOLDS

S = CaseState
A = CaseAction
VILLAGE = "410602001001"
TOWNSHIP = VILLAGE[:9]
COUNTY = VILLAGE[:6]
#: An actor of each role holding this household's region at the role's level.
ACTORS: Mapping[Role, Actor] = {
    Role.VILLAGE_CADRE: Actor(Role.VILLAGE_CADRE, VILLAGE),
    Role.TOWNSHIP_OFFICER: Actor(Role.TOWNSHIP_OFFICER, TOWNSHIP),
    Role.COUNTY_OFFICER: Actor(Role.COUNTY_OFFICER, COUNTY),
    Role.ADMIN: Actor(Role.ADMIN, COUNTY),
    Role.SERVICE: Actor(Role.SERVICE, ""),
    # the shared Role has roles outside the workflow too: they may take no step
    Role.AUDITOR: Actor(Role.AUDITOR, COUNTY),
    Role.DEPARTMENT_FEEDER: Actor(Role.DEPARTMENT_FEEDER, COUNTY),
    Role.INSURER_ADJUSTER: Actor(Role.INSURER_ADJUSTER, COUNTY),
}
MIN_DAYS = DEMO_THRESHOLDS.notice_min_days
CHINA = ZoneInfo("Asia/Shanghai")  # the business clock's default zone (shared/clock.py)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA)  # a Monday


def evidence_for(action: CaseAction, now: datetime) -> dict[str, object]:
    """Valid evidence for each step, as a mobile app would send it (JSON: dates as strings)."""
    today = now.date()
    visit: dict[str, object] = {
        "home_visit_findings": "入户核实：住院费用高，收入下降",
        "visit_date": today.isoformat(),
    }
    vote: dict[str, object] = {"vote_result": {"approve": 7, "oppose": 1, "abstain": 1}}
    notice: dict[str, object] = {"notice_start_date": today.isoformat(), "notice_days": MIN_DAYS}
    objections: dict[str, object] = {"objection_count": 0}
    steps: dict[CaseAction, dict[str, object]] = {
        A.OPEN: {},
        A.START_VERIFICATION: {},
        A.VERIFY: {**visit, "signed_consent": True},
        A.VILLAGE_REVIEW: vote,
        A.PUBLISH_NOTICE: notice,
        A.TOWNSHIP_REVIEW: objections,
        A.CONFIRM: {"monitoring_type": "marginal"},
        A.START_MONITORING: {},
        A.PROPOSE_ELIMINATION: {"elimination_kind": "assisted", **visit},
        A.ELIMINATION_VILLAGE_REVIEW: vote,
        A.PUBLISH_ELIMINATION_NOTICE: notice,
        A.ELIMINATION_TOWNSHIP_REVIEW: objections,
        A.ELIMINATE: {},
        A.REJECT: {"reason": "核实后家庭收入稳定"},
        A.RETURN: {"reason": "材料不全，请补充"},
        A.CHANGE_TYPE: {"monitoring_type": "unstable", "reason": "家庭成员确诊大病"},
    }
    return dict(steps[action])


def new_case(source: CaseSource = CaseSource.SCREENING, now: datetime = T0) -> CaseSnapshot:
    return CaseSnapshot(state=S.LEAD, source=source, household_region=VILLAGE, opened_at=now, state_entered_at=now)


MAIN_PATH = list(FORWARD_TRANSITIONS)


def walk_to(state: CaseState) -> tuple[CaseSnapshot, datetime]:
    """Drive a new case along the forward path until it is in ``state``; one day per step and
    the notice's days after each notice."""
    case, now = new_case(), T0
    for row in MAIN_PATH:
        if case.state is state:
            return case, now
        actor = ACTORS[sorted(row.roles)[0]]
        case = apply(case, row.action, actor, evidence_for(row.action, now), now, notice_min_days=MIN_DAYS).case
        now += timedelta(days=MIN_DAYS if row.notice is NoticeRule.PUBLISH else 1)
    assert case.state is state
    return case, now


def refused(
    case: CaseSnapshot,
    action: CaseAction | str,
    actor: Actor,
    evidence: Mapping[str, object],
    now: datetime,
    notice_min_days: int = MIN_DAYS,
) -> TransitionRefused:
    with pytest.raises(TransitionRefused) as info:
        apply(case, action, actor, evidence, now, notice_min_days=notice_min_days)
    assert info.value.code in REFUSAL_CODES
    return info.value


# --- the table -------------------------------------------------------------------------------


def test_the_forward_path_is_the_chain_of_rules_1_4() -> None:
    chain = [MAIN_PATH[0].from_state] + [t.to_state for t in MAIN_PATH]
    assert chain == [
        S.LEAD,
        S.VERIFYING,
        S.VERIFIED,
        S.VILLAGE_REVIEWED,
        S.NOTICE,
        S.TOWNSHIP_REVIEWED,
        S.CONFIRMED,
        S.MONITORING,
        S.ELIMINATION_PROPOSED,
        S.ELIMINATION_VILLAGE_REVIEWED,
        S.ELIMINATION_NOTICE,
        S.ELIMINATION_TOWNSHIP_REVIEWED,
        S.ELIMINATED,
    ]
    for a, b in itertools.pairwise(MAIN_PATH):
        assert a.to_state is b.from_state


def test_table_shape() -> None:
    assert len(TRANSITION_INDEX) == len(TRANSITIONS)  # one row per (action, from state)
    assert all(A.OPEN is not t.action for t in TRANSITIONS)
    for state in TERMINAL_STATES:
        assert not [t for t in TRANSITIONS if t.from_state is state]
    for state in OPEN_STATES:
        assert [t for t in TRANSITIONS if t.from_state is state], state
    assert {t.effect for t in TRANSITIONS} == {
        None,
        RegistryEffect.SET_MONITORING_STATUS,
        RegistryEffect.CLEAR_MONITORING_STATUS,
    }
    assert TRANSITION_INDEX[(A.CONFIRM, S.TOWNSHIP_REVIEWED)].effect is RegistryEffect.SET_MONITORING_STATUS
    assert TRANSITION_INDEX[(A.ELIMINATE, S.ELIMINATION_TOWNSHIP_REVIEWED)].effect is (
        RegistryEffect.CLEAR_MONITORING_STATUS
    )


def test_every_state_is_reachable_from_lead() -> None:
    seen, frontier = {S.LEAD}, [S.LEAD]
    while frontier:
        state = frontier.pop()
        for t in TRANSITIONS:
            if t.from_state is state and t.to_state not in seen:
                seen.add(t.to_state)
                frontier.append(t.to_state)
    assert seen == set(CaseState)


def test_reject_and_return_exist_exactly_on_the_review_steps() -> None:
    reviewable = {t.from_state for t in REVIEW_TRANSITIONS if t.action is A.REJECT}
    assert reviewable == set(CaseState) - TERMINAL_STATES - {S.CONFIRMED, S.MONITORING}
    returnable = {t.from_state for t in REVIEW_TRANSITIONS if t.action is A.RETURN}
    assert returnable == reviewable - {S.LEAD}
    for t in REVIEW_TRANSITIONS:
        forward = next(f for f in FORWARD_TRANSITIONS if f.from_state is t.from_state)
        assert t.roles == forward.roles
        if t.action is A.RETURN:
            assert next(f for f in FORWARD_TRANSITIONS if f.to_state is t.from_state).from_state is t.to_state
        else:
            assert t.to_state is (S.MONITORING if t.track is Track.ELIMINATION else S.REJECTED)


# --- legal paths -----------------------------------------------------------------------------


def test_the_whole_life_of_a_case_from_lead_to_eliminated() -> None:
    case, now = new_case(), T0
    effects = []
    for row in MAIN_PATH:
        actor = ACTORS[sorted(row.roles)[0]]
        out = apply(case, row.action, actor, evidence_for(row.action, now), now, notice_min_days=MIN_DAYS)
        assert out.state is row.to_state
        assert out.case.state_entered_at == now == out.at
        assert out.transition is row
        effects.append(out.effect)
        case = out.case
        if row.action is A.CONFIRM:
            assert case.monitoring_type is MonitoringType.MARGINAL
            assert case.confirmed_at == now
        if row.action is A.PROPOSE_ELIMINATION:
            assert case.elimination_kind is EliminationKind.ASSISTED
        if row.notice is NoticeRule.PUBLISH:
            assert (case.notice_start_date, case.notice_days) == (now.date(), MIN_DAYS)
        now += timedelta(days=MIN_DAYS if row.notice is NoticeRule.PUBLISH else 1)
    assert case.state is S.ELIMINATED
    assert case.monitoring_type is MonitoringType.MARGINAL
    assert [e for e in effects if e] == [
        RegistryEffect.SET_MONITORING_STATUS,
        RegistryEffect.CLEAR_MONITORING_STATUS,
    ]


FORWARD_ROLE_PAIRS = [(t, r) for t in FORWARD_TRANSITIONS for r in sorted(t.roles)]


@pytest.mark.parametrize(("row", "role"), FORWARD_ROLE_PAIRS, ids=[f"{t.action}-{r}" for t, r in FORWARD_ROLE_PAIRS])
def test_each_forward_step_by_each_allowed_role(row: Transition, role: Role) -> None:
    case, now = walk_to(row.from_state)
    out = apply(case, row.action, ACTORS[role], evidence_for(row.action, now), now, notice_min_days=MIN_DAYS)
    assert out.state is row.to_state


REVIEW_ROLE_PAIRS = [(t, r) for t in REVIEW_TRANSITIONS for r in sorted(t.roles)]


@pytest.mark.parametrize(
    ("row", "role"),
    REVIEW_ROLE_PAIRS,
    ids=[f"{t.action}-{t.from_state}-{r}" for t, r in REVIEW_ROLE_PAIRS],
)
def test_each_reject_and_return_by_each_allowed_role(row: Transition, role: Role) -> None:
    case, now = walk_to(row.from_state)
    out = apply(case, row.action, ACTORS[role], evidence_for(row.action, now), now, notice_min_days=MIN_DAYS)
    assert out.state is row.to_state
    assert out.evidence["reason"]
    if row.to_state is S.MONITORING:
        assert out.case.elimination_kind is None
        assert out.effect is None  # a refused elimination leaves the registry alone
    if row.to_state in {S.VILLAGE_REVIEWED, S.ELIMINATION_VILLAGE_REVIEWED, S.MONITORING}:
        assert out.case.notice_start_date is None  # a new notice must be published


def test_a_returned_case_can_go_forward_again() -> None:
    case, now = walk_to(S.NOTICE)
    township = ACTORS[Role.TOWNSHIP_OFFICER]
    case = apply(case, A.RETURN, township, evidence_for(A.RETURN, now), now, notice_min_days=MIN_DAYS).case
    assert case.state is S.VILLAGE_REVIEWED
    # the village publishes a new notice (not before the return) and the township reviews it
    vc = ACTORS[Role.VILLAGE_CADRE]
    case = apply(case, A.PUBLISH_NOTICE, vc, evidence_for(A.PUBLISH_NOTICE, now), now, notice_min_days=MIN_DAYS).case
    later = now + timedelta(days=MIN_DAYS)
    case = apply(
        case, A.TOWNSHIP_REVIEW, township, evidence_for(A.TOWNSHIP_REVIEW, later), later, notice_min_days=MIN_DAYS
    ).case
    assert case.state is S.TOWNSHIP_REVIEWED


def test_county_return_sends_the_case_back_to_township_review_without_a_new_notice() -> None:
    case, now = walk_to(S.TOWNSHIP_REVIEWED)
    case = apply(
        case, A.RETURN, ACTORS[Role.COUNTY_OFFICER], evidence_for(A.RETURN, now), now, notice_min_days=MIN_DAYS
    ).case
    assert case.state is S.NOTICE
    out = apply(
        case,
        A.TOWNSHIP_REVIEW,
        ACTORS[Role.TOWNSHIP_OFFICER],
        {"objection_count": 1, "objection_handling": "经核实异议不成立"},
        now,
        notice_min_days=MIN_DAYS,
    )
    assert out.state is S.TOWNSHIP_REVIEWED


def test_a_refused_elimination_keeps_monitoring_and_can_be_proposed_again() -> None:
    case, now = walk_to(S.ELIMINATION_NOTICE)
    case = apply(
        case, A.REJECT, ACTORS[Role.TOWNSHIP_OFFICER], evidence_for(A.REJECT, now), now, notice_min_days=MIN_DAYS
    ).case
    assert case.state is S.MONITORING
    assert case.monitoring_type is MonitoringType.MARGINAL
    out = apply(
        case,
        A.PROPOSE_ELIMINATION,
        ACTORS[Role.VILLAGE_CADRE],
        evidence_for(A.PROPOSE_ELIMINATION, now) | {"elimination_kind": "natural"},
        now,
        notice_min_days=MIN_DAYS,
    )
    assert out.case.elimination_kind is EliminationKind.NATURAL


@pytest.mark.parametrize(
    ("source", "role"),
    [(s, r) for s in CaseSource for r in sorted(OPENING_ROLES[s])],
)
def test_open_a_case_from_each_source(source: CaseSource, role: Role) -> None:
    by_source: dict[CaseSource, dict[str, object]] = {
        CaseSource.SCREENING: {"lead_id": "6f1c2b1e-0000-4000-8000-000000000001"},
        CaseSource.SELF_REPORT: {"application_date": "2026-03-01", "signed_application": True},
        CaseSource.CADRE_VISIT: {"home_visit_findings": "排查发现因病支出大", "visit_date": date(2026, 3, 2)},
    }
    evidence = by_source[source]
    out = open_case(source, ACTORS[role], VILLAGE, evidence, T0)
    assert out.state is S.LEAD
    assert out.case.source is source
    assert out.case.opened_at == T0
    assert out.transition.action is A.OPEN
    assert out.transition.evidence == OPENING_EVIDENCE[source]


@pytest.mark.parametrize(
    ("source", "role"),
    [(s, r) for s in CaseSource for r in sorted(set(Role) - OPENING_ROLES[s])],
)
def test_open_a_case_with_a_wrong_role(source: CaseSource, role: Role) -> None:
    with pytest.raises(TransitionRefused) as info:
        open_case(source, ACTORS[role], VILLAGE, {}, T0)
    assert info.value.code == "wrong_role"


def test_open_a_case_checks_region_and_evidence() -> None:
    with pytest.raises(TransitionRefused) as info:
        open_case(CaseSource.SELF_REPORT, Actor(Role.VILLAGE_CADRE, "410602001002"), VILLAGE, {}, T0)
    assert info.value.code == "wrong_region"
    with pytest.raises(TransitionRefused) as info:
        open_case(CaseSource.SELF_REPORT, ACTORS[Role.VILLAGE_CADRE], VILLAGE, {"signed_application": False}, T0)
    assert info.value.code == "missing_evidence"
    assert info.value.fields == ("application_date", "signed_application")
    with pytest.raises(TransitionRefused) as info:
        open_case(CaseSource.SCREENING, ACTORS[Role.SERVICE], VILLAGE, {"lead_id": "  "}, T0)
    assert info.value.code == "invalid_evidence"


# --- illegal steps: order, role, region ------------------------------------------------------

WRONG_ORDER = [(a, s) for a in CaseAction for s in CaseState if (a, s) not in TRANSITION_INDEX]


@pytest.mark.parametrize(("action", "state"), WRONG_ORDER, ids=[f"{a}-from-{s}" for a, s in WRONG_ORDER])
def test_every_step_out_of_order_is_refused(action: CaseAction, state: CaseState) -> None:
    case = dataclasses.replace(new_case(), state=state)
    # every role tries, with evidence that would be valid for the action
    for actor in ACTORS.values():
        error = refused(case, action, actor, evidence_for(action, T0), T0)
        assert error.code == "wrong_order"


def test_terminal_states_accept_nothing() -> None:
    for state in TERMINAL_STATES:
        case = dataclasses.replace(new_case(), state=state)
        error = refused(case, A.REJECT, ACTORS[Role.COUNTY_OFFICER], {"reason": "x"}, T0)
        assert "terminal" in error.message


WRONG_ROLE = [(t, r) for t in TRANSITIONS for r in sorted(set(Role) - t.roles)]


@pytest.mark.parametrize(("row", "role"), WRONG_ROLE, ids=[f"{t.action}-{t.from_state}-by-{r}" for t, r in WRONG_ROLE])
def test_every_step_by_a_role_not_allowed_is_refused(row: Transition, role: Role) -> None:
    case, now = walk_to(row.from_state)
    error = refused(case, row.action, ACTORS[role], evidence_for(row.action, now), now)
    assert error.code == "wrong_role"


def _outsiders(role: Role) -> list[Actor]:
    """Actors of ``role`` who must not act on a household of VILLAGE."""
    return {
        Role.VILLAGE_CADRE: [
            Actor(role, "410602001002"),  # the next village
            Actor(role, TOWNSHIP),  # a township code is not a village cadre's region
            Actor(role, ""),
        ],
        Role.TOWNSHIP_OFFICER: [Actor(role, "410602002"), Actor(role, COUNTY), Actor(role, VILLAGE)],
        Role.COUNTY_OFFICER: [Actor(role, "410603"), Actor(role, "41"), Actor(role, TOWNSHIP)],
        Role.ADMIN: [Actor(role, "410603"), Actor(role, "42")],
        Role.SERVICE: [],
    }[role]


WRONG_REGION = [(t, o) for t in TRANSITIONS for r in sorted(t.roles) for o in _outsiders(r)]


@pytest.mark.parametrize(
    ("row", "actor"),
    WRONG_REGION,
    ids=[f"{t.action}-{t.from_state}-{a.role}-{a.region or 'none'}" for t, a in WRONG_REGION],
)
def test_every_step_outside_the_actors_region_is_refused(row: Transition, actor: Actor) -> None:
    case, now = walk_to(row.from_state)
    error = refused(case, row.action, actor, evidence_for(row.action, now), now)
    assert error.code == "wrong_region"


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (Actor(Role.VILLAGE_CADRE, VILLAGE), True),
        (Actor(Role.VILLAGE_CADRE, "410602001002"), False),
        (Actor(Role.TOWNSHIP_OFFICER, TOWNSHIP), True),
        (Actor(Role.TOWNSHIP_OFFICER, "410602002"), False),
        (Actor(Role.COUNTY_OFFICER, COUNTY), True),
        (Actor(Role.COUNTY_OFFICER, "410603"), False),
        (Actor(Role.ADMIN, ""), True),  # a national admin
        (Actor(Role.ADMIN, "41"), True),
        (Actor(Role.ADMIN, "42"), False),
        (Actor(Role.SERVICE, ""), True),
        (Actor(Role.SERVICE, "999999"), True),
    ],
)
def test_region_allows(actor: Actor, allowed: bool) -> None:
    assert region_allows(actor, VILLAGE) is allowed


def test_unknown_action() -> None:
    error = refused(new_case(), "approve_everything", ACTORS[Role.ADMIN], {}, T0)
    assert error.code == "unknown_action"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        apply(new_case(), A.START_VERIFICATION, ACTORS[Role.VILLAGE_CADRE], {}, datetime(2026, 3, 2), notice_min_days=5)


def test_snapshot_needs_a_village_code() -> None:
    with pytest.raises(ValueError):
        CaseSnapshot(S.LEAD, CaseSource.SCREENING, TOWNSHIP, T0, T0)


def test_allowed_actions() -> None:
    case = new_case()
    assert allowed_actions(case, ACTORS[Role.VILLAGE_CADRE]) == (A.START_VERIFICATION, A.REJECT)
    assert allowed_actions(case, ACTORS[Role.COUNTY_OFFICER]) == ()
    assert allowed_actions(case, Actor(Role.VILLAGE_CADRE, "410602001002")) == ()
    confirmed, _ = walk_to(S.CONFIRMED)
    assert allowed_actions(confirmed, ACTORS[Role.SERVICE]) == (A.START_MONITORING,)


# --- illegal steps: evidence -----------------------------------------------------------------

REQUIRED_KEYS = [(t, rule.key) for t in TRANSITIONS for rule in t.evidence if rule.required_if_positive is None]


@pytest.mark.parametrize(
    ("row", "key"), REQUIRED_KEYS, ids=[f"{t.action}-{t.from_state}-without-{k}" for t, k in REQUIRED_KEYS]
)
def test_every_step_without_a_required_piece_of_evidence_is_refused(row: Transition, key: str) -> None:
    case, now = walk_to(row.from_state)
    evidence = evidence_for(row.action, now)
    del evidence[key]
    error = refused(case, row.action, ACTORS[sorted(row.roles)[0]], evidence, now)
    assert error.code == "missing_evidence"
    assert error.fields == (key,)
    assert key in error.message


def _at_step(action: CaseAction) -> tuple[CaseSnapshot, datetime, Actor, dict[str, object]]:
    row = next(t for t in FORWARD_TRANSITIONS if t.action is action)
    case, now = walk_to(row.from_state)
    return case, now, ACTORS[sorted(row.roles)[0]], evidence_for(action, now)


@pytest.mark.parametrize(
    ("action", "changes", "code", "field"),
    [
        (A.VERIFY, {"signed_consent": False}, "missing_evidence", "signed_consent"),
        (A.VERIFY, {"signed_consent": "yes"}, "invalid_evidence", "signed_consent"),
        (A.VERIFY, {"home_visit_findings": "   "}, "invalid_evidence", "home_visit_findings"),
        (A.VERIFY, {"home_visit_findings": 42}, "invalid_evidence", "home_visit_findings"),
        (A.VERIFY, {"visit_date": "2099-01-01"}, "invalid_evidence", "visit_date"),
        (A.VERIFY, {"visit_date": "03/02/2026"}, "invalid_evidence", "visit_date"),
        (A.VERIFY, {"visit_date": T0}, "invalid_evidence", "visit_date"),
        (A.VILLAGE_REVIEW, {"vote_result": "passed"}, "invalid_evidence", "vote_result"),
        (A.VILLAGE_REVIEW, {"vote_result": {"approve": 5}}, "invalid_evidence", "vote_result"),
        (A.VILLAGE_REVIEW, {"vote_result": {"approve": -1, "oppose": 0}}, "invalid_evidence", "vote_result"),
        (A.VILLAGE_REVIEW, {"vote_result": {"approve": 0, "oppose": 0}}, "invalid_evidence", "vote_result"),
        (A.VILLAGE_REVIEW, {"vote_result": {"approve": True, "oppose": 0}}, "invalid_evidence", "vote_result"),
        (A.VILLAGE_REVIEW, {"vote_result": {"approve": 3, "oppose": 3}}, "vote_not_passed", "vote_result"),
        (
            A.VILLAGE_REVIEW,
            {"vote_result": {"approve": 3, "oppose": 2, "abstain": 1}},
            "vote_not_passed",
            "vote_result",
        ),
        (A.PUBLISH_NOTICE, {"notice_days": 0}, "invalid_evidence", "notice_days"),
        (A.PUBLISH_NOTICE, {"notice_days": "5"}, "invalid_evidence", "notice_days"),
        (A.PUBLISH_NOTICE, {"notice_start_date": "soon"}, "invalid_evidence", "notice_start_date"),
        (A.TOWNSHIP_REVIEW, {"objection_count": -1}, "invalid_evidence", "objection_count"),
        (A.TOWNSHIP_REVIEW, {"objection_count": 2}, "missing_evidence", "objection_handling"),
        (
            A.TOWNSHIP_REVIEW,
            {"objection_count": 2, "objection_handling": ""},
            "invalid_evidence",
            "objection_handling",
        ),
        (A.CONFIRM, {"monitoring_type": "poor"}, "invalid_evidence", "monitoring_type"),
        (A.PROPOSE_ELIMINATION, {"elimination_kind": "forced"}, "invalid_evidence", "elimination_kind"),
        (A.ELIMINATION_VILLAGE_REVIEW, {"vote_result": {"approve": 1, "oppose": 1}}, "vote_not_passed", "vote_result"),
    ],
)
def test_bad_evidence_is_refused(action: CaseAction, changes: dict[str, object], code: str, field: str) -> None:
    case, now, actor, evidence = _at_step(action)
    error = refused(case, action, actor, evidence | changes, now)
    assert error.code == code
    assert error.fields == (field,)


def test_good_evidence_is_normalised_and_extra_keys_are_kept() -> None:
    case, now, actor, evidence = _at_step(A.TOWNSHIP_REVIEW)
    out = apply(
        case,
        A.TOWNSHIP_REVIEW,
        actor,
        {"objection_count": 2, "objection_handling": " 已逐一核实 ", "photo_ids": ["a", "b"]},
        now,
        notice_min_days=MIN_DAYS,
    )
    assert out.evidence == {"objection_count": 2, "objection_handling": "已逐一核实", "photo_ids": ["a", "b"]}
    case, now, actor, evidence = _at_step(A.VERIFY)
    out = apply(case, A.VERIFY, actor, evidence, now, notice_min_days=MIN_DAYS)
    assert out.evidence["visit_date"] == now.date()
    case, now, actor, _ = _at_step(A.VILLAGE_REVIEW)
    out = apply(
        case,
        A.VILLAGE_REVIEW,
        actor,
        {"vote_result": {"approve": 4, "oppose": 2, "abstain": 1}},
        now,
        notice_min_days=5,
    )
    assert out.evidence["vote_result"] == {"approve": 4, "oppose": 2, "abstain": 1}


def test_all_missing_keys_are_named_together() -> None:
    case, now, actor, _ = _at_step(A.VERIFY)
    error = refused(case, A.VERIFY, actor, {}, now)
    assert error.fields == ("home_visit_findings", "visit_date", "signed_consent")


# --- notices ---------------------------------------------------------------------------------


@pytest.mark.parametrize("action", [A.PUBLISH_NOTICE, A.PUBLISH_ELIMINATION_NOTICE])
@pytest.mark.parametrize(("days", "min_days", "ok"), [(4, 5, False), (5, 5, True), (6, 5, True), (6, 7, False)])
def test_notice_must_run_the_minimum_days(action: CaseAction, days: int, min_days: int, ok: bool) -> None:
    case, now, actor, evidence = _at_step(action)
    evidence["notice_days"] = days
    if ok:
        out = apply(case, action, actor, evidence, now, notice_min_days=min_days)
        assert out.case.notice_days == days
    else:
        error = refused(case, action, actor, evidence, now, notice_min_days=min_days)
        assert error.code == "notice_too_short"
        assert error.fields == ("notice_days",)


@pytest.mark.parametrize("action", [A.PUBLISH_NOTICE, A.PUBLISH_ELIMINATION_NOTICE])
def test_a_notice_cannot_start_before_the_village_review_but_may_start_later(action: CaseAction) -> None:
    case, now, actor, evidence = _at_step(action)
    reviewed_on = case.state_entered_at.date()
    day_before = (reviewed_on - timedelta(days=1)).isoformat()
    error = refused(case, action, actor, evidence | {"notice_start_date": day_before}, now)
    assert error.code == "invalid_evidence"
    later = (now + timedelta(days=3)).date()
    out = apply(case, action, actor, evidence | {"notice_start_date": later}, now, notice_min_days=MIN_DAYS)
    assert out.case.notice_start_date == later


@pytest.mark.parametrize(
    ("review", "publish"),
    [(A.TOWNSHIP_REVIEW, A.PUBLISH_NOTICE), (A.ELIMINATION_TOWNSHIP_REVIEW, A.PUBLISH_ELIMINATION_NOTICE)],
)
def test_review_waits_until_the_notice_has_run_its_days(review: CaseAction, publish: CaseAction) -> None:
    case, _, vc, evidence = _at_step(publish)
    start = datetime(2026, 6, 1, 8, 0, tzinfo=CHINA)
    case = dataclasses.replace(case, state_entered_at=start - timedelta(days=1))
    case = apply(case, publish, vc, evidence | {"notice_start_date": "2026-06-01"}, start, notice_min_days=5).case
    township = ACTORS[Role.TOWNSHIP_OFFICER]
    # the notice runs 1–5 June: the fifth day is still a notice day, the review comes on the sixth
    last_day = datetime(2026, 6, 5, 23, 59, tzinfo=CHINA)
    error = refused(case, review, township, {"objection_count": 0}, last_day)
    assert error.code == "notice_not_elapsed"
    assert "2026-06-06" in error.message
    # 5 June 16:30 UTC is already 6 June in China
    first_day = datetime(2026, 6, 5, 16, 30, tzinfo=UTC)
    assert apply(case, review, township, {"objection_count": 0}, first_day, notice_min_days=5).state is (
        TRANSITION_INDEX[(review, case.state)].to_state
    )
    # the days are the business clock's: in a county kept on UTC, 16:30 on 5 June is still the fifth
    with pytest.raises(TransitionRefused) as info:
        apply(case, review, township, {"objection_count": 0}, first_day, notice_min_days=5, zone=UTC)
    assert info.value.code == "notice_not_elapsed"


def test_reject_during_a_notice_does_not_wait_for_it() -> None:
    case, now = walk_to(S.NOTICE)
    out = apply(case, A.REJECT, ACTORS[Role.TOWNSHIP_OFFICER], {"reason": "异议成立"}, now, notice_min_days=5)
    assert out.state is S.REJECTED


def test_review_without_a_recorded_notice_is_refused() -> None:
    case, now = walk_to(S.NOTICE)
    case = dataclasses.replace(case, notice_start_date=None)
    error = refused(case, A.TOWNSHIP_REVIEW, ACTORS[Role.TOWNSHIP_OFFICER], {"objection_count": 0}, now)
    assert error.code == "notice_not_elapsed"


# --- overdue identification ------------------------------------------------------------------


def test_identification_overdue_after_20_working_days() -> None:
    case = new_case(now=T0)  # opened Monday 2 March 2026; 20 working days later is Monday 30 March
    limit = DEMO_THRESHOLDS.identification_limit_working_days
    assert not is_identification_overdue(case, date(2026, 3, 30), limit_working_days=limit)
    assert is_identification_overdue(case, date(2026, 3, 31), limit_working_days=limit)
    holiday = frozenset({date(2026, 3, 10)})
    assert not is_identification_overdue(case, date(2026, 3, 31), limit_working_days=limit, holidays=holiday)
    for state in CaseState:
        late = dataclasses.replace(case, state=state)
        assert is_identification_overdue(late, date(2026, 5, 1), limit_working_days=limit) is (
            state in IDENTIFICATION_STATES
        )


# --- property: random walks ------------------------------------------------------------------


def _try_apply(
    case: CaseSnapshot, action: CaseAction, actor: Actor, evidence: Mapping[str, object], now: datetime
) -> TransitionOutcome | TransitionRefused:
    try:
        return apply(case, action, actor, evidence, now, notice_min_days=MIN_DAYS)
    except TransitionRefused as error:
        return error


def test_a_second_change_to_the_same_type_is_refused() -> None:
    # the draw CI met (2026-12-04): confirmed, then 调整监测类型 twice with the same evidence
    case, now = walk_to(S.CONFIRMED)
    county = ACTORS[Role.COUNTY_OFFICER]
    case = apply(case, A.CHANGE_TYPE, county, evidence_for(A.CHANGE_TYPE, now), now, notice_min_days=MIN_DAYS).case
    assert case.monitoring_type is MonitoringType.UNSTABLE
    error = _try_apply(case, A.CHANGE_TYPE, county, evidence_for(A.CHANGE_TYPE, now), now)
    assert isinstance(error, TransitionRefused)
    assert error.code == "invalid_evidence"
    assert error.fields == ("monitoring_type",)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_steps_follow_the_table_or_are_refused_with_a_known_code(data: st.DataObject) -> None:
    case, now = new_case(), T0
    for _ in range(data.draw(st.integers(min_value=0, max_value=40))):
        now += timedelta(days=data.draw(st.integers(min_value=0, max_value=7)))
        rows = [t for t in TRANSITIONS if t.from_state is case.state]
        offered = data.draw(st.booleans(), label="take a step the table offers")
        if rows and offered:
            row = data.draw(st.sampled_from(rows))
            action, role = row.action, data.draw(st.sampled_from(sorted(row.roles)))
        else:
            action, role = data.draw(st.sampled_from(CaseAction)), data.draw(st.sampled_from(Role))
        evidence = evidence_for(action, now)
        if action is A.CHANGE_TYPE:
            # valid evidence names another type: a change to the current one is refused as
            # invalid_evidence (test_a_second_change_to_the_same_type_is_refused), not by the table
            evidence["monitoring_type"] = next(t.value for t in MonitoringType if t is not case.monitoring_type)
        out = _try_apply(case, action, ACTORS[role], evidence, now)
        if isinstance(out, TransitionRefused):
            assert out.code in REFUSAL_CODES
            found = TRANSITION_INDEX.get((action, case.state))
            if found is None:
                assert out.code == "wrong_order"
            elif role not in found.roles:
                assert out.code == "wrong_role"
            else:
                assert out.code == "notice_not_elapsed"
            continue
        found = TRANSITION_INDEX[(action, case.state)]
        assert out.state is found.to_state
        assert role in found.roles
        assert (out.case.monitoring_type is not None) or out.state in IDENTIFICATION_STATES | {S.REJECTED}
        case = out.case


# --- risk elimination ------------------------------------------------------------------------

TODAY = date(2026, 3, 15)
ELIGIBLE = EliminationFacts(
    confirmed_on=date(2025, 9, 15),  # exactly 6 months before TODAY
    measures_delivered=1,
    members=3,
    latest_income=Decimal("18000.00"),  # exactly 6000 a person
    labour_count=1,
)


def codes(blockers: list[Blocker]) -> list[BlockerCode]:
    return [b.code for b in blockers]


def test_an_eligible_household_has_no_blockers() -> None:
    assert elimination_blockers(ELIGIBLE, DEMO_THRESHOLDS, TODAY) == []


@pytest.mark.parametrize(
    ("changes", "today", "expected"),
    [
        ({}, date(2026, 3, 14), [BlockerCode.TOO_EARLY]),
        ({}, date(2026, 3, 16), []),
        ({"confirmed_on": date(2025, 8, 31)}, date(2026, 2, 27), [BlockerCode.TOO_EARLY]),
        ({"confirmed_on": date(2025, 8, 31)}, date(2026, 2, 28), []),  # 31 Aug + 6 months = 28 Feb
        ({"measures_delivered": 0}, TODAY, [BlockerCode.NO_MEASURE_DELIVERED]),
        ({"latest_income": Decimal("17999.99")}, TODAY, [BlockerCode.INCOME_BELOW_LINE]),
        ({"latest_income": Decimal("18000.01")}, TODAY, []),
        ({"latest_income": None}, TODAY, [BlockerCode.INCOME_BELOW_LINE]),
        ({"members": 0, "labour_count": 0}, TODAY, [BlockerCode.INCOME_BELOW_LINE, BlockerCode.NO_LABOUR]),
        ({"recent_lead_periods": ("2026-01",)}, TODAY, [BlockerCode.RECENT_LEAD]),
        ({"labour_count": 0}, TODAY, [BlockerCode.NO_LABOUR]),
        ({"open_housing_risk": True}, TODAY, [BlockerCode.OPEN_HOUSING_OR_WATER_RISK]),
        ({"open_water_risk": True}, TODAY, [BlockerCode.OPEN_HOUSING_OR_WATER_RISK]),
        (
            {"open_housing_risk": True, "open_water_risk": True},
            TODAY,
            [BlockerCode.OPEN_HOUSING_OR_WATER_RISK],
        ),
    ],
)
def test_each_elimination_blocker(changes: dict[str, object], today: date, expected: list[BlockerCode]) -> None:
    facts = dataclasses.replace(ELIGIBLE, **changes)  # type: ignore[arg-type]
    blockers = elimination_blockers(facts, DEMO_THRESHOLDS, today)
    assert codes(blockers) == expected
    for b in blockers:
        assert b.message_zh
        assert b.message_en


def test_all_blockers_at_once_in_the_order_of_the_spec() -> None:
    facts = EliminationFacts(
        confirmed_on=date(2026, 1, 1),
        measures_delivered=0,
        members=2,
        latest_income=Decimal("1000"),
        labour_count=0,
        recent_lead_periods=("2026-02", "2025-12"),
        open_housing_risk=True,
        open_water_risk=True,
    )
    blockers = elimination_blockers(facts, DEMO_THRESHOLDS, TODAY)
    assert codes(blockers) == list(BlockerCode)
    assert blockers[0].figures["earliest_date"] == "2026-07-01"
    assert "2026-07-01" in blockers[0].message_zh
    assert "2026-07-01" in blockers[0].message_en
    assert blockers[2].figures["per_capita_income"] == Decimal("500.00")
    assert "500.00" in blockers[2].message_zh
    assert "2025-12, 2026-02" in blockers[3].message_en
    assert "住房、饮水" in blockers[5].message_zh
    assert "housing and water" in blockers[5].message_en


def test_elimination_uses_the_county_parameters() -> None:
    t = dataclasses.replace(DEMO_THRESHOLDS, elimination_min_months=12, monitoring_line=Decimal("8700.00"))
    assert earliest_proposal_date(ELIGIBLE.confirmed_on, t) == date(2026, 9, 15)
    assert codes(elimination_blockers(ELIGIBLE, t, TODAY)) == [BlockerCode.TOO_EARLY, BlockerCode.INCOME_BELOW_LINE]


def test_plain_strings_from_a_database_row_are_accepted() -> None:
    row = CaseSnapshot(
        state="township_reviewed",  # type: ignore[arg-type]
        source="self_report",  # type: ignore[arg-type]
        household_region=VILLAGE,
        opened_at=T0,
        state_entered_at=T0,
        monitoring_type="marginal",  # type: ignore[arg-type]
    )
    assert row.state is S.TOWNSHIP_REVIEWED
    assert row.monitoring_type is MonitoringType.MARGINAL
    actor = Actor("county_officer", COUNTY)  # type: ignore[arg-type]
    assert actor.role is Role.COUNTY_OFFICER
    assert allowed_actions(row, actor) == (A.CONFIRM, A.REJECT, A.RETURN)
    out = apply(row, "confirm", actor, {"monitoring_type": "sudden_hardship"}, T0, notice_min_days=5)
    assert out.case.monitoring_type is MonitoringType.SUDDEN_HARDSHIP
    with pytest.raises(ValueError):
        Actor("mayor", COUNTY)  # type: ignore[arg-type]
