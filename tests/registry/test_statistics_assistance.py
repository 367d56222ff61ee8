"""帮扶资金 by measure type in GET /v1/statistics (rules.md §5 "measures and money by type"; issue 13).

The money is what the registry holds: screening's payments received as income (registry.assistance_income,
shared/contracts/assistance.py). A reversed payment no longer counts; another year, another county and a
household outside the region asked for do not count; the XLSX holds the same figures as numbers.
"""

from __future__ import annotations

import io
import uuid
from datetime import date
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


async def _measure(
    session: AsyncSession, household_id: uuid.UUID, village: str, kind: str, status: str, start: str, end: str | None
) -> None:
    await session.execute(
        text(
            "INSERT INTO screening.assistance_measure (id, county_code, township_code, village_code, household_id, "
            "measure_type, status, start_date, end_date) VALUES (gen_random_uuid(), left(:v, 6), left(:v, 9), :v, :h, "
            ":kind, :status, :start, :end)"
        ),
        {
            "v": village,
            "h": household_id,
            "kind": kind,
            "status": status,
            "start": date.fromisoformat(start),
            "end": None if end is None else date.fromisoformat(end),
        },
    )


async def _subject(
    session: AsyncSession, household_id: uuid.UUID, village: str, group: str, status: str, placement: str | None
) -> None:
    await session.execute(
        text(
            "INSERT INTO screening.care_subject (id, county_code, township_code, village_code, household_id, "
            "member_id, care_group, status, placement) VALUES (gen_random_uuid(), left(:v, 6), left(:v, 9), :v, :h, "
            "gen_random_uuid(), :group, :status, :placement)"
        ),
        {"v": village, "h": household_id, "group": group, "status": status, "placement": placement},
    )


async def test_measures_in_effect_and_care_people_from_screenings_contracts(
    registry_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    a1, a2, b1 = [await _household(session, v) for v in (VILLAGE_A, VILLAGE_A, VILLAGE_B)]
    await _measure(session, a1, VILLAGE_A, "public_welfare_post", "in_progress", "2026-01-01", None)
    await _measure(session, a2, VILLAGE_A, "public_welfare_post", "delivered", "2025-03-01", "2026-02-28")
    await _measure(session, a2, VILLAGE_A, "education_aid", "cancelled", "2026-03-01", None)  # cancelled
    await _measure(session, b1, VILLAGE_B, "public_welfare_post", "delivered", "2024-01-01", "2025-12-31")  # ended
    await _measure(session, b1, VILLAGE_B, "dibao", "planned", "2027-01-01", None)  # not yet begun
    await _measure(session, b1, VILLAGE_B, "dibao", "in_progress", "2026-05-01", None)
    await _subject(session, a1, VILLAGE_A, "elderly_no_labour", "placed", "institutional")
    await _subject(session, a2, VILLAGE_A, "elderly_no_labour", "placed", "institutional")
    await _subject(session, b1, VILLAGE_B, "severe_disability", "confirmed", None)
    await _subject(session, b1, VILLAGE_B, "serious_illness", "ended", "treatment")  # ended: not counted
    await session.commit()

    report = await registry_client.get("/v1/statistics", params={"county": COUNTY, "year": 2026}, headers=OFFICER)
    assert report.status_code == 200, report.text
    measures = {
        m["measure_type"]: (m["label"], m["measures"], m["households"]) for m in report.json()["measures_by_type"]
    }
    assert measures == {"public_welfare_post": ("公益岗", 2, 2), "dibao": ("低保", 1, 1)}
    care = [
        (c["care_group"], c["group_label"], c["placement"], c["placement_label"], c["people"])
        for c in report.json()["care_by_group"]
    ]
    assert care == [
        ("elderly_no_labour", "无劳动能力的贫困老年人", "institutional", "集中供养", 2),
        ("severe_disability", "重度残疾人", None, "待安置", 1),
    ]
    assert not any("兜底" in line for line in report.json()["not_held"])
    village = (
        await registry_client.get(
            "/v1/statistics", params={"village": VILLAGE_B, "year": 2026}, headers=auth("village_cadre", VILLAGE_B)
        )
    ).json()
    assert [(m["measure_type"], m["measures"]) for m in village["measures_by_type"]] == [("dibao", 1)]
    assert [c["care_group"] for c in village["care_by_group"]] == ["severe_disability"]

    book = openpyxl.load_workbook(
        io.BytesIO(
            (
                await registry_client.get(
                    "/v1/statistics", params={"county": COUNTY, "year": 2026, "format": "xlsx"}, headers=OFFICER
                )
            ).content
        )
    )
    care_rows = list(book["兜底保障"].iter_rows(values_only=True))
    assert care_rows[0] == ("地区", "兜底对象类别", "代码", "安置方式", "人数", "户数")
    assert care_rows[1][1:] == ("无劳动能力的贫困老年人", "elderly_no_labour", "集中供养", 2, 2)
    measure_rows = {r[2]: r for r in list(book["帮扶措施"].iter_rows(values_only=True))[1:]}
    assert measure_rows["public_welfare_post"][3:] == (2, 2)
