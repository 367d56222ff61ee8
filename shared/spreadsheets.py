"""The one way the project writes a spreadsheet (CSV or XLSX), and the guard for reading XLSX.

Writing. Every text cell that a spreadsheet program would take for a formula — starting with
`=`, `+`, `-`, `@`, a tab or a carriage return (OWASP "CSV injection") — is written with a
single quote in front, in CSV and XLSX alike, so `=HYPERLINK("http://x","y")` in a member's
name stays text. Real numbers are not text: `Decimal` and `int` are written as numbers (a
negative amount stays a number that SUM adds up), `Decimal` with the `0.00` format, `date` as a
date. Callers pass ID and account numbers as `str` (they must never become numbers), and an
`int` of more than 15 digits is written as text, since Excel would round it.

XLSX: openpyxl's write-only mode (rows streamed to the file, bounded memory), the header row
frozen, column widths fitted to the header and the first rows (CJK characters count double).
CSV: UTF-8 with a BOM (Excel on a Chinese Windows reads UTF-8 Chinese correctly only with it),
CRLF line ends.

Reading. `check_xlsx_archive` reads only an XLSX's zip directory and refuses a file whose parts
would expand beyond a bound (an "XLSX bomb") before any XML parser sees it.

A test (tests/kernel/test_spreadsheets.py) fails when any other module under services/ or
shared/ writes CSV or XLSX itself.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import IO, Any

Cell = str | int | float | Decimal | date | datetime | bool | None  # what is written typed; else str()
Row = Sequence[object]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
MONEY_FORMAT = "0.00"
DATE_FORMAT = "yyyy-mm-dd"
_WIDTH_SAMPLE_ROWS = 1000  # column widths are fitted to the header and this many first rows
_MAX_WIDTH = 60
_MAX_EXACT_INT = 10**15  # Excel keeps 15 significant digits


def neutralise(text: str) -> str:
    """A text cell as it is safe to write: a quote in front of a formula-leading character."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return format(value, "f")  # plain digits, never an exponent
    if isinstance(value, int | float):
        return str(value)  # a number: never neutralised (a negative amount is not a formula)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def csv_text(header: Sequence[str], rows: Iterable[Row], *, bom: bool = True) -> str:
    """The CSV as text (with the BOM character first unless `bom=False`)."""
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(str(h)) for h in header])
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    return buffer.getvalue()


def csv_bytes(header: Sequence[str], rows: Iterable[Row], *, bom: bool = True) -> bytes:
    """The CSV as UTF-8 bytes, with a BOM unless `bom=False`."""
    return csv_text(header, rows, bom=bom).encode("utf-8")


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a title (31 characters at most), the header row and the data rows."""

    title: str
    header: Sequence[str]
    rows: Iterable[Row]


def display_width(value: object) -> int:
    """How many character cells the value takes on screen (CJK and full-width count two)."""
    if value is None:
        return 0
    if isinstance(value, Decimal):
        text = f"{value:,.2f}"
    elif isinstance(value, datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, date):
        text = "0000-00-00"
    else:
        text = str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def _xlsx_cell(sheet: Any, value: object) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=neutralise(value))
        cell.data_type = "s"  # never a formula, whatever the text
        return cell
    if isinstance(value, bool) or value is None:
        return WriteOnlyCell(sheet, value=value)
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = MONEY_FORMAT if value.as_tuple().exponent in (0, -1, -2) else "General"
        return cell
    if isinstance(value, int):
        if abs(value) >= _MAX_EXACT_INT:
            return _xlsx_cell(sheet, str(value))
        return WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value.replace(tzinfo=None))
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, float):
        return WriteOnlyCell(sheet, value=value)
    return _xlsx_cell(sheet, str(value))  # anything else (a UUID, an enum) as text


def write_xlsx(sheets: Iterable[Sheet], out: IO[bytes]) -> None:
    """Write the workbook to `out`, streaming each sheet's rows (write-only mode)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for spec in sheets:
        sheet = book.create_sheet(spec.title[:31])
        rows = iter(spec.rows)
        sample = list(islice(rows, _WIDTH_SAMPLE_ROWS))
        widths = [display_width(h) for h in spec.header]
        for row in sample:
            for i, value in enumerate(row):
                w = display_width(value)
                if i >= len(widths):
                    widths.append(w)
                elif w > widths[i]:
                    widths[i] = w
        for i, w in enumerate(widths, 1):  # before the first row: write-only mode writes <cols> first
            sheet.column_dimensions[_column_letter(i)].width = min(max(w, 4) + 2, _MAX_WIDTH)
        sheet.freeze_panes = "A2"
        sheet.append([_xlsx_cell(sheet, str(h)) for h in spec.header])
        for row in _chain(sample, rows):
            sheet.append([_xlsx_cell(sheet, v) for v in row])
    book.save(out)


def xlsx_bytes(sheets: Iterable[Sheet]) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(sheets, buffer)
    return buffer.getvalue()


def _chain(first: list[Row], rest: Iterator[Row]) -> Iterator[Row]:
    yield from first
    first.clear()
    yield from rest


# --------------------------------------------------------------------------------------------
# Reading guard


class XlsxRefused(ValueError):
    """The XLSX would expand beyond a bound (or is no zip at all); `code` is stable."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class XlsxLimits:
    max_expanded_bytes: int = 256 * 1024 * 1024  # all parts together, uncompressed
    max_member_bytes: int = 128 * 1024 * 1024  # one part (a worksheet) uncompressed
    max_shared_strings_bytes: int = 32 * 1024 * 1024  # xl/sharedStrings.xml uncompressed
    max_ratio: int = 200  # uncompressed / compressed, for a part larger than 1 MiB
    max_members: int = 10_000


def check_xlsx_archive(source: bytes | IO[bytes], limits: XlsxLimits) -> None:
    """Refuse an XLSX from its zip directory alone (no part is decompressed).

    The sizes in the directory are what the file claims; zipfile checks while reading that a
    part does not expand beyond its declared size (it raises on a lying header), so a reader
    that passed this check cannot be made to expand more than the bounds.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise XlsxRefused("the file is not an XLSX workbook (save it as .xlsx or .csv)", "invalid_file") from exc
    if len(members) > limits.max_members:
        raise XlsxRefused(f"the workbook has more than {limits.max_members} parts", "xlsx_too_large_expanded")
    total = 0
    for info in members:
        size = info.file_size
        total += size
        name = info.filename.lower()
        if name == "xl/sharedstrings.xml" and size > limits.max_shared_strings_bytes:
            raise XlsxRefused(
                f"the workbook's shared strings expand to {size} bytes, more than {limits.max_shared_strings_bytes}",
                "xlsx_too_large_expanded",
            )
        if size > limits.max_member_bytes:
            raise XlsxRefused(
                f"a part of the workbook expands to {size} bytes, more than {limits.max_member_bytes}",
                "xlsx_too_large_expanded",
            )
        if size > 1024 * 1024 and size > limits.max_ratio * max(info.compress_size, 1):
            raise XlsxRefused(
                f"a part of the workbook is compressed more than {limits.max_ratio} to 1 (a zip bomb?)",
                "xlsx_too_large_expanded",
            )
    if total > limits.max_expanded_bytes:
        raise XlsxRefused(
            f"the workbook expands to {total} bytes, more than {limits.max_expanded_bytes}",
            "xlsx_too_large_expanded",
        )
