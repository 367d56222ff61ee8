"""The bank file (代发文件, issue 14): holder and bank name on every line, or the batch is refused; the XLSX's
amounts are numbers whose SUM is the batch total the API reports (acceptance 2)."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import payment
from tests.claims.conftest import COUNTY, FakeRegistry
from tests.claims.test_payments import approved, batch

__all__ = ["approved"]  # the fixture, re-used


@pytest.mark.parametrize(
    ("holder", "bank_name", "missing"),
    [
        (None, "中国农业银行鹤壁分行", ["account_holder"]),
        ("张三丰", "", ["bank_name"]),
        ("  ", None, ["account_holder", "bank_name"]),
    ],
)
async def test_a_batch_with_incomplete_bank_details_is_refused_row_by_row(
    claims_client: httpx.AsyncClient,
    registry: FakeRegistry,
    approved: list[str],
    session: AsyncSession,
    holder: str | None,
    bank_name: str | None,
    missing: list[str],
) -> None:
    first = (await claims_client.get(f"/v1/claims/{approved[0]}", headers=COUNTY)).json()
    account = registry.accounts[uuid.UUID(first["household_id"])]
    account.pop("account_holder")
    account.pop("bank_name")
    if holder is not None:
        account["account_holder"] = holder
    if bank_name is not None:
        account["bank_name"] = bank_name
    refused = await batch(claims_client, approved)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "bank_details_incomplete"
    assert problem["extra"]["claims"] == [
        {"claim_id": approved[0], "household_id": first["household_id"], "missing": missing}
    ]
    assert (await session.execute(select(func.count()).select_from(payment))).scalar_one() == 0
    for claim_id in approved:
        assert (await claims_client.get(f"/v1/claims/{claim_id}", headers=COUNTY)).json()["state"] == "approved"
    chinese = await batch(claims_client, approved, headers={**COUNTY, "Accept-Language": "zh-CN"})
    assert chinese.json()["title"] == "银行账户信息不全"
    # completed in the registry, the same batch goes through
    account.update({"account_holder": "张三丰", "bank_name": "中国农业银行鹤壁分行"})
    assert (await batch(claims_client, approved)).status_code == 201


async def test_xlsx_bank_file_amounts_are_numbers_and_add_up_to_the_batch(
    claims_client: httpx.AsyncClient, approved: list[str]
) -> None:
    created = await batch(claims_client, approved)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    api_total = sum(Decimal(p["amount"]) for p in body["payments"])
    assert api_total == Decimal(body["declared_total"])

    response = await claims_client.get(
        f"/v1/payments/batches/{body['id']}/bank-file", params={"format": "xlsx"}, headers=COUNTY
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert response.headers["cache-control"] == "no-store"
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    header, lines = rows[0], rows[1:]
    column = {name: i for i, name in enumerate(header)}
    assert len(lines) == 2
    for line in lines:
        assert isinstance(line[column["amount"]], int | float), line
        assert not isinstance(line[column["amount"]], bool)
        assert isinstance(line[column["attempt"]], int)
        assert isinstance(line[column["bank_account"]], str)  # an account number is never a number
        assert line[column["account_holder"]] == "张三丰"
        assert line[column["bank_name"]] == "中国农业银行鹤壁分行"
    amounts = [sheet.cell(row=r, column=column["amount"] + 1) for r in range(2, len(lines) + 2)]
    assert all(c.data_type == "n" and c.number_format == "0.00" for c in amounts)
    xlsx_sum = sum(Decimal(str(c.value)) for c in amounts)
    assert xlsx_sum == api_total == Decimal("32000.00")

    # the CSV says the same, with holder and bank name filled
    plain = await claims_client.get(f"/v1/payments/batches/{body['id']}/bank-file", headers=COUNTY)
    csv_rows = list(csv.DictReader(io.StringIO(plain.content.decode("utf-8-sig"))))
    assert sum(Decimal(r["amount"]) for r in csv_rows) == api_total
    assert all(r["account_holder"] and r["bank_name"] for r in csv_rows)
