"""The monitoring case workflow (监测对象认定, rules.md §1.4) as data plus one pure function.

Identification track::

    lead ─start_verification→ verifying ─verify→ verified ─village_review→ village_reviewed
      ─publish_notice→ notice ─township_review→ township_reviewed ─confirm→ confirmed
      ─start_monitoring→ monitoring

Elimination track::

    monitoring ─propose_elimination→ elimination_proposed ─elimination_village_review→
      elimination_village_reviewed ─publish_elimination_notice→ elimination_notice
      ─elimination_township_review→ elimination_township_reviewed ─eliminate→ eliminated

Type change (类型变更, the monthly adjustment's third kind, rules.md §4)::

    monitoring ─change_type→ monitoring      confirmed ─change_type→ confirmed

a county officer changes the ``monitoring_type`` of a monitored household with a ``reason`` (the
registry status follows through the outbox, as on confirmation); the previous type is recorded in
the step's evidence as ``previous_type``.

"Returned (to the step before)" is the action ``return`` (moves to the previous state of the
track), not a state. ``reject`` ends the identification track in the terminal ``rejected``;
in the elimination track a rejection refuses the *elimination*, so the case goes back to
``monitoring`` (the household stays monitored; the registry is not touched). Both are open to
the roles of the pending step, in every state that has a pending step done by a person
(everything but ``confirmed``, ``monitoring`` and the terminal states), and need a ``reason``.

Each row of :data:`TRANSITIONS` says who may act (role, and the region level the actor must
hold for the household: village 12 digits, township 9, county 6), what evidence the step
needs, which notice rule applies and which registry effect (through the outbox) follows.
:func:`apply` checks a requested step against the table and returns the new case snapshot.
Elimination preconditions (rules.md §1.4) are facts from the database: the service checks
:func:`services.screening.domain.elimination.elimination_blockers` before
``propose_elimination``; this module only knows the workflow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

from shared.clock import DEFAULT_TIMEZONE
from shared.contracts.vocabulary import MonitoringType, Role

from .calendar import is_overdue
from .errors import TransitionRefused

#: The county's time zone when a caller names none: the kernel's business-clock default
#: (shared/clock.py); the service passes its clock's zone (`FANGPIN_TIMEZONE`).
COUNTY_ZONE: Final[tzinfo] = ZoneInfo(DEFAULT_TIMEZONE)


class EliminationKind(StrEnum):
    ASSISTED = "assisted"  # 帮扶消除
    NATURAL = "natural"  # 自然消除


class CaseSource(StrEnum):
    SCREENING = "screening"  # a lead of a monthly run
    SELF_REPORT = "self_report"  # 农户自主申报
    CADRE_VISIT = "cadre_visit"  # 基层干部排查


class CaseState(StrEnum):
    LEAD = "lead"
    VERIFYING = "verifying"
    VERIFIED = "verified"
    VILLAGE_REVIEWED = "village_reviewed"
    NOTICE = "notice"
    TOWNSHIP_REVIEWED = "township_reviewed"
    CONFIRMED = "confirmed"
    MONITORING = "monitoring"
    ELIMINATION_PROPOSED = "elimination_proposed"
    ELIMINATION_VILLAGE_REVIEWED = "elimination_village_reviewed"
    ELIMINATION_NOTICE = "elimination_notice"
    ELIMINATION_TOWNSHIP_REVIEWED = "elimination_township_reviewed"
    ELIMINATED = "eliminated"
    REJECTED = "rejected"


class CaseAction(StrEnum):
    OPEN = "open"  # only through open_case(); not in the transition table
    START_VERIFICATION = "start_verification"
    VERIFY = "verify"
    VILLAGE_REVIEW = "village_review"
    PUBLISH_NOTICE = "publish_notice"
    TOWNSHIP_REVIEW = "township_review"
    CONFIRM = "confirm"
    START_MONITORING = "start_monitoring"
    PROPOSE_ELIMINATION = "propose_elimination"
    ELIMINATION_VILLAGE_REVIEW = "elimination_village_review"
    PUBLISH_ELIMINATION_NOTICE = "publish_elimination_notice"
    ELIMINATION_TOWNSHIP_REVIEW = "elimination_township_review"
    ELIMINATE = "eliminate"
    REJECT = "reject"
    RETURN = "return"
    CHANGE_TYPE = "change_type"  # 类型变更: monitoring/confirmed → the same state, a new monitoring_type


class RegistryEffect(StrEnum):
    """What the service must send to the registry (through the outbox) after the step."""

    SET_MONITORING_STATUS = "set_monitoring_status"  # body: the case's monitoring_type
    CLEAR_MONITORING_STATUS = "clear_monitoring_status"


class NoticeRule(StrEnum):
    NONE = "none"
    PUBLISH = "publish"  # the step publishes a notice: ≥ notice_min_days
    ELAPSED = "elapsed"  # the step needs the published notice to have run its days


class Track(StrEnum):
    IDENTIFICATION = "identification"
    ELIMINATION = "elimination"


class EvidenceKind(StrEnum):
    TEXT = "text"  # a non-empty string
    TRUE_FLAG = "true_flag"  # must be present and true
    PAST_DATE = "past_date"  # a date (or ISO string) not after today
    DATE = "date"  # a date (or ISO string)
    POSITIVE_INT = "positive_int"
    COUNT = "count"  # an integer ≥ 0
    VOTE = "vote"  # {"approve": int, "oppose": int, "abstain": int?}, passed by majority of votes
    MONITORING_TYPE = "monitoring_type"
    ELIMINATION_KIND = "elimination_kind"


@dataclass(frozen=True, slots=True)
class EvidenceRule:
    key: str
    kind: EvidenceKind
    #: Required only when this other evidence key holds a positive count.
    required_if_positive: str | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    action: CaseAction
    from_state: CaseState
    to_state: CaseState
    roles: frozenset[Role]
    evidence: tuple[EvidenceRule, ...] = ()
    notice: NoticeRule = NoticeRule.NONE
    effect: RegistryEffect | None = None
    track: Track = Track.IDENTIFICATION


#: Region code length the actor's token ``region`` must have for the household.
#: ``admin`` may act anywhere under its region prefix; ``service`` is not region-bound.
REGION_LEVEL: Final[Mapping[Role, int]] = MappingProxyType(
    {Role.VILLAGE_CADRE: 12, Role.TOWNSHIP_OFFICER: 9, Role.COUNTY_OFFICER: 6}
)

REFUSAL_CODES: Final[tuple[str, ...]] = (
    "unknown_action",
    "wrong_order",
    "wrong_role",
    "wrong_region",
    "missing_evidence",
    "invalid_evidence",
    "vote_not_passed",
    "notice_too_short",
    "notice_not_elapsed",
)

_VC, _TO, _CO = Role.VILLAGE_CADRE, Role.TOWNSHIP_OFFICER, Role.COUNTY_OFFICER
_S = CaseState

_HOME_VISIT = (
    EvidenceRule("home_visit_findings", EvidenceKind.TEXT),
    EvidenceRule("visit_date", EvidenceKind.PAST_DATE),
)
_VOTE = (EvidenceRule("vote_result", EvidenceKind.VOTE),)
_NOTICE = (
    EvidenceRule("notice_start_date", EvidenceKind.DATE),
    EvidenceRule("notice_days", EvidenceKind.POSITIVE_INT),
)
_OBJECTIONS = (
    EvidenceRule("objection_count", EvidenceKind.COUNT),
    EvidenceRule("objection_handling", EvidenceKind.TEXT, required_if_positive="objection_count"),
)
_REASON = (EvidenceRule("reason", EvidenceKind.TEXT),)

#: The forward steps, in order, of both tracks.
FORWARD_TRANSITIONS: Final[tuple[Transition, ...]] = (
    Transition(CaseAction.START_VERIFICATION, _S.LEAD, _S.VERIFYING, frozenset({_VC, _TO})),
    Transition(
        CaseAction.VERIFY,
        _S.VERIFYING,
        _S.VERIFIED,
        frozenset({_VC, _TO}),
        (*_HOME_VISIT, EvidenceRule("signed_consent", EvidenceKind.TRUE_FLAG)),
    ),
    Transition(CaseAction.VILLAGE_REVIEW, _S.VERIFIED, _S.VILLAGE_REVIEWED, frozenset({_VC}), _VOTE),
    Transition(
        CaseAction.PUBLISH_NOTICE,
        _S.VILLAGE_REVIEWED,
        _S.NOTICE,
        frozenset({_VC}),
        _NOTICE,
        notice=NoticeRule.PUBLISH,
    ),
    Transition(
        CaseAction.TOWNSHIP_REVIEW,
        _S.NOTICE,
        _S.TOWNSHIP_REVIEWED,
        frozenset({_TO}),
        _OBJECTIONS,
        notice=NoticeRule.ELAPSED,
    ),
    Transition(
        CaseAction.CONFIRM,
        _S.TOWNSHIP_REVIEWED,
        _S.CONFIRMED,
        frozenset({_CO}),
        (EvidenceRule("monitoring_type", EvidenceKind.MONITORING_TYPE),),
        effect=RegistryEffect.SET_MONITORING_STATUS,
    ),
    Transition(
        CaseAction.START_MONITORING,
        _S.CONFIRMED,
        _S.MONITORING,
        frozenset({Role.SERVICE, _CO, Role.ADMIN}),
    ),
    Transition(
        CaseAction.PROPOSE_ELIMINATION,
        _S.MONITORING,
        _S.ELIMINATION_PROPOSED,
        frozenset({_VC}),
        (EvidenceRule("elimination_kind", EvidenceKind.ELIMINATION_KIND), *_HOME_VISIT),
        track=Track.ELIMINATION,
    ),
    Transition(
        CaseAction.ELIMINATION_VILLAGE_REVIEW,
        _S.ELIMINATION_PROPOSED,
        _S.ELIMINATION_VILLAGE_REVIEWED,
        frozenset({_VC}),
        _VOTE,
        track=Track.ELIMINATION,
    ),
    Transition(
        CaseAction.PUBLISH_ELIMINATION_NOTICE,
        _S.ELIMINATION_VILLAGE_REVIEWED,
        _S.ELIMINATION_NOTICE,
        frozenset({_VC}),
        _NOTICE,
        notice=NoticeRule.PUBLISH,
        track=Track.ELIMINATION,
    ),
    Transition(
        CaseAction.ELIMINATION_TOWNSHIP_REVIEW,
        _S.ELIMINATION_NOTICE,
        _S.ELIMINATION_TOWNSHIP_REVIEWED,
        frozenset({_TO}),
        _OBJECTIONS,
        notice=NoticeRule.ELAPSED,
        track=Track.ELIMINATION,
    ),
    Transition(
        CaseAction.ELIMINATE,
        _S.ELIMINATION_TOWNSHIP_REVIEWED,
        _S.ELIMINATED,
        frozenset({_CO}),
        effect=RegistryEffect.CLEAR_MONITORING_STATUS,
        track=Track.ELIMINATION,
    ),
)

#: States whose pending step is an automatic hand-off or that start a track: no reject/return.
_NO_REVIEW_FROM: Final = frozenset({_S.CONFIRMED, _S.MONITORING})


def _review_transitions() -> tuple[Transition, ...]:
    previous = {t.to_state: t.from_state for t in FORWARD_TRANSITIONS}
    rows: list[Transition] = []
    for forward in FORWARD_TRANSITIONS:
        state = forward.from_state
        if state in _NO_REVIEW_FROM:
            continue
        elimination = forward.track is Track.ELIMINATION
        rows.append(
            Transition(
                CaseAction.REJECT,
                state,
                _S.MONITORING if elimination else _S.REJECTED,
                forward.roles,
                _REASON,
                track=forward.track,
            )
        )
        if state in previous:
            rows.append(
                Transition(CaseAction.RETURN, state, previous[state], forward.roles, _REASON, track=forward.track)
            )
    return tuple(rows)


#: Reject and return rows, derived from the forward rows (same roles as the pending step).
REVIEW_TRANSITIONS: Final[tuple[Transition, ...]] = _review_transitions()
#: The type change of a monitored household (类型变更): the case stays in its state.
TYPE_CHANGE_TRANSITIONS: Final[tuple[Transition, ...]] = tuple(
    Transition(
        CaseAction.CHANGE_TYPE,
        state,
        state,
        frozenset({_CO}),
        (EvidenceRule("monitoring_type", EvidenceKind.MONITORING_TYPE), *_REASON),
        effect=RegistryEffect.SET_MONITORING_STATUS,
    )
    for state in (_S.CONFIRMED, _S.MONITORING)
)
#: The whole table.
TRANSITIONS: Final[tuple[Transition, ...]] = FORWARD_TRANSITIONS + REVIEW_TRANSITIONS + TYPE_CHANGE_TRANSITIONS
TRANSITION_INDEX: Final[Mapping[tuple[CaseAction, CaseState], Transition]] = MappingProxyType(
    {(t.action, t.from_state): t for t in TRANSITIONS}
)
TERMINAL_STATES: Final[frozenset[CaseState]] = frozenset({_S.ELIMINATED, _S.REJECTED})
#: States of a case still being identified (the 20-working-day limit runs in them).
IDENTIFICATION_STATES: Final[frozenset[CaseState]] = frozenset(
    {_S.LEAD, _S.VERIFYING, _S.VERIFIED, _S.VILLAGE_REVIEWED, _S.NOTICE, _S.TOWNSHIP_REVIEWED}
)
#: Open cases (a household with one gets new screening evidence on it instead of a new lead).
OPEN_STATES: Final[frozenset[CaseState]] = frozenset(_S) - TERMINAL_STATES

#: Who may open a case from each source, and the evidence it needs.
OPENING_ROLES: Final[Mapping[CaseSource, frozenset[Role]]] = MappingProxyType(
    {
        CaseSource.SCREENING: frozenset({Role.SERVICE, _TO, _CO}),
        CaseSource.SELF_REPORT: frozenset({_VC, _TO}),
        CaseSource.CADRE_VISIT: frozenset({_VC, _TO}),
    }
)
OPENING_EVIDENCE: Final[Mapping[CaseSource, tuple[EvidenceRule, ...]]] = MappingProxyType(
    {
        CaseSource.SCREENING: (EvidenceRule("lead_id", EvidenceKind.TEXT),),
        CaseSource.SELF_REPORT: (
            EvidenceRule("application_date", EvidenceKind.PAST_DATE),
            EvidenceRule("signed_application", EvidenceKind.TRUE_FLAG),
        ),
        CaseSource.CADRE_VISIT: _HOME_VISIT,
    }
)

_PRE_NOTICE_STATES: Final = frozenset(
    {
        _S.LEAD,
        _S.VERIFYING,
        _S.VERIFIED,
        _S.VILLAGE_REVIEWED,
        _S.MONITORING,
        _S.ELIMINATION_PROPOSED,
        _S.ELIMINATION_VILLAGE_REVIEWED,
    }
)


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller, from its token: one role and the region code prefix it may act in."""

    role: Role
    region: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))  # accept the token's plain string


