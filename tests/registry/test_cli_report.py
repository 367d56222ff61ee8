"""`fangpin report --county C --year Y` (issue 12): the county report's tables in the terminal and as XLSX,
read from a committed database in the command's own process."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from services.cli import app
from shared.settings import async_database_url

COUNTY = "410623"
VILLAGE = "410623100201"

_SETUP = [
    "INSERT INTO registry.region (code, name, level, parent_code, prefix, county_code) VALUES "
    f"('{COUNTY}000000', '测试县', 'county', NULL, '{COUNTY}', '{COUNTY}'), "
    f"('{VILLAGE[:9]}000', '测试镇', 'township', '{COUNTY}000000', '{VILLAGE[:9]}', '{COUNTY}'), "
    f"('{VILLAGE}', '测试村', 'village', '{VILLAGE[:9]}000', '{VILLAGE}', '{COUNTY}') ON CONFLICT (code) DO NOTHING",
    # 4 remaining poor (3 因病, 1 因灾) of 2 people; 6 ordinary of 2: 8 of 20 people
    "INSERT INTO registry.household (id, county_code, township_code, village_code, household_number, status, "
    "base_status, poverty_cause, registered_year) "
    f"SELECT gen_random_uuid(), '{COUNTY}', '{VILLAGE[:9]}', '{VILLAGE}', 'R' || i, 'ordinary', 'ordinary', "
    "CASE WHEN i <= 3 THEN 'illness' WHEN i = 4 THEN 'disaster' END, CASE WHEN i <= 4 THEN 2016 END "
    "FROM generate_series(1, 10) AS i",
    "INSERT INTO registry.member (id, household_id, county_code, name, national_id_enc, national_id_index, "
    "national_id_masked, sex, birth_date, relation, health, labour_ability, join_reason) "
    "SELECT gen_random_uuid(), h.id, h.county_code, '测试', '\\x00'::bytea, sha256((h.id::text || n)::bytea), "
    "'410623********0000', 'male', date '1970-01-01', CASE WHEN n = 1 THEN 'head' ELSE 'other' END, 'healthy', "
    f"'normal', 'registration' FROM registry.household h, generate_series(1, 2) AS n WHERE h.county_code = '{COUNTY}'",
]
_CLEANUP = [
    f"DELETE FROM registry.member WHERE county_code = '{COUNTY}'",
    f"DELETE FROM registry.household WHERE county_code = '{COUNTY}'",
    f"DELETE FROM registry.region WHERE county_code = '{COUNTY}'",
]


async def _run(url: str, statements: list[str]) -> None:
    engine = create_async_engine(async_database_url(url))
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
def county(committed_url: str) -> Iterator[str]:
    asyncio.run(_run(committed_url, _CLEANUP + _SETUP))
    yield committed_url
    asyncio.run(_run(committed_url, _CLEANUP))


def test_report_prints_tables_and_writes_xlsx(county: str, tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    result = CliRunner().invoke(
        app,
        ["report", "--county", COUNTY, "--year", "2026", "--out", str(out)],
        env={"FANGPIN_DATABASE_URL": county, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert f"测试县（{COUNTY}） 2026年 统计报表" in result.output
    assert "贫困发生率: 40.00%" in result.output  # 8 of 20 people
    lines = result.output.splitlines()
    illness = next(line for line in lines if line.startswith("因病"))
    assert illness.split() == ["因病", "3", "6", "75.00"]
    assert any(line.startswith(f"{VILLAGE[:9]}  测试镇") for line in lines)
    book = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))
    rows = {r[2]: r for r in book["致贫原因"].iter_rows(min_row=2, values_only=True)}
    assert rows["disaster"][3] == 1
    assert float(rows["disaster"][5]) == 25.0


def test_report_refuses_bad_codes() -> None:
    result = CliRunner().invoke(app, ["report", "--county", "41", "--year", "2026"])
    assert result.exit_code == 2
