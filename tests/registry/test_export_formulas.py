"""Issue 9 (2): a member name or address that starts like a formula is text in every export; amounts are numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import httpx
import pytest
from openpyxl import load_workbook

from tests.registry.conftest import CreateHousehold, member
from tests.support.tokens import DEMO_VILLAGE, auth

pytestmark = pytest.mark.usefixtures("demo_regions")
OFFICER = auth("county_officer")
LINK = '=HYPERLINK("http://x","y")'


async def _file(client: httpx.AsyncClient, fmt: str) -> bytes:
    job = (
        await client.post(
            "/v1/exports", params={"wait": "true"}, json={"region": DEMO_VILLAGE, "format": fmt}, headers=OFFICER
        )
    ).json()
    assert job["status"] == "succeeded", job
    download = await client.get(job["download_url"], headers=OFFICER)
    assert download.status_code == 200
    return download.content


async def test_formula_cells_are_neutralised_in_csv_and_xlsx_exports(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    here = await create_household(
        address="@SUM(1+1)*cmd|' /C calc'!A0",
        members=[member("head", name=LINK), member("spouse", name="+李秀英"), member("son", name="-张小明")],
    )
    number = here["household_number"]

    rows = list(csv.reader(io.StringIO((await _file(registry_client, "csv")).decode("utf-8-sig"), newline="")))
    header = rows[0]
    ours = [r for r in rows[1:] if r[0] == number]
    assert {r[header.index("姓名")] for r in ours} == {"'" + LINK, "'+李秀英", "'-张小明"}
    assert ours[0][header.index("地址")] == "'@SUM(1+1)*cmd|' /C calc'!A0"

    book = load_workbook(io.BytesIO(await _file(registry_client, "xlsx")))
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2"
    head = [c.value for c in sheet[1]]
    mine = [r for r in sheet.iter_rows(min_row=2) if r[0].value == number]
    names = {r[head.index("姓名")].value for r in mine}
    assert names == {"'" + LINK, "'+李秀英", "'-张小明"}
    for row in sheet.iter_rows(min_row=2):
        assert all(c.data_type != "f" for c in row)
    wage = mine[0][head.index("工资性收入")]
    assert wage.data_type == "n"
    assert Decimal(str(wage.value)) == Decimal("18000")
    assert wage.number_format == "0.00"
    assert mine[0][head.index("身份证号")].data_type == "s"  # never a number (Excel would round it)
