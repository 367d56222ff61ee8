"""shared/spreadsheets.py: the one CSV/XLSX writer (formula neutralisation, typed cells) and the XLSX bomb guard."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from shared import spreadsheets
from shared.spreadsheets import Sheet, XlsxLimits, XlsxRefused, check_xlsx_archive

ROOT = Path(__file__).resolve().parents[2]
FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\r=1"]


def test_formula_leading_text_is_neutralised_and_other_text_kept() -> None:
    for text in FORMULAS:
        assert spreadsheets.neutralise(text) == "'" + text
    for text in ("张建国", "a=b", "", "'already", "1-2"):
        assert spreadsheets.neutralise(text) == text


def test_csv_has_a_bom_neutralised_text_and_plain_numbers() -> None:
    content = spreadsheets.csv_bytes(
        ["姓名", "金额", "年份", "日期"],
        [[f, Decimal("-12.50"), 2026, date(2026, 3, 1)] for f in FORMULAS] + [[None, Decimal("1E+2"), -3, None]],
    )
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["姓名", "金额", "年份", "日期"]
    assert [r[0] for r in rows[1:-1]] == ["'" + f for f in FORMULAS]
    assert all(r[1] == "-12.50" and r[2] == "2026" and r[3] == "2026-03-01" for r in rows[1:-1])
    assert rows[-1] == ["", "100", "-3", ""]  # never an exponent; a negative int is a number, not quoted


def test_xlsx_typed_cells_no_formula_frozen_header_and_fitted_widths() -> None:
    rows = [[f, Decimal("-12.50"), 2026, date(2026, 3, 1), "410602196803151312"] for f in FORMULAS]
    rows.append(["鹤壁集镇鹤壁集村三组十二号", Decimal("18000.00"), 12345678901234567, None, None])
    content = spreadsheets.xlsx_bytes([Sheet("成员", ["姓名", "金额", "年份", "日期", "身份证号"], rows)])
    book = load_workbook(io.BytesIO(content))
    sheet = book["成员"]
    assert sheet.freeze_panes == "A2"
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == ["姓名", "金额", "年份", "日期", "身份证号"]
    # XML turns a carriage return into a line feed; the quote stays in front
    assert [r[0] for r in values[1:-1]] == ["'" + f.replace("\r", "\n") for f in FORMULAS]
    for row in sheet.iter_rows(min_row=2):
        assert row[0].data_type == "s"  # no cell of the file is a formula
        assert row[4].value is None or isinstance(row[4].value, str)
    amount = sheet["B2"]
    assert amount.data_type == "n"
    assert amount.value == -12.5
    assert amount.number_format == "0.00"
    assert sheet["C2"].value == 2026
    assert sheet["D2"].is_date
    assert sheet["D2"].value.date() == date(2026, 3, 1)
    assert sheet["C8"].value == "12345678901234567"  # more digits than Excel keeps: text
    assert sheet["E2"].value == "410602196803151312"
    # CJK counts double: 13 Chinese characters are wider than the 18-digit ID
    assert sheet.column_dimensions["A"].width >= 26
    assert sheet.column_dimensions["E"].width >= 18
    assert sheet.column_dimensions["A"].width > sheet.column_dimensions["E"].width
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml


def test_large_exports_stream_rows() -> None:
    def rows():  # a generator: write-only mode never needs the whole table
        for i in range(5000):
            yield [f"=cmd{i}", Decimal(i)]

    book = load_workbook(io.BytesIO(spreadsheets.xlsx_bytes([Sheet("s", ["a", "b"], rows())])), read_only=True)
    values = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(values) == 5001
    assert values[-1] == ("'=cmd4999", 4999)


_WRITERS = re.compile(r"csv\.(writer|DictWriter)\b|\bWorkbook\b|from openpyxl import .*Workbook|import xlsxwriter")


def test_no_other_module_writes_a_spreadsheet() -> None:
    offenders = []
    for path in [*ROOT.glob("services/**/*.py"), *ROOT.glob("shared/**/*.py")]:
        if path == ROOT / "shared" / "spreadsheets.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _WRITERS.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "write spreadsheets through shared/spreadsheets.py"


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_the_archive_check_refuses_expanding_files_from_the_directory_alone() -> None:
    bomb = _zip({"xl/sharedStrings.xml": b"<sst>" + b"A" * (40 * 1024 * 1024) + b"</sst>"})
    assert len(bomb) < 100 * 1024
    with pytest.raises(XlsxRefused) as refused:
        check_xlsx_archive(bomb, XlsxLimits())
    assert refused.value.code == "xlsx_too_large_expanded"
    with pytest.raises(XlsxRefused) as total:
        check_xlsx_archive(_zip({f"xl/p{i}.xml": bytes(1000) for i in range(5)}), XlsxLimits(max_expanded_bytes=4000))
    assert total.value.code == "xlsx_too_large_expanded"
    with pytest.raises(XlsxRefused) as ratio:
        check_xlsx_archive(_zip({"xl/worksheets/sheet1.xml": bytes(5 * 1024 * 1024)}), XlsxLimits())
    assert ratio.value.code == "xlsx_too_large_expanded"
    with pytest.raises(XlsxRefused) as not_zip:
        check_xlsx_archive(b"PK\x03\x04 not really", XlsxLimits())
    assert not_zip.value.code == "invalid_file"
    # an ordinary workbook passes
    check_xlsx_archive(spreadsheets.xlsx_bytes([Sheet("s", ["a"], [["x"]] * 1000)]), XlsxLimits())
