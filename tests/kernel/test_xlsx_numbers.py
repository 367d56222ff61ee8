"""Every XLSX the project writes reads its numbers as numbers (issue 14, acceptance 2).

`XLSX_WRITERS` names each module that writes a workbook through shared/spreadsheets.py and what it writes;
a test below produces each one through its service's API and checks with openpyxl that every cell of its
numeric columns (amounts, counts, years, shares) is a number — `int`/`float`, cell type `n` — never text,
so SUM adds them up. The bank file's payout column adds up to the API's batch total.

`OTHER_CALLERS` names the modules that use shared/spreadsheets.py without writing an XLSX (CSV only, the
media type, the reading guard, display widths). `test_every_caller_of_the_writer_is_listed` fails when a
module starts using shared/spreadsheets.py without being listed in one of the two, or when a listed
"other" module starts writing XLSX: add the new workbook to `XLSX_WRITERS` with a test reading it back.
At the time of writing there is no simulation, notice or adjustment-list workbook (claims answers XLSX only
for the bank file, tests/claims/test_spreadsheets_out.py); each would be one more entry here.
"""

from __future__ import annotations

import ast
import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import measure, monitoring_case
from tests.claims.conftest import COUNTY as CLAIMS_COUNTY
from tests.claims.conftest import registry, today
from tests.claims.test_payments import approved, batch
from tests.registry.conftest import CreateHousehold, create_household
from tests.support.tokens import DEMO_COUNTY, DEMO_VILLAGE, auth

__all__ = ["approved", "create_household", "registry", "today"]  # fixtures of the services' suites, re-used

ROOT = Path(__file__).resolve().parents[2]
OFFICER = auth("county_officer", DEMO_COUNTY)

XLSX_WRITERS: Mapping[str, str] = {
    "services/registry/service/exports.py": "the register export (花名册): POST /v1/exports format=xlsx",
    "services/registry/service/statistics.py": "the statistics report (统计报表): GET /v1/statistics format=xlsx",
    "services/screening/service/ledger.py": "the monitoring ledger (台账): GET /v1/ledger/export format=xlsx",
    "services/screening/service/adjustments.py": "the adjustment list (两类户动态调整): GET /v1/adjustments "
    "format=xlsx (tests/screening/test_adjustments.py reads its counts back as numbers)",
    "services/claims/service/payments.py": "the bank file (代发文件): GET /v1/payments/batches/{id}/bank-file",
}
OTHER_CALLERS: Mapping[str, str] = {
    "services/registry/domain/import_rows.py": "the import template, CSV",
    "services/registry/demo.py": "demo import files, CSV",
    "services/registry/service/imports.py": "the XLSX reading guard (check_xlsx_archive)",
    "services/registry/api/statistics.py": "the XLSX media type",
    "services/claims/api/payments.py": "the XLSX and CSV media types",
    "services/screening/api/adjustments.py": "the XLSX media type",
    "services/cli/registry.py": "display_width for the terminal report",
}
_XLSX_NAMES = frozenset({"xlsx_bytes", "write_xlsx", "Sheet"})


