"""Every query on claims, their transitions, assessments and the ledger."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Uuid, and_, func, literal, select, true, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import assessment, claim, claim_transition, ledger, notice_claim, payment
from services.claims.domain.scheme import Category
from services.claims.domain.workflow import TransitionRecord

CATEGORIES = tuple(c.value for c in Category)


@dataclass(frozen=True, slots=True)
class TransitionRow:
    """One row of a claim's history (claim_transition)."""

    id: int
    claim_id: uuid.UUID
    county_code: str
    action: str
    from_state: str | None
    to_state: str
    actor_sub: str | None
    actor_role: str | None
    actor_region: str | None
    comment: str | None
    reason_code: str | None
    evidence: dict[str, Any]  # jsonb
    at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> TransitionRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class ClaimRow:
    """One claim (table claim). `expense`, `lead_evidence` and `household_facts` are jsonb documents."""

    id: uuid.UUID
    county_code: str
    township_code: str
    village_code: str
    household_id: uuid.UUID
    member_id: uuid.UUID | None
    subject_id: uuid.UUID
    category: str
    incident_date: date
    reported_date: date
    year: int
    expense: dict[str, Any]  # jsonb
    source: str
    source_record_id: str | None
    lead_evidence: dict[str, Any] | None  # jsonb
    household_facts: dict[str, Any] | None  # jsonb, the registry's HouseholdFacts frozen at intake
    facts_status: str
    facts_fetched_at: datetime | None
    state: str
    version: int
    rejection_code: str | None
    rejection_stage: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> ClaimRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class AssessmentBrief:
    """The claim's active assessment, as the claim view shows it."""

    id: uuid.UUID
    eligible: bool
    payout: Decimal
    rejection_code: str | None
    scheme_code: str
    scheme_version: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentBrief:
    """The claim's payment, as the claim view shows it."""

    id: uuid.UUID
    status: str
    amount: Decimal
    attempts: int
    paid_date: date | None


@dataclass(frozen=True, slots=True)
class ClaimView:
    """A claim with its active assessment, its payment and the notice it was last listed on."""

    claim: ClaimRow
    assessment: AssessmentBrief | None
    payment: PaymentBrief | None
    notice_id: uuid.UUID | None

    @classmethod
    def of(cls, row: RowMapping) -> ClaimView:
        def prefixed(kind: type[AssessmentBrief] | type[PaymentBrief], prefix: str) -> Any:
            if row[f"{prefix}_id"] is None:
                return None
            return kind(**{f.name: row[f"{prefix}_{f.name}"] for f in fields(kind)})

        return cls(
            claim=ClaimRow.of(row),
            assessment=prefixed(AssessmentBrief, "a"),
            payment=prefixed(PaymentBrief, "p"),
            notice_id=row["notice_id"],
        )


@dataclass(frozen=True, slots=True)
class AssessmentRow:
    """One assessment (table assessment). `facts` and `breakdown` are jsonb documents."""

    id: uuid.UUID
    claim_id: uuid.UUID
    county_code: str
    household_id: uuid.UUID
    year: int
    category: str
    scheme_code: str
    scheme_version: int
    facts: dict[str, Any]  # jsonb: the engine's input, facts and prior
    eligible: bool
    payout: Decimal
    rejection_code: str | None
    base_added: Decimal
    breakdown: dict[str, Any]  # jsonb
    status: str
    assessed_by: str | None
    created_at: datetime
    superseded_at: datetime | None

    @classmethod
    def of(cls, row: RowMapping) -> AssessmentRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """A household's year-to-date base and payout in one category (table ledger)."""

    household_id: uuid.UUID
    year: int
    category: str
    county_code: str
    base: Decimal
    paid: Decimal
    updated_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> LedgerRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


def _claim(row: RowMapping | None) -> ClaimRow | None:
    return None if row is None else ClaimRow.of(row)


@functools.cache
def claim_view_query() -> Any:
    """A claim with its active assessment, its payment and the notice it was last listed on.

    Built once: a Select is immutable (`.where` makes a new one), and building this one — two aliases
    and a lateral subquery, their column collections — was most of a claim read's CPU, 4 ms of 5
    (issue 15); SQLAlchemy's compiled cache keys on the structure, so the statement compiles once too."""
    a = assessment.alias("a")
    p = payment.alias("p")
    latest_notice = (
        select(notice_claim.c.notice_id)
        .where(notice_claim.c.claim_id == claim.c.id)
        .order_by(notice_claim.c.listed_at.desc())
        .limit(1)
        .lateral("nc")
    )
    return select(
        claim,
        a.c.id.label("a_id"),
        a.c.eligible.label("a_eligible"),
        a.c.payout.label("a_payout"),
        a.c.rejection_code.label("a_rejection_code"),
        a.c.scheme_code.label("a_scheme_code"),
        a.c.scheme_version.label("a_scheme_version"),
        a.c.created_at.label("a_created_at"),
        p.c.id.label("p_id"),
        p.c.status.label("p_status"),
        p.c.amount.label("p_amount"),
        p.c.attempts.label("p_attempts"),
        p.c.paid_date.label("p_paid_date"),
        latest_notice.c.notice_id.label("notice_id"),
    ).select_from(
        claim.outerjoin(a, and_(a.c.claim_id == claim.c.id, a.c.status == "active"))
        .outerjoin(p, p.c.claim_id == claim.c.id)
        .outerjoin(latest_notice, true())
    )


class ClaimRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------ claims

    async def get(self, claim_id: uuid.UUID, *, lock: bool = False) -> ClaimRow | None:
        query = select(claim).where(claim.c.id == claim_id)
        if lock:
            query = query.with_for_update()
        return _claim((await self.session.execute(query)).mappings().one_or_none())

    async def lock_many(self, claim_ids: Iterable[uuid.UUID]) -> list[ClaimRow]:
        """Lock claims in id order (one order everywhere, so two lockers never deadlock)."""
        query = select(claim).where(claim.c.id.in_(sorted(set(claim_ids)))).order_by(claim.c.id).with_for_update()
        return [ClaimRow.of(r) for r in (await self.session.execute(query)).mappings()]

    async def view(self, claim_id: uuid.UUID) -> ClaimView | None:
        query = claim_view_query().where(claim.c.id == claim_id)
        row = (await self.session.execute(query)).mappings().one_or_none()
        return None if row is None else ClaimView.of(row)

    async def insert(self, values: dict[str, Any]) -> bool:
        """Insert unless the same event exists (same source record, or same subject, category and day)."""
        result = await self.session.execute(
            insert(claim).values(**values).on_conflict_do_nothing().returning(claim.c.id)
        )
        return result.scalar_one_or_none() is not None

    async def by_source_record(self, source_record_id: str) -> ClaimRow | None:
        query = select(claim).where(claim.c.source_record_id == source_record_id)
        return _claim((await self.session.execute(query)).mappings().one_or_none())

    async def same_event(
        self, *, source_record_id: str | None, subject_id: uuid.UUID, category: str, incident_date: date
    ) -> ClaimRow | None:
        conditions = [
            and_(claim.c.subject_id == subject_id, claim.c.category == category, claim.c.incident_date == incident_date)
        ]
        if source_record_id is not None:
            conditions.append(claim.c.source_record_id == source_record_id)
        query = select(claim).where(conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1])
        return _claim((await self.session.execute(query.limit(1))).mappings().first())

    async def update(self, claim_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(
            update(claim)
            .where(claim.c.id == claim_id)
            .values(**values, version=claim.c.version + 1, updated_at=func.now())
        )

    async def set_state(self, claim_id: uuid.UUID, version: int, **values: Any) -> int | None:
        """A workflow step's change, only if the claim is still at `version`: the new version, or None."""
        result = await self.session.execute(
            update(claim)
            .where(claim.c.id == claim_id, claim.c.version == version)
            .values(**values, version=claim.c.version + 1, updated_at=func.now())
            .returning(claim.c.version)
        )
        return result.scalar_one_or_none()

    async def search(
        self,
        *,
        region: str,
        state: str | None,
        category: str | None,
        village_code: str | None,
        household_id: uuid.UUID | None,
        year: int | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[ClaimView]:
        query = claim_view_query()
        if region:
            query = query.where(claim.c.village_code.startswith(region))
        if state is not None:
            query = query.where(claim.c.state == state)
        if category is not None:
            query = query.where(claim.c.category == category)
        if village_code is not None:
            query = query.where(claim.c.village_code == village_code)
        if household_id is not None:
            query = query.where(claim.c.household_id == household_id)
        if year is not None:
            query = query.where(claim.c.year == year)
        if after is not None:
            query = query.where(
                tuple_(claim.c.created_at, claim.c.id)
                > tuple_(literal(after[0], DateTime(timezone=True)), literal(after[1], Uuid))
            )
        query = query.order_by(claim.c.created_at, claim.c.id).limit(limit)
        return [ClaimView.of(r) for r in (await self.session.execute(query)).mappings()]

    async def pending_facts(self, limit: int) -> list[uuid.UUID]:
        query = select(claim.c.id).where(claim.c.facts_status == "pending").order_by(claim.c.created_at).limit(limit)
        return [row[0] for row in (await self.session.execute(query)).all()]

    async def for_simulation(self, county_code: str, year: int) -> list[ClaimRow]:
        """A year's claims with facts, except those a reviewer rejected (not the engine)."""
        query = (
            select(claim)
            .where(
                claim.c.county_code == county_code,
                claim.c.year == year,
                claim.c.facts_status == "ready",
                (claim.c.state != "rejected") | (claim.c.rejection_stage == "assessment"),
            )
            .order_by(claim.c.household_id, claim.c.incident_date, claim.c.created_at, claim.c.id)
        )
        return [ClaimRow.of(r) for r in (await self.session.execute(query)).mappings()]

    # ------------------------------------------------------------ transitions

    async def add_transition(self, claim_id: uuid.UUID, county_code: str, record: TransitionRecord) -> TransitionRow:
        values = {
            "claim_id": claim_id,
            "county_code": county_code,
            "action": record.action,
            "from_state": None if record.from_state is None else record.from_state.value,
            "to_state": record.to_state.value,
            "actor_sub": record.actor_sub,
            "actor_role": record.actor_role,
            "actor_region": record.actor_region,
            "comment": record.comment,
            "reason_code": record.reason_code,
            "evidence": dict(record.evidence),
        }
        result = await self.session.execute(claim_transition.insert().values(**values).returning(*claim_transition.c))
        return TransitionRow.of(result.mappings().one())

    async def transitions(self, claim_id: uuid.UUID) -> list[TransitionRow]:
        query = select(claim_transition).where(claim_transition.c.claim_id == claim_id).order_by(claim_transition.c.id)
        return [TransitionRow.of(r) for r in (await self.session.execute(query)).mappings()]

    # ------------------------------------------------------------ assessments

    async def add_assessment(self, values: dict[str, Any]) -> AssessmentRow:
        result = await self.session.execute(assessment.insert().values(**values).returning(*assessment.c))
        return AssessmentRow.of(result.mappings().one())

    async def active_assessment(self, claim_id: uuid.UUID) -> AssessmentRow | None:
        query = select(assessment).where(assessment.c.claim_id == claim_id, assessment.c.status == "active")
        row = (await self.session.execute(query)).mappings().one_or_none()
        return None if row is None else AssessmentRow.of(row)

    async def assessments(self, claim_id: uuid.UUID) -> list[AssessmentRow]:
        query = select(assessment).where(assessment.c.claim_id == claim_id).order_by(assessment.c.created_at)
        return [AssessmentRow.of(r) for r in (await self.session.execute(query)).mappings()]

    async def supersede(self, assessment_id: uuid.UUID) -> None:
        await self.session.execute(
            update(assessment)
            .where(assessment.c.id == assessment_id)
            .values(status="superseded", superseded_at=func.now())
        )

    async def student_level_paid(
        self, *, household_id: uuid.UUID, student_id: str, level: str, exclude_claim: uuid.UUID
    ) -> bool:
        """School entry: an active eligible assessment for this student and level already exists."""
        query = (
            select(func.count())
            .select_from(assessment.join(claim, claim.c.id == assessment.c.claim_id))
            .where(
                claim.c.household_id == household_id,
                claim.c.category == Category.SCHOOL_ENTRY.value,
                claim.c.id != exclude_claim,
                claim.c.expense["level"].astext == level,
                claim.c.expense["student_member_id"].astext == student_id,
                assessment.c.status == "active",
                assessment.c.eligible,
            )
        )
        return bool((await self.session.execute(query)).scalar_one())

    # ------------------------------------------------------------ the ledger

    async def lock_ledger(self, household_id: uuid.UUID, year: int, county_code: str) -> dict[str, LedgerRow]:
        """The household's ledger rows of the year, created if missing, locked FOR UPDATE.

        Every category's row is locked, not only the claim's: the household cap spans them all.
        Rows are inserted in one statement in a fixed order, so concurrent first assessments queue
        on the unique index instead of deadlocking.
        """
        await self.session.execute(
            insert(ledger)
            .values(
                [
                    {"household_id": household_id, "year": year, "category": c, "county_code": county_code}
                    for c in CATEGORIES
                ]
            )
            .on_conflict_do_nothing()
        )
        query = (
            select(ledger)
            .where(ledger.c.household_id == household_id, ledger.c.year == year)
            .order_by(ledger.c.category)
            .with_for_update()
        )
        rows = [LedgerRow.of(r) for r in (await self.session.execute(query)).mappings()]
        return {row.category: row for row in rows}

    async def add_to_ledger(
        self, household_id: uuid.UUID, year: int, category: str, *, base: Decimal, paid: Decimal
    ) -> None:
        await self.session.execute(
            update(ledger)
            .where(ledger.c.household_id == household_id, ledger.c.year == year, ledger.c.category == category)
            .values(base=ledger.c.base + base, paid=ledger.c.paid + paid, updated_at=func.now())
        )

    async def ledger_rows(self, household_id: uuid.UUID, year: int) -> list[LedgerRow]:
        query = (
            select(ledger)
            .where(ledger.c.household_id == household_id, ledger.c.year == year)
            .order_by(ledger.c.category)
        )
        return [LedgerRow.of(r) for r in (await self.session.execute(query)).mappings()]
