"""Monitoring cases (rules.md §1.4): opening, the workflow, notices and objections, measures,
risk elimination, the registry status changes (through the outbox) and the overdue list."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.api.schemas import (
    BlockerRead,
    CaseEvidenceRead,
    CaseRead,
    EliminationCheck,
    MeasureRead,
    ObjectionRead,
    TransitionRead,
)
from services.screening.db.cases_repository import (
    Case,
    CaseRepository,
    CaseTransition,
    Measure,
    Objection,
    OverdueOn,
)
from services.screening.db.runs_repository import CaseFinding, Lead, RunRepository
from services.screening.db.tables import idempotency, outbox
from services.screening.domain import cases as wf
from services.screening.domain.calendar import add_months, identification_deadline
from services.screening.domain.elimination import Blocker, EliminationFacts, elimination_blockers
from services.screening.domain.errors import TransitionRefused
from services.screening.domain.risk import RiskCode, suggest_type
from services.screening.service.common import (
    SERVICE,
    STORED_CHANGED,
    STORED_CREATED,
    Context,
    Replayed,
    transition_refused,
)
from services.screening.service.thresholds import ensure_current, thresholds_of
from shared.audit import Auditor
from shared.auth import Principal, Role
from shared.concurrency import require_version
from shared.contracts.registry import MonitoringStatusChange
from shared.contracts.vocabulary import HouseholdStatus
from shared.errors import Conflict, FieldError, NotFound, Unprocessable
from shared.idempotency import Idempotency, no_checks
from shared.outbox import enqueue
from shared.pagination import Page, next_cursor, read_cursor

ACTING_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_OFFICER, Role.COUNTY_OFFICER, Role.SERVICE, Role.ADMIN)
MONITORED_CASE_STATES = frozenset(
    {
        wf.CaseState.CONFIRMED,
        wf.CaseState.MONITORING,
        wf.CaseState.ELIMINATION_PROPOSED,
        wf.CaseState.ELIMINATION_VILLAGE_REVIEWED,
        wf.CaseState.ELIMINATION_NOTICE,
        wf.CaseState.ELIMINATION_TOWNSHIP_REVIEWED,
    }
)
NOTICE_STATES = frozenset({wf.CaseState.NOTICE, wf.CaseState.ELIMINATION_NOTICE})
TOWNSHIP_REVIEWS = {
    wf.CaseAction.TOWNSHIP_REVIEW: wf.CaseState.NOTICE,
    wf.CaseAction.ELIMINATION_TOWNSHIP_REVIEW: wf.CaseState.ELIMINATION_NOTICE,
}


def jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    return value


def actors_of(principal: Principal) -> list[wf.Actor]:
    """The workflow roles this token holds (a token may hold several)."""
    return [wf.Actor(r, principal.region) for r in ACTING_ROLES if r in principal.roles]


def actor_for(principal: Principal, allowed: Iterable[Role]) -> wf.Actor:
    """The token's role fit for a step, else its first workflow role (the domain then says wrong_role)."""
    actors = actors_of(principal)
    if not actors:
        raise Conflict("this token holds no role of the case workflow", code="wrong_role")
    allowed_set = set(allowed)
    return next((a for a in actors if a.role in allowed_set), actors[0])


def snapshot_of(row: Case) -> wf.CaseSnapshot:
    return wf.CaseSnapshot(
        state=wf.CaseState(row.state),
        source=wf.CaseSource(row.source),
        household_region=row.village_code,
        opened_at=row.opened_at,
        state_entered_at=row.state_entered_at,
        notice_start_date=row.notice_start_date,
        notice_days=row.notice_days,
        monitoring_type=wf.MonitoringType(row.monitoring_type) if row.monitoring_type else None,
        confirmed_at=row.confirmed_at,
        elimination_kind=wf.EliminationKind(row.elimination_kind) if row.elimination_kind else None,
    )


