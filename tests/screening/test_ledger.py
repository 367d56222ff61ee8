"""The monitoring ledger (台账, rules.md §1.5) and its XLSX / CSV export with Chinese headers."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import measure, monitoring_case
from tests.screening.support import COUNTY, OTHER_TOWNSHIP_VILLAGE, TOWNSHIP, VILLAGE, Clock
from tests.support.tokens import auth

pytestmark = pytest.mark.usefixtures("clock")
OFFICER = auth("county_officer", COUNTY)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, tzinfo=UTC)


async def _case(
    session: AsyncSession,
    *,
    village: str = VILLAGE,
    opened: date,
    state: str,
    confirmed: date | None = None,
    eliminated: date | None = None,
    monitoring_type: str | None = None,
    codes: list[str] | None = None,
    elimination_kind: str | None = None,
    number: str = "H",
) -> uuid.UUID:
    case_id = uuid.uuid4()
    await session.execute(
        insert(monitoring_case).values(
            id=case_id,
            county_code=village[:6],
            township_code=village[:9],
            village_code=village,
            household_id=uuid.uuid4(),
            household_number=number,
            source="screening",
            state=state,
            risk_codes=codes or [],
            monitoring_type=monitoring_type,
            elimination_kind=elimination_kind,
            opened_at=_at(opened),
            state_entered_at=_at(opened),
            identification_deadline=date(2026, 3, 27),
            confirmed_at=_at(confirmed) if confirmed else None,
            eliminated_at=_at(eliminated) if eliminated else None,
        )
    )
    return case_id


async def _measure(session: AsyncSession, case_id: uuid.UUID, measure_type: str, delivered: date | None) -> None:
    await session.execute(
        insert(measure).values(
            id=uuid.uuid4(),
            case_id=case_id,
            county_code=COUNTY,
            household_id=uuid.uuid4(),
            measure_type=measure_type,
            description="x",
            start_date=date(2026, 1, 1),
            delivered_date=delivered,
        )
    )


async def _paid_claim(
    session: AsyncSession, household: uuid.UUID, category: str, amount: str, paid_on: date, *, paid: bool = True
) -> None:
    """A claim and its payment as the claims service stores them (the view, not these tables, is the contract)."""
    claim_id, batch_id = uuid.uuid4(), uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO claims.claim (id, county_code, township_code, village_code, household_id, subject_id, "
            "category, incident_date, reported_date, year, expense, source, household_facts, facts_status, state) "
            "VALUES (:id, :county, :township, :village, :household, :subject, :category, :day, :day, 2026, '{}', "
            "'application', '{}', 'ready', :state)"
        ),
        {
            "id": claim_id,
            "county": COUNTY,
            "township": TOWNSHIP,
            "village": VILLAGE,
            "household": household,
            "subject": uuid.uuid4(),
            "category": category,
            "day": date(2026, 1, 10),
            "state": "paid" if paid else "payment_failed",
        },
    )
    await session.execute(
        text(
            "INSERT INTO claims.payment_batch (id, county_code, declared_count, declared_total, status) "
            "VALUES (:id, :county, 1, :amount, 'reconciled')"
        ),
        {"id": batch_id, "county": COUNTY, "amount": Decimal(amount)},
    )
    await session.execute(
        text(
            "INSERT INTO claims.payment (id, claim_id, batch_id, county_code, household_id, category, amount, "
            "status, attempts, bank_account_enc, bank_account_masked, paid_date) VALUES (:id, :claim, :batch, "
            ":county, :household, :category, :amount, :status, 1, :enc, '****0123', :paid_date)"
        ),
        {
            "id": uuid.uuid4(),
            "claim": claim_id,
            "batch": batch_id,
            "county": COUNTY,
            "household": household,
            "category": category,
            "amount": Decimal(amount),
            "status": "paid" if paid else "failed",
            "enc": b"\x00",
            "paid_date": paid_on if paid else None,
        },
    )


@pytest.fixture
async def ledger_data(session: AsyncSession) -> dict[str, Any]:
    a = await _case(
        session,
        opened=date(2026, 2, 20),
        state="monitoring",
        confirmed=date(2026, 3, 10),
        monitoring_type="marginal",
        codes=["illness", "income_low"],
        number="A-1",
    )
    b = await _case(
        session,
        opened=date(2025, 9, 1),
        state="eliminated",
        confirmed=date(2025, 10, 1),
        eliminated=date(2026, 3, 20),
        monitoring_type="unstable",
        codes=["disaster"],
        elimination_kind="assisted",
        number="B-2",
    )
    c = await _case(
        session,
        opened=date(2025, 6, 1),
        state="monitoring",
        confirmed=date(2025, 7, 1),
        monitoring_type="unstable",
        codes=["illness"],
        village=OTHER_TOWNSHIP_VILLAGE,
        number="C-3",
    )
    await _case(session, opened=date(2026, 3, 2), state="verifying", number="D-4")  # opened, not yet confirmed
    await _measure(session, a, "health", date(2026, 3, 15))
    await _measure(session, a, "employment", None)
    await _measure(session, b, "industry", date(2026, 2, 1))
    household = uuid.uuid4()
    await _paid_claim(session, household, "illness", "16000.00", date(2026, 3, 18))
    await _paid_claim(session, household, "school_entry", "5000.00", date(2026, 3, 31))
    await _paid_claim(session, household, "illness", "6000.00", date(2026, 4, 1))  # next month
    await _paid_claim(session, uuid.uuid4(), "illness", "900.00", date(2026, 3, 5), paid=False)  # failed
    await session.commit()
    return {"a": a, "b": b, "c": c}


async def test_the_ledger_of_a_month(screening_client: httpx.AsyncClient, ledger_data: dict[str, Any]) -> None:
    response = await screening_client.get(
        "/v1/ledger", params={"county_code": COUNTY, "period": "2026-03"}, headers=OFFICER
    )
    assert response.status_code == 200, response.text
    ledger = response.json()
    assert ledger["monitored_households"] == 2  # a and c; b was eliminated in March
    assert ledger["monitored_by_type"] == {"marginal": 1, "unstable": 1}
    assert ledger["monitored_by_risk_code"] == {"illness": 2, "income_low": 1}
    assert ledger["new_confirmations"] == 1
    assert ledger["eliminations_by_kind"] == {"assisted": 1}
    assert ledger["measures_delivered_by_type"] == {"health": 1}
    assert ledger["cases_opened_by_source"] == {"screening": 1}
    assert ledger["identification_overdue"] == 1  # d: past its deadline, still verifying
    assert ledger["claims_paid"] == {
        "claims": 2,
        "households": 1,
        "amount": "21000.00",
        "by_category": {"illness": "16000.00", "school_entry": "5000.00"},
    }
    february = (
        await screening_client.get("/v1/ledger", params={"county_code": COUNTY, "period": "2026-02"}, headers=OFFICER)
    ).json()
    assert february["monitored_by_type"] == {"unstable": 2}
    assert february["measures_delivered_by_type"] == {"industry": 1}
    township = (
        await screening_client.get(
            "/v1/ledger",
            params={"county_code": COUNTY, "period": "2026-03"},
            headers=auth("township_officer", TOWNSHIP),
        )
    ).json()
    assert township["region"] == TOWNSHIP
    assert township["monitored_by_type"] == {"marginal": 1}


async def test_exports_have_chinese_headers(
    screening_client: httpx.AsyncClient, session: AsyncSession, ledger_data: dict[str, Any]
) -> None:
    await session.execute(
        text(
            "INSERT INTO registry.region (code, name, level, parent_code, prefix, county_code) VALUES "
            f"('{TOWNSHIP}000', '东风镇', 'township', NULL, '{TOWNSHIP}', '{COUNTY}'), "
            f"('{VILLAGE}', '杨庄村', 'village', '{TOWNSHIP}000', '{VILLAGE}', '{COUNTY}')"
            " ON CONFLICT (code) DO NOTHING"
        )
    )
    params = {"county_code": COUNTY, "period": "2026-03"}
    xlsx = await screening_client.get("/v1/ledger/export", params={**params, "format": "xlsx"}, headers=OFFICER)
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["汇总", "监测对象明细"]
    summary = [tuple(r) for r in book["汇总"].iter_rows(values_only=True)]
    assert summary[0] == ("指标", "分项", "数值")
    assert ("监测对象户数(月末)", "边缘易致贫户", 1) in summary
    assert ("本月风险消除户数", "帮扶消除", 1) in summary
    # amounts are numbers in the XLSX (issue 9/14: SUM must add them up), decimal strings in JSON
    assert ("防贫保险理赔支付(元)", "合计", 21000) in summary
    assert ("防贫保险理赔支付(元)", "因病", 16000) in summary
    assert ("防贫保险理赔支付(户)", "合计", 1) in summary
    detail = [list(r) for r in book["监测对象明细"].iter_rows(values_only=True)]
    # names beside the codes (registry.region_v1; empty where the region is not in the tree)
    assert detail[0][:7] == ["户编号", "乡镇代码", "乡镇名称", "村代码", "村名称", "监测对象类型", "风险类型"]
    rows = {r[0]: r for r in detail[1:]}
    assert set(rows) == {"A-1", "B-2", "C-3"}
    assert (rows["A-1"][2], rows["A-1"][4]) == ("东风镇", "杨庄村")
    assert (rows["C-3"][2], rows["C-3"][4]) == (None, None)  # no such region in the tree: empty
    assert rows["A-1"][5] == "边缘易致贫户"
    assert rows["A-1"][6] == "因病、收入低"
    assert rows["A-1"][10] == 1  # measures delivered by the month's end
    assert rows["B-2"][11] == datetime(2026, 3, 20)  # a date cell, not text
    assert rows["B-2"][12] == "帮扶消除"

    plain = await screening_client.get("/v1/ledger/export", params={**params, "format": "csv"}, headers=OFFICER)
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("text/csv")
    content = plain.content.decode("utf-8")
    assert content.startswith("\ufeff户编号,")
    assert len(list(csv.reader(io.StringIO(content)))) == 4


async def test_ledger_roles_and_scope(screening_client: httpx.AsyncClient) -> None:
    params = {"county_code": COUNTY, "period": "2026-03"}
    assert (
        await screening_client.get("/v1/ledger", params=params, headers=auth("village_cadre", VILLAGE))
    ).status_code == 403
    assert (
        await screening_client.get("/v1/ledger", params={**params, "county_code": "410603"}, headers=OFFICER)
    ).status_code == 404
    assert (
        await screening_client.get("/v1/ledger", params={**params, "period": "2026-13"}, headers=OFFICER)
    ).status_code == 422
    assert (
        await screening_client.get("/v1/ledger/export", params={**params, "format": "pdf"}, headers=OFFICER)
    ).status_code == 422


async def test_month_boundaries_are_the_business_clocks_dates(
    screening_client: httpx.AsyncClient, session: AsyncSession, clock: Clock
) -> None:
    """A case confirmed at 2026-03-31 17:00 UTC was confirmed on 1 April in China: the ledger reads
    instants in the business clock's zone (FANGPIN_TIMEZONE), not a time zone written into the SQL."""
    case_id = await _case(session, opened=date(2026, 3, 2), state="monitoring", monitoring_type="marginal")
    late = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)
    await session.execute(
        text("UPDATE screening.monitoring_case SET confirmed_at = :at WHERE id = :id"), {"at": late, "id": case_id}
    )
    await session.commit()

    async def confirmations(period: str) -> int:
        response = await screening_client.get(
            "/v1/ledger", params={"county_code": COUNTY, "period": period}, headers=OFFICER
        )
        assert response.status_code == 200, response.text
        return int(response.json()["new_confirmations"])

    assert (await confirmations("2026-03"), await confirmations("2026-04")) == (0, 1)  # Asia/Shanghai
    clock.zone = ZoneInfo("UTC")  # a county clock kept on UTC
    assert (await confirmations("2026-03"), await confirmations("2026-04")) == (1, 0)
