"""Issue 9 (2): the ledger export writes formula-leading text neutralised; its numbers and dates are typed."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from tests.screening.support import COUNTY
from tests.screening.test_ledger import _case, _measure, _paid_claim
from tests.support.tokens import auth

pytestmark = pytest.mark.usefixtures("clock")
OFFICER = auth("county_officer", COUNTY)
LINK = '=HYPERLINK("http://x","y")'


@pytest.fixture
async def formula_case(session: AsyncSession) -> dict[str, Any]:
    case = await _case(
        session,
        opened=date(2026, 2, 20),
        state="monitoring",
        confirmed=date(2026, 3, 10),
        monitoring_type="marginal",
        codes=["illness"],
        number=LINK,
    )
    await _measure(session, case, "health", date(2026, 3, 15))
    await _paid_claim(session, uuid.uuid4(), "illness", "16000.00", date(2026, 3, 18))
    await session.commit()
    return {"case": case}


async def test_ledger_exports_neutralise_formulas_and_type_numbers(
    screening_client: httpx.AsyncClient, formula_case: dict[str, Any]
) -> None:
    params = {"county_code": COUNTY, "period": "2026-03"}
    plain = await screening_client.get("/v1/ledger/export", params={**params, "format": "csv"}, headers=OFFICER)
    assert plain.status_code == 200
    rows = list(csv.reader(io.StringIO(plain.content.decode("utf-8-sig"), newline="")))
    assert rows[1][0] == "'" + LINK

    xlsx = await screening_client.get("/v1/ledger/export", params={**params, "format": "xlsx"}, headers=OFFICER)
    book = load_workbook(io.BytesIO(xlsx.content))
    detail = book["监测对象明细"]
    assert detail.freeze_panes == "A2"
    assert detail["A2"].value == "'" + LINK
    assert detail["A2"].data_type == "s"
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            assert all(c.data_type != "f" for c in row)
    assert isinstance(detail["I2"].value, datetime)  # 认定日期, after the two name columns
    assert detail["I2"].value.date() == date(2026, 3, 10)
    assert detail["K2"].value == 1
    summary = {(r[0], r[1]): r[2] for r in book["汇总"].iter_rows(values_only=True)}
    assert summary[("防贫保险理赔支付(元)", "合计")] == 16000  # a number that SUM adds up, not text
    assert book["汇总"].freeze_panes == "A2"
