"""Every query on public notices (公示) and objections (异议)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import assessment, claim, notice, notice_claim, objection


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """One public notice (table notice)."""

    id: uuid.UUID
    county_code: str
    township_code: str
    village_code: str
    published_on: date
    notice_days: int
    last_day: date
    status: str
    created_by: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> NoticeRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class Listing:
    """The notice a claim is listed on now, with its window."""

    notice_id: uuid.UUID
    status: str
    published_on: date
    last_day: date
    notice_days: int

    @classmethod
    def of(cls, row: RowMapping) -> Listing:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One claim on a notice, with what the notice shows of it."""

    claim_id: uuid.UUID
    status: str  # listed | approved | withdrawn
    claim_state: str
    category: str
    member_id: uuid.UUID | None
    household_facts: dict[str, Any] | None  # jsonb, the claim's frozen facts
    payout: Decimal | None

    @classmethod
    def of(cls, row: RowMapping) -> EntryRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class DueEntry:
    """A listed claim whose window has ended with no undecided objection."""

    notice_id: uuid.UUID
    claim_id: uuid.UUID

    @classmethod
    def of(cls, row: RowMapping) -> DueEntry:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class ObjectionRow:
    """One objection (table objection); the objector's name is encrypted at rest."""

    id: uuid.UUID
    notice_id: uuid.UUID
    claim_id: uuid.UUID
    county_code: str
    objector_enc: bytes | None
    objector_masked: str | None
    reason: str
    status: str
    filed_by: str | None
    filed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_comment: str | None

    @classmethod
    def of(cls, row: RowMapping) -> ObjectionRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


class NoticeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, notice_id: uuid.UUID) -> NoticeRow | None:
        row = (await self.session.execute(select(notice).where(notice.c.id == notice_id))).mappings().one_or_none()
        return None if row is None else NoticeRow.of(row)

    async def open_for(
        self, *, village_code: str, published_on: date, notice_days: int, values: dict[str, Any]
    ) -> NoticeRow:
        """Today's notice of a village (one per village, day and length), created on first use."""
        await self.session.execute(
            insert(notice)
            .values(
                id=uuid.uuid4(),
                village_code=village_code,
                published_on=published_on,
                notice_days=notice_days,
                status="open",
                **values,
            )
            .on_conflict_do_nothing(constraint="uq_notice_village_day")
        )
        query = select(notice).where(
            notice.c.village_code == village_code,
            notice.c.published_on == published_on,
            notice.c.notice_days == notice_days,
        )
        return NoticeRow.of((await self.session.execute(query)).mappings().one())

    async def list_claim(self, notice_id: uuid.UUID, claim_id: uuid.UUID, county_code: str) -> None:
        await self.session.execute(
            insert(notice_claim)
            .values(notice_id=notice_id, claim_id=claim_id, county_code=county_code, status="listed")
            .on_conflict_do_update(
                index_elements=[notice_claim.c.notice_id, notice_claim.c.claim_id, notice_claim.c.county_code],
                set_={"status": "listed", "listed_at": func.now()},
            )
        )
        await self.session.execute(update(notice).where(notice.c.id == notice_id).values(status="open"))

    async def listing_of(self, claim_id: uuid.UUID) -> Listing | None:
        """The notice a claim is listed on now (status listed), with its window."""
        query = (
            select(
                notice_claim.c.notice_id,
                notice_claim.c.status,
                notice.c.published_on,
                notice.c.last_day,
                notice.c.notice_days,
            )
            .select_from(notice_claim.join(notice, notice.c.id == notice_claim.c.notice_id))
            .where(notice_claim.c.claim_id == claim_id, notice_claim.c.status == "listed")
        )
        row = (await self.session.execute(query)).mappings().first()
        return None if row is None else Listing.of(row)

    async def set_entry_status(self, notice_id: uuid.UUID, claim_id: uuid.UUID, status: str) -> None:
        await self.session.execute(
            update(notice_claim)
            .where(notice_claim.c.notice_id == notice_id, notice_claim.c.claim_id == claim_id)
            .values(status=status)
        )

    async def close_finished(self, notice_ids: Sequence[uuid.UUID] | None = None) -> int:
        """Close open notices that list no claim any more."""
        still_listed = (
            select(notice_claim.c.notice_id)
            .where(notice_claim.c.notice_id == notice.c.id, notice_claim.c.status == "listed")
            .exists()
        )
        query = update(notice).where(notice.c.status == "open", ~still_listed).values(status="closed")
        if notice_ids is not None:
            query = query.where(notice.c.id.in_(list(notice_ids)))
        result = await self.session.execute(query.returning(notice.c.id))
        return len(result.all())

    async def entries(self, notice_id: uuid.UUID) -> list[EntryRow]:
        query = (
            select(
                notice_claim.c.claim_id,
                notice_claim.c.status,
                claim.c.state.label("claim_state"),
                claim.c.category,
                claim.c.member_id,
                claim.c.household_facts,
                assessment.c.payout,
            )
            .select_from(
                notice_claim.join(claim, claim.c.id == notice_claim.c.claim_id).outerjoin(
                    assessment, (assessment.c.claim_id == claim.c.id) & (assessment.c.status == "active")
                )
            )
            .where(notice_claim.c.notice_id == notice_id)
            .order_by(notice_claim.c.listed_at, notice_claim.c.claim_id)
        )
        return [EntryRow.of(r) for r in (await self.session.execute(query)).mappings()]

    async def search(
        self, *, region: str, village_code: str | None, status: str | None, after: uuid.UUID | None, limit: int
    ) -> list[NoticeRow]:
        query = select(notice)
        if region:
            query = query.where(notice.c.village_code.startswith(region))
        if village_code is not None:
            query = query.where(notice.c.village_code == village_code)
        if status is not None:
            query = query.where(notice.c.status == status)
        if after is not None:
            query = query.where(notice.c.id > after)
        rows = (await self.session.execute(query.order_by(notice.c.id).limit(limit))).mappings()
        return [NoticeRow.of(r) for r in rows]

    async def due_for_approval(self, today: date, limit: int) -> list[DueEntry]:
        """Listed claims whose window ended before `today` and that have no undecided objection."""
        open_objection = (
            select(objection.c.id)
            .where(objection.c.claim_id == notice_claim.c.claim_id, objection.c.status == "open")
            .exists()
        )
        query = (
            select(notice_claim.c.notice_id, notice_claim.c.claim_id)
            .select_from(notice_claim.join(notice, notice.c.id == notice_claim.c.notice_id))
            .where(notice_claim.c.status == "listed", notice.c.last_day < today, ~open_objection)
            .order_by(notice_claim.c.claim_id)
            .limit(limit)
        )
        return [DueEntry.of(r) for r in (await self.session.execute(query)).mappings()]

    async def waiting_on_objections(self, today: date) -> int:
        open_objection = (
            select(objection.c.id)
            .where(objection.c.claim_id == notice_claim.c.claim_id, objection.c.status == "open")
            .exists()
        )
        query = (
            select(func.count())
            .select_from(notice_claim.join(notice, notice.c.id == notice_claim.c.notice_id))
            .where(notice_claim.c.status == "listed", notice.c.last_day < today, open_objection)
        )
        return int((await self.session.execute(query)).scalar_one())

    # ------------------------------------------------------------ objections

    async def add_objection(self, values: dict[str, Any]) -> ObjectionRow:
        result = await self.session.execute(objection.insert().values(**values).returning(*objection.c))
        return ObjectionRow.of(result.mappings().one())

    async def objection(self, objection_id: uuid.UUID, *, lock: bool = False) -> ObjectionRow | None:
        query = select(objection).where(objection.c.id == objection_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return None if row is None else ObjectionRow.of(row)

    async def objections(self, notice_id: uuid.UUID) -> list[ObjectionRow]:
        query = (
            select(objection).where(objection.c.notice_id == notice_id).order_by(objection.c.filed_at, objection.c.id)
        )
        return [ObjectionRow.of(r) for r in (await self.session.execute(query)).mappings()]

    async def open_objections(self, *, claim_id: uuid.UUID | None = None, notice_id: uuid.UUID | None = None) -> int:
        query = select(func.count()).where(objection.c.status == "open")
        if claim_id is not None:
            query = query.where(objection.c.claim_id == claim_id)
        if notice_id is not None:
            query = query.where(objection.c.notice_id == notice_id)
        return int((await self.session.execute(query)).scalar_one())

    async def decide(self, objection_id: uuid.UUID, *, status: str, decided_by: str, comment: str) -> ObjectionRow:
        result = await self.session.execute(
            update(objection)
            .where(objection.c.id == objection_id)
            .values(status=status, decided_by=decided_by, decided_at=func.now(), decision_comment=comment)
            .returning(*objection.c)
        )
        return ObjectionRow.of(result.mappings().one())