def blockers_json(blockers: list[Blocker]) -> list[dict[str, Any]]:
    return [
        {"code": b.code.value, "message_zh": b.message_zh, "message_en": b.message_en, "figures": jsonable(b.figures)}
        for b in blockers
    ]


# --- read models -------------------------------------------------------------------------------


def case_read(row: Case, *, allowed_actions: list[str], overdue: bool) -> CaseRead:
    data = {k: getattr(row, k) for k in CaseRead.model_fields if k not in ("allowed_actions", "overdue", "links")}
    base = f"/v1/cases/{row.id}"
    return CaseRead(
        **data,
        allowed_actions=allowed_actions,
        overdue=overdue,
        links={
            "self": base,
            "transitions": f"{base}/transitions",
            "measures": f"{base}/measures",
            "objections": f"{base}/objections",
            "evidence": f"{base}/evidence",
        },
    )


def transition_read(row: CaseTransition) -> TransitionRead:
    return TransitionRead.model_validate(row, from_attributes=True)


def measure_read(row: Measure) -> MeasureRead:
    data = {k: getattr(row, k) for k in MeasureRead.model_fields if k != "delivered"}
    return MeasureRead(**data, delivered=row.delivered_date is not None)


def objection_read(row: Objection) -> ObjectionRead:
    return ObjectionRead.model_validate(row, from_attributes=True)


def case_evidence_read(finding: CaseFinding) -> CaseEvidenceRead:
    lead = finding.lead
    return CaseEvidenceRead(
        lead_id=lead.id,
        run_id=lead.run_id,
        period=finding.period,
        superseded=finding.superseded_by is not None,
        is_lead=lead.is_lead,
        codes=list(lead.codes),
        figures=lead.figures,
        adjusted_per_capita=lead.adjusted_per_capita,
        created_at=lead.created_at,
    )


@dataclass(frozen=True)
class OpenCase:
    source: wf.CaseSource
    lead_id: uuid.UUID | None
    household_id: uuid.UUID | None
    evidence: Mapping[str, Any]
    risk_codes: tuple[RiskCode, ...]
    comment: str | None


