"""The monitoring ledger (台账, rules.md §1.5): per county and month, from the cases, measures
and runs of screening. Month boundaries are the county's dates: instants are read in the
business clock's time zone (shared/clock.py, `FANGPIN_TIMEZONE`), the bind parameter `:tz`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import PAYMENT_PAID, REGION, row_as

#: A case counts as monitored at the end of the month when it was confirmed by then and not
#: eliminated by then.
_MONITORED_AT_END = """
    c.county_code = :county AND c.village_code LIKE :prefix
    AND c.confirmed_at IS NOT NULL AND (c.confirmed_at AT TIME ZONE :tz)::date <= :last
    AND (c.eliminated_at IS NULL OR (c.eliminated_at AT TIME ZONE :tz)::date > :last)
"""


@dataclass(frozen=True, slots=True)
class LedgerHousehold:
    """A household line of the ledger: monitored at the end of the month, or eliminated in it."""

    case_id: uuid.UUID
    household_id: uuid.UUID
    household_number: str | None
    township_code: str
    township_name: str | None  # registry.region_v1 (null: the region is not in the tree)
    village_code: str
    village_name: str | None
    monitoring_type: str | None
    risk_codes: list[str]
    state: str
    source: str
    confirmed_on: date | None
    eliminated_on: date | None
    elimination_kind: str | None
    measures_delivered: int


class LedgerRepository:
    def __init__(self, session: AsyncSession, *, zone: str) -> None:
        self.session = session
        self.zone = zone  # an IANA name PostgreSQL knows, e.g. Asia/Shanghai

    async def _pairs(self, sql: str, params: dict[str, Any]) -> dict[str, int]:
        rows = (await self.session.execute(text(sql), params)).all()
        return {str(key) if key is not None else "unknown": int(count) for key, count in rows}

    async def summary(self, county: str, prefix: str, first: date, last: date) -> dict[str, Any]:
        p = {"county": county, "prefix": prefix + "%", "first": first, "last": last, "tz": self.zone}
        monitored_by_type = await self._pairs(
            f"SELECT c.monitoring_type, count(*) FROM screening.monitoring_case c WHERE {_MONITORED_AT_END} "
            "GROUP BY 1 ORDER BY 1",
            p,
        )
        monitored_by_code = await self._pairs(
            f"SELECT code, count(*) FROM screening.monitoring_case c, unnest(c.risk_codes) AS code "
            f"WHERE {_MONITORED_AT_END} GROUP BY 1 ORDER BY 1",
            p,
        )
        confirmations = await self._pairs(
            """SELECT c.monitoring_type, count(*) FROM screening.monitoring_case c
                WHERE c.county_code = :county AND c.village_code LIKE :prefix
                  AND (c.confirmed_at AT TIME ZONE :tz)::date BETWEEN :first AND :last
                GROUP BY 1 ORDER BY 1""",
            p,
        )
        eliminations = await self._pairs(
            """SELECT c.elimination_kind, count(*) FROM screening.monitoring_case c
                WHERE c.county_code = :county AND c.village_code LIKE :prefix
                  AND (c.eliminated_at AT TIME ZONE :tz)::date BETWEEN :first AND :last
                GROUP BY 1 ORDER BY 1""",
            p,
        )
        measures = await self._pairs(
            """SELECT m.measure_type, count(*) FROM screening.measure m
                 JOIN screening.monitoring_case c ON c.id = m.case_id
                WHERE m.county_code = :county AND c.village_code LIKE :prefix
                  AND m.delivered_date BETWEEN :first AND :last
                GROUP BY 1 ORDER BY 1""",
            p,
        )
        opened = await self._pairs(
            """SELECT c.source, count(*) FROM screening.monitoring_case c
                WHERE c.county_code = :county AND c.village_code LIKE :prefix
                  AND (c.opened_at AT TIME ZONE :tz)::date BETWEEN :first AND :last
                GROUP BY 1 ORDER BY 1""",
            p,
        )
        leads = (
            (
                await self.session.execute(
                    text(
                        """SELECT r.id, r.version, count(l.id) AS leads
                         FROM screening.run r
                         LEFT JOIN screening.lead l ON l.run_id = r.id AND l.routing = 'new_lead'
                                                    AND l.village_code LIKE :prefix
                        WHERE r.county_code = :county AND r.period = :period AND r.status = 'succeeded'
                          AND r.superseded_by IS NULL
                        GROUP BY r.id, r.version"""
                    ),
                    {**p, "period": f"{first.year:04d}-{first.month:02d}"},
                )
            )
            .mappings()
            .one_or_none()
        )
        return {
            "monitored_households": sum(monitored_by_type.values()),
            "monitored_by_type": monitored_by_type,
            "monitored_by_risk_code": monitored_by_code,
            "new_confirmations": sum(confirmations.values()),
            "new_confirmations_by_type": confirmations,
            "eliminations": sum(eliminations.values()),
            "eliminations_by_kind": eliminations,
            "measures_delivered": sum(measures.values()),
            "measures_delivered_by_type": measures,
            "cases_opened_by_source": opened,
            "run": (
                {"run_id": str(leads["id"]), "version": leads["version"], "leads": int(leads["leads"])}
                if leads is not None
                else None
            ),
        }

    async def assistance(self, county: str, prefix: str, first: date, last: date) -> dict[str, Any]:
        """The assistance records of the month (rules.md §4) by type: measures delivered (a typed measure
        whose end date is in the month) and the money paid (payments posted in the month, reversed ones
        excluded), for the region's villages."""
        p = {"county": county, "prefix": prefix + "%", "first": first, "last": last}
        delivered = await self._pairs(
            """SELECT m.measure_type, count(*) FROM screening.assistance_measure m
                WHERE m.county_code = :county AND m.village_code LIKE :prefix AND m.status = 'delivered'
                  AND m.end_date BETWEEN :first AND :last
                GROUP BY 1 ORDER BY 1""",
            p,
        )
        rows = (
            await self.session.execute(
                text(
                    """SELECT p.measure_type, count(*) AS payments, count(DISTINCT p.household_id) AS households,
                              sum(p.amount) AS amount
                         FROM screening.assistance_payment p
                        WHERE p.county_code = :county AND p.village_code LIKE :prefix
                          AND p.kind = 'payment' AND p.status = 'posted'
                          AND p.paid_date BETWEEN :first AND :last
                        GROUP BY 1 ORDER BY 1"""
                ),
                p,
            )
        ).all()
        paid = {
            str(r.measure_type): {
                "payments": int(r.payments),
                "households": int(r.households),
                "amount": f"{r.amount:.2f}",
            }
            for r in rows
        }
        total = sum((Decimal(r.amount) for r in rows), Decimal("0.00"))
        return {
            "assistance_measures_delivered_by_type": delivered,
            "assistance_paid": {"amount": f"{total:.2f}", "by_type": paid},
        }

    async def claims_paid(self, county: str, prefix: str, first: date, last: date) -> dict[str, Any]:
        """Anti-poverty insurance paid in the month, from the claims service's read contract."""
        rows = (
            (
                await self.session.execute(
                    text(
                        "SELECT category, count(*) AS claims, count(DISTINCT household_id) AS households, "
                        f"sum(amount) AS amount FROM {PAYMENT_PAID} "
                        "WHERE county_code = :county AND village_code LIKE :prefix "
                        "AND paid_date BETWEEN :first AND :last GROUP BY category ORDER BY category"
                    ),
                    {"county": county, "prefix": prefix + "%", "first": first, "last": last},
                )
            )
            .mappings()
            .all()
        )
        total = sum((r["amount"] for r in rows), Decimal("0.00"))
        households = (
            await self.session.execute(
                text(
                    f"SELECT count(DISTINCT household_id) FROM {PAYMENT_PAID} "
                    "WHERE county_code = :county AND village_code LIKE :prefix AND paid_date BETWEEN :first AND :last"
                ),
                {"county": county, "prefix": prefix + "%", "first": first, "last": last},
            )
        ).scalar_one()
        return {
            "claims": sum(int(r["claims"]) for r in rows),
            "households": int(households),
            "amount": f"{total:.2f}",
            "by_category": {r["category"]: f"{r['amount']:.2f}" for r in rows},
        }

    async def households(self, county: str, prefix: str, first: date, last: date) -> list[LedgerHousehold]:
        """One row per household monitored at the end of the month or eliminated in it."""
        return [
            row_as(LedgerHousehold, r)
            for r in (
                await self.session.execute(
                    text(
                        f"""
                        SELECT c.id AS case_id, c.household_id, c.household_number, c.township_code, c.village_code,
                               rt.name AS township_name, rv.name AS village_name,
                               c.monitoring_type, c.risk_codes, c.state, c.source,
                               (c.confirmed_at AT TIME ZONE :tz)::date AS confirmed_on,
                               (c.eliminated_at AT TIME ZONE :tz)::date AS eliminated_on,
                               c.elimination_kind,
                               (SELECT count(*) FROM screening.measure m
                                 WHERE m.case_id = c.id AND m.delivered_date <= :last) AS measures_delivered
                          FROM screening.monitoring_case c
                          LEFT JOIN {REGION} rt ON rt.code = c.township_code
                          LEFT JOIN {REGION} rv ON rv.code = c.village_code
                         WHERE ({_MONITORED_AT_END})
                            OR (c.county_code = :county AND c.village_code LIKE :prefix
                                AND (c.eliminated_at AT TIME ZONE :tz)::date BETWEEN :first AND :last)
                         ORDER BY c.township_code, c.village_code, c.household_number, c.id
                        """
                    ),
                    {"county": county, "prefix": prefix + "%", "first": first, "last": last, "tz": self.zone},
                )
            ).mappings()
        ]