@dataclass(frozen=True, slots=True)
class CaseSnapshot:
    """What the workflow needs to know about a case (the service loads it from its row)."""

    state: CaseState
    source: CaseSource
    household_region: str  # the household's 12-digit village code
    opened_at: datetime
    state_entered_at: datetime
    notice_start_date: date | None = None
    notice_days: int | None = None
    monitoring_type: MonitoringType | None = None
    confirmed_at: datetime | None = None
    elimination_kind: EliminationKind | None = None

    def __post_init__(self) -> None:
        if len(self.household_region) != 12 or not self.household_region.isdigit():
            raise ValueError("household_region must be a 12-digit village code")
        # Accept the plain strings of a database row.
        object.__setattr__(self, "state", CaseState(self.state))
        object.__setattr__(self, "source", CaseSource(self.source))
        if self.monitoring_type is not None:
            object.__setattr__(self, "monitoring_type", MonitoringType(self.monitoring_type))
        if self.elimination_kind is not None:
            object.__setattr__(self, "elimination_kind", EliminationKind(self.elimination_kind))


@dataclass(frozen=True, slots=True)
class TransitionOutcome:
    case: CaseSnapshot  # the case after the step
    transition: Transition  # the table row applied
    evidence: Mapping[str, object]  # the evidence, normalised (dates as date), extra keys kept
    at: datetime

    @property
    def state(self) -> CaseState:
        return self.case.state

    @property
    def effect(self) -> RegistryEffect | None:
        return self.transition.effect


