"""Feed batches and records: every query of `screening.feed_batch` / `feed_record`, the SQL
match against the registry's member identity view, and the claim leads they produce."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.claim_lead_repository import ClaimLeadRepository
from services.screening.db.tables import MEMBER_IDENTITY, SNAPSHOT, feed_batch, feed_record, row_as

B = feed_batch
R = feed_record


@dataclass(frozen=True, slots=True)
class FeedBatch:
    """A department's batch job (`errors` and `result` are the stored documents)."""

    id: uuid.UUID
    county_code: str
    department: str
    period: str | None
    format: str
    declared_record_count: int
    declared_control_total: Decimal
    record_count: int
    control_total: Decimal
    status: str
    progress_done: int
    progress_total: int
    accepted_count: int
    duplicate_count: int
    invalid_count: int
    matched_count: int
    unmatched_count: int
    claim_lead_count: int
    errors: list[dict[str, Any]]
    result: dict[str, Any] | None
    content_sha256: str
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """A record of a batch as listed: what it says (the national ID only masked) and what it matched."""

    id: uuid.UUID
    line_no: int
    source_record_id: str
    kind: str
    event_date: date
    national_id_masked: str | None
    household_number: str | None
    member_id: uuid.UUID | None
    household_id: uuid.UUID | None
    amount: Decimal
    amounts: dict[str, str]
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UnmatchedRecord:
    """A record that matched no registered person or household."""

    line_no: int
    source_record_id: str
    kind: str
    national_id_masked: str | None
    household_number: str | None


#: Feed kind → insurance category (shared/contracts/claims.py FEED_KIND_TO_CATEGORY), as SQL.
_CATEGORY_SQL = """CASE f.kind WHEN 'medical_expense' THEN 'illness' WHEN 'school_admission' THEN 'school_entry'
    WHEN 'disaster_loss' THEN 'disaster_accident' WHEN 'accident' THEN 'disaster_accident'
    WHEN 'industry_loss' THEN 'industry_loss' END"""

#: The claims service's expense facts per category, from the record's amounts and details.
_EXPENSE_SQL = """jsonb_strip_nulls(CASE r.category
    WHEN 'illness' THEN jsonb_build_object(
        'total_cost', r.amounts->>'total_cost',
        'basic_insurance_paid', r.amounts->>'basic_insurance',
        'critical_illness_paid', r.amounts->>'critical_illness_insurance',
        'medical_assistance_paid', r.amounts->>'medical_assistance')
    WHEN 'school_entry' THEN jsonb_build_object('level', r.details->>'level', 'student_member_id', r.member_id::text)
    ELSE jsonb_build_object('assessed_loss', r.amounts->>'loss') END)"""


class FeedRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- batches ---------------------------------------------------------------------------

    async def insert_batch(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(B).values(**values))

    async def batch(self, batch_id: uuid.UUID, *, for_update: bool = False) -> FeedBatch | None:
        query = select(B).where(B.c.id == batch_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(FeedBatch, row) if row is not None else None

    async def update_batch(self, batch_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(update(B).where(B.c.id == batch_id).values(**values))

    async def list_batches(
        self, *, department: str, county_prefix: str, county_code: str | None, after: Sequence[Any] | None, limit: int
    ) -> list[FeedBatch]:
        query = select(B).where(
            B.c.department == department, B.c.county_code.startswith(county_prefix, autoescape=True)
        )
        if county_code:
            query = query.where(B.c.county_code == county_code)
        if after:
            stamp, last_id = after  # (created_at, id) of the last row of the page before
            query = query.where((B.c.created_at < stamp) | ((B.c.created_at == stamp) & (B.c.id < last_id)))
        query = query.order_by(B.c.created_at.desc(), B.c.id.desc()).limit(limit)
        return [row_as(FeedBatch, r) for r in (await self.session.execute(query)).mappings()]

    # --- records ---------------------------------------------------------------------------

    async def stage_records(self, rows: list[dict[str, Any]], chunk: int = 5000) -> set[int]:
        """Insert; a source_record_id the department sent before is skipped. Returns the lines stored."""
        stored: set[int] = set()
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            result = await self.session.execute(
                pg_insert(R).values(part).on_conflict_do_nothing().returning(R.c.line_no)
            )
            stored.update(result.scalars())
        return stored

    async def records(
        self, batch_id: uuid.UUID, *, unmatched_only: bool, after_line: int | None, limit: int
    ) -> list[FeedRecord]:
        query = select(
            R.c.id,
            R.c.line_no,
            R.c.source_record_id,
            R.c.kind,
            R.c.event_date,
            R.c.national_id_masked,
            R.c.household_number,
            R.c.member_id,
            R.c.household_id,
            R.c.amount,
            R.c.amounts,
            R.c.details,
        ).where(R.c.batch_id == batch_id)
        if unmatched_only:
            query = query.where(R.c.household_id.is_(None))
        if after_line is not None:
            query = query.where(R.c.line_no > after_line)
        rows = await self.session.execute(query.order_by(R.c.line_no).limit(limit))
        return [row_as(FeedRecord, r) for r in rows.mappings()]

    async def match_batch(self, batch_id: uuid.UUID, county_code: str, now: datetime) -> None:
        """Match by the national ID's blind index (active membership first), then by household number."""
        await self.session.execute(
            text(
                f"""
                UPDATE screening.feed_record f
                   SET member_id = m.member_id, household_id = m.household_id, matched_at = :now
                  FROM (SELECT DISTINCT ON (mi.national_id_index)
                               mi.national_id_index, mi.member_id, mi.household_id
                          FROM {MEMBER_IDENTITY} mi
                         WHERE mi.county_code = :county
                           AND mi.national_id_index IN (SELECT national_id_index FROM screening.feed_record
                                                         WHERE batch_id = :batch AND national_id_index IS NOT NULL)
                         ORDER BY mi.national_id_index, mi.active DESC) m
                 WHERE f.batch_id = :batch AND f.national_id_index = m.national_id_index
                """
            ),
            {"batch": batch_id, "county": county_code, "now": now},
        )
        await self.session.execute(
            text(
                f"""
                UPDATE screening.feed_record f
                   SET household_id = s.household_id, matched_at = :now
                  FROM {SNAPSHOT} s
                 WHERE f.batch_id = :batch AND f.household_id IS NULL AND f.household_number IS NOT NULL
                   AND s.county_code = :county AND s.household_number = f.household_number
                """
            ),
            {"batch": batch_id, "county": county_code, "now": now},
        )

    async def rematch_county(self, county_code: str, now: datetime) -> int:
        """Records that matched no one when they arrived, matched again (the registry may know them now)."""
        result = await self.session.execute(
            text(
                f"""
                UPDATE screening.feed_record f
                   SET member_id = m.member_id, household_id = m.household_id, matched_at = :now
                  FROM (SELECT DISTINCT ON (mi.national_id_index)
                               mi.national_id_index, mi.member_id, mi.household_id
                          FROM {MEMBER_IDENTITY} mi
                         WHERE mi.county_code = :county
                           AND mi.national_id_index IN (SELECT national_id_index FROM screening.feed_record
                                                         WHERE county_code = :county AND household_id IS NULL
                                                           AND national_id_index IS NOT NULL)
                         ORDER BY mi.national_id_index, mi.active DESC) m
                 WHERE f.county_code = :county AND f.household_id IS NULL AND f.national_id_index = m.national_id_index
                """
            ),
            {"county": county_code, "now": now},
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def match_counts(self, batch_id: uuid.UUID) -> tuple[int, int]:
        row = (
            await self.session.execute(
                select(
                    func.count().filter(R.c.household_id.is_not(None)),
                    func.count().filter(R.c.household_id.is_(None)),
                ).where(R.c.batch_id == batch_id)
            )
        ).one()
        return int(row[0]), int(row[1])

    async def unmatched(self, batch_id: uuid.UUID, limit: int) -> list[UnmatchedRecord]:
        rows = await self.session.execute(
            select(R.c.line_no, R.c.source_record_id, R.c.kind, R.c.national_id_masked, R.c.household_number)
            .where(R.c.batch_id == batch_id, R.c.household_id.is_(None))
            .order_by(R.c.line_no)
            .limit(limit)
        )
        return [row_as(UnmatchedRecord, r) for r in rows.mappings()]

    async def enqueue_claim_leads(
        self,
        *,
        county_code: str,
        reported: date,
        request_id: str | None,
        batch_id: uuid.UUID | None = None,
        matched_at: datetime | None = None,
    ) -> int:
        """Claim leads (rules §2.4) for records of insured households, into the outbox.

        One statement for the whole batch (claim_lead_repository.py writes the rows and the
        contract's JSON): the records of the five insurable kinds whose household was insured in
        the event's year (the snapshot's insured_years); a record already sent (same department
        and source record id) is not sent again.
        """
        where = "f.batch_id = :batch" if batch_id is not None else "f.county_code = :county AND f.matched_at = :matched"
        source = f"""
            SELECT r.*, {_EXPENSE_SQL} AS expense
              FROM (SELECT 'feed' AS source, f.department || ':' || f.source_record_id AS source_record_id,
                           f.household_id, f.member_id, CAST(:county AS varchar) AS county_code, s.village_code,
                           {_CATEGORY_SQL} AS category, f.event_date AS incident_date,
                           CAST(:reported AS date) AS reported_date,
                           f.department AS evidence_department, f.batch_id AS evidence_batch_id,
                           f.id AS evidence_feed_record_id, CAST(NULL AS uuid) AS evidence_run_id,
                           f.kind AS evidence_kind,
                           extract(year FROM f.event_date)::int AS incident_year, f.id AS feed_record_id,
                           CAST(NULL AS uuid) AS run_id, f.amounts, f.details
                      FROM screening.feed_record f
                      JOIN {SNAPSHOT} s ON s.household_id = f.household_id
                     WHERE {where} AND f.household_id IS NOT NULL
                       AND f.kind IN ('medical_expense', 'school_admission', 'disaster_loss', 'accident',
                                      'industry_loss')
                       AND extract(year FROM f.event_date)::int = ANY (s.insured_years)
                       AND NOT EXISTS (SELECT 1 FROM screening.claim_lead cl
                                        WHERE cl.county_code = f.county_code
                                          AND cl.source_record_id = f.department || ':' || f.source_record_id)) r
        """
        return await ClaimLeadRepository(self.session).enqueue(
            source,
            {"batch": batch_id, "county": county_code, "matched": matched_at, "reported": reported},
            request_id=request_id,
        )
