"""A large CSV import file parsed in parts at once: where to cut it, how to parse a part, and how
the parts' results become the one result a parse of the whole file gives.

A file is cut at record boundaries into parts of about the same size, and each cut is moved past
the rows of the household it falls in, so that a household's rows stay in one part when the file
keeps them together (the template and the national system's export both do). Each part is the
header's lines followed by the part's records, and is parsed with `parse_rows`' own code, told the
row number its first record has. The results are the whole file's result exactly when no
household number and no ID number appears in two parts — the parse's only checks across rows are
within a household and among the ID numbers. `merge_parts` checks that and answers ``None``
otherwise; the caller then parses the file whole. The same holds for a file we cut wrongly (a
quote we misread): a part that does not parse, or parses to other records, is not merged.

The file is never read whole: `split_csv` takes the file's bytes (tests) or the binary file itself
(an upload spooled to disk), which it reads by position a block at a time (`_Spool`), and a part is
the header's bytes and a byte range (`CsvPart`) that `parse_part` reads from a path — for a spool,
its descriptor under /proc — so that another process reads its part from disk as the whole parse
would, and only results travel (what runs each part is the service's business).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Final, Protocol

from services.registry.domain.import_rows import (
    _HEADER_LOOKUP,
    _HEADER_SCAN_ROWS,
    ErrorLog,
    InvalidImportFile,
    ParseResult,
    VillageDirectory,
    _cell,
    _collector_paused,
    _csv_encoding,
    _header_key,
    _known_headers,
    _parse_rows,
    read_csv,
)

_QUOTE: Final = b'"'
_NEWLINE: Final = b"\n"
# How far a cut may move to get past a household's rows, or out of a quoted field, before the
# file is parsed whole instead.
_MAX_SHIFT_LINES: Final = 2_000
# The first part's size against each other part's (see split_csv).
FIRST_PART_WEIGHT: Final = 1.25
# A header line or a record longer than this is not looked at here (the whole parse reports it).
_MAX_RECORD_BYTES: Final = 1024 * 1024
_BLOCK: Final = 1024 * 1024


class _Bytes(Protocol):
    """What the splitter reads of a file: `bytes`, or `_Spool` over a file on disk."""

    def __len__(self) -> int: ...
    def find(self, sub: bytes, start: int, end: int | None = None, /) -> int: ...
    def count(self, sub: bytes, start: int, end: int, /) -> int: ...
    def __getitem__(self, window: slice, /) -> bytes: ...


class _Spool:
    """A binary file read as bytes are by `split_csv` (a byte's `find` and `count`, short slices),
    by positioned reads a block at a time: one block is kept, the file's offset is left alone."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd = fd
        self._size = size
        self._index = -1
        self._data = b""

    def __len__(self) -> int:
        return self._size

    def _block(self, index: int) -> bytes:
        if index != self._index:
            self._data = os.pread(self.fd, _BLOCK, index * _BLOCK)
            self._index = index
        return self._data

    def _spans(self, start: int, end: int | None) -> Iterator[tuple[int, bytes, int, int]]:
        """(the block's offset, the block, from, to) over [start, end), block by block."""
        end = self._size if end is None else min(end, self._size)
        position = max(start, 0)
        while position < end:
            index = position // _BLOCK
            base = index * _BLOCK
            block = self._block(index)
            if not block:
                return
            yield base, block, position - base, min(end - base, len(block))
            position = base + len(block)

    def find(self, sub: bytes, start: int, end: int | None = None, /) -> int:
        assert len(sub) == 1  # one byte: never across two blocks
        for base, block, lo, hi in self._spans(start, end):
            hit = block.find(sub, lo, hi)
            if hit >= 0:
                return base + hit
        return -1

    def count(self, sub: bytes, start: int, end: int, /) -> int:
        assert len(sub) == 1
        return sum(block.count(sub, lo, hi) for _, block, lo, hi in self._spans(start, end))

    def bare_cr(self) -> bool:
        """Whether a CR is not followed by a LF (block by block: a CRLF may span two blocks)."""
        after_cr = False  # the block before ended with a CR
        for _, block, _, _ in self._spans(0, None):
            if after_cr and not block.startswith(b"\n"):
                return True
            after_cr = block.endswith(b"\r")
            if block.count(b"\r") - block.count(b"\r\n") - after_cr:
                return True
        return after_cr  # the file ends with a CR

    def __getitem__(self, window: slice, /) -> bytes:
        start, stop, _ = window.indices(self._size)
        return b"".join(block[lo:hi] for _, block, lo, hi in self._spans(start, stop))


class _Range(io.RawIOBase):
    """`prefix` followed by the bytes [start, end) of the file `fd`, read by position."""

    def __init__(self, fd: int, start: int, end: int, prefix: bytes = b"") -> None:
        super().__init__()
        self._fd = fd
        self._start = start
        self._end = end
        self._prefix = prefix
        self._size = len(prefix) + max(end - start, 0)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(base + offset, 0)
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        position = self._position
        if position >= self._size or not len(view):
            return 0
        head = len(self._prefix)
        if position < head:
            data = self._prefix[position : position + len(view)]
        else:
            offset = self._start + position - head
            data = os.pread(self._fd, min(len(view), self._end - offset), offset)
        view[: len(data)] = data
        self._position += len(data)
        return len(data)


@dataclass(frozen=True)
class CsvPart:
    """One part: the header's lines (empty for the first part, which has them), the file's bytes
    [start, end) and the row number of the part's first record (None: the first part, numbered as
    the whole file is)."""

    header: bytes
    start: int
    end: int
    first_data_row: int | None


@dataclass(frozen=True)
class CsvSplit:
    encoding: str
    parts: tuple[CsvPart, ...]
    names_villages: bool  # the header has 村名称: the village directory is wanted up front


@dataclass(frozen=True)
class PartResult:
    result: ParseResult
    household_numbers: frozenset[str]
    national_ids: frozenset[str]


def split_csv(source: bytes | IO[bytes], parts: int, *, min_part_bytes: int) -> CsvSplit | None:
    """Cut a whole CSV import file — its bytes, or a binary file on disk (read by position, never
    whole) — into at most `parts` parts of at least `min_part_bytes`; None when it is not worth it
    or the file's shape is not one this cuts (then: parse it whole)."""
    if isinstance(source, bytes):
        data: _Bytes = source
    else:
        source.flush()
        data = _Spool(source.fileno(), os.fstat(source.fileno()).st_size)
    if parts < 2 or len(data) < 2 * min_part_bytes:
        return None
    if _bare_cr(data):
        return None  # a bare CR ends a record too: the records are not counted by their newlines
    start = len(codecs.BOM_UTF8) if data[: len(codecs.BOM_UTF8)] == codecs.BOM_UTF8 else 0
    try:
        encoding = _csv_encoding(_stream(data, 0, len(data)), start)
    except InvalidImportFile:
        return None
    header = _header(data, start, encoding)
    if header is None:
        return None
    header_end, header_row, number_position, names_villages = header
    body = len(data) - header_end
    parts = min(parts, body // min_part_bytes)
    if parts < 2:
        return None
    # The first part is parsed by the caller's thread, which then also unpickles the other parts'
    # results: it takes a larger share (measured: the other process's result arrives with the first's).
    share = [FIRST_PART_WEIGHT] + [1.0] * (parts - 1)
    total = sum(share)
    cuts = [header_end]
    for k in range(1, parts):
        near = header_end + int(body * sum(share[:k]) / total)
        cut = _cut(data, max(near, cuts[-1]), encoding, number_position)
        if cut is None:
            return None
        if cut >= len(data):
            break
        if cut > cuts[-1]:
            cuts.append(cut)
    if len(cuts) < 2:
        return None
    cuts.append(len(data))
    prefix = data[0:header_end]
    result: list[CsvPart] = [CsvPart(b"", 0, cuts[1], None)]
    row = header_row + 1
    for previous, left, right in zip(cuts, cuts[1:], cuts[2:], strict=False):
        row += _records(data, previous, left, encoding)
        result.append(CsvPart(prefix, left, right, row))
    return CsvSplit(encoding, tuple(result), names_villages)


def _bare_cr(data: _Bytes) -> bool:
    """Whether a CR in the file is not followed by a LF."""
    if isinstance(data, bytes):
        return data.count(b"\r") != data.count(b"\r\n")
    assert isinstance(data, _Spool)
    return data.bare_cr()


def _stream(data: _Bytes, start: int, end: int, prefix: bytes = b"") -> IO[bytes]:
    """The bytes [start, end) after `prefix`, as a binary file."""
    if isinstance(data, bytes):
        return _range_stream(data, start, end, prefix)
    assert isinstance(data, _Spool)
    return _range_stream(data.fd, start, end, prefix)


def _range_stream(source: bytes | int, start: int, end: int, prefix: bytes) -> IO[bytes]:
    """`prefix` and the bytes [start, end) of the file's bytes, or of an open descriptor (read by position)."""
    if isinstance(source, bytes):
        return io.BytesIO(prefix + source[start:end])
    return io.BufferedReader(_Range(source, start, end, prefix), buffer_size=_BLOCK)


def _header(data: _Bytes, start: int, encoding: str) -> tuple[int, int, int, bool] | None:
    """(the byte after the header's line, its row number, the raw position of 户编号, whether 村名称
    is a column), found as `parse_rows` finds the header: the first of the first rows that names
    three template columns. None for a header it would refuse, or one on a quoted line."""
    position = start
    for row_number in range(1, _HEADER_SCAN_ROWS + 2):
        end = data.find(_NEWLINE, position, position + _MAX_RECORD_BYTES)
        if end < 0:
            return None
        line = data[position : end + 1]
        position = end + 1
        if _QUOTE in line:
            return None
        cells = next(csv.reader([line.decode(encoding)]), [])
        if _known_headers(cells) < 3:
            continue
        keys = [_HEADER_LOOKUP.get(_header_key(text)) if (text := _cell(c)) else None for c in cells]
        if keys.count("household_number") != 1:
            return None  # missing or twice: the whole parse reports it
        return position, row_number, keys.index("household_number"), "village_name" in keys
    return None


def _cut(data: _Bytes, near: int, encoding: str, number_position: int) -> int | None:
    """The start of a record at or after `near`, past the rows of the household found there."""
    cut = data.find(_NEWLINE, near)
    if cut < 0:
        return len(data)
    cut += 1
    # out of a quoted field: an even number of quotes before a record's start (RFC 4180 doubles them)
    quotes = data.count(_QUOTE, 0, cut)
    shifts = 0
    while quotes % 2:
        end = data.find(_NEWLINE, cut)
        if end < 0 or shifts > _MAX_SHIFT_LINES:
            return None
        quotes += data.count(_QUOTE, cut, end + 1)
        cut = end + 1
        shifts += 1
    first: str | None = None
    for _ in range(_MAX_SHIFT_LINES):
        if cut >= len(data):
            return len(data)
        record, after = _record_at(data, cut)
        if after is None:
            return None
        try:
            cells = next(csv.reader([record.decode(encoding)], strict=True), [])
        except (csv.Error, UnicodeDecodeError):
            return None
        number = cells[number_position].strip() if number_position < len(cells) else ""
        if number:  # a row without one (blank, or an error row) belongs to no household
            if first is None:
                first = number
            elif number != first:
                return cut
        cut = after
    return None


def _record_at(data: _Bytes, start: int) -> tuple[bytes, int | None]:
    """The record starting at `start` (its lines until its quotes pair up) and where the next
    begins; (b"", None) for a record too long to look at."""
    end = start
    quotes = 0
    for _ in range(_MAX_SHIFT_LINES):
        newline = data.find(_NEWLINE, end, start + _MAX_RECORD_BYTES)
        if newline < 0 and start + _MAX_RECORD_BYTES < len(data):
            break
        stop = len(data) if newline < 0 else newline + 1
        quotes += data.count(_QUOTE, end, stop)
        end = stop
        if quotes % 2 == 0 or stop >= len(data):
            return data[start:end], end
    return b"", None


def _records(data: _Bytes, start: int, end: int, encoding: str) -> int:
    """The CSV records in data[start:end] (a run of whole records), as `csv.reader` counts them."""
    if data.find(_QUOTE, start, end) < 0:
        return data.count(_NEWLINE, start, end) + (0 if end == start or data[end - 1 : end] == _NEWLINE else 1)
    text = io.TextIOWrapper(_stream(data, start, end), encoding=encoding, newline="")
    return sum(1 for _ in csv.reader(text))


def spool_path(file: IO[bytes]) -> str | None:
    """A path another process of ours can open the spooled `file` by (it has no name on disk):
    its descriptor under /proc; None where there is none (then: parse the file whole)."""
    path = f"/proc/{os.getpid()}/fd/{file.fileno()}"
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError:
        return None
    return path


def part_stream(source: bytes | int, part: CsvPart) -> IO[bytes]:
    """The part as a binary file (the header's bytes, then its range): from the file's bytes, or
    from an open descriptor of the file."""
    return _range_stream(source, part.start, part.end, part.header)


def parse_part(
    part: CsvPart,
    encoding: str,
    *,
    source: bytes | str,
    today: date,
    max_errors: int | None,
    villages: VillageDirectory | None,
    count: Callable[[Iterable[Sequence[str]]], Iterable[Sequence[str]]] | None = None,
) -> PartResult:
    """Parse one part (in any process: its arguments and result are plain data) of the file
    `source` — its bytes, or a path to open (`spool_path`). `count` wraps the rows as they are
    read (the job's progress)."""
    if isinstance(source, bytes):
        return _parse_stream(part_stream(source, part), encoding, part, today, max_errors, villages, count)
    fd = os.open(source, os.O_RDONLY)
    try:
        return _parse_stream(part_stream(fd, part), encoding, part, today, max_errors, villages, count)
    finally:
        os.close(fd)


def _parse_stream(
    stream: IO[bytes],
    encoding: str,
    part: CsvPart,
    today: date,
    max_errors: int | None,
    villages: VillageDirectory | None,
    count: Callable[[Iterable[Sequence[str]]], Iterable[Sequence[str]]] | None,
) -> PartResult:
    rows: Iterable[Sequence[str]] = read_csv(stream, encoding)
    if count is not None:
        rows = count(rows)
    with _collector_paused():
        result, households, ids = _parse_rows(rows, today, max_errors, villages, first_data_row=part.first_data_row)
    return PartResult(result, households, ids)


def merge_parts(results: Sequence[PartResult], max_errors: int | None) -> ParseResult | None:
    """The whole file's result from its parts' results, in file order; None when a household or an
    ID number is in two parts (the checks across rows would see what no part saw alone)."""
    first = results[0].result
    if _header_failure(first):
        return first  # found before any data row is read: the whole file's answer too
    seen_households: set[str] = set()
    seen_ids: set[str] = set()
    for part in results:
        if not part.household_numbers.isdisjoint(seen_households) or not part.national_ids.isdisjoint(seen_ids):
            return None
        if _header_failure(part.result):
            return None  # a later part found no header where the first did: not the same file
        seen_households |= part.household_numbers
        seen_ids |= part.national_ids
    log = ErrorLog(max_errors)
    rows = []
    invalid: set[int] = set()
    with_errors: set[str] = set()
    for part in results:
        result = part.result
        log.extend(result.errors)
        log.count += result.total_errors - len(result.errors)
        rows.extend(result.rows)
        invalid |= result.invalid_row_numbers
        with_errors |= result.households_with_errors
    return ParseResult(
        rows=rows,
        errors=log.first(),
        error_count=log.count,
        total_rows=sum(part.result.total_rows for part in results),
        ignored_columns=first.ignored_columns,
        invalid_row_numbers=frozenset(invalid),
        households_with_errors=frozenset(with_errors),
    )


def _header_failure(result: ParseResult) -> bool:
    return any(
        e.row_number == 1 and e.code in {"empty_file", "missing_column", "duplicate_column"} for e in result.errors
    )