def local_date(moment: datetime, zone: tzinfo = COUNTY_ZONE) -> date:
    """The county's date of an aware datetime (in `zone`, the business clock's time zone)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment.astimezone(zone).date()


def region_allows(actor: Actor, household_region: str) -> bool:
    """The region check of rules.md §1.4: an actor acts only on households of its own region."""
    if actor.role is Role.SERVICE:
        return True
    level = REGION_LEVEL.get(actor.role)
    if level is not None and len(actor.region) != level:
        return False
    return household_region.startswith(actor.region)


def open_case(
    source: CaseSource,
    actor: Actor,
    household_region: str,
    evidence: Mapping[str, object],
    now: datetime,
    *,
    zone: tzinfo = COUNTY_ZONE,
) -> TransitionOutcome:
    """A new case in state ``lead`` from a lead, a self-report or a cadre visit (dates in `zone`).

    Refused like a transition: ``wrong_role``, ``wrong_region``, ``missing_evidence``,
    ``invalid_evidence``. The returned ``transition`` is a synthetic ``open`` row (lead → lead)
    carrying the roles and evidence rules of the source, so the service records it like a step.
    """
    today = local_date(now, zone)
    roles = OPENING_ROLES[CaseSource(source)]
    if actor.role not in roles:
        raise TransitionRefused(
            "wrong_role",
            f"a {actor.role} may not open a case from {source}; allowed: {_names(roles)}",
        )
    case = CaseSnapshot(
        state=_S.LEAD,
        source=CaseSource(source),
        household_region=household_region,
        opened_at=now,
        state_entered_at=now,
    )
    _check_region(actor, case)
    normalised = _validate_evidence(OPENING_EVIDENCE[case.source], evidence, today)
    row = Transition(CaseAction.OPEN, _S.LEAD, _S.LEAD, roles, OPENING_EVIDENCE[case.source])
    return TransitionOutcome(case=case, transition=row, evidence=normalised, at=now)


def apply(
    case: CaseSnapshot,
    action: CaseAction | str,
    actor: Actor,
    evidence: Mapping[str, object],
    now: datetime,
    *,
    notice_min_days: int,
    zone: tzinfo = COUNTY_ZONE,
) -> TransitionOutcome:
    """Apply one step to a case, or raise :class:`TransitionRefused`.

    Checks, in this order: the action exists (``unknown_action``); the table has a row for it
    from the case's state (``wrong_order``); the actor's role is on the row (``wrong_role``);
    the household lies in the actor's region at the role's level (``wrong_region``); for a
    review after a notice, the notice has run all its days (``notice_not_elapsed``); the
    evidence (``missing_evidence``, ``invalid_evidence``, ``vote_not_passed``,
    ``notice_too_short``). ``notice_min_days`` comes from the county's thresholds; days are
    dates in ``zone``, the county's time zone.
    """
    try:
        act = CaseAction(action)
    except ValueError:
        raise TransitionRefused("unknown_action", f"no such action: {action!r}") from None
    today = local_date(now, zone)
    row = TRANSITION_INDEX.get((act, case.state))
    if row is None:
        possible = sorted(t.action.value for t in TRANSITIONS if t.from_state is case.state)
        raise TransitionRefused(
            "wrong_order",
            f"cannot {act} a case in state {case.state}"
            + (f"; possible: {', '.join(possible)}" if possible else " (terminal state)"),
        )
    if actor.role not in row.roles:
        raise TransitionRefused("wrong_role", f"{act} from {case.state} is for {_names(row.roles)}, not {actor.role}")
    _check_region(actor, case)

    if row.notice is NoticeRule.ELAPSED:
        _check_notice_elapsed(case, today)
    normalised = _validate_evidence(row.evidence, evidence, today)
    if act is CaseAction.CHANGE_TYPE:
        return _change_type(case, row, normalised, now)
    changes: dict[str, object] = {"state": row.to_state, "state_entered_at": now}
    if row.notice is NoticeRule.PUBLISH:
        start, days = _check_notice_publish(case, normalised, notice_min_days, zone)
        changes.update(notice_start_date=start, notice_days=days)
    elif row.to_state in _PRE_NOTICE_STATES:
        changes.update(notice_start_date=None, notice_days=None)
    if act is CaseAction.CONFIRM:
        changes.update(monitoring_type=normalised["monitoring_type"], confirmed_at=now)
    if act is CaseAction.PROPOSE_ELIMINATION:
        changes["elimination_kind"] = normalised["elimination_kind"]
    elif row.to_state is _S.MONITORING:
        changes["elimination_kind"] = None
    new_case = dataclasses.replace(case, **changes)  # type: ignore[arg-type]
    return TransitionOutcome(case=new_case, transition=row, evidence=normalised, at=now)


def _change_type(
    case: CaseSnapshot, row: Transition, normalised: dict[str, object], now: datetime
) -> TransitionOutcome:
    """The type change: a new ``monitoring_type`` (not the current one), the state and its dates kept."""
    new_type = normalised["monitoring_type"]
    if new_type == case.monitoring_type:
        raise TransitionRefused(
            "invalid_evidence", f"monitoring_type: the household is already {new_type}", ("monitoring_type",)
        )
    normalised["previous_type"] = case.monitoring_type.value if case.monitoring_type else None
    new_case = dataclasses.replace(case, monitoring_type=new_type)  # type: ignore[arg-type]
    return TransitionOutcome(case=new_case, transition=row, evidence=normalised, at=now)


def allowed_actions(case: CaseSnapshot, actor: Actor) -> tuple[CaseAction, ...]:
    """Actions this actor may attempt on this case now (role and region), for the apps' menus."""
    if not region_allows(actor, case.household_region):
        return ()
    return tuple(t.action for t in TRANSITIONS if t.from_state is case.state and actor.role in t.roles)


