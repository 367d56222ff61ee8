"""The county report's counts (rules.md §5), set-based over one region's households and members,
and the claims service's read contract `claims.payment_paid_v1` for the payouts (never its tables)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db.household_repository import region_range

PAYMENT_PAID = "claims.payment_paid_v1"  # shared/contracts/claims.py
MEASURES = "screening.assistance_measure_v1"  # shared/contracts/assistance.py
CARE_SUBJECTS = "screening.care_subject_v1"  # shared/contracts/assistance.py

# A household of the region, on the register (not archived): the base of every figure.
_IN_REGION = "h.village_code BETWEEN :low AND :high AND h.archived_at IS NULL"
# 建档立卡: identified as poor in or before the year.
_REGISTERED = "h.registered_year IS NOT NULL AND h.registered_year <= :year"
# 未脱贫: registered and not lifted out by the end of the year (a lifted_out household without a year
# counts as lifted out: the year is unknown, not the fact).
_REMAINING = f"{_REGISTERED} AND NOT coalesce(h.lifted_out_year <= :year, h.base_status = 'lifted_out')"
_PEOPLE = "(SELECT count(*) FROM registry.member m WHERE m.household_id = h.id AND m.active)"


@dataclass(frozen=True)
class Count:
    """A group and how many households (and people) are in it."""

    key: str | None
    households: int
    people: int


@dataclass(frozen=True)
class RegionCount:
    """One child region's (a township's villages, a county's townships) main counts."""

    code: str
    name: str | None
    rural_households: int
    rural_people: int
    registered_households: int
    registered_people: int
    remaining_households: int
    remaining_people: int


@dataclass(frozen=True)
class AssistancePaid:
    """Screening's assistance payments the registry holds as income (registry.assistance_income), by type."""

    measure_type: str
    payments: int
    households: int
    amount: Decimal


@dataclass(frozen=True)
class MeasureCount:
    """Screening's measures in effect in a year, by type (screening.assistance_measure_v1)."""

    measure_type: str
    measures: int
    households: int


@dataclass(frozen=True)
class CareCount:
    """兜底 people now, by group and placement (screening.care_subject_v1); placement None: not yet placed."""

    care_group: str
    placement: str | None
    people: int
    households: int


@dataclass(frozen=True)
class Payout:
    category: str
    claims: int
    households: int
    amount: Decimal


class StatisticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _params(self, prefix: str, year: int) -> dict[str, Any]:
        low, high = region_range(prefix)
        return {"low": low, "high": high, "year": year}

    async def _counts(self, sql: str, params: dict[str, Any]) -> list[Count]:
        rows = (await self.session.execute(text(sql), params)).all()
        return [Count(key=None if r[0] is None else str(r[0]), households=int(r[1]), people=int(r[2])) for r in rows]

    async def totals(self, prefix: str, year: int) -> dict[str, Count]:
        """rural (every household on the register), registered (建档立卡), remaining (未脱贫)."""
        sql = f"""
            SELECT count(*), coalesce(sum(p), 0),
                   count(*) FILTER (WHERE reg), coalesce(sum(p) FILTER (WHERE reg), 0),
                   count(*) FILTER (WHERE rem), coalesce(sum(p) FILTER (WHERE rem), 0)
              FROM (SELECT {_PEOPLE} AS p, ({_REGISTERED}) AS reg, ({_REMAINING}) AS rem
                      FROM registry.household h WHERE {_IN_REGION}) t
        """
        r = (await self.session.execute(text(sql), self._params(prefix, year))).one()
        return {
            "rural": Count("rural", int(r[0]), int(r[1])),
            "registered": Count("registered", int(r[2]), int(r[3])),
            "remaining": Count("remaining", int(r[4]), int(r[5])),
        }

    async def lifted_out_by_year(self, prefix: str, year: int) -> list[Count]:
        sql = f"""
            SELECT h.lifted_out_year, count(*), coalesce(sum({_PEOPLE}), 0)
              FROM registry.household h
             WHERE {_IN_REGION} AND h.lifted_out_year <= :year
             GROUP BY h.lifted_out_year ORDER BY h.lifted_out_year
        """
        return await self._counts(sql, self._params(prefix, year))

    async def remaining_by_cause(self, prefix: str, year: int) -> list[Count]:
        sql = f"""
            SELECT h.poverty_cause, count(*), coalesce(sum({_PEOPLE}), 0)
              FROM registry.household h
             WHERE {_IN_REGION} AND {_REMAINING}
             GROUP BY h.poverty_cause ORDER BY count(*) DESC, h.poverty_cause NULLS LAST
        """
        return await self._counts(sql, self._params(prefix, year))

    async def monitored_by_type(self, prefix: str, year: int) -> list[Count]:
        sql = f"""
            SELECT h.status, count(*), coalesce(sum({_PEOPLE}), 0)
              FROM registry.household h
             WHERE {_IN_REGION} AND h.status IN ('unstable', 'marginal', 'sudden_hardship')
             GROUP BY h.status ORDER BY h.status
        """
        return await self._counts(sql, self._params(prefix, year))

    async def monitored_by_risk(self, prefix: str, year: int) -> list[Count]:
        sql = f"""
            SELECT r.risk, count(*), coalesce(sum({_PEOPLE}), 0)
              FROM registry.household h CROSS JOIN LATERAL unnest(h.risk_types) AS r(risk)
             WHERE {_IN_REGION} AND h.status IN ('unstable', 'marginal', 'sudden_hardship')
             GROUP BY r.risk ORDER BY count(*) DESC, r.risk
        """
        return await self._counts(sql, self._params(prefix, year))

    async def dibao_tekun(self, prefix: str, year: int) -> list[Count]:
        """低保 by class (key A/B/C) and 特困供养 (key tekun)."""
        sql = f"""
            SELECT h.dibao, count(*), coalesce(sum({_PEOPLE}), 0)
              FROM registry.household h WHERE {_IN_REGION} AND h.dibao IS NOT NULL
             GROUP BY h.dibao
            UNION ALL
            SELECT 'tekun', count(*), coalesce(sum({_PEOPLE}), 0)
              FROM registry.household h WHERE {_IN_REGION} AND h.tekun
            ORDER BY 1
        """
        return await self._counts(sql, self._params(prefix, year))

    async def by_child_region(self, prefix: str, year: int, child_digits: int) -> list[RegionCount]:
        """The main counts per child region (`child_digits` 9: townships, 12: villages), with names."""
        sql = f"""
            SELECT t.code, r.name, count(*), coalesce(sum(p), 0),
                   count(*) FILTER (WHERE reg), coalesce(sum(p) FILTER (WHERE reg), 0),
                   count(*) FILTER (WHERE rem), coalesce(sum(p) FILTER (WHERE rem), 0)
              FROM (SELECT substr(h.village_code, 1, :digits) AS code, {_PEOPLE} AS p,
                           ({_REGISTERED}) AS reg, ({_REMAINING}) AS rem
                      FROM registry.household h WHERE {_IN_REGION}) t
              LEFT JOIN registry.region r ON r.code = rpad(t.code, 12, '0')
             GROUP BY t.code, r.name ORDER BY t.code
        """
        rows = (await self.session.execute(text(sql), {**self._params(prefix, year), "digits": child_digits})).all()
        return [RegionCount(r[0], r[1], *(int(v) for v in r[2:])) for r in rows]

    async def assistance_paid(self, prefix: str, year: int) -> list[AssistancePaid]:
        """帮扶资金 of the year by measure type: the payments screening sent as income and the registry holds
        (a reversed payment no longer counts), for the households of the region."""
        sql = f"""
            SELECT a.measure_type, count(*), count(DISTINCT a.household_id), coalesce(sum(a.amount), 0)
              FROM registry.assistance_income a
              JOIN registry.household h ON h.id = a.household_id AND h.county_code = a.county_code
             WHERE {_IN_REGION} AND a.year = :year AND a.status = 'posted'
             GROUP BY a.measure_type ORDER BY sum(a.amount) DESC, a.measure_type
        """
        rows = (await self.session.execute(text(sql), self._params(prefix, year))).all()
        return [AssistancePaid(str(r[0]), int(r[1]), int(r[2]), Decimal(r[3])) for r in rows]

    async def _reachable(self, view: str) -> bool:
        return (await self.session.execute(text("SELECT to_regclass(:name)"), {"name": view})).scalar() is not None

    async def measures_in_effect(self, prefix: str, year: int) -> list[MeasureCount] | None:
        """Measures (not cancelled) running at some time in the year, by type; None when screening's
        read contract is not reachable from the registry's database."""
        if not await self._reachable(MEASURES):
            return None
        sql = f"""
            SELECT measure_type, count(*), count(DISTINCT household_id)
              FROM {MEASURES}
             WHERE village_code BETWEEN :low AND :high AND status <> 'cancelled'
               AND (start_date IS NULL OR start_date <= make_date(:year, 12, 31))
               AND (end_date IS NULL OR end_date >= make_date(:year, 1, 1))
             GROUP BY measure_type ORDER BY count(*) DESC, measure_type
        """
        rows = (await self.session.execute(text(sql), self._params(prefix, year))).all()
        return [MeasureCount(str(r[0]), int(r[1]), int(r[2])) for r in rows]

    async def care_subjects(self, prefix: str) -> list[CareCount] | None:
        """兜底 people now (confirmed or placed, not ended) by group and placement; None when unreachable."""
        if not await self._reachable(CARE_SUBJECTS):
            return None
        low, high = region_range(prefix)
        sql = f"""
            SELECT care_group, placement, count(*), count(DISTINCT household_id)
              FROM {CARE_SUBJECTS}
             WHERE village_code BETWEEN :low AND :high AND status IN ('confirmed', 'placed')
             GROUP BY care_group, placement ORDER BY care_group, placement NULLS LAST
        """
        rows = (await self.session.execute(text(sql), {"low": low, "high": high})).all()
        return [CareCount(str(r[0]), None if r[1] is None else str(r[1]), int(r[2]), int(r[3])) for r in rows]

    async def payouts(self, prefix: str, year: int) -> list[Payout] | None:
        """Claims paid in the year by category, from claims' read contract; None when it is not there
        (the registry's database without the claims schema)."""
        exists = (await self.session.execute(text("SELECT to_regclass(:name)"), {"name": PAYMENT_PAID})).scalar()
        if exists is None:
            return None
        low, high = region_range(prefix)
        sql = f"""
            SELECT category, count(*), count(DISTINCT household_id), coalesce(sum(amount), 0)
              FROM {PAYMENT_PAID}
             WHERE village_code BETWEEN :low AND :high
               AND paid_date BETWEEN make_date(:year, 1, 1) AND make_date(:year, 12, 31)
             GROUP BY category ORDER BY category
        """
        rows = (await self.session.execute(text(sql), {"low": low, "high": high, "year": year})).all()
        return [Payout(str(r[0]), int(r[1]), int(r[2]), Decimal(r[3])) for r in rows]
