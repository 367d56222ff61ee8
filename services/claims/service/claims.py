"""Claims (理赔): intake from leads and applications, the review workflow, assessment.

Intake reads the household's facts from the registry over HTTP first, then writes in one
transaction; the facts are frozen on the claim. Assessment locks the household's ledger rows of
the year (SELECT … FOR UPDATE) and reads, assesses and updates them in one transaction, so
concurrent assessments of one household queue and never pay past a cap.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.api.schemas import (
    AssessmentRead,
    AssessmentSummary,
    AssessmentVerification,
    ClaimCreate,
    ClaimRead,
    PaymentSummary,
    TransitionCreate,
    TransitionRead,
    TransitionResult,
)
from services.claims.clients.registry import HouseholdUnknown
from services.claims.db.claim_repository import AssessmentRow, ClaimRepository, ClaimRow, ClaimView, TransitionRow
from services.claims.db.notice_repository import NoticeRepository
from services.claims.db.scheme_repository import EnrolmentRepository, SchemeRepository
from services.claims.db.tables import outbox
from services.claims.domain.assessment import (
    ClaimFacts,
    FactsInvalid,
    HouseholdFacts,
    YearToDate,
    assess,
    explain,
    facts_to_dict,
    parse_claim_input,
    same_breakdown,
)
from services.claims.domain.scheme import Category
from services.claims.domain.workflow import (
    Actor,
    BenefitPaid,
    ClaimAction,
    ClaimSnapshot,
    ClaimState,
    RejectionStage,
    Step,
    TransitionNotAllowed,
    allowed_actions,
    authorize,
    choose_role,
    notice_last_day,
    notice_window_open,
    report,
    take_step,
)
from services.claims.metrics import ASSESSED_PAYOUT, ASSESSMENTS, LEADS
from services.claims.service.common import (
    KEYS,
    SERVICE,
    Created,
    Idempotency,
    Runtime,
    field_errors,
    idempotent,
    save_answer,
)
from services.claims.service.schemes import stored_scheme
from shared.audit import Auditor
from shared.auth import Principal, Role
from shared.concurrency import require_version
from shared.contracts.claims import ClaimLead, ClaimLeadAccepted
from shared.contracts.registry import BenefitCreate
from shared.contracts.registry import HouseholdFacts as RegistryFacts
from shared.errors import (
    Conflict,
    FieldError,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
)
from shared.logging import get_logger
from shared.outbox import enqueue
from shared.pagination import Page, next_cursor, read_cursor
from shared.pii import mask_name

log = get_logger("fangpin.claims")

# Steps taken through POST /v1/claims/{id}/transitions; the rest have their own endpoints.
TRANSITION_ENDPOINT_ACTIONS = frozenset(
    {
        ClaimAction.START_INVESTIGATION,
        ClaimAction.COMPLETE_INVESTIGATION,
        ClaimAction.VILLAGE_REVIEW,
        ClaimAction.TOWNSHIP_REVIEW,
        ClaimAction.FILE,
        ClaimAction.ASSESS,
        ClaimAction.PUBLISH_NOTICE,
        ClaimAction.APPROVE,
        ClaimAction.APPROVE_OVERRIDE,
        ClaimAction.REJECT,
        ClaimAction.RETURN,
    }
)
# Evidence each step must carry (keys of `evidence`); reject needs a reason_code, return a comment.
REQUIRED_EVIDENCE: Mapping[ClaimAction, tuple[str, ...]] = {
    ClaimAction.COMPLETE_INVESTIGATION: ("findings",),
    ClaimAction.VILLAGE_REVIEW: ("vote_result",),
}
MAX_EVIDENCE_BYTES = 64 * 1024
ZERO = Decimal("0")
_PLACEHOLDER_HOUSEHOLD = HouseholdFacts(status="ordinary", members=1, annual_net_income=ZERO)  # type: ignore[arg-type]


def check_expense(category: str, expense: Mapping[Any, Any], incident: date, reported: date) -> dict[str, str]:
    """The category's expense facts, validated by the domain; returned as JSON strings."""
    try:
        facts = ClaimFacts(
            category=Category(category),
            household=_PLACEHOLDER_HOUSEHOLD,
            incident_date=incident,
            reported_date=reported,
            expense=dict(expense),
        )
    except FactsInvalid as exc:
        raise Unprocessable(
            "the claim's facts are not valid; see errors", code="invalid_facts", errors=field_errors(exc)
        ) from exc
    return dict(facts_to_dict(facts)["expense"])


