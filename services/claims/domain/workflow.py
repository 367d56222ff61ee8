"""The claim workflow of rules.md §2.4, as data.

    reported → investigating (insurer) → investigated → village_reviewed (村两委)
             → township_reviewed → filed (county 备案) → assessed (insurer; amount from §2.2)
             → in_notice (notice_days, objections) → approved → paying → paid
    any review → rejected (reason code) or returned; an upheld objection → back to investigating
    payment failure → payment_failed → paying again (never a second payment)

Who does what (role; region level the caller must hold: village 12 digits, township 9,
county 6; ``service`` is the system itself and is never region-checked):

    action                  from → to                              role                      region
    start_investigation     reported → investigating               insurer_adjuster          county
    complete_investigation  investigating → investigated           insurer_adjuster          county
    village_review          investigated → village_reviewed        village_cadre             village
    township_review         village_reviewed → township_reviewed   township_officer          township
    file (备案)             township_reviewed → filed              county_officer            county
    assess                  filed → assessed                       insurer_adjuster          county
    publish_notice          assessed → in_notice                   county_officer, service   county
    uphold_objection        in_notice → investigating              county_officer            county
    approve                 in_notice → approved (window ended)    service                   -
    approve_override        in_notice → approved                   county_officer            county
    start_payment           approved → paying                      service                   -
    confirm_payment         paying → paid                          service                   -
    fail_payment            paying → payment_failed                service                   -
    retry_payment           payment_failed → paying                service                   -
    reject                  investigating → rejected               insurer_adjuster          county
                            investigated → rejected                village_cadre             village
                            village_reviewed → rejected            township_officer          township
                            township_reviewed → rejected           county_officer            county
                            filed → rejected (ineligible)          insurer_adjuster          county
    return                  investigated → investigating           village_cadre             village
                            village_reviewed → investigated        township_officer          township
                            township_reviewed → village_reviewed   county_officer            county
                            filed → township_reviewed              insurer_adjuster          county

Decisions where the spec is silent:

- A *review state* is one where a reviewer acts: investigating, investigated,
  village_reviewed, township_reviewed and filed. ``reject`` (→ rejected, with a reason code
  the caller records) and ``return`` are done by whoever does that state's forward step;
  ``return`` goes back one step so the previous actor redoes theirs (rules.md §1.4: "returned
  (to the step before)"); there is no separate ``returned`` state.
- ``assess`` is the insurer's step for an eligible assessment; an ineligible one is a
  ``reject`` from ``filed`` with the engine's rejection code as the reason.
- ``approve`` is the scheduler or the CLI (role ``service``) once the notice window has ended
  without an upheld objection; ``approve_override`` lets a county officer do the same by hand.
  Neither is told the date here: the service checks the window (``notice_window_open``).
  Objections are records on the claim, not transitions; only an upheld one moves it.
- Payment state changes are the service's (batch creation and the bank confirmation file
  are authorised by the HTTP layer, then applied as ``service``). ``paid`` and ``rejected``
  are terminal: no action leaves them, so a claim is paid at most once.
- ``admin`` administers the system and does no workflow step (separation of duties); nor do
  ``auditor`` and ``department_feeder`` (they get ``wrong_role``). ``Role`` is the shared
  vocabulary's (shared/contracts/vocabulary.py), the one ``shared.auth`` uses.
- A region is a division-code prefix as in the JWT ``region`` claim; a human caller with an
  empty (national) region is refused at every region-checked step.
- ``service`` is never region-checked; every human step requires the caller's region code to
  have the step's level and to contain the claim's village.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from uuid import UUID

from services.claims.domain.values import ClaimsDomainError
from shared.contracts.vocabulary import Role as Role  # the shared vocabulary; tests and callers take it from here


class ClaimState(StrEnum):
    REPORTED = "reported"
    INVESTIGATING = "investigating"
    INVESTIGATED = "investigated"
    VILLAGE_REVIEWED = "village_reviewed"
    TOWNSHIP_REVIEWED = "township_reviewed"
    FILED = "filed"
    ASSESSED = "assessed"
    IN_NOTICE = "in_notice"
    APPROVED = "approved"
    PAYING = "paying"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    REJECTED = "rejected"


TERMINAL_STATES: frozenset[ClaimState] = frozenset({ClaimState.PAID, ClaimState.REJECTED})
REVIEW_STATES: frozenset[ClaimState] = frozenset(
    {
        ClaimState.INVESTIGATING,
        ClaimState.INVESTIGATED,
        ClaimState.VILLAGE_REVIEWED,
        ClaimState.TOWNSHIP_REVIEWED,
        ClaimState.FILED,
    }
)


class ClaimAction(StrEnum):
    START_INVESTIGATION = "start_investigation"
    COMPLETE_INVESTIGATION = "complete_investigation"
    VILLAGE_REVIEW = "village_review"
    TOWNSHIP_REVIEW = "township_review"
    FILE = "file"
    ASSESS = "assess"
    PUBLISH_NOTICE = "publish_notice"
    UPHOLD_OBJECTION = "uphold_objection"
    APPROVE = "approve"
    APPROVE_OVERRIDE = "approve_override"
    START_PAYMENT = "start_payment"
    CONFIRM_PAYMENT = "confirm_payment"
    FAIL_PAYMENT = "fail_payment"
    RETRY_PAYMENT = "retry_payment"
    REJECT = "reject"
    RETURN = "return"


class RegionLevel(StrEnum):
    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"


REGION_CODE_LENGTH: Mapping[RegionLevel, int] = MappingProxyType(
    {RegionLevel.VILLAGE: 12, RegionLevel.TOWNSHIP: 9, RegionLevel.COUNTY: 6}
)


class TransitionNotAllowed(ClaimsDomainError):
    """A workflow step refused; ``reason`` is one of REASONS."""

    REASONS = ("wrong_role", "wrong_order", "wrong_region", "unknown_action")

    def __init__(self, reason: str, message: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {message}" if message else reason)


@dataclass(frozen=True, slots=True)
class Transition:
    action: ClaimAction
    from_states: frozenset[ClaimState]
    to_state: ClaimState
    roles: frozenset[Role]
    region_level: RegionLevel | None  # for human roles; ``service`` is never region-checked

    def region_level_for(self, role: Role | str) -> RegionLevel | None:
        """The region level ``role`` must hold for this step (None: no region check)."""
        return None if Role(role) is Role.SERVICE else self.region_level


def _t(
    action: ClaimAction,
    from_state: ClaimState,
    to_state: ClaimState,
    roles: set[Role],
    level: RegionLevel | None,
) -> Transition:
    return Transition(action, frozenset({from_state}), to_state, frozenset(roles), level)


S, A, R, L = ClaimState, ClaimAction, Role, RegionLevel

TRANSITIONS: tuple[Transition, ...] = (
    _t(A.START_INVESTIGATION, S.REPORTED, S.INVESTIGATING, {R.INSURER_ADJUSTER}, L.COUNTY),
    _t(A.COMPLETE_INVESTIGATION, S.INVESTIGATING, S.INVESTIGATED, {R.INSURER_ADJUSTER}, L.COUNTY),
    _t(A.VILLAGE_REVIEW, S.INVESTIGATED, S.VILLAGE_REVIEWED, {R.VILLAGE_CADRE}, L.VILLAGE),
    _t(A.TOWNSHIP_REVIEW, S.VILLAGE_REVIEWED, S.TOWNSHIP_REVIEWED, {R.TOWNSHIP_OFFICER}, L.TOWNSHIP),
    _t(A.FILE, S.TOWNSHIP_REVIEWED, S.FILED, {R.COUNTY_OFFICER}, L.COUNTY),
    _t(A.ASSESS, S.FILED, S.ASSESSED, {R.INSURER_ADJUSTER}, L.COUNTY),
    _t(A.PUBLISH_NOTICE, S.ASSESSED, S.IN_NOTICE, {R.COUNTY_OFFICER, R.SERVICE}, L.COUNTY),
    _t(A.UPHOLD_OBJECTION, S.IN_NOTICE, S.INVESTIGATING, {R.COUNTY_OFFICER}, L.COUNTY),
    _t(A.APPROVE, S.IN_NOTICE, S.APPROVED, {R.SERVICE}, None),
    _t(A.APPROVE_OVERRIDE, S.IN_NOTICE, S.APPROVED, {R.COUNTY_OFFICER}, L.COUNTY),
    _t(A.START_PAYMENT, S.APPROVED, S.PAYING, {R.SERVICE}, None),
    _t(A.CONFIRM_PAYMENT, S.PAYING, S.PAID, {R.SERVICE}, None),
    _t(A.FAIL_PAYMENT, S.PAYING, S.PAYMENT_FAILED, {R.SERVICE}, None),
    _t(A.RETRY_PAYMENT, S.PAYMENT_FAILED, S.PAYING, {R.SERVICE}, None),
    # reject: by whoever does the state's forward step
    _t(A.REJECT, S.INVESTIGATING, S.REJECTED, {R.INSURER_ADJUSTER}, L.COUNTY),
    _t(A.REJECT, S.INVESTIGATED, S.REJECTED, {R.VILLAGE_CADRE}, L.VILLAGE),
    _t(A.REJECT, S.VILLAGE_REVIEWED, S.REJECTED, {R.TOWNSHIP_OFFICER}, L.TOWNSHIP),
    _t(A.REJECT, S.TOWNSHIP_REVIEWED, S.REJECTED, {R.COUNTY_OFFICER}, L.COUNTY),
    _t(A.REJECT, S.FILED, S.REJECTED, {R.INSURER_ADJUSTER}, L.COUNTY),
    # return: one step back, so the previous actor redoes their step
    _t(A.RETURN, S.INVESTIGATED, S.INVESTIGATING, {R.VILLAGE_CADRE}, L.VILLAGE),
    _t(A.RETURN, S.VILLAGE_REVIEWED, S.INVESTIGATED, {R.TOWNSHIP_OFFICER}, L.TOWNSHIP),
    _t(A.RETURN, S.TOWNSHIP_REVIEWED, S.VILLAGE_REVIEWED, {R.COUNTY_OFFICER}, L.COUNTY),
    _t(A.RETURN, S.FILED, S.TOWNSHIP_REVIEWED, {R.INSURER_ADJUSTER}, L.COUNTY),
)

del S, A, R, L

_BY_ACTION: dict[ClaimAction, tuple[Transition, ...]] = {
    action: tuple(t for t in TRANSITIONS if t.action is action) for action in ClaimAction
}


def find_transition(current: ClaimState | str, action: ClaimAction | str, role: Role | str) -> Transition:
    """The transition ``role`` may take with ``action`` from ``current``, or TransitionNotAllowed.

    Reasons: ``unknown_action``; ``wrong_role`` when the role may never take the action, or
    not from this state (another actor's step); ``wrong_order`` when the action does not
    leave this state (including every action on a terminal state).
    """
    try:
        act = ClaimAction(action)
    except ValueError:
        raise TransitionNotAllowed("unknown_action", f"no action {action!r}") from None
    try:
        state = ClaimState(current)
    except ValueError:
        raise TransitionNotAllowed("wrong_order", f"no state {current!r}") from None
    try:
        who = Role(role)
    except ValueError:
        raise TransitionNotAllowed("wrong_role", f"no role {role!r}") from None
    candidates = _BY_ACTION[act]
    if not any(who in t.roles for t in candidates):
        raise TransitionNotAllowed("wrong_role", f"{who.value} may not {act.value}")
    for transition in candidates:
        if state in transition.from_states:
            if who not in transition.roles:
                allowed = ", ".join(sorted(r.value for r in transition.roles))
                raise TransitionNotAllowed("wrong_role", f"{act.value} from {state.value} is for {allowed}")
            return transition
    raise TransitionNotAllowed("wrong_order", f"{act.value} is not possible from {state.value}")


def next_state(current: ClaimState | str, action: ClaimAction | str, role: Role | str) -> ClaimState:
    """The state after ``role`` takes ``action`` on a claim in ``current`` (no region check)."""
    return find_transition(current, action, role).to_state


def region_allows(level: RegionLevel | None, caller_region: str, claim_village_code: str) -> bool:
    """Whether a caller holding ``caller_region`` may act at ``level`` on a claim in a village."""
    if level is None:
        return True
    return len(caller_region) == REGION_CODE_LENGTH[level] and claim_village_code.startswith(caller_region)


def authorize(
    current: ClaimState | str,
    action: ClaimAction | str,
    role: Role | str,
    caller_region: str | None,
    claim_village_code: str,
) -> ClaimState:
    """``next_state`` plus the region check: ``wrong_region`` when the caller's region does not
    have the step's level or does not contain the claim's village. ``service`` is exempt."""
    transition = find_transition(current, action, role)
    level = transition.region_level_for(role)
    if not region_allows(level, caller_region or "", claim_village_code):
        expected = "any" if level is None else f"{level.value} ({REGION_CODE_LENGTH[level]} digits)"
        raise TransitionNotAllowed(
            "wrong_region",
            f"needs a {expected} region containing {claim_village_code}, caller holds {caller_region!r}",
        )
    return transition.to_state


def allowed_actions(current: ClaimState | str, role: Role | str) -> tuple[ClaimAction, ...]:
    """The actions ``role`` may take from ``current`` (for UIs and tests)."""
    try:
        state, who = ClaimState(current), Role(role)
    except ValueError:
        return ()
    return tuple(t.action for t in TRANSITIONS if state in t.from_states and who in t.roles)


def notice_last_day(published_on: date, notice_days: int) -> date:
    """The last day of a notice published on ``published_on`` (the first day counts):
    10 days from 2026-05-01 run to 2026-05-10 inclusive."""
    return published_on + timedelta(days=notice_days - 1)


def notice_window_open(published_on: date, notice_days: int, today: date) -> bool:
    """Objections are taken while this is True; ``approve`` only once it is False."""
    return published_on <= today <= notice_last_day(published_on, notice_days)


# --- a step and its effects -----------------------------------------------------------------
# The domain answers a step with everything it changes; the service carries it out in one place
# (service/claims.py `StepTaker`): the claim's new state under its version, the transition row,
# the audit entry and the outbox messages.

REPORT = "report"  # the intake row (no state before it); not an action anyone takes

# Steps audited as a decision on the claim ("claims.claim.<action>"); payment outcomes are audited
# on the payment. Review steps, notices and batch moves are in the transition history only.
CLAIM_AUDITED: frozenset[ClaimAction] = frozenset(
    {ClaimAction.ASSESS, ClaimAction.REJECT, ClaimAction.APPROVE, ClaimAction.APPROVE_OVERRIDE}
)
PAYMENT_AUDITED: Mapping[ClaimAction, str] = MappingProxyType(
    {ClaimAction.CONFIRM_PAYMENT: "claims.payment.paid", ClaimAction.FAIL_PAYMENT: "claims.payment.failed"}
)


class RejectionStage(StrEnum):
    REVIEW = "review"  # a reviewer's reject
    ASSESSMENT = "assessment"  # the engine found the claim ineligible


@dataclass(frozen=True, slots=True)
class Actor:
    """Who takes a step: the token's subject, the one role it acts in, and its region."""

    sub: str
    role: Role
    region: str | None = ""


@dataclass(frozen=True, slots=True)
class ClaimSnapshot:
    """What a step needs to know of a claim (the service reads it from the claim's row)."""

    id: UUID
    state: ClaimState
    version: int
    county_code: str
    village_code: str


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """The payment a payment step settles (confirm or fail)."""

    payment_id: UUID
    household_id: UUID
    category: str
    amount: Decimal  # yuan
    paid_date: date | None = None


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """The content of the claim's transition row."""

    action: str
    from_state: ClaimState | None
    to_state: ClaimState
    actor_sub: str
    actor_role: str
    actor_region: str | None
    comment: str | None
    reason_code: str | None
    evidence: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    action: str
    resource_type: str
    resource_id: object
    detail: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class BenefitPaid:
    """Outbox: the registry records the paid benefit on the household."""

    payment_id: UUID
    household_id: UUID
    county_code: str
    category: str
    amount: Decimal
    paid_date: date


@dataclass(frozen=True, slots=True)
class Step:
    claim: ClaimSnapshot  # before the step
    state: ClaimState  # after it
    changes: Mapping[str, object]  # claim columns set with the state (rejection code and stage)
    transition: TransitionRecord
    audit: AuditEntry | None
    messages: tuple[BenefitPaid, ...] = ()


def _reason_rank(reason: str) -> int:
    return {"wrong_region": 0, "wrong_order": 1, "wrong_role": 2}.get(reason, 3)


def choose_role(
    current: ClaimState | str,
    action: ClaimAction | str,
    roles: Iterable[Role | str],
    caller_region: str | None,
    claim_village_code: str,
) -> Role:
    """The first of the caller's roles (by name) that may take the step; otherwise the most telling
    refusal: wrong_region before wrong_order before wrong_role."""
    refusals: list[TransitionNotAllowed] = []
    for role in sorted((Role(r) for r in roles if r in _ROLE_VALUES), key=lambda r: r.value):
        try:
            authorize(current, action, role, caller_region, claim_village_code)
            return role
        except TransitionNotAllowed as exc:
            refusals.append(exc)
    if not refusals:
        raise TransitionNotAllowed("wrong_role")
    raise min(refusals, key=lambda e: _reason_rank(e.reason))


_ROLE_VALUES = frozenset(r.value for r in Role)


def take_step(
    claim: ClaimSnapshot,
    action: ClaimAction | str,
    actor: Actor,
    *,
    comment: str | None = None,
    reason_code: str | None = None,
    evidence: Mapping[str, object] | None = None,
    stage: RejectionStage = RejectionStage.REVIEW,
    audit_detail: Mapping[str, object] | None = None,
    payment: PaymentOutcome | None = None,
) -> Step:
    """One workflow step and its effects, or TransitionNotAllowed (role, order, region).

    A reject records its reason code and stage on the claim; ASSESS, REJECT, APPROVE and
    APPROVE_OVERRIDE are audited on the claim (from, to, reason code and ``audit_detail``);
    confirming or failing a payment is audited on the ``payment``, and a confirmed one sends the
    registry the benefit (it needs ``payment`` with its ``paid_date``).
    """
    act = ClaimAction(action)
    to_state = authorize(claim.state, act, actor.role, actor.region, claim.village_code)
    changes: dict[str, object] = {}
    if act is ClaimAction.REJECT:
        changes = {"rejection_code": reason_code, "rejection_stage": RejectionStage(stage).value}
    audit: AuditEntry | None = None
    messages: tuple[BenefitPaid, ...] = ()
    if act in CLAIM_AUDITED:
        detail = {"from": claim.state.value, "to": to_state.value, "reason_code": reason_code, **(audit_detail or {})}
        audit = AuditEntry(f"claims.claim.{act.value}", "claim", claim.id, detail)
    elif act in PAYMENT_AUDITED:
        if payment is None:
            raise ValueError(f"{act.value} settles a payment: pass it")
        detail = {"claim_id": str(claim.id), "amount": f"{payment.amount:.2f}", **(audit_detail or {})}
        audit = AuditEntry(PAYMENT_AUDITED[act], "payment", payment.payment_id, detail)
        if act is ClaimAction.CONFIRM_PAYMENT:
            if payment.paid_date is None:
                raise ValueError("a confirmed payment has its paid_date")
            messages = (
                BenefitPaid(
                    payment_id=payment.payment_id,
                    household_id=payment.household_id,
                    county_code=claim.county_code,
                    category=payment.category,
                    amount=payment.amount,
                    paid_date=payment.paid_date,
                ),
            )
    record = TransitionRecord(
        action=act.value,
        from_state=claim.state,
        to_state=to_state,
        actor_sub=actor.sub,
        actor_role=actor.role.value,
        actor_region=actor.region,
        comment=comment,
        reason_code=reason_code,
        evidence=dict(evidence or {}),
    )
    return Step(claim, to_state, changes, record, audit, messages)


def report(
    claim_id: UUID,
    county_code: str,
    village_code: str,
    actor: Actor,
    *,
    comment: str | None = None,
    evidence: Mapping[str, object] | None = None,
) -> Step:
    """The intake step: a new claim, ``reported``, recorded like any other step (no audit)."""
    claim = ClaimSnapshot(claim_id, ClaimState.REPORTED, 1, county_code, village_code)
    record = TransitionRecord(
        action=REPORT,
        from_state=None,
        to_state=ClaimState.REPORTED,
        actor_sub=actor.sub,
        actor_role=actor.role.value,
        actor_region=actor.region,
        comment=comment,
        reason_code=None,
        evidence=dict(evidence or {}),
    )
    return Step(claim, ClaimState.REPORTED, {}, record, None)
