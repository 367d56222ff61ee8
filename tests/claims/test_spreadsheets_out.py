"""Every spreadsheet the claims service hands out (issue 14, acceptance 2): the routes that answer with XLSX
or CSV are known, each is written by shared/spreadsheets.py (tests/kernel/test_spreadsheets.py holds every
other module to it), and each is read back here with openpyxl / csv: amounts and counts are numbers.

A new XLSX or CSV route fails `test_the_spreadsheet_routes_are_known` until it is added to SPREADSHEET_ROUTES
and read back by a test like the one below.
"""

from __future__ import annotations

import ast
import csv
import io
from decimal import Decimal
from pathlib import Path

import httpx
import openpyxl

from services.claims.app import create_app
from shared.spreadsheets import XLSX_MEDIA_TYPE
from tests.claims.conftest import COUNTY
from tests.claims.test_payments import approved, batch

__all__ = ["approved"]

ROOT = Path(__file__).resolve().parents[2]
SPREADSHEET_ROUTES = {("get", "/v1/payments/batches/{batch_id}/bank-file")}
NUMERIC_COLUMNS = {"amount", "attempt"}


def test_the_spreadsheet_routes_are_known() -> None:
    document = create_app().openapi()
    found = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("responses", {}).get("200", {}).get("content", {})
            if any(kind == XLSX_MEDIA_TYPE or kind.startswith("text/csv") for kind in content):
                found.add((method, path))
    assert found == SPREADSHEET_ROUTES


def test_claims_writes_spreadsheets_only_through_the_kernel_writer() -> None:
    for source in (ROOT / "services" / "claims").rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("Workbook", "writer", "DictWriter"):
                base = node.value
                name = base.id if isinstance(base, ast.Name) else ""
                assert name not in ("openpyxl", "csv"), f"{source}: {name}.{node.attr} (use shared/spreadsheets.py)"
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("openpyxl"):
                raise AssertionError(f"{source} imports openpyxl (use shared/spreadsheets.py)")


async def test_every_amount_and_count_cell_is_a_number(claims_client: httpx.AsyncClient, approved: list[str]) -> None:
    created = (await batch(claims_client, approved)).json()
    total = Decimal(created["declared_total"])
    for method, path in sorted(SPREADSHEET_ROUTES):
        url = path.replace("{batch_id}", created["id"])
        workbook = await claims_client.request(method, url, params={"format": "xlsx"}, headers=COUNTY)
        assert workbook.status_code == 200, workbook.text
        sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).worksheets[0]
        header = [c.value for c in sheet[1]]
        numeric = [i for i, name in enumerate(header) if name in NUMERIC_COLUMNS]
        assert len(numeric) == len(NUMERIC_COLUMNS)
        amount_sum = Decimal("0")
        for row in sheet.iter_rows(min_row=2):
            for i in numeric:
                assert row[i].data_type == "n", (header[i], row[i].value)
                assert isinstance(row[i].value, int | float)
            amount_sum += Decimal(str(row[header.index("amount")].value))
        assert amount_sum == total
        plain = await claims_client.request(method, url, headers=COUNTY)
        rows = list(csv.DictReader(io.StringIO(plain.content.decode("utf-8-sig"))))
        assert all(r["attempt"].isdigit() for r in rows)
        assert sum(Decimal(r["amount"]) for r in rows) == total