def engine_facts(row: ClaimRow, insured: bool) -> ClaimFacts:
    """The engine's view of a claim: its frozen registry facts plus the claim's own facts."""
    hf = row.household_facts
    assert hf is not None, "claims are assessed once their facts are frozen"
    income = hf.get("annual_net_income")
    previous = hf.get("previous_annual_net_income")
    household = HouseholdFacts(
        status=hf["status"],
        members=hf["member_count"],
        # No income on record counts as 0 (the investigation is where a wrong figure is caught);
        # the frozen facts keep `income_year: null` so the reviewer sees it.
        annual_net_income=Decimal(str(income)) if income is not None else ZERO,
        previous_annual_net_income=Decimal(str(previous)) if previous is not None else None,
        insured=insured,
        negative_list=bool(hf.get("negative_list")),
    )
    return ClaimFacts(
        category=Category(row.category),
        household=household,
        incident_date=row.incident_date,
        reported_date=row.reported_date,
        expense=dict(row.expense),
    )


def workflow_actions(principal: Principal, state: str, village_code: str) -> list[str]:
    actions: set[str] = set()
    for role in principal.roles:
        for action in allowed_actions(state, role.value):
            if action not in TRANSITION_ENDPOINT_ACTIONS:
                continue
            try:
                authorize(state, action, role.value, principal.region, village_code)
            except TransitionNotAllowed:
                continue
            actions.add(action.value)
    return sorted(actions)


# Roles that work a claim need the family's names; anyone else reading it (an auditor) sees
# them masked, the way the public notice shows them. ID numbers are masked for everyone.
_NAME_ROLES = frozenset(
    {Role.VILLAGE_CADRE, Role.TOWNSHIP_OFFICER, Role.COUNTY_OFFICER, Role.INSURER_ADJUSTER, Role.SERVICE, Role.ADMIN}
)


def _facts_for(principal: Principal, facts: dict[str, Any] | None) -> dict[str, Any] | None:
    if facts is None or principal.has_any(*_NAME_ROLES):
        return facts
    members = [{**m, "name": mask_name(m.get("name"))} for m in facts.get("members", [])]
    return {**facts, "members": members}


