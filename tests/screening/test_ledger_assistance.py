"""The ledger counts the assistance records of the month by type (issue 13: "the ledger (§1.5) ... count
measures and money by type"): typed measures delivered in the month, and the money posted in it, a
reversed payment excluded, another month and another township's village left out of a township's ledger."""

from __future__ import annotations

import io
import uuid
from datetime import date
from decimal import Decimal

import httpx
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.screening.support import COUNTY, OTHER_TOWNSHIP_VILLAGE, TOWNSHIP, VILLAGE
from tests.support.tokens import auth

OFFICER = auth("county_officer", COUNTY)


async def _measure(session: AsyncSession, village: str, kind: str, status: str, end: date | None) -> uuid.UUID:
    measure_id = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO screening.assistance_measure (id, county_code, township_code, village_code, household_id, "
            "measure_type, status, start_date, end_date) VALUES (:id, left(:v, 6), left(:v, 9), :v, "
            "gen_random_uuid(), :kind, :status, date '2026-01-01', :end)"
        ),
        {"id": measure_id, "v": village, "kind": kind, "status": status, "end": end},
    )
    return measure_id


async def _payment(
    session: AsyncSession,
    measure_id: uuid.UUID,
    village: str,
    kind: str,
    amount: str,
    paid: date,
    status: str,
    period: str | None = None,
) -> None:
    await session.execute(
        text(
            "INSERT INTO screening.assistance_payment (id, county_code, village_code, measure_id, household_id, "
            "measure_type, income_type, period, year, amount, paid_date, kind, status) VALUES (gen_random_uuid(), "
            "left(:v, 6), :v, :m, gen_random_uuid(), :type, 'wage', :period, 2026, :amount, :paid, 'payment', :status)"
        ),
        {
            "v": village,
            "m": measure_id,
            "type": kind,
            "period": period or f"{paid.year:04d}-{paid.month:02d}",
            "amount": Decimal(amount),
            "paid": paid,
            "status": status,
        },
    )


async def test_measures_and_money_of_the_month_by_type(
    screening_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    post = await _measure(session, VILLAGE, "public_welfare_post", "in_progress", None)
    other = await _measure(session, OTHER_TOWNSHIP_VILLAGE, "dibao", "in_progress", None)
    await _measure(session, VILLAGE, "housing", "delivered", date(2026, 3, 15))
    await _measure(session, VILLAGE, "housing", "delivered", date(2026, 2, 28))  # last month
    await _measure(session, OTHER_TOWNSHIP_VILLAGE, "water", "delivered", date(2026, 3, 2))
    await _payment(session, post, VILLAGE, "public_welfare_post", "800.00", date(2026, 3, 31), "posted")
    await _payment(session, post, VILLAGE, "public_welfare_post", "650.50", date(2026, 3, 10), "posted", "2026-01")
    await _payment(session, post, VILLAGE, "public_welfare_post", "999.00", date(2026, 3, 5), "reversed", "2025-12")
    await _payment(session, post, VILLAGE, "public_welfare_post", "800.00", date(2026, 2, 28), "posted")
    await _payment(session, other, OTHER_TOWNSHIP_VILLAGE, "dibao", "462.00", date(2026, 3, 20), "posted")
    await session.commit()

    county = await screening_client.get(
        "/v1/ledger", params={"county_code": COUNTY, "period": "2026-03"}, headers=OFFICER
    )
    assert county.status_code == 200, county.text
    ledger = county.json()
    assert ledger["assistance_measures_delivered_by_type"] == {"housing": 1, "water": 1}
    assert ledger["assistance_paid"] == {
        "amount": "1912.50",
        "by_type": {
            "dibao": {"payments": 1, "households": 1, "amount": "462.00"},
            "public_welfare_post": {"payments": 2, "households": 2, "amount": "1450.50"},
        },
    }
    township = (
        await screening_client.get(
            "/v1/ledger",
            params={"county_code": COUNTY, "period": "2026-03"},
            headers=auth("township_officer", TOWNSHIP),
        )
    ).json()
    assert township["assistance_measures_delivered_by_type"] == {"housing": 1}
    assert township["assistance_paid"]["amount"] == "1450.50"

    book = load_workbook(
        io.BytesIO(
            (
                await screening_client.get(
                    "/v1/ledger/export",
                    params={"county_code": COUNTY, "period": "2026-03", "format": "xlsx"},
                    headers=OFFICER,
                )
            ).content
        )
    )
    sheet = book.worksheets[0]
    rows = {(r[0], r[1]): r[2] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert Decimal(str(rows[("本月帮扶资金(元)", "合计")])) == Decimal("1912.5")
    assert Decimal(str(rows[("本月帮扶资金(元)", "公益岗")])) == Decimal("1450.5")
    assert rows[("本月帮扶资金(笔)", "公益岗")] == 2
    assert rows[("本月落实帮扶措施数(帮扶记录)", "危房改造")] == 1