def is_identification_overdue(
    case: CaseSnapshot,
    today: date,
    *,
    limit_working_days: int,
    holidays: frozenset[date] = frozenset(),
    extra_workdays: frozenset[date] = frozenset(),
    zone: tzinfo = COUNTY_ZONE,
) -> bool:
    """Still being identified and past the working-day limit counted from the opening date."""
    if case.state not in IDENTIFICATION_STATES:
        return False
    return is_overdue(
        local_date(case.opened_at, zone), today, limit_working_days, holidays, extra_workdays=extra_workdays
    )


# --- checks ---------------------------------------------------------------------------------


def _names(roles: frozenset[Role]) -> str:
    return ", ".join(sorted(r.value for r in roles))


def _check_region(actor: Actor, case: CaseSnapshot) -> None:
    if not region_allows(actor, case.household_region):
        level = REGION_LEVEL.get(actor.role)
        need = f" (a {level}-digit region code)" if level else ""
        raise TransitionRefused(
            "wrong_region",
            f"household in {case.household_region} is outside the {actor.role}'s region "
            f"{actor.region or '(none)'}{need}",
        )


def _check_notice_elapsed(case: CaseSnapshot, today: date) -> None:
    if case.notice_start_date is None or case.notice_days is None:
        raise TransitionRefused("notice_not_elapsed", "no notice has been published for this case")
    ends = case.notice_start_date + timedelta(days=case.notice_days)
    if today < ends:
        raise TransitionRefused(
            "notice_not_elapsed",
            f"the notice runs {case.notice_days} days from {case.notice_start_date}; review is possible from {ends}",
        )