def claim_read(view: ClaimView, principal: Principal) -> ClaimRead:
    row, a, p = view.claim, view.assessment, view.payment
    return ClaimRead(
        id=row.id,
        state=row.state,
        version=row.version,
        category=row.category,
        source=row.source,
        source_record_id=row.source_record_id,
        household_id=row.household_id,
        member_id=row.member_id,
        county_code=row.county_code,
        township_code=row.township_code,
        village_code=row.village_code,
        incident_date=row.incident_date,
        reported_date=row.reported_date,
        expense=row.expense,
        facts_status=row.facts_status,
        household_facts=_facts_for(principal, row.household_facts),
        rejection_code=row.rejection_code,
        assessment=(
            None
            if a is None
            else AssessmentSummary(
                id=a.id,
                eligible=a.eligible,
                payout=a.payout,
                rejection_code=a.rejection_code,
                scheme_code=a.scheme_code,
                scheme_version=a.scheme_version,
                created_at=a.created_at,
            )
        ),
        notice_id=view.notice_id,
        payment=(
            None
            if p is None
            else PaymentSummary(id=p.id, status=p.status, amount=p.amount, attempts=p.attempts, paid_date=p.paid_date)
        ),
        allowed_actions=workflow_actions(principal, row.state, row.village_code),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def transition_read(row: TransitionRow) -> TransitionRead:
    return TransitionRead(
        id=row.id,
        action=row.action,
        from_state=row.from_state,
        to_state=row.to_state,
        actor_sub=row.actor_sub,
        actor_role=row.actor_role,
        actor_region=row.actor_region,
        comment=row.comment,
        reason_code=row.reason_code,
        evidence=row.evidence,
        at=row.at,
    )


def assessment_read(row: AssessmentRow) -> AssessmentRead:
    return AssessmentRead(
        id=row.id,
        claim_id=row.claim_id,
        status=row.status,
        eligible=row.eligible,
        payout=row.payout,
        rejection_code=row.rejection_code,
        scheme_code=row.scheme_code,
        scheme_version=row.scheme_version,
        base_added=row.base_added,
        facts=row.facts,
        breakdown=row.breakdown,
        explanation=explain(row.breakdown),
        created_at=row.created_at,
    )


def _frozen(facts: RegistryFacts) -> dict[str, Any]:
    return facts.model_dump(mode="json")


def _regions(village_code: str) -> dict[str, str]:
    return {"county_code": village_code[:6], "township_code": village_code[:9], "village_code": village_code}


PROGRAMME = "anti_poverty_insurance"  # the registry's benefit programme of a claim payment


def snapshot(row: ClaimRow) -> ClaimSnapshot:
    """The workflow's view of a claim row."""
    return ClaimSnapshot(
        id=row.id,
        state=ClaimState(row.state),
        version=row.version,
        county_code=row.county_code,
        village_code=row.village_code,
    )


class StepTaker:
    """Carries out a workflow step the domain returned (`take_step`, `report`): the claim's new state
    under the version it was read at, the transition row, the audit entry, the outbox messages; in the
    caller's transaction (it flushes, the use case commits). The one place a claim changes state."""

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.repo = ClaimRepository(session)

    async def take(self, step: Step) -> TransitionRow:
        claim_id = step.claim.id
        if step.transition.from_state is not None:  # intake inserted the claim itself
            changed = await self.repo.set_state(claim_id, step.claim.version, state=step.state.value, **step.changes)
            if changed is None:
                raise Conflict(
                    f"claim {claim_id} changed meanwhile; read it again",
                    code="version_conflict",
                    extra={"expected_version": step.claim.version},
                )
        row = await self.repo.add_transition(claim_id, step.claim.county_code, step.transition)
        for message in step.messages:
            await self._send(message)
        if step.audit is not None:
            a = step.audit
            await Auditor(self.session, SERVICE, self.principal).record(
                a.action, a.resource_type, a.resource_id, dict(a.detail)
            )
        return row

    async def _send(self, benefit: BenefitPaid) -> None:
        body = BenefitCreate(
            source="claims",
            source_ref=str(benefit.payment_id),
            programme=PROGRAMME,
            category=benefit.category,
            amount=benefit.amount,
            paid_date=benefit.paid_date,
            year=benefit.paid_date.year,
        )
        await enqueue(
            self.session,
            outbox,
            target="registry",
            method="POST",
            path=f"/v1/households/{benefit.household_id}/benefits",
            body=body.model_dump(mode="json"),
            idempotency_key=f"claims:benefit:{benefit.payment_id}",
            ordering_key=f"household:{benefit.household_id}",
            county_code=benefit.county_code,
        )


class ClaimService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.repo = ClaimRepository(session)
        self.schemes = SchemeRepository(session)
        self.enrolments = EnrolmentRepository(session)
        self.notices = NoticeRepository(session)

    # ------------------------------------------------------------ reads

    async def _visible(self, principal: Principal, claim_id: uuid.UUID) -> ClaimView:
        row = await self.repo.view(claim_id)
        if row is None or not principal.can_see(row.claim.village_code):
            raise NotFound(f"no claim {claim_id}", code="claim_not_found")
        return row

    async def get(self, principal: Principal, claim_id: uuid.UUID) -> ClaimRead:
        return claim_read(await self._visible(principal, claim_id), principal)

    async def search(
        self,
        principal: Principal,
        *,
        state: str | None,
        category: str | None,
        village_code: str | None,
        household_id: uuid.UUID | None,
        year: int | None,
        cursor: str | None,
        limit: int,
    ) -> Page[ClaimRead]:
        after = read_cursor(cursor, datetime.fromisoformat, uuid.UUID)
        rows = await self.repo.search(
            region=principal.region,
            state=state,
            category=category,
            village_code=village_code,
            household_id=household_id,
            year=year,
            after=after,
            limit=limit + 1,
        )
        items = [claim_read(r, principal) for r in rows[:limit]]
        return Page[ClaimRead](
            items=items,
            next_cursor=next_cursor(rows, limit, lambda r: [r.claim.created_at.isoformat(), str(r.claim.id)]),
        )

    async def transitions(self, principal: Principal, claim_id: uuid.UUID) -> list[TransitionRead]:
        await self._visible(principal, claim_id)
        return [transition_read(r) for r in await self.repo.transitions(claim_id)]

    async def assessments(self, principal: Principal, claim_id: uuid.UUID) -> list[AssessmentRead]:
        await self._visible(principal, claim_id)
        return [assessment_read(r) for r in await self.repo.assessments(claim_id)]

    async def recompute(self, principal: Principal, claim_id: uuid.UUID) -> AssessmentVerification:
        """Re-run the active assessment from what is stored (facts, prior, scheme version)."""
        await self._visible(principal, claim_id)
        stored = await self.repo.active_assessment(claim_id)
        if stored is None:
            raise NotFound("this claim has no active assessment", code="assessment_not_found")
        version = await self.schemes.get_version(stored.scheme_code, stored.scheme_version)
        assert version is not None
        facts, prior = parse_claim_input(stored.facts)
        again = assess(stored_scheme(version), facts, prior)
        return AssessmentVerification(
            assessment_id=str(stored.id),
            stored_payout=format(stored.payout, "f"),
            recomputed_payout=format(again.payout, "f"),
            same=same_breakdown(stored.breakdown, again.breakdown) and again.payout == stored.payout,
        )

    # ------------------------------------------------------------ intake

    async def _facts(self, household_id: uuid.UUID, as_of: date) -> RegistryFacts:
        return await self.runtime.registry.household_facts(household_id, as_of)

    def _claim_values(
        self,
        *,
        principal: Principal,
        facts: RegistryFacts | None,
        village_code: str,
        household_id: uuid.UUID,
        member_id: uuid.UUID | None,
        category: str,
        incident: date,
        reported: date,
        expense: dict[str, str],
        source: str,
        source_record_id: str | None,
        lead_evidence: dict[str, Any] | None,
    ) -> dict[str, Any]:
        subject = member_id or household_id
        if category == Category.SCHOOL_ENTRY.value and expense.get("student_member_id"):
            try:
                subject = uuid.UUID(expense["student_member_id"])
            except ValueError as exc:
                raise Unprocessable(
                    "student_member_id is not a UUID",
                    code="invalid_facts",
                    errors=[FieldError(field="expense.student_member_id", message="must be a member's UUID")],
                ) from exc
        return {
            "id": uuid.uuid4(),
            **_regions(facts.village_code if facts is not None else village_code),
            "household_id": household_id,
            "member_id": member_id,
            "subject_id": subject,
            "category": category,
            "incident_date": incident,
            "reported_date": reported,
            "year": incident.year,
            "expense": expense,
            "source": source,
            "source_record_id": source_record_id,
            "lead_evidence": lead_evidence,
            "household_facts": _frozen(facts) if facts is not None else None,
            "facts_status": "ready" if facts is not None else "pending",
            "facts_fetched_at": datetime.now().astimezone() if facts is not None else None,
            "state": ClaimState.REPORTED.value,
            "created_by": principal.sub,
        }

    def _check_member(self, facts: RegistryFacts | None, member_id: uuid.UUID | None, field: str) -> None:
        if facts is None or member_id is None:
            return
        if member_id not in {m.member_id for m in facts.members}:
            raise Unprocessable(
                "the member is not in this household",
                code="member_not_in_household",
                errors=[FieldError(field=field, message="not a member of the household (per the registry)")],
            )

    async def _record_intake(
        self,
        values: Mapping[str, Any],
        principal: Principal,
        comment: str | None,
        evidence: Mapping[str, object],
    ) -> None:
        actor = Actor(principal.sub, principal.primary_role, principal.region)
        step = report(
            values["id"], values["county_code"], values["village_code"], actor, comment=comment, evidence=evidence
        )
        await StepTaker(self.session, principal).take(step)

    async def apply(self, principal: Principal, body: ClaimCreate, key: str | None) -> Created[ClaimRead]:
        """An application entered by a cadre. The registry must answer: facts are frozen now."""
        today = self.runtime.today()
        reported = body.reported_date or today
        errors = []
        if body.incident_date > today:
            errors.append(FieldError(field="incident_date", message="must not be in the future"))
        if reported > today:
            errors.append(FieldError(field="reported_date", message="must not be in the future"))
        if errors:
            raise Unprocessable("the claim's dates are not valid", code="invalid_facts", errors=errors)
        expense = dict(body.expense)
        if body.category == Category.SCHOOL_ENTRY.value:
            if body.member_id is None:
                raise Unprocessable(
                    "a school-entry claim names the student",
                    code="invalid_facts",
                    errors=[FieldError(field="member_id", message="required for school_entry")],
                )
            given = expense.get("student_member_id")
            if given is not None and str(given) != str(body.member_id):
                raise Unprocessable(
                    "student_member_id differs from member_id",
                    code="invalid_facts",
                    errors=[FieldError(field="expense.student_member_id", message="must equal member_id")],
                )
            expense["student_member_id"] = str(body.member_id)
            if "level" not in expense:
                raise Unprocessable(
                    "a school-entry claim names the level",
                    code="invalid_facts",
                    errors=[FieldError(field="expense.level", message="required for school_entry")],
                )
        checked = check_expense(body.category, expense, body.incident_date, reported)
        try:
            facts = await self._facts(body.household_id, body.incident_date)
        except HouseholdUnknown as exc:
            raise NotFound(f"no household {body.household_id}", code="household_not_found") from exc
        if not principal.can_see(facts.village_code):
            raise NotFound(f"no household {body.household_id}", code="household_not_found")
        self._check_member(facts, body.member_id, "member_id")
        values = self._claim_values(
            principal=principal,
            facts=facts,
            village_code=facts.village_code,
            household_id=body.household_id,
            member_id=body.member_id,
            category=body.category,
            incident=body.incident_date,
            reported=reported,
            expense=checked,
            source="application",
            source_record_id=None,
            lead_evidence=None,
        )
        guard = Idempotency(principal, "POST /v1/claims", key, body)

        async def work() -> Created[ClaimRead]:
            if await self.repo.insert(values):
                await self._record_intake(values, principal, body.comment, {})
                row = await self.repo.view(values["id"])
                assert row is not None
                log.info("claims.claim.reported", claim_id=str(values["id"]), source="application")
                return Created(claim_read(row, principal))
            existing = await self.repo.same_event(
                source_record_id=None,
                subject_id=values["subject_id"],
                category=body.category,
                incident_date=body.incident_date,
            )
            assert existing is not None
            view = await self.repo.view(existing.id)
            assert view is not None
            raise Conflict(
                "a claim for this event exists (same person, category and incident date)",
                code="same_event",
                extra={"claim": claim_read(view, principal).model_dump(mode="json")},
            )

        return await idempotent(self.session, guard, ClaimRead, work)

    async def accept_lead(self, principal: Principal, lead: ClaimLead, key: str | None) -> Created[ClaimLeadAccepted]:
        """A claim lead from screening: one claim per source record, whatever the retries.

        If the registry is unreachable the lead is still accepted (the sender's outbox would
        otherwise retry for as long as the registry is down); its facts are fetched later.
        """
        if lead.reported_date < lead.incident_date:
            raise Unprocessable(
                "reported_date is before incident_date",
                code="invalid_facts",
                errors=[FieldError(field="reported_date", message="must not be before incident_date")],
            )
        expense = dict(lead.expense)
        if lead.category == Category.SCHOOL_ENTRY.value and lead.member_id is not None:
            expense.setdefault("student_member_id", str(lead.member_id))
        checked = check_expense(lead.category, expense, lead.incident_date, lead.reported_date)
        existing = await self.repo.by_source_record(lead.source_record_id)
        if existing is not None:
            await self.session.rollback()
            return Created(ClaimLeadAccepted(claim_id=existing.id, created=False), created=False)
        facts: RegistryFacts | None
        try:
            facts = await self._facts(lead.household_id, lead.incident_date)
        except HouseholdUnknown as exc:
            raise Unprocessable(
                "the registry does not know this household",
                code="unknown_household",
                errors=[FieldError(field="household_id", message="unknown to the registry")],
            ) from exc
        except ServiceUnavailable:
            log.warning("claims.lead.facts_deferred", source_record_id=lead.source_record_id)
            facts = None
        self._check_member(facts, lead.member_id, "member_id")
        values = self._claim_values(
            principal=principal,
            facts=facts,
            village_code=lead.village_code,
            household_id=lead.household_id,
            member_id=lead.member_id,
            category=lead.category,
            incident=lead.incident_date,
            reported=lead.reported_date,
            expense=checked,
            source=lead.source,
            source_record_id=lead.source_record_id,
            lead_evidence=lead.evidence.model_dump(mode="json"),
        )
        guard = Idempotency(principal, "POST /v1/claims/leads", key, lead)

        async def work() -> Created[ClaimLeadAccepted]:
            if await self.repo.insert(values):
                await self._record_intake(values, principal, None, {"lead": lead.evidence.model_dump(mode="json")})
                log.info("claims.claim.reported", claim_id=str(values["id"]), source=lead.source)
                return Created(ClaimLeadAccepted(claim_id=values["id"], created=True))
            same = await self.repo.same_event(
                source_record_id=lead.source_record_id,
                subject_id=values["subject_id"],
                category=lead.category,
                incident_date=lead.incident_date,
            )
            assert same is not None
            return Created(ClaimLeadAccepted(claim_id=same.id, created=False), created=False)

        accepted = await idempotent(self.session, guard, ClaimLeadAccepted, work)
        LEADS.labels("created" if accepted.value.created else "repeat").inc()
        return accepted

    async def refresh_facts(self, claim_id: uuid.UUID) -> bool:
        """Fetch and freeze the facts of a claim accepted while the registry was down. True when ready."""
        row = await self.repo.get(claim_id)
        await self.session.rollback()
        if row is None:
            return False
        if row.facts_status == "ready":
            return True
        try:
            facts = await self._facts(row.household_id, row.incident_date)
        except HouseholdUnknown:
            log.warning("claims.facts.household_unknown", claim_id=str(claim_id))
            return False
        locked = await self.repo.get(claim_id, lock=True)
        assert locked is not None
        if locked.facts_status == "pending":
            await self.repo.update(
                claim_id,
                household_facts=_frozen(facts),
                facts_status="ready",
                facts_fetched_at=datetime.now().astimezone(),
                **_regions(facts.village_code),
            )
        await self.session.commit()
        log.info("claims.facts.frozen", claim_id=str(claim_id))
        return True

    # ------------------------------------------------------------ workflow

    def authorize_step(self, principal: Principal, row: ClaimRow, action: ClaimAction) -> Actor:
        """The caller in the role it may take the step in, or 409 naming why not."""
        try:
            role = choose_role(row.state, action, principal.roles, principal.region, row.village_code)
        except TransitionNotAllowed as refusal:
            raise Conflict(
                str(refusal),
                code=refusal.reason,
                extra={
                    "state": row.state,
                    "action": action.value,
                    "allowed_actions": workflow_actions(principal, row.state, row.village_code),
                },
            ) from None
        return Actor(principal.sub, role, principal.region)

    @staticmethod
    def _check_step_input(action: ClaimAction, body: TransitionCreate) -> None:
        errors = [
            FieldError(field=f"evidence.{key}", message=f"{action.value} needs this evidence")
            for key in REQUIRED_EVIDENCE.get(action, ())
            if body.evidence.get(key) in (None, "", [], {})
        ]
        if action is ClaimAction.REJECT and not body.reason_code:
            errors.append(FieldError(field="reason_code", message="a rejection states its reason code"))
        if action is ClaimAction.RETURN and not (body.comment or "").strip():
            errors.append(FieldError(field="comment", message="say what must be redone"))
        if len(json.dumps(body.evidence, ensure_ascii=False).encode()) > MAX_EVIDENCE_BYTES:
            errors.append(FieldError(field="evidence", message=f"at most {MAX_EVIDENCE_BYTES} bytes"))
        if errors:
            raise Unprocessable(
                f"{action.value} is missing what it needs; see errors", code="evidence_required", errors=errors
            )

    async def transition(
        self,
        principal: Principal,
        claim_id: uuid.UUID,
        body: TransitionCreate,
        if_match: int | None,
        key: str | None = None,
    ) -> TransitionResult:
        action = ClaimAction(body.action)
        row = await self._visible(principal, claim_id)
        self._check_step_input(action, body)
        if row.claim.facts_status == "pending":
            await self.session.rollback()
            try:
                ready = await self.refresh_facts(claim_id)
            except ServiceUnavailable as exc:
                raise ServiceUnavailable(
                    "this claim's household facts are still to be fetched and the registry is unreachable",
                    code="registry_unavailable",
                ) from exc
            if not ready:
                raise Conflict("the registry does not know this claim's household", code="household_not_found")

        async def in_scope() -> ClaimRow:
            row = await self.repo.get(claim_id, lock=True)
            if row is None or not principal.can_see(row.village_code):
                raise NotFound(f"no claim {claim_id}", code="claim_not_found")
            return row

        attempt = await KEYS.begin(
            self.session,
            principal,
            route="POST /v1/claims/{claim_id}/transitions",
            resource=claim_id,
            key=key,
            payload=body,
            authorize=in_scope,
        )
        if attempt.replay is not None:
            await self.session.rollback()
            return TransitionResult.model_validate(attempt.replay.body)
        locked = attempt.checked
        require_version(if_match, locked.version, what=f"claim {claim_id}", required=False)
        actor = self.authorize_step(principal, locked, action)
        today = self.runtime.today()
        claim_now = snapshot(locked)
        assessment_row: AssessmentRow | None = None
        if action is ClaimAction.ASSESS:
            assessment_row = await self._assess(principal, locked)
            payout = {"payout": format(assessment_row.payout, "f")}
            if assessment_row.eligible:
                step = take_step(
                    claim_now, action, actor, comment=body.comment, evidence=body.evidence, audit_detail=payout
                )
            else:
                # ineligible: the insurer's reject from `filed`, with the engine's code as the reason
                reason = assessment_row.rejection_code
                step = take_step(
                    claim_now,
                    ClaimAction.REJECT,
                    self.authorize_step(principal, locked, ClaimAction.REJECT),
                    comment=body.comment or f"assessment: {reason}",
                    reason_code=reason,
                    evidence=body.evidence,
                    stage=RejectionStage.ASSESSMENT,
                    audit_detail=payout,
                )
        else:
            if action is ClaimAction.PUBLISH_NOTICE:
                await self.list_on_notice(principal, locked, today)
            elif action in (ClaimAction.APPROVE, ClaimAction.APPROVE_OVERRIDE):
                await self.approve_listing(locked, today)
            step = take_step(
                claim_now, action, actor, comment=body.comment, reason_code=body.reason_code, evidence=body.evidence
            )
        transition = await StepTaker(self.session, principal).take(step)
        view = await self.repo.view(claim_id)
        assert view is not None
        result = TransitionResult(
            claim=claim_read(view, principal),
            transition=transition_read(transition),
            assessment=assessment_read(assessment_row) if assessment_row is not None else None,
        )
        await save_answer(self.session, attempt, result)
        await self.session.commit()
        if assessment_row is not None:
            outcome = assessment_row.rejection_code or "eligible"
            ASSESSMENTS.labels(assessment_row.category, outcome).inc()
            ASSESSED_PAYOUT.labels(assessment_row.category).inc(float(assessment_row.payout))
        log.info(
            "claims.claim.transition", claim_id=str(claim_id), action=step.transition.action, to_state=step.state.value
        )
        return result

    async def _assess(self, principal: Principal, claim_row: ClaimRow) -> AssessmentRow:
        """Assess under the ledger lock: read year-to-date, assess, add this claim, in one transaction."""
        county, year, household = claim_row.county_code, claim_row.year, claim_row.household_id
        version_row = await self.schemes.active_for(county, year)
        if version_row is None:
            raise Conflict(f"no scheme is in force for county {county} in {year}", code="no_active_scheme")
        scheme = stored_scheme(version_row)
        category = claim_row.category
        rows = await self.repo.lock_ledger(household, year, county)
        household_paid = sum((r.paid for r in rows.values()), ZERO)
        student_paid = False
        if category == Category.SCHOOL_ENTRY.value:
            student = claim_row.expense.get("student_member_id")
            level = claim_row.expense.get("level")
            if student and level:
                student_paid = await self.repo.student_level_paid(
                    household_id=household, student_id=student, level=level, exclude_claim=claim_row.id
                )
        prior = YearToDate(
            category_base=rows[category].base,
            category_paid=rows[category].paid,
            household_paid=household_paid,
            same_student_level_paid=student_paid,
        )
        insured = await self.enrolments.is_enrolled(county, year, household) or year in (
            (claim_row.household_facts or {}).get("insured_years") or []
        )
        try:
            facts = engine_facts(claim_row, insured)
        except FactsInvalid as exc:
            raise Conflict(
                "the household facts on this claim cannot be assessed",
                code="household_facts_unusable",
                errors=field_errors(exc, "household_facts"),
            ) from exc
        result = assess(scheme, facts, prior)
        await self.repo.add_to_ledger(household, year, category, base=result.base_added, paid=result.payout)
        await self.schemes.mark_used(scheme.code, scheme.version)
        return await self.repo.add_assessment(
            {
                "id": uuid.uuid4(),
                "claim_id": claim_row.id,
                "county_code": county,
                "household_id": household,
                "year": year,
                "category": category,
                "scheme_code": scheme.code,
                "scheme_version": scheme.version,
                "facts": facts_to_dict(facts, prior),
                "eligible": result.eligible,
                "payout": result.payout,
                "rejection_code": None if result.rejection_code is None else result.rejection_code.value,
                "base_added": result.base_added,
                "breakdown": result.breakdown,
                "status": "active",
                "assessed_by": principal.sub,
            }
        )

    async def release_assessment(self, claim_row: ClaimRow) -> None:
        """Undo the active assessment's effect on the ledger (the claim is reopened)."""
        active = await self.repo.active_assessment(claim_row.id)
        if active is None:
            return
        await self.repo.lock_ledger(claim_row.household_id, claim_row.year, claim_row.county_code)
        await self.repo.add_to_ledger(
            claim_row.household_id,
            claim_row.year,
            claim_row.category,
            base=-active.base_added,
            paid=-active.payout,
        )
        await self.repo.supersede(active.id)

    async def list_on_notice(self, principal: Principal, claim_row: ClaimRow, today: date) -> None:
        active = await self.repo.active_assessment(claim_row.id)
        assert active is not None  # assessed claims have one
        version = await self.schemes.get_version(active.scheme_code, active.scheme_version)
        assert version is not None
        notice_days = stored_scheme(version).notice_days
        notice = await self.notices.open_for(
            village_code=claim_row.village_code,
            published_on=today,
            notice_days=notice_days,
            values={
                "county_code": claim_row.county_code,
                "township_code": claim_row.township_code,
                "last_day": notice_last_day(today, notice_days),
                "created_by": principal.sub,
            },
        )
        await self.notices.list_claim(notice.id, claim_row.id, claim_row.county_code)

    async def approve_listing(self, claim_row: ClaimRow, today: date) -> None:
        listing = await self.notices.listing_of(claim_row.id)
        if listing is None:  # pragma: no cover - in_notice claims are listed
            raise Conflict("this claim is on no notice", code="not_in_notice")
        if notice_window_open(listing.published_on, listing.notice_days, today):
            raise Conflict(
                f"the notice runs until {listing.last_day.isoformat()}; approval comes after the window",
                code="notice_window_open",
                extra={"notice_id": str(listing.notice_id), "last_day": listing.last_day.isoformat()},
            )
        if await self.notices.open_objections(claim_id=claim_row.id):
            raise Conflict("an objection to this claim is undecided", code="objection_pending")
        await self.notices.set_entry_status(listing.notice_id, claim_row.id, "approved")
        await self.notices.close_finished([listing.notice_id])
