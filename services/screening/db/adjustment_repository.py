"""Queries of the monthly adjustment list (两类户动态调整) and its settlement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import REGION, SNAPSHOT, adjustment_settlement, row_as


@dataclass(frozen=True, slots=True)
class AdjustmentEntry:
    """One household line of a village's list of a month: confirmed, eliminated or changed in type."""

    kind: str
    on_date: date
    case_id: uuid.UUID
    household_id: uuid.UUID
    household_number: str | None
    township_code: str
    township_name: str | None
    village_code: str
    village_name: str | None
    monitoring_type: str | None
    previous_type: str | None
    risk_codes: list[str]
    elimination_kind: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Settlement:
    county_code: str
    village_code: str
    month: str
    township_code: str
    status: str
    entries: list[dict[str, Any]]
    entry_count: int
    submitted_by: str | None
    submitted_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    return_reason: str | None
    version: int


@dataclass(frozen=True, slots=True)
class OverdueVillage:
    township_code: str
    township_name: str | None
    village_code: str
    village_name: str | None
    status: str | None
    decided_at: datetime | None


_TRANSITION = """
    LEFT JOIN LATERAL (
        SELECT x.comment, x.evidence FROM screening.case_transition x
         WHERE x.case_id = c.id AND x.action = '{action}' ORDER BY x.seq DESC LIMIT 1
    ) {alias} ON true"""

_ENTRIES = f"""
SELECT e.*, rt.name AS township_name, rv.name AS village_name
  FROM (
    SELECT 'confirmed' AS kind, (c.confirmed_at AT TIME ZONE :tz)::date AS on_date, c.id AS case_id,
           c.household_id, c.household_number, c.township_code, c.village_code,
           COALESCE(t.evidence->>'monitoring_type', c.monitoring_type) AS monitoring_type,
           NULL::text AS previous_type, c.risk_codes, NULL::text AS elimination_kind,
           COALESCE(NULLIF(t.comment, ''), t.evidence->>'reason') AS reason
      FROM screening.monitoring_case c {_TRANSITION.format(action="confirm", alias="t")}
     WHERE c.county_code = :county AND c.village_code = :village
       AND (c.confirmed_at AT TIME ZONE :tz)::date BETWEEN :first AND :last
    UNION ALL
    SELECT 'eliminated', (c.eliminated_at AT TIME ZONE :tz)::date, c.id, c.household_id, c.household_number,
           c.township_code, c.village_code, c.monitoring_type, NULL::text, c.risk_codes, c.elimination_kind,
           COALESCE(NULLIF(t.comment, ''), NULLIF(p.comment, ''), p.evidence->>'home_visit_findings')
      FROM screening.monitoring_case c {_TRANSITION.format(action="eliminate", alias="t")}
           {_TRANSITION.format(action="propose_elimination", alias="p")}
     WHERE c.county_code = :county AND c.village_code = :village
       AND (c.eliminated_at AT TIME ZONE :tz)::date BETWEEN :first AND :last
    UNION ALL
    SELECT 'type_changed', (x.at AT TIME ZONE :tz)::date, c.id, c.household_id, c.household_number,
           c.township_code, c.village_code, x.evidence->>'monitoring_type', x.evidence->>'previous_type',
           c.risk_codes, NULL::text, COALESCE(x.evidence->>'reason', x.comment)
      FROM screening.case_transition x
      JOIN screening.monitoring_case c ON c.id = x.case_id
     WHERE x.action = 'change_type' AND c.county_code = :county AND c.village_code = :village
       AND x.county_code = :county AND (x.at AT TIME ZONE :tz)::date BETWEEN :first AND :last
  ) e
  LEFT JOIN {REGION} rt ON rt.code = e.township_code
  LEFT JOIN {REGION} rv ON rv.code = e.village_code
 ORDER BY e.on_date, e.kind, e.household_number, e.case_id
"""

_OVERDUE = f"""
SELECT v.township_code, rt.name AS township_name, v.village_code, rv.name AS village_name,
       s.status, s.decided_at
  FROM (
    SELECT DISTINCT township_code::text AS township_code, village_code::text AS village_code FROM {SNAPSHOT}
     WHERE county_code = :county AND village_code LIKE :prefix
    UNION
    SELECT township_code, village_code FROM screening.monitoring_case
     WHERE county_code = :county AND village_code LIKE :prefix
  ) v
  LEFT JOIN screening.adjustment_settlement s
    ON s.county_code = :county AND s.village_code = v.village_code AND s.month = :month
  LEFT JOIN {REGION} rt ON rt.code = v.township_code
  LEFT JOIN {REGION} rv ON rv.code = v.village_code
 WHERE s.status IS DISTINCT FROM 'approved' OR (s.decided_at AT TIME ZONE :tz)::date > :due
 ORDER BY v.township_code, v.village_code
"""


class AdjustmentRepository:
    def __init__(self, session: AsyncSession, *, zone: str) -> None:
        self.session = session
        self.zone = zone  # an IANA name PostgreSQL knows (the business clock's zone)

    async def entries(self, county: str, village: str, first: date, last: date) -> list[AdjustmentEntry]:
        params = {"county": county, "village": village, "first": first, "last": last, "tz": self.zone}
        rows = (await self.session.execute(text(_ENTRIES), params)).mappings()
        return [row_as(AdjustmentEntry, r) for r in rows]

    async def region_names(self, codes: list[str]) -> dict[str, str]:
        if not codes:
            return {}
        rows = await self.session.execute(
            text(f"SELECT code, name FROM {REGION} WHERE code = ANY(:codes)"), {"codes": codes}
        )
        return {str(code): str(name) for code, name in rows.all()}

    async def settlement(self, county: str, village: str, month: str, *, for_update: bool = False) -> Settlement | None:
        t = adjustment_settlement.c
        query = select(adjustment_settlement).where(
            t.county_code == county, t.village_code == village, t.month == month
        )
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        return row_as(Settlement, row) if row is not None else None

    async def insert_settlement(self, values: dict[str, Any]) -> bool:
        """False when another request inserted the row first (the caller answers a conflict)."""
        result = await self.session.execute(
            insert(adjustment_settlement)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(adjustment_settlement.c.month)
        )
        await self.session.flush()
        return result.first() is not None

    async def update_settlement(self, county: str, village: str, month: str, values: dict[str, Any]) -> None:
        t = adjustment_settlement.c
        await self.session.execute(
            update(adjustment_settlement)
            .where(t.county_code == county, t.village_code == village, t.month == month)
            .values(**values)
        )
        await self.session.flush()

    async def overdue(self, county: str, prefix: str, month: str, due: date) -> list[OverdueVillage]:
        params = {"county": county, "prefix": prefix + "%", "month": month, "due": due, "tz": self.zone}
        rows = (await self.session.execute(text(_OVERDUE), params)).mappings()
        return [row_as(OverdueVillage, r) for r in rows]