def _check_notice_publish(
    case: CaseSnapshot, evidence: Mapping[str, object], notice_min_days: int, zone: tzinfo
) -> tuple[date, int]:
    start = evidence["notice_start_date"]
    days = evidence["notice_days"]
    assert isinstance(start, date)
    assert isinstance(days, int)
    if days < notice_min_days:
        raise TransitionRefused(
            "notice_too_short",
            f"a notice must run at least {notice_min_days} days, not {days}",
            ("notice_days",),
        )
    reviewed_on = local_date(case.state_entered_at, zone)
    if start < reviewed_on:
        raise TransitionRefused(
            "invalid_evidence",
            f"the notice cannot start ({start}) before the village review ({reviewed_on})",
            ("notice_start_date",),
        )
    return start, days


def _validate_evidence(
    rules: tuple[EvidenceRule, ...], evidence: Mapping[str, object], today: date
) -> dict[str, object]:
    """Check every rule; missing keys are reported together, before invalid values."""
    normalised: dict[str, object] = dict(evidence)
    missing: list[str] = []
    invalid: list[tuple[str, str]] = []
    for rule in rules:
        value = evidence.get(rule.key)
        if rule.required_if_positive is not None:
            count = evidence.get(rule.required_if_positive)
            if not (isinstance(count, int) and not isinstance(count, bool) and count > 0):
                continue
        if value is None or (rule.kind is EvidenceKind.TRUE_FLAG and value is False):
            missing.append(rule.key)
            continue
        ok, result = _validate_value(rule.kind, value, today)
        if ok:
            normalised[rule.key] = result
        else:
            invalid.append((rule.key, str(result)))
    if missing:
        raise TransitionRefused("missing_evidence", f"missing evidence: {', '.join(missing)}", tuple(missing))
    if invalid:
        raise TransitionRefused(
            "invalid_evidence",
            "; ".join(f"{key}: {message}" for key, message in invalid),
            tuple(key for key, _ in invalid),
        )
    for rule in rules:
        if rule.kind is EvidenceKind.VOTE and rule.key in normalised:
            vote = normalised[rule.key]
            assert isinstance(vote, Mapping)
            if 2 * vote["approve"] <= vote["approve"] + vote["oppose"] + vote["abstain"]:
                raise TransitionRefused(
                    "vote_not_passed",
                    f"{rule.key}: {vote['approve']} of {vote['approve'] + vote['oppose'] + vote['abstain']}"
                    " votes approve, not a majority; reject or return the case instead",
                    (rule.key,),
                )
    return normalised


