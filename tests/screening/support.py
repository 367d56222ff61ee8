"""Screening test data: registry households written straight into the registry's tables (the
screening reads them only through the read-contract views), feed batches, a settable clock."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.cn import ric

from shared.clock import BusinessClock
from tests.support.pii import suite_cipher

CIPHER = suite_cipher()  # follows FANGPIN_PII_ALGORITHM like the apps
COUNTY = "410602"
TOWNSHIP = "410602100"
VILLAGE = "410602100201"
OTHER_TOWNSHIP_VILLAGE = "410602101201"
OTHER_COUNTY_VILLAGE = "410603100201"

_sequence = itertools.count(1)


def national_id(n: int | None = None, region: str = COUNTY) -> str:
    """A valid resident ID number, unique per call."""
    n = next(_sequence) if n is None else n
    born = date(1960, 1, 1) + timedelta(days=(n * 37) % 15000)
    body = f"{region}{born:%Y%m%d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # it expects a placeholder check digit


class Clock(BusinessClock):
    """A settable business clock for the service (`app.state.clock`)."""

    def __init__(self, moment: datetime) -> None:
        super().__init__(source=lambda: self.moment)
        self.moment = moment

    def set(self, moment: datetime) -> None:
        self.moment = moment

    def advance(self, **delta: float) -> None:
        self.moment = self.moment + timedelta(**delta)

    def to_date(self, day: date, hour: int = 2) -> None:
        """Move to `day` (10:00 in China)."""
        self.moment = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass
class Household:
    id: uuid.UUID
    number: str
    village: str
    status: str
    national_ids: list[str]
    member_ids: list[uuid.UUID]
    labour: list[str] = field(default_factory=list)


async def add_household(
    session: AsyncSession,
    *,
    village: str = VILLAGE,
    status: str = "ordinary",
    labour: Sequence[str] = ("normal", "normal", "none"),
    incomes: dict[int, Decimal | str | int] | None = None,
    insured_years: Sequence[int] = (),
    monitoring_case_id: uuid.UUID | None = None,
) -> Household:
    """A household of len(labour) active members, with net incomes per year (negative allowed)."""
    household_id = uuid.uuid4()
    number = f"{village}{next(_sequence):06d}"
    base = "lifted_out" if status == "lifted_out" else "ordinary"
    monitored = status in ("unstable", "marginal", "sudden_hardship")
    await session.execute(
        text(
            """INSERT INTO registry.household (id, county_code, township_code, village_code, household_number,
                   status, base_status, monitoring_case_id, insured_years)
               VALUES (:id, :county, :township, :village, :number, :status, :base, :case_id, :insured)"""
        ),
        {
            "id": household_id,
            "county": village[:6],
            "township": village[:9],
            "village": village,
            "number": number,
            "status": status,
            "base": base,
            "case_id": (monitoring_case_id or uuid.uuid4()) if monitored else None,
            "insured": list(insured_years),
        },
    )
    ids: list[str] = []
    member_ids: list[uuid.UUID] = []
    rows = []
    for index, ability in enumerate(labour):
        nid = national_id(region=village[:6])
        ids.append(nid)
        member_id = uuid.uuid4()
        member_ids.append(member_id)
        rows.append(
            {
                "id": member_id,
                "household": household_id,
                "county": village[:6],
                "name": f"成员{index}",
                "enc": CIPHER.encrypt(nid, purpose="national_id"),
                "idx": CIPHER.blind_index(nid, purpose="national_id"),
                "masked": nid[:6] + "********" + nid[-4:],
                "sex": "male" if int(nid[16]) % 2 else "female",
                "born": date(int(nid[6:10]), int(nid[10:12]), int(nid[12:14])),
                "relation": "head" if index == 0 else "other",
                "ability": ability,
            }
        )
    if rows:
        await session.execute(
            text(
                """INSERT INTO registry.member (id, household_id, county_code, name, national_id_enc,
                       national_id_index, national_id_masked, sex, birth_date, relation, health, labour_ability,
                       join_reason, active)
                   VALUES (:id, :household, :county, :name, :enc, :idx, :masked, :sex, :born, :relation, 'healthy',
                           :ability, 'registration', true)"""
            ),
            rows,
        )
    for year, net in (incomes or {}).items():
        value = Decimal(str(net))
        await session.execute(
            text(
                """INSERT INTO registry.income (household_id, year, county_code, wage_income, production_costs)
                   VALUES (:household, :year, :county, :wage, :costs)"""
            ),
            {
                "household": household_id,
                "year": year,
                "county": village[:6],
                "wage": max(value, Decimal(0)),
                "costs": max(-value, Decimal(0)),
            },
        )
    return Household(household_id, number, village, status, ids, member_ids, list(labour))


def record(
    source_record_id: str,
    kind: str,
    event_date: str | date,
    *,
    national_id: str | None = None,
    household_number: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"source_record_id": source_record_id, "kind": kind, "event_date": str(event_date)}
    if national_id is not None:
        body["national_id"] = national_id
    if household_number is not None:
        body["household_number"] = household_number
    body.update(fields)
    return body


def jsonl(records: Sequence[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def control_total(records: Sequence[dict[str, Any]]) -> str:
    total = Decimal(0)
    for r in records:
        for value in (r.get("amounts") or {}).values():
            total += Decimal(str(value))
    return str(total)


def medical(
    source_record_id: str, nid: str, self_paid: str, day: str = "2026-02-10", total: str | None = None
) -> dict[str, Any]:
    total_cost = total or str(Decimal(self_paid) * 3)
    return record(
        source_record_id,
        "medical_expense",
        day,
        national_id=nid,
        amounts={
            "total_cost": total_cost,
            "self_paid": self_paid,
            "basic_insurance": str(Decimal(total_cost) - Decimal(self_paid)),
        },
    )