def _uses_of_the_writer(source: Path) -> set[str] | None:
    """The names of shared/spreadsheets.py a module uses (None: it does not import it)."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = False
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "shared.spreadsheets":
            imported = True
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "shared":
            if any(alias.name == "spreadsheets" for alias in node.names):
                imported = True
        elif isinstance(node, ast.Import) and any(alias.name == "shared.spreadsheets" for alias in node.names):
            imported = True
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "spreadsheets":
            names.add(node.attr)
    return names if imported else None


def test_every_caller_of_the_writer_is_listed() -> None:
    writers: set[str] = set()
    others: set[str] = set()
    for source in sorted([*(ROOT / "services").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]):
        relative = source.relative_to(ROOT).as_posix()
        if relative == "shared/spreadsheets.py":
            continue
        names = _uses_of_the_writer(source)
        if names is None:
            continue
        (writers if names & _XLSX_NAMES else others).add(relative)
    assert writers == set(XLSX_WRITERS), (
        "a module writes XLSX through shared/spreadsheets.py without being listed in XLSX_WRITERS "
        "(add it, and a test below that reads its numbers back), or a listed one stopped"
    )
    assert others <= set(OTHER_CALLERS), f"list these callers of shared/spreadsheets.py: {others - set(OTHER_CALLERS)}"
    assert not (set(OTHER_CALLERS) & writers), "an 'other' caller now writes XLSX: move it to XLSX_WRITERS"


# --------------------------------------------------------------------------------------------
# The check


@dataclass(frozen=True)
class Numeric:
    """The numeric columns of one sheet, by header; `text_rows`: rows (by their first cell) whose values
    in these columns are labels by design (the statistics summary's 地区 row)."""

    sheet: str
    columns: tuple[str, ...]
    text_rows: frozenset[str] = frozenset()


def _check_numbers(content: bytes, expected: Sequence[Numeric]) -> int:
    """Assert every cell of the numeric columns is a number or empty; returns how many numbers were read."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    numbers = 0
    for spec in expected:
        sheet = book[spec.sheet]
        header = [c.value for c in sheet[1]]
        missing = [c for c in spec.columns if c not in header]
        assert not missing, f"{spec.sheet}: no column {missing} in {header}"
        positions = [header.index(c) for c in spec.columns]
        for row in sheet.iter_rows(min_row=2):
            if row[0].value in spec.text_rows:
                continue
            for i in positions:
                cell = row[i]
                if cell.value is None:
                    continue
                assert not isinstance(cell.value, str | bool), (spec.sheet, header[i], cell.coordinate, cell.value)
                assert isinstance(cell.value, int | float), (spec.sheet, header[i], cell.coordinate, cell.value)
                assert cell.data_type == "n", (spec.sheet, header[i], cell.coordinate)
                numbers += 1
    return numbers


# --------------------------------------------------------------------------------------------
# registry


@pytest.mark.usefixtures("demo_regions")
async def test_the_register_export(registry_client: httpx.AsyncClient, create_household: CreateHousehold) -> None:
    await create_household(insured_years=[2026])
    job = await registry_client.post(
        "/v1/exports", params={"wait": "true"}, json={"region": DEMO_COUNTY, "format": "xlsx"}, headers=OFFICER
    )
    assert job.status_code == 200, job.text
    assert job.json()["status"] == "succeeded", job.text
    download = await registry_client.get(f"/v1/exports/{job.json()['id']}/file", headers=OFFICER)
    assert download.status_code == 200
    columns = (
        "参保年度",
        "残疾等级",
        "工资性收入",
        "经营性收入",
        "财产性收入",
        "转移性收入",
        "生产经营支出",
        "收入年度",
        "识别年度",
        "脱贫年度",
        "务工时间（月）",
    )
    read = _check_numbers(download.content, [Numeric("户籍成员", columns)])
    assert read >= 3 * 6  # three members, each with the household's year, five amounts and the income year


@pytest.mark.usefixtures("demo_regions")
async def test_the_statistics_report(registry_client: httpx.AsyncClient, create_household: CreateHousehold) -> None:
    await create_household(registered_year=2015)
    await create_household()
    response = await registry_client.get(
        "/v1/statistics", params={"county": DEMO_COUNTY, "year": 2026, "format": "xlsx"}, headers=OFFICER
    )
    assert response.status_code == 200, response.text
    table = ("户数", "人数", "占比(%)")
    read = _check_numbers(
        response.content,
        [
            Numeric("汇总", ("户数/值", "人数", "比率(%)"), frozenset({"地区"})),
            Numeric("致贫原因", table),
            Numeric("监测对象类型", table),
            Numeric("风险类型", table),
            Numeric("低保特困", table),
            Numeric(
                "分地区",
                (
                    "农村户数",
                    "农村人数",
                    "建档立卡户数",
                    "建档立卡人数",
                    "未脱贫户数",
                    "未脱贫人数",
                    "贫困发生率(%)",
                ),
            ),
        ],
    )
    assert read >= 6  # at least the year and the rural / registered counts of the summary


# --------------------------------------------------------------------------------------------
# screening


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, tzinfo=UTC)


async def test_the_ledger(screening_client: httpx.AsyncClient, session: AsyncSession) -> None:
    case_id = uuid.uuid4()
    await session.execute(
        insert(monitoring_case).values(
            id=case_id,
            county_code=DEMO_COUNTY,
            township_code=DEMO_VILLAGE[:9],
            village_code=DEMO_VILLAGE,
            household_id=uuid.uuid4(),
            household_number="X-1",
            source="screening",
            state="monitoring",
            risk_codes=["illness"],
            monitoring_type="marginal",
            opened_at=_at(date(2026, 2, 2)),
            state_entered_at=_at(date(2026, 2, 2)),
            identification_deadline=date(2026, 3, 2),
            confirmed_at=_at(date(2026, 3, 10)),
        )
    )
    await session.execute(
        insert(measure).values(
            id=uuid.uuid4(),
            case_id=case_id,
            county_code=DEMO_COUNTY,
            household_id=uuid.uuid4(),
            measure_type="health",
            description="x",
            start_date=date(2026, 3, 1),
            delivered_date=date(2026, 3, 15),
        )
    )
    await session.commit()
    response = await screening_client.get(
        "/v1/ledger/export", params={"county_code": DEMO_COUNTY, "period": "2026-03"}, headers=OFFICER
    )
    assert response.status_code == 200, response.text
    read = _check_numbers(
        response.content, [Numeric("汇总", ("数值",)), Numeric("监测对象明细", ("已落实帮扶措施数",))]
    )
    assert read >= 5  # the summary's counts (monitored, confirmations, …) and the household's measures


# --------------------------------------------------------------------------------------------
# claims


async def test_the_bank_file_and_its_sum(claims_client: httpx.AsyncClient, approved: list[str]) -> None:
    created = await batch(claims_client, approved)
    assert created.status_code == 201, created.text
    batch_id = created.json()["id"]
    api = (await claims_client.get(f"/v1/payments/batches/{batch_id}", headers=CLAIMS_COUNTY)).json()
    api_total = sum((Decimal(p["amount"]) for p in api["payments"]), Decimal("0"))
    assert api_total == Decimal(api["declared_total"]) > 0
    response = await claims_client.get(
        f"/v1/payments/batches/{batch_id}/bank-file", params={"format": "xlsx"}, headers=CLAIMS_COUNTY
    )
    assert response.status_code == 200, response.text
    title = openpyxl.load_workbook(io.BytesIO(response.content)).sheetnames[0]
    assert _check_numbers(response.content, [Numeric(title, ("amount", "attempt"))]) == 2 * len(approved)
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))[title]
    header: list[Any] = [c.value for c in sheet[1]]
    amounts = [row[header.index("amount")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sum(Decimal(str(a)) for a in amounts) == api_total  # what SUM(amount) gives in the spreadsheet
