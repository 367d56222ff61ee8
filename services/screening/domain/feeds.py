"""Department feed batches (rules.md §1.2): parsing and per-record validation, pure.

A batch is JSON lines (one object per line) or CSV (a header row, then one record per row).
Every record names a person by national ID or a household by household number, a ``kind``
the sending department may send, an event date, its amounts and details. The batch declares
its record count and control total (the sum of every amount of every record, see
:data:`~services.screening.domain.risk.FEED_AMOUNT_FIELDS`); :func:`parse_batch` counts and sums
what was actually sent, so the service can reject a batch whose figures disagree as a whole.

Nothing here does I/O; a parsed record still holds the plain national ID, which the service
encrypts before anything is stored or logged.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO, Final, Literal

from stdnum.cn import ric

from shared.contracts.types import forbidden_character

from .risk import DEPARTMENT_KINDS, FEED_AMOUNT_FIELDS, Department, FeedKind, screening_amount

FeedFormat = Literal["jsonl", "csv"]

EARLIEST_EVENT: Final = date(2000, 1, 1)
MAX_AMOUNT: Final = Decimal("1000000000000")  # 10^12 yuan: anything larger is a typo
MAX_CONTROL_TOTAL: Final = Decimal("10") ** 16  # declared sums: far beyond any real batch, bounded all the same
MAX_TEXT: Final = 2000  # any other string of a record (details, names of fields)
_PLAIN_DECIMAL: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # no exponent, no blanks, no underscores
ALL_AMOUNT_FIELDS: Final[frozenset[str]] = frozenset(f for fs in FEED_AMOUNT_FIELDS.values() for f in fs)

#: Amounts a record of each kind must carry; the kind's other amounts default to 0.
REQUIRED_AMOUNTS: Final[Mapping[FeedKind, tuple[str, ...]]] = {
    FeedKind.MEDICAL_EXPENSE: ("total_cost", "self_paid"),
    FeedKind.EDUCATION_EXPENSE: ("cost",),
    FeedKind.DISASTER_LOSS: ("loss",),
    FeedKind.ACCIDENT: ("loss",),
    FeedKind.INDUSTRY_LOSS: ("loss",),
}

#: School levels a ``school_admission`` record may name (学段).
SCHOOL_LEVELS: Final[frozenset[str]] = frozenset(
    {
        "primary",
        "junior_high",
        "senior_high",
        "secondary_vocational",
        "higher_vocational",
        "junior_college",
        "undergraduate",
        "postgraduate",
    }
)

_CORE_FIELDS: Final = frozenset(
    {
        "source_record_id",
        "national_id",
        "household_number",
        "kind",
        "event_date",
        "amounts",
        "details",
        "grade",
        "level",
    }
)


@dataclass(frozen=True, slots=True)
class RecordError:
    line_no: int
    field: str
    message: str
    code: str
    source_record_id: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    line_no: int
    source_record_id: str
    kind: FeedKind
    event_date: date
    national_id: str | None  # normalised (upper-case X); plain, never store it like this
    household_number: str | None
    amounts: Mapping[str, Decimal]
    grade: int | None = None
    details: Mapping[str, object] = field(default_factory=dict)

    @property
    def amount(self) -> Decimal:
        """The part that counts in the screening window sums (M, E, Dz, Ac, Id)."""
        return screening_amount(self.kind, self.amounts)


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    records: tuple[ParsedRecord, ...]
    errors: tuple[RecordError, ...]
    record_count: int  # every record sent, valid or not
    control_total: Decimal  # every amount that parses, valid record or not

    @property
    def invalid_lines(self) -> frozenset[int]:
        return frozenset(e.line_no for e in self.errors)


def valid_national_id(value: str, today: date) -> bool:
    """GB 11643 shape, check character (ISO 7064 MOD 11-2) and a real birth date not after today.

    The region is checked for shape only: stdnum's ``validate`` also wants the code in its table
    of historical divisions, which rejects real numbers issued under later or renamed codes (the
    registry validates the same way).
    """
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X" or value[:2] == "00":
        return False
    if ric.calc_check_digit(value) != value[17]:
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= today


def parse_batch(content: bytes | IO[bytes], fmt: FeedFormat, department: Department | str, today: date) -> ParsedBatch:
    """Parse and validate every record; a batch-level problem (encoding, CSV header) raises ValueError.

    ``content`` is the batch's bytes or a binary file (an upload spooled to disk), read line by
    line (JSON lines) or row by row (CSV), never whole; a file handed in is left open.
    """
    dept = Department(department)
    stream = io.BytesIO(content) if isinstance(content, bytes | bytearray | memoryview) else content
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline=None if fmt == "jsonl" else "")
    try:
        return _parse_lines(text, fmt, dept, today)
    except UnicodeDecodeError as exc:
        raise ValueError("the batch is not UTF-8 text") from exc
    finally:
        text.detach()  # the binary file stays open: its owner closes it


def _parse_lines(text: IO[str], fmt: FeedFormat, dept: Department, today: date) -> ParsedBatch:
    rows = _jsonl_rows(text) if fmt == "jsonl" else _csv_rows(text)
    records: list[ParsedRecord] = []
    errors: list[RecordError] = []
    count = 0
    total = Decimal(0)
    for line_no, raw, problem in rows:
        count += 1
        if problem is not None:
            errors.append(RecordError(line_no, "record", problem, "invalid_record"))
            continue
        total += _sum_amounts(raw)
        record, record_errors = _parse_record(line_no, raw, dept, today)
        if record_errors:
            errors.extend(record_errors)
        elif record is not None:
            records.append(record)
    return ParsedBatch(tuple(records), tuple(errors), count, total)


# --- rows -----------------------------------------------------------------------------------


def plain_decimal(text: str) -> Decimal | None:
    """``text`` as a Decimal when written plainly (``-?digits[.digits]``: no exponent, blanks or NaN), else None."""
    return Decimal(text) if len(text) <= 40 and _PLAIN_DECIMAL.fullmatch(text) else None


class _ExponentNumber(str):
    """A JSON number written with an exponent (``1e5``): kept as text, refused where an amount is expected."""

    __slots__ = ()


def _json_number(text: str) -> Decimal | str:
    return _ExponentNumber(text) if "e" in text or "E" in text else Decimal(text)


def _bad_string(value: object, path: str, depth: int = 0) -> tuple[str, str] | None:
    """The first string of a record that breaks the string rule (shared/contracts/types.py): (field, problem).

    Keys must be single-line; values may hold tab and newlines (details can be free text); every string
    has a bound. ``path`` is the field as errors name it (``details.diagnosis``).
    """
    if isinstance(value, str):
        problem = forbidden_character(value, multiline=True)
        if problem is None and len(value) > MAX_TEXT:
            problem = f"at most {MAX_TEXT} characters"
        return (path, problem) if problem else None
    if depth > 16:
        return path, "nested too deeply"
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            problem = forbidden_character(name) or ("is longer than 200 characters" if len(name) > 200 else None)
            if problem:
                return (path or "record"), f"a field name {problem}"
            found = _bad_string(item, f"{path}.{name}" if path else name, depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _bad_string(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
    return None


def _lines(text: IO[str]) -> Iterator[str]:
    """The lines of the text as ``str.splitlines`` would cut them, one physical line at a time
    (universal newlines first, then the other boundaries splitlines knows: \\v, \\f, \\x1c-\\x1e, \\x85,
    U+2028, U+2029), so line numbers are what they were when the whole text was split at once."""
    for physical in text:
        yield from physical.splitlines()


def _jsonl_rows(text: IO[str]) -> Iterator[tuple[int, dict[str, object], str | None]]:
    for line_no, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line, parse_float=_json_number)
        except ValueError:
            yield line_no, {}, "not a JSON object"
            continue
        if not isinstance(value, dict):
            yield line_no, {}, "not a JSON object"
            continue
        yield line_no, value, None


def _csv_rows(text: IO[str]) -> Iterator[tuple[int, dict[str, object], str | None]]:
    reader = csv.reader(text)
    header: list[str] | None = None
    for row in reader:
        if header is None:
            header = [h.strip() for h in row]
            missing = {"source_record_id", "kind", "event_date"} - set(header)
            if missing:
                raise ValueError(f"CSV header lacks {', '.join(sorted(missing))}")
            continue
        if not any(cell.strip() for cell in row):
            continue
        line_no = reader.line_num
        if len(row) != len(header):
            yield line_no, {}, f"has {len(row)} cells, the header has {len(header)}"
            continue
        raw: dict[str, object] = {}
        amounts: dict[str, object] = {}
        details: dict[str, object] = {}
        for name, cell in zip(header, row, strict=True):
            cell = cell.strip()
            if not cell:
                continue
            if name in ALL_AMOUNT_FIELDS:
                amounts[name] = cell
            elif name in _CORE_FIELDS:
                raw[name] = cell
            else:
                details[name] = cell
        raw["amounts"] = amounts
        if details:
            raw["details"] = details
        yield line_no, raw, None


# --- one record -----------------------------------------------------------------------------


def _sum_amounts(raw: Mapping[str, object]) -> Decimal:
    total = Decimal(0)
    for _, value in _amount_items(raw):
        parsed, _ = _parse_amount(value)
        if parsed is not None:  # as sent, even when the record is refused for it (negative, too many places)
            total += parsed
    return total


def _amount_items(raw: Mapping[str, object]) -> Iterator[tuple[str, object]]:
    amounts = raw.get("amounts")
    if isinstance(amounts, Mapping):
        yield from ((str(k), v) for k, v in amounts.items())
    for key in ALL_AMOUNT_FIELDS.intersection(raw):
        yield key, raw[key]


def _parse_amount(value: object) -> tuple[Decimal | None, str | None]:
    if isinstance(value, (bool, float)) or value is None:
        return None, "must be a decimal number"
    if isinstance(value, (int, Decimal)):
        parsed = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _PLAIN_DECIMAL.fullmatch(text):  # "1E+5", "1_000", "NaN": not how money is written
            return None, "must be a decimal number written like '1234.56' (no exponent)"
        try:
            parsed = Decimal(text)
        except InvalidOperation:
            return None, "must be a decimal number"
    else:
        return None, "must be a decimal number"
    if not parsed.is_finite():
        return None, "must be a finite number"
    if parsed < 0:
        return parsed, "must not be negative"
    exponent = parsed.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return parsed, "at most 2 decimal places"
    if parsed >= MAX_AMOUNT:
        return parsed, "is implausibly large"
    return parsed, None


def _text(raw: Mapping[str, object], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        value = str(value)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _parse_record(
    line_no: int, raw: Mapping[str, object], dept: Department, today: date
) -> tuple[ParsedRecord | None, list[RecordError]]:
    bad = _bad_string(raw, "")
    if bad is not None:
        # nothing of the record is kept or echoed: not even its id (it may be the bad string)
        return None, [RecordError(line_no, bad[0], bad[1], "invalid_character")]
    source_id = _text(raw, "source_record_id")
    errors: list[RecordError] = []

    def fail(field_name: str, message: str, code: str) -> None:
        errors.append(RecordError(line_no, field_name, message, code, source_id))

    if source_id is None:
        fail("source_record_id", "required", "missing_field")
    elif len(source_id) > 200 or forbidden_character(source_id) is not None:
        fail("source_record_id", "must be 1–200 printable characters", "invalid_source_record_id")

    kind: FeedKind | None = None
    kind_text = _text(raw, "kind")
    if kind_text is None:
        fail("kind", "required", "missing_field")
    else:
        try:
            kind = FeedKind(kind_text)
        except ValueError:
            fail("kind", f"unknown kind {kind_text!r}", "unknown_kind")
        else:
            if kind not in DEPARTMENT_KINDS[dept]:
                allowed = ", ".join(sorted(k.value for k in DEPARTMENT_KINDS[dept]))
                fail(
                    "kind", f"{dept.value} does not send {kind.value} records (it sends: {allowed})", "kind_not_allowed"
                )
                kind = None

    event_date: date | None = None
    date_text = _text(raw, "event_date")
    if date_text is None:
        fail("event_date", "required", "missing_field")
    else:
        try:
            event_date = date.fromisoformat(date_text)
        except ValueError:
            fail("event_date", "must be a date YYYY-MM-DD", "invalid_date")
        else:
            if event_date > today:
                fail("event_date", f"{event_date} is in the future", "invalid_date")
                event_date = None
            elif event_date < EARLIEST_EVENT:
                fail("event_date", f"{event_date} is before {EARLIEST_EVENT}", "invalid_date")
                event_date = None

    national_id = _text(raw, "national_id")
    household_number = _text(raw, "household_number")
    if national_id is not None:
        national_id = national_id.upper()
        if not valid_national_id(national_id, today):
            fail("national_id", "not a valid resident ID number", "invalid_national_id")
            national_id = None
    if household_number is not None and (len(household_number) > 64 or forbidden_character(household_number)):
        fail("household_number", "at most 64 characters, one line", "invalid_household_number")
    if _text(raw, "national_id") is None and household_number is None:
        fail("national_id", "give the person's national_id or the household_number", "missing_field")

    amounts: dict[str, Decimal] = {}
    allowed_amounts = FEED_AMOUNT_FIELDS.get(kind, ()) if kind is not None else tuple(ALL_AMOUNT_FIELDS)
    raw_amounts = raw.get("amounts", {})
    if raw_amounts is not None and not isinstance(raw_amounts, Mapping):
        fail("amounts", "must be an object of decimal strings", "invalid_amount")
    for name, value in _amount_items(raw):
        if name not in allowed_amounts:
            fail(f"amounts.{name}", f"not an amount of {kind.value if kind else 'this kind'}", "unknown_field")
            continue
        parsed, problem = _parse_amount(value)
        if problem is not None or parsed is None:
            fail(f"amounts.{name}", problem or "must be a decimal number", "invalid_amount")
        else:
            amounts[name] = parsed
    if kind is not None:
        for name in REQUIRED_AMOUNTS.get(kind, ()):
            if name not in amounts and not any(e.field == f"amounts.{name}" for e in errors):
                fail(f"amounts.{name}", "required", "missing_field")
        if (
            kind is FeedKind.MEDICAL_EXPENSE
            and {"self_paid", "total_cost"} <= amounts.keys()
            and amounts["self_paid"] > amounts["total_cost"]
        ):
            fail("amounts.self_paid", "exceeds total_cost", "inconsistent_amounts")

    details_raw = raw.get("details", {})
    details: dict[str, object] = {}
    if details_raw is not None and not isinstance(details_raw, Mapping):
        fail("details", "must be an object", "invalid_details")
    elif details_raw:
        details = {str(k): _jsonable(v) for k, v in details_raw.items()}

    grade: int | None = None
    grade_raw = raw.get("grade", details.get("grade"))
    if kind is FeedKind.DISABILITY_NEW:
        grade_text = str(grade_raw).strip() if grade_raw is not None else ""
        if grade_text not in {"1", "2", "3", "4"}:
            fail("grade", "a disability grade 1–4 is required", "invalid_grade")
        else:
            grade = int(grade_text)
            details["grade"] = grade
    level = _text(raw, "level") or (str(details["level"]) if "level" in details else None)
    if kind is FeedKind.SCHOOL_ADMISSION:
        if level not in SCHOOL_LEVELS:
            fail("level", f"a school level is required, one of {', '.join(sorted(SCHOOL_LEVELS))}", "invalid_level")
        else:
            details["level"] = level

    if errors:
        return None, errors
    assert source_id is not None
    assert kind is not None
    assert event_date is not None
    full_amounts = {name: amounts.get(name, Decimal("0")) for name in FEED_AMOUNT_FIELDS.get(kind, ())}
    return (
        ParsedRecord(
            line_no=line_no,
            source_record_id=source_id,
            kind=kind,
            event_date=event_date,
            national_id=national_id,
            household_number=household_number,
            amounts=full_amounts,
            grade=grade,
            details=details,
        ),
        [],
    )


def _jsonable(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
