"""帮扶资金 by measure type in GET /v1/statistics (rules.md §5 "measures and money by type"; issue 13).

The money is what the registry holds: screening's payments received as income (registry.assistance_income,
shared/contracts/assistance.py). A reversed payment no longer counts; another year, another county and a
household outside the region asked for do not count; the XLSX holds the same figures as numbers.
"""

from __future__ import annotations

import io
import uuid
from decimal import Decimal

import httpx
import openpyxl
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.tokens import auth

COUNTY = "410622"
VILLAGE_A, VILLAGE_B = "410622100201", "410622101201"
OFFICER = auth("county_officer", COUNTY)


async def _household(session: AsyncSession, village: str) -> uuid.UUID:
    household_id = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO registry.household (id, county_code, township_code, village_code, household_number, status, "
            "base_status) VALUES (:id, left(:v, 6), left(:v, 9), :v, :n, 'ordinary', 'ordinary')"
        ),
        {"id": household_id, "v": village, "n": f"AS{household_id.hex[:14]}"},
    )
    return household_id


async def _paid(
    session: AsyncSession, household_id: uuid.UUID, county: str, kind: str, amount: str, year: int, status: str
) -> None:
    await session.execute(
        text(
            "INSERT INTO registry.assistance_income (payment_id, county_code, household_id, measure_id, measure_type, "
            "income_type, amount, year, paid_date, status) VALUES (gen_random_uuid(), :county, :h, gen_random_uuid(), "
            ":kind, :income, :amount, :year, make_date(:year, 3, 31), :status)"
        ),
        {
            "county": county,
            "h": household_id,
            "kind": kind,
            "income": "wage" if kind == "public_welfare_post" else "transfer",
            "amount": Decimal(amount),
            "year": year,
            "status": status,
        },
    )


async def test_money_paid_by_type_in_the_region_and_year(
    registry_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    a1, a2, b1 = [await _household(session, v) for v in (VILLAGE_A, VILLAGE_A, VILLAGE_B)]
    for month_wage in ("800.00", "800.00", "650.50"):
        await _paid(session, a1, COUNTY, "public_welfare_post", month_wage, 2026, "posted")
    await _paid(session, a2, COUNTY, "public_welfare_post", "800.00", 2026, "posted")
    await _paid(session, a2, COUNTY, "public_welfare_post", "999.00", 2026, "reversed")  # taken back
    await _paid(session, a2, COUNTY, "dibao", "924.00", 2026, "posted")
    await _paid(session, b1, COUNTY, "dibao", "462.00", 2026, "posted")
    await _paid(session, b1, COUNTY, "dibao", "462.00", 2025, "posted")  # another year
    await session.commit()

    county = await registry_client.get("/v1/statistics", params={"county": COUNTY, "year": 2026}, headers=OFFICER)
    assert county.status_code == 200, county.text
    paid = {a["measure_type"]: a for a in county.json()["assistance_paid"]}
    assert paid == {
        "public_welfare_post": {
            "measure_type": "public_welfare_post",
            "label": "公益岗",
            "payments": 4,
            "households": 2,
            "amount": "3050.50",
        },
        "dibao": {"measure_type": "dibao", "label": "低保", "payments": 2, "households": 2, "amount": "1386.00"},
    }
    village = await registry_client.get(
        "/v1/statistics", params={"village": VILLAGE_B, "year": 2026}, headers=auth("village_cadre", VILLAGE_B)
    )
    assert [(a["measure_type"], a["amount"]) for a in village.json()["assistance_paid"]] == [("dibao", "462.00")]
    assert not any("money" in line and "not in this report" in line for line in county.json()["not_held"])

    book = openpyxl.load_workbook(
        io.BytesIO(
            (
                await registry_client.get(
                    "/v1/statistics", params={"county": COUNTY, "year": 2026, "format": "xlsx"}, headers=OFFICER
                )
            ).content
        )
    )
    rows = list(book["帮扶资金"].iter_rows(values_only=True))
    assert rows[0] == ("地区", "措施类型", "代码", "笔数", "户数", "金额(元)")
    by_code = {r[2]: r for r in rows[1:]}
    assert by_code["public_welfare_post"][1] == "公益岗"
    assert isinstance(by_code["public_welfare_post"][3], int)
    assert isinstance(by_code["dibao"][5], float | int)
    assert Decimal(str(by_code["public_welfare_post"][5])) == Decimal("3050.5")