def _as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _validate_value(kind: EvidenceKind, value: object, today: date) -> tuple[bool, object]:
    """``(True, normalised)`` or ``(False, message)``."""
    match kind:
        case EvidenceKind.TEXT:
            if isinstance(value, str) and value.strip():
                return True, value.strip()
            return False, "must be a non-empty text"
        case EvidenceKind.TRUE_FLAG:
            return (True, True) if value is True else (False, "must be true")
        case EvidenceKind.DATE | EvidenceKind.PAST_DATE:
            parsed = _as_date(value)
            if parsed is None:
                return False, "must be a date (YYYY-MM-DD)"
            if kind is EvidenceKind.PAST_DATE and parsed > today:
                return False, f"{parsed} is in the future"
            return True, parsed
        case EvidenceKind.POSITIVE_INT:
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return True, value
            return False, "must be a positive integer"
        case EvidenceKind.COUNT:
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return True, value
            return False, "must be an integer ≥ 0"
        case EvidenceKind.VOTE:
            return _validate_vote(value)
        case EvidenceKind.MONITORING_TYPE:
            try:
                return True, MonitoringType(str(value))
            except ValueError:
                return False, f"must be one of {', '.join(t.value for t in MonitoringType)}"
        case EvidenceKind.ELIMINATION_KIND:
            try:
                return True, EliminationKind(str(value))
            except ValueError:
                return False, f"must be one of {', '.join(k.value for k in EliminationKind)}"
    raise AssertionError(kind)  # pragma: no cover


def _validate_vote(value: object) -> tuple[bool, object]:
    message = 'must be {"approve": n, "oppose": n, "abstain": n} with counts ≥ 0 and at least one vote'
    if not isinstance(value, Mapping):
        return False, message
    if "approve" not in value or "oppose" not in value:
        return False, message
    counts: dict[str, int] = {}
    for key in ("approve", "oppose", "abstain"):
        count = value.get(key, 0)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            return False, message
        counts[key] = count
    if sum(counts.values()) == 0:
        return False, message
    extra = {k: v for k, v in value.items() if k not in counts}
    return True, {**extra, **counts}