class CaseService:
    def __init__(self, session: AsyncSession, ctx: Context) -> None:
        self.session = session
        self.ctx = ctx
        self.repo = CaseRepository(session)
        self.runs = RunRepository(session)
        self.idempotency = Idempotency(idempotency)

    # --- reading ---------------------------------------------------------------------------

    async def _case(self, principal: Principal, case_id: uuid.UUID) -> Case:
        row = await self.repo.get(case_id)
        if row is None or not principal.can_see(row.village_code):
            raise NotFound("no such case")
        return row

    async def get(self, principal: Principal, case_id: uuid.UUID) -> CaseRead:
        return self.read(principal, await self._case(principal, case_id))

    def read(self, principal: Principal, row: Case) -> CaseRead:
        """The case as the caller sees it: with the steps it may take now."""
        return case_read(row, allowed_actions=self.allowed_actions(principal, row), overdue=self.is_overdue(row))

    def allowed_actions(self, principal: Principal, row: Case) -> list[str]:
        case = snapshot_of(row)
        actions: list[str] = []
        for actor in actors_of(principal):
            for action in wf.allowed_actions(case, actor):
                if action.value not in actions:
                    actions.append(action.value)
        return actions

    def overdue_today(self) -> OverdueOn:
        """The identification limit as of the county's today (db/cases_repository.py `OverdueOn`)."""
        return OverdueOn(self.ctx.today(), self.ctx.clock.zone.key)

    def is_overdue(self, row: Case) -> bool:
        return self.overdue_today().holds_for(row)

    async def list_cases(
        self,
        principal: Principal,
        *,
        county_code: str | None,
        township_code: str | None,
        village_code: str | None,
        state: str | None,
        household_id: uuid.UUID | None,
        overdue: bool,
        cursor: str | None,
        limit: int,
    ) -> Page[CaseRead]:
        rows = await self.repo.list_cases(
            region_prefix=principal.region,
            county_code=county_code,
            township_code=township_code,
            village_code=village_code,
            state=state,
            household_id=household_id,
            overdue=self.overdue_today() if overdue else None,
            after=read_cursor(cursor, datetime.fromisoformat, uuid.UUID),
            limit=limit + 1,
        )
        return Page[CaseRead](
            items=[self.read(principal, r) for r in rows[:limit]],
            next_cursor=next_cursor(rows, limit, lambda r: [r.opened_at.isoformat(), str(r.id)]),
        )

    async def transitions(self, principal: Principal, case_id: uuid.UUID) -> list[TransitionRead]:
        await self._case(principal, case_id)
        return [transition_read(t) for t in await self.repo.transitions(case_id)]

    async def evidence(self, principal: Principal, case_id: uuid.UUID) -> list[CaseEvidenceRead]:
        case = await self._case(principal, case_id)
        findings = await self.runs.case_evidence(case_id, case.household_id, case.county_code)
        return [case_evidence_read(f) for f in findings]

    async def measures(self, principal: Principal, case_id: uuid.UUID) -> list[MeasureRead]:
        await self._case(principal, case_id)
        return [measure_read(m) for m in await self.repo.measures(case_id)]

    async def objections(self, principal: Principal, case_id: uuid.UUID) -> list[ObjectionRead]:
        await self._case(principal, case_id)
        return [objection_read(o) for o in await self.repo.objections(case_id)]

    async def _case_in_scope(self, principal: Principal, case_id: uuid.UUID) -> Case:
        """The case locked for a write, or 404 when it does not exist or lies outside the caller's
        region (the same answer as a GET, before any state, order or role of the case shows)."""
        row = await self.repo.get(case_id, for_update=True)
        if row is None or not principal.can_see(row.village_code):
            raise NotFound("no such case")
        return row

    # --- opening ---------------------------------------------------------------------------

    async def open(
        self, principal: Principal, command: OpenCase, *, idempotency_key: str | None
    ) -> CaseRead | Replayed:
        # the lead or household is checked against the caller's region below; a replay answers
        # only the caller (sub and region) that opened the case
        attempt = await self.idempotency.begin(
            self.session,
            principal,
            route="POST /v1/cases",
            key=idempotency_key,
            payload={
                "source": command.source.value,
                "lead_id": str(command.lead_id),
                "household_id": str(command.household_id),
                "evidence": jsonable(command.evidence),
                "risk_codes": [c.value for c in command.risk_codes],
                "comment": command.comment,
            },
            authorize=no_checks,
        )
        if attempt.replay is not None:
            await self.session.rollback()
            return Replayed(attempt.replay)
        now = self.ctx.now()
        evidence = dict(command.evidence)
        lead_row: Lead | None = None
        if command.source is wf.CaseSource.SCREENING:
            if command.lead_id is None:
                raise Unprocessable(
                    "a case from screening names its lead_id",
                    code="validation_failed",
                    errors=[FieldError(field="lead_id", message="required")],
                )
            lead_row = await self.runs.lead(command.lead_id, for_update=True)
            if lead_row is None or not principal.can_see(lead_row.village_code):
                raise NotFound("no such lead")
            run = await self.runs.get(lead_row.run_id)
            assert run is not None
            if run.superseded_by is not None:
                raise Conflict(
                    "this lead's run was superseded by a newer run of the period; open the new lead",
                    code="lead_superseded",
                    extra={"superseded_by": str(run.superseded_by)},
                )
            if lead_row.routing != "new_lead" or lead_row.state != "open":
                raise Conflict(f"this lead is {lead_row.state}", code="lead_not_open")
            evidence["lead_id"] = str(command.lead_id)
            household_id = lead_row.household_id
            county, township, village = lead_row.county_code, lead_row.township_code, lead_row.village_code
            household_number = lead_row.household_number
            suggested = lead_row.suggested_type
            risk_codes = list(lead_row.codes)
        else:
            if command.household_id is None:
                raise Unprocessable(
                    "name the household_id",
                    code="validation_failed",
                    errors=[FieldError(field="household_id", message="required")],
                )
            household = await self.repo.household(command.household_id)
            if household is None or not principal.can_see(household.village_code):
                raise NotFound("no such household in your region", code="household_not_found")
            household_id = household.household_id
            county, township, village = household.county_code, household.township_code, household.village_code
            household_number = household.household_number
            t = thresholds_of(await ensure_current(self.session, county, self.ctx.today().year, actor=None))
            suggested = (
                suggest_type(
                    HouseholdStatus(household.status), household.annual_net_income, household.member_count, t
                ).value
                if household.member_count > 0 and household.annual_net_income is not None
                else None
            )
            risk_codes = [c.value for c in command.risk_codes]

        actor = actor_for(principal, wf.OPENING_ROLES[command.source])
        try:
            outcome = wf.open_case(command.source, actor, village, evidence, now, zone=self.ctx.clock.zone)
        except TransitionRefused as exc:
            raise transition_refused(exc) from exc

        await self.repo.lock_household(household_id)
        existing = await self.repo.open_case_of(county, household_id)
        if existing is not None:
            raise Conflict(
                "the household already has an open case; add to it instead",
                code="case_already_open",
                extra={"case_id": str(existing.id), "state": existing.state},
            )
        thresholds_row = await ensure_current(self.session, county, self.ctx.today().year, actor=None)
        t = thresholds_of(thresholds_row)
        case_id = uuid.uuid4()
        deadline = identification_deadline(
            self.ctx.clock.local_date(now),
            t.identification_limit_working_days,
            self.ctx.settings.holiday_dates,
            extra_workdays=self.ctx.settings.extra_workday_dates,
        )
        try:
            await self.repo.insert_case(
                {
                    "id": case_id,
                    "county_code": county,
                    "township_code": township,
                    "village_code": village,
                    "household_id": household_id,
                    "household_number": household_number,
                    "source": command.source.value,
                    "state": outcome.case.state.value,
                    "risk_codes": risk_codes,
                    "suggested_type": suggested,
                    "lead_id": command.lead_id if lead_row is not None else None,
                    "opened_at": now,
                    "state_entered_at": now,
                    "identification_deadline": deadline,
                    "threshold_version_id": thresholds_row.id,
                    "created_by": principal.sub,
                    "updated_at": now,
                }
            )
        except IntegrityError as exc:  # a concurrent opening won the unique index
            raise Conflict("the household already has an open case", code="case_already_open") from exc
        await self.repo.add_transition(
            self._transition_values(
                case_id, county, outcome, actor, principal, command.comment, threshold_version_id=thresholds_row.id
            )
        )
        if lead_row is not None:
            await self.runs.update_lead(lead_row.id, state="case_opened", case_id=case_id)
        row = await self.repo.get(case_id)
        assert row is not None
        read = case_read(row, allowed_actions=self.allowed_actions(principal, row), overdue=False)
        await attempt.save(self.session, STORED_CREATED, read.model_dump(mode="json"))
        await Auditor(self.session, SERVICE, principal).record(
            "screening.case.opened",
            "case",
            case_id,
            {"source": command.source.value, "household_id": str(household_id)},
        )
        await self.session.commit()
        return self.read(principal, row)

    def _transition_values(
        self,
        case_id: uuid.UUID,
        county: str,
        outcome: wf.TransitionOutcome,
        actor: wf.Actor,
        principal: Principal,
        comment: str | None,
        *,
        threshold_version_id: uuid.UUID | None,
    ) -> dict[str, Any]:
        return {
            "case_id": case_id,
            "county_code": county,
            "action": outcome.transition.action.value,
            "from_state": outcome.transition.from_state.value,
            "to_state": outcome.case.state.value,
            "actor_sub": principal.sub,
            "actor_role": actor.role.value,
            "actor_region": actor.region,
            "at": outcome.at,
            "comment": comment,
            "evidence": jsonable(outcome.evidence),
            "threshold_version_id": threshold_version_id,
        }

    # --- the workflow ----------------------------------------------------------------------

    async def transition(
        self,
        principal: Principal,
        case_id: uuid.UUID,
        *,
        action: str,
        evidence: Mapping[str, Any],
        comment: str | None,
        if_match: int | None,
        idempotency_key: str | None,
    ) -> CaseRead | Replayed:
        attempt = await self.idempotency.begin(
            self.session,
            principal,
            route="POST /v1/cases/{case_id}/transitions",
            resource=case_id,
            key=idempotency_key,
            payload={"action": action, "evidence": jsonable(evidence), "comment": comment},
            authorize=lambda: self._case_in_scope(principal, case_id),
        )
        if attempt.replay is not None:
            await self.session.rollback()
            return Replayed(attempt.replay)
        row = attempt.checked
        require_version(if_match, row.version, what="case", required=False)
        case = snapshot_of(row)
        now = self.ctx.now()
        # the county's parameters in force today (notice minimum, elimination rules); the step records them
        thresholds_row = await ensure_current(self.session, row.county_code, self.ctx.today().year, actor=None)
        t = thresholds_of(thresholds_row)
        try:
            act = wf.CaseAction(action)
        except ValueError:
            raise Conflict(f"no such action: {action!r}", code="unknown_action") from None
        table_row = wf.TRANSITION_INDEX.get((act, case.state))
        actor = actor_for(principal, table_row.roles if table_row is not None else ())
        evidence = dict(evidence)
        notice_state = TOWNSHIP_REVIEWS.get(act)
        objections: list[Objection] | None = None
        if notice_state is not None and case.state is notice_state and case.notice_start_date is not None:
            objections = await self.repo.notice_objections(row.id, notice_state.value, case.notice_start_date)
            given_count = evidence.get("objection_count")
            evidence.setdefault("objection_count", len(objections))
            if objections and not evidence.get("objection_handling"):
                evidence["objection_handling"] = "; ".join(
                    f"{o.status}: {o.resolution or ''}".strip() for o in objections
                )
        try:
            outcome = wf.apply(
                case, act, actor, evidence, now, notice_min_days=t.notice_min_days, zone=self.ctx.clock.zone
            )
        except TransitionRefused as exc:
            raise transition_refused(exc) from exc
        if objections is not None:
            self._check_objections(objections, given_count)
        if act is wf.CaseAction.PROPOSE_ELIMINATION:
            blockers = elimination_blockers(await self._elimination_facts(row), t, self.ctx.today())
            if blockers:
                raise Conflict(
                    "risk elimination may not be proposed yet: " + "; ".join(b.message_en for b in blockers),
                    code="elimination_blocked",
                    errors=[
                        FieldError(field=b.code.value, message=f"{b.message_zh} ({b.message_en})", code=b.code.value)
                        for b in blockers
                    ],
                    extra={"blockers": blockers_json(blockers)},
                )

        outcomes = [(outcome, actor, comment)]
        if outcome.case.state is wf.CaseState.CONFIRMED and act is wf.CaseAction.CONFIRM:
            # Confirmation starts monitoring at once; the service records the hand-off as its own step.
            service_actor = wf.Actor(Role.SERVICE, "")
            follow = wf.apply(
                outcome.case,
                wf.CaseAction.START_MONITORING,
                service_actor,
                {},
                now,
                notice_min_days=t.notice_min_days,
                zone=self.ctx.clock.zone,
            )
            outcomes.append((follow, service_actor, "monitoring starts on confirmation (认定后纳入监测)"))

        final = outcomes[-1][0].case
        changes: dict[str, Any] = {
            "state": final.state.value,
            "state_entered_at": final.state_entered_at,
            "notice_start_date": final.notice_start_date,
            "notice_days": final.notice_days,
            "monitoring_type": final.monitoring_type.value if final.monitoring_type else None,
            "confirmed_at": final.confirmed_at,
            "elimination_kind": final.elimination_kind.value if final.elimination_kind else None,
            "version": row.version + 1,
            "updated_at": now,
        }
        if final.state in wf.TERMINAL_STATES:
            changes["closed_at"] = now
        if final.state is wf.CaseState.ELIMINATED:
            changes["eliminated_at"] = now
        await self.repo.update_case(case_id, **changes)
        service_principal = Principal(sub="service:screening", roles=frozenset({Role.SERVICE}))
        for step, step_actor, step_comment in outcomes:
            who = principal if step_actor is actor else service_principal
            await self.repo.add_transition(
                self._transition_values(
                    case_id,
                    row.county_code,
                    step,
                    step_actor,
                    who,
                    step_comment,
                    threshold_version_id=thresholds_row.id,
                )
            )
            if step.effect is not None:
                await self._registry_effect(row, step, case_id)
        fresh = await self.repo.get(case_id)
        assert fresh is not None
        await attempt.save(self.session, STORED_CHANGED, self.read(principal, fresh).model_dump(mode="json"))
        await Auditor(self.session, SERVICE, principal).record(
            f"screening.case.{act.value}",
            "case",
            case_id,
            {"from": row.state, "to": fresh.state},
        )
        await self.session.commit()
        if any(step.effect is not None for step, _, _ in outcomes):
            self.ctx.wake_outbox()
        return self.read(principal, fresh)

    @staticmethod
    def _check_objections(objections: list[Objection], given_count: object) -> None:
        open_ones = [o for o in objections if o.status == "open"]
        if open_ones:
            raise Conflict(
                f"{len(open_ones)} objection(s) to the notice are not resolved yet",
                code="objections_unresolved",
                extra={"objection_ids": [str(o.id) for o in open_ones]},
            )
        if given_count is not None and given_count != len(objections):
            raise Conflict(
                f"objection_count {given_count} differs from the {len(objections)} objection(s) recorded",
                code="invalid_evidence",
                errors=[FieldError(field="evidence.objection_count", message="differs from the recorded objections")],
            )

    async def _registry_effect(self, row: Case, step: wf.TransitionOutcome, case_id: uuid.UUID) -> None:
        household_id = row.household_id
        if step.effect is wf.RegistryEffect.SET_MONITORING_STATUS:
            assert step.case.monitoring_type is not None
            type_change = step.transition.action is wf.CaseAction.CHANGE_TYPE
            change = MonitoringStatusChange(
                action="set",
                monitoring_type=step.case.monitoring_type.value,
                case_id=case_id,
                reason="change of monitoring type (监测对象类型变更)"
                if type_change
                else "county confirmation of a monitoring case (县级认定为监测对象)",
                effective_date=self.ctx.clock.local_date(step.at),
            )
            # one message per change: a type change is keyed by the case version it was made on
            key = f"screening:case:{case_id}:type:{row.version}" if type_change else f"screening:case:{case_id}:set"
        else:
            change = MonitoringStatusChange(
                action="clear",
                case_id=case_id,
                reason=f"risk eliminated ({step.case.elimination_kind.value if step.case.elimination_kind else ''}) "
                "(风险消除)",
                effective_date=self.ctx.clock.local_date(step.at),
            )
            key = f"screening:case:{case_id}:clear"
        await enqueue(
            self.session,
            outbox,
            target="registry",
            method="PUT",
            path=f"/v1/households/{household_id}/monitoring-status",
            body=change.model_dump(mode="json"),
            idempotency_key=key,
            ordering_key=str(household_id),
            county_code=row.county_code,
        )

    # --- elimination -----------------------------------------------------------------------

    async def _elimination_facts(self, row: Case) -> EliminationFacts:
        today = self.ctx.today()
        household = await self.repo.household(row.household_id)
        t = thresholds_of(await ensure_current(self.session, row.county_code, today.year, actor=None))
        housing, water = await self.repo.open_unsafe_risks(row.county_code, row.household_id, add_months(today, -12))
        confirmed = row.confirmed_at
        return EliminationFacts(
            confirmed_on=self.ctx.clock.local_date(confirmed) if confirmed is not None else today,
            measures_delivered=await self.repo.delivered_measures(row.id, today),
            members=household.member_count if household else 0,
            latest_income=household.annual_net_income if household else None,
            labour_count=household.labour_count if household else 0,
            recent_lead_periods=tuple(
                await self.runs.recent_lead_periods(row.county_code, row.household_id, t.elimination_lead_free_runs)
            ),
            open_housing_risk=housing,
            open_water_risk=water,
        )

    async def elimination_check(self, principal: Principal, case_id: uuid.UUID) -> EliminationCheck:
        row = await self._case(principal, case_id)
        if row.confirmed_at is None:
            raise Conflict("the case is not confirmed; there is nothing to eliminate", code="case_not_monitored")
        t = thresholds_of(await ensure_current(self.session, row.county_code, self.ctx.today().year, actor=None))
        blockers = elimination_blockers(await self._elimination_facts(row), t, self.ctx.today())
        return EliminationCheck(
            case_id=row.id,
            may_propose=not blockers,
            blockers=[BlockerRead.model_validate(b) for b in blockers_json(blockers)],
        )

    # --- measures --------------------------------------------------------------------------

    async def add_measure(
        self,
        principal: Principal,
        case_id: uuid.UUID,
        *,
        measure_type: str,
        description: str,
        start_date: date,
        delivered_date: date | None,
        idempotency_key: str | None,
    ) -> MeasureRead | Replayed:
        attempt = await self.idempotency.begin(
            self.session,
            principal,
            route="POST /v1/cases/{case_id}/measures",
            resource=case_id,
            key=idempotency_key,
            payload={
                "measure_type": measure_type,
                "description": description,
                "start_date": start_date.isoformat(),
                "delivered_date": delivered_date.isoformat() if delivered_date else None,
            },
            authorize=lambda: self._case_in_scope(principal, case_id),
        )
        if attempt.replay is not None:
            await self.session.rollback()
            return Replayed(attempt.replay)
        row = attempt.checked
        if wf.CaseState(row.state) not in MONITORED_CASE_STATES:
            raise Conflict(f"measures belong to confirmed cases; this case is {row.state}", code="case_not_monitored")
        self._check_dates(start_date, delivered_date)
        measure_id = uuid.uuid4()
        now = self.ctx.now()
        await self.repo.insert_measure(
            {
                "id": measure_id,
                "case_id": case_id,
                "county_code": row.county_code,
                "household_id": row.household_id,
                "measure_type": measure_type,
                "description": description,
                "start_date": start_date,
                "delivered_date": delivered_date,
                "created_by": principal.sub,
                "created_at": now,
                "updated_at": now,
            }
        )
        measure = await self.repo.measure(case_id, measure_id)
        assert measure is not None
        read = measure_read(measure)
        await attempt.save(self.session, STORED_CREATED, read.model_dump(mode="json"))
        await Auditor(self.session, SERVICE, principal).record(
            "screening.measure.added",
            "measure",
            measure_id,
            {"case_id": str(case_id), "measure_type": measure_type},
        )
        await self.session.commit()
        return read

    def _check_dates(self, start_date: date, delivered_date: date | None) -> None:
        today = self.ctx.today()
        errors = []
        if delivered_date is not None and delivered_date < start_date:
            errors.append(FieldError(field="delivered_date", message="before start_date"))
        if delivered_date is not None and delivered_date > today:
            errors.append(FieldError(field="delivered_date", message=f"{delivered_date} is in the future"))
        if errors:
            raise Unprocessable("the measure's dates are not valid", errors=errors)

    async def update_measure(
        self,
        principal: Principal,
        case_id: uuid.UUID,
        measure_id: uuid.UUID,
        *,
        changes: Mapping[str, Any],
        if_match: int | None,
    ) -> MeasureRead:
        case = await self._case(principal, case_id)
        measure = await self.repo.measure(case_id, measure_id, for_update=True)
        if measure is None:
            raise NotFound("no such measure")
        require_version(if_match, measure.version, what="measure")
        values = {k: v for k, v in changes.items() if k in ("description", "delivered_date")}
        self._check_dates(measure.start_date, values.get("delivered_date", measure.delivered_date))
        await self.repo.update_measure(measure_id, **values, version=measure.version + 1, updated_at=self.ctx.now())
        fresh = await self.repo.measure(case_id, measure_id)
        assert fresh is not None
        await Auditor(self.session, SERVICE, principal).record(
            "screening.measure.updated",
            "measure",
            measure_id,
            {"case_id": str(case.id), "fields": sorted(values)},
        )
        await self.session.commit()
        return measure_read(fresh)

    # --- objections to a notice ------------------------------------------------------------

    async def raise_objection(
        self, principal: Principal, case_id: uuid.UUID, *, content: str, idempotency_key: str | None
    ) -> ObjectionRead | Replayed:
        attempt = await self.idempotency.begin(
            self.session,
            principal,
            route="POST /v1/cases/{case_id}/objections",
            resource=case_id,
            key=idempotency_key,
            payload={"content": content},
            authorize=lambda: self._case_in_scope(principal, case_id),
        )
        if attempt.replay is not None:
            await self.session.rollback()
            return Replayed(attempt.replay)
        row = attempt.checked
        state = wf.CaseState(row.state)
        today = self.ctx.today()
        start, days = row.notice_start_date, row.notice_days
        if state not in NOTICE_STATES or start is None or days is None:
            raise Conflict("objections are raised while the case's notice (公示) runs", code="notice_not_open")
        if not start <= today < add_days(start, days):
            raise Conflict(f"the notice runs from {start} for {days} days", code="notice_not_open")
        objection_id = uuid.uuid4()
        await self.repo.insert_objection(
            {
                "id": objection_id,
                "case_id": case_id,
                "county_code": row.county_code,
                "notice_state": state.value,
                "notice_start_date": start,
                "content": content,
                "raised_by_sub": principal.sub,
                "raised_by_role": principal.primary_role.value,
                "raised_at": self.ctx.now(),
            }
        )
        objection = await self.repo.objection(case_id, objection_id)
        assert objection is not None
        read = objection_read(objection)
        await attempt.save(self.session, STORED_CREATED, read.model_dump(mode="json"))
        await Auditor(self.session, SERVICE, principal).record(
            "screening.objection.raised", "objection", objection_id, {"case_id": str(case_id)}
        )
        await self.session.commit()
        return read

    async def resolve_objection(
        self,
        principal: Principal,
        case_id: uuid.UUID,
        objection_id: uuid.UUID,
        *,
        status: str,
        resolution: str,
        if_match: int | None,
    ) -> ObjectionRead:
        await self._case(principal, case_id)
        objection = await self.repo.objection(case_id, objection_id, for_update=True)
        if objection is None:
            raise NotFound("no such objection")
        require_version(if_match, objection.version, what="objection", required=False)
        if objection.status != "open":
            raise Conflict(f"the objection was already {objection.status}", code="objection_resolved")
        await self.repo.update_objection(
            objection_id,
            status=status,
            resolution=resolution,
            resolved_by_sub=principal.sub,
            resolved_at=self.ctx.now(),
            version=objection.version + 1,
        )
        fresh = await self.repo.objection(case_id, objection_id)
        assert fresh is not None
        await Auditor(self.session, SERVICE, principal).record(
            "screening.objection.resolved",
            "objection",
            objection_id,
            {"case_id": str(case_id), "status": status},
        )
        await self.session.commit()
        return objection_read(fresh)


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)
