"""A large CSV parsed in parts (services/registry/domain/import_parts.py): the parts' merged result is
the whole file's result exactly, or there is none and the file is parsed whole."""

from __future__ import annotations

import csv
import io
import pickle
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import IO
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.registry.domain import import_parts
from services.registry.domain.import_parts import (
    CsvSplit,
    PartResult,
    merge_parts,
    parse_part,
    part_stream,
    split_csv,
    spool_path,
)
from services.registry.domain.import_rows import ParseResult, parse_rows, read_csv
from tests.registry.test_imports import COL, template_rows

TODAY = date(2026, 12, 3)  # the files are made and parsed on this day (the demo's births end on it)


def encode(rows: list[list[str]], *, encoding: str = "utf-8-sig", title: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if title:  # the national export's layout: a title and a note above the header (row 3)
        writer.writerow(["防返贫监测信息系统 农户信息导出"])
        writer.writerow(["导出时间：2026-11-30"])
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def whole(data: bytes, max_errors: int | None = 50) -> ParseResult:
    return parse_rows(read_csv(data), today=TODAY, max_errors=max_errors)


@contextmanager
def spooled(data: bytes) -> Iterator[IO[bytes]]:
    """`data` as the service holds an upload: an anonymous temporary file, read by position in
    blocks small enough (an odd size) that every search and every part crosses block boundaries."""
    with tempfile.TemporaryFile() as file, mock.patch.object(import_parts, "_BLOCK", 1021):
        file.write(data)
        file.seek(0)
        yield file


def split_both(data: bytes, parts: int, *, min_part_bytes: int) -> CsvSplit | None:
    """The split of the file's bytes, checked to be the split of the file on disk."""
    split = split_csv(data, parts, min_part_bytes=min_part_bytes)
    with spooled(data) as file:
        assert split_csv(file, parts, min_part_bytes=min_part_bytes) == split
        assert file.tell() == 0  # read by position: the upload's own offset is left alone
    return split


def in_parts(data: bytes, parts: int, *, min_part_bytes: int = 2048, max_errors: int | None = 50) -> ParseResult | None:
    split = split_both(data, parts, min_part_bytes=min_part_bytes)
    assert split is not None, "the file was not cut"
    with spooled(data) as file:
        path = spool_path(file)
        assert path is not None
        results = [
            # from the spool's path, and through pickle, as the results of another process come back
            pickle.loads(  # noqa: S301 - our own bytes, as the pool's pipe carries them
                pickle.dumps(
                    parse_part(p, split.encoding, source=path, today=TODAY, max_errors=max_errors, villages=None)
                )
            )
            for p in split.parts
        ]
    assert all(isinstance(r, PartResult) for r in results)
    # the parts read from the file's bytes are the same
    assert results == [
        parse_part(p, split.encoding, source=data, today=TODAY, max_errors=max_errors, villages=None)
        for p in split.parts
    ]
    return merge_parts(results, max_errors)


def test_the_demo_file_in_two_and_three_parts_is_the_whole_file() -> None:
    data = encode(template_rows(1200, seed=4242, today=TODAY))
    expected = whole(data)
    assert len(expected.rows) == 1200
    for parts in (2, 3):
        split = split_both(data, parts, min_part_bytes=4096)
        assert split is not None
        assert len(split.parts) == parts
        assert in_parts(data, parts, min_part_bytes=4096) == expected


def test_a_cut_moves_past_the_household_it_falls_in() -> None:
    rows = template_rows(900, seed=4343, today=TODAY)
    data = encode(rows)
    split = split_both(data, 2, min_part_bytes=2048)
    assert split is not None
    first = whole(part_stream(data, split.parts[0]).read())
    second = parse_part(split.parts[1], split.encoding, source=data, today=TODAY, max_errors=None, villages=None)
    assert first.rows
    assert second.result.rows
    # no household on both sides of the cut, and the second part's rows are numbered as in the file
    assert {r.household_number for r in first.rows}.isdisjoint(second.household_numbers)
    assert second.result.rows[0].row_number == len(first.rows) + 2  # header is row 1, no rejected rows


def test_errors_duplicates_blank_lines_quotes_and_the_national_layout_agree() -> None:
    def file(*, duplicate: bool) -> bytes:
        rows = template_rows(1000, seed=4444, today=TODAY)
        header, body = rows[0], rows[1:]
        body[10][COL["national_id"]] = "410602199913321234"  # an impossible date
        body[700][COL["sex"]] = "unknown"
        if duplicate:
            body[800][COL["national_id"]] = body[5][COL["national_id"]]  # the same person in two parts
        body[300][COL["address"]] = '一组,"二号"\n东院'  # quotes, a comma and a newline in one cell
        body.insert(400, [""] * len(header))  # a blank row still counts in the row numbers
        return encode([header, *body], title=True)

    data = file(duplicate=True)
    assert "duplicate_national_id" in {e.code for e in whole(data).errors}
    assert in_parts(data, 2) is None  # the duplicate spans the parts: the file is parsed whole
    data = file(duplicate=False)
    expected = whole(data)
    assert in_parts(data, 2) == expected
    assert any(e.row_number > 600 for e in expected.errors)  # an error in the second part, numbered as the file


def test_a_household_whose_rows_are_apart_is_not_merged() -> None:
    rows = template_rows(600, seed=4545, today=TODAY)
    moved = rows.pop(3)  # a member of an early household goes to the end of the file
    rows.append(moved)
    data = encode(rows)
    assert in_parts(data, 2) is None


def test_files_it_does_not_cut() -> None:
    rows = template_rows(600, seed=4646, today=TODAY)
    data = encode(rows)
    assert split_both(data, 1, min_part_bytes=2048) is None  # one part: nothing to cut
    assert split_both(data, 2, min_part_bytes=len(data)) is None  # too small
    assert split_both(data.replace(b"\r\n", b"\r"), 2, min_part_bytes=2048) is None  # bare CR line ends
    late = len(data) * 3 // 4
    late = data.index(b"\r\n", late)
    assert split_both(data[:late] + b"\r" + data[late:], 2, min_part_bytes=2048) is None  # one bare CR, late
    assert split_both(b"\xff\xfe" + data, 2, min_part_bytes=2048) is None  # not text
    assert split_both(data.replace("户编号".encode(), "编号X".encode(), 1), 2, min_part_bytes=2048) is None
    # a header line longer than is looked at: the whole parse reports what it is
    assert split_both(b"x" * (1024 * 1024 + 10) + b"\r\n" + data, 2, min_part_bytes=2048) is None


def test_a_header_failure_is_the_first_parts_answer() -> None:
    rows = template_rows(600, seed=4747, today=TODAY)
    rows[0][COL["relation"]] = "户编号"  # 户编号 twice
    data = encode(rows)
    assert split_both(data, 2, min_part_bytes=2048) is None  # the whole parse reports it
    rows = template_rows(600, seed=4747, today=TODAY)
    rows[0][COL["member_name"]] = "birth_place"  # a missing required column: the header is still found
    data = encode(rows)
    merged = in_parts(data, 2)
    assert merged == whole(data)
    assert merged is not None
    assert merged.total_rows == 0
    assert merged.errors[0].code == "missing_column"


_CELL_EDITS = st.sampled_from(
    [
        ("national_id", "410602199913321234"),
        ("sex", "?"),
        ("relation", "户主"),  # a second head
        ("household_status", "不明"),
        ("address", 'a,"b"\nc'),
        ("member_name", ""),
        ("birth_date", "2099-01-01"),
    ]
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(5000, 5999),
    edits=st.lists(st.tuples(st.integers(0, 399), _CELL_EDITS), max_size=12),
    duplicate=st.none() | st.tuples(st.integers(0, 399), st.integers(0, 399)),
    blank=st.lists(st.integers(0, 399), max_size=3),
    parts=st.integers(2, 4),
    encoding=st.sampled_from(["utf-8-sig", "utf-8", "gb18030"]),
    title=st.booleans(),
    max_errors=st.sampled_from([None, 3, 50]),
)
def test_merged_parts_are_the_whole_file_or_nothing(
    seed: int,
    edits: list[tuple[int, tuple[str, str]]],
    duplicate: tuple[int, int] | None,
    blank: list[int],
    parts: int,
    encoding: str,
    title: bool,
    max_errors: int | None,
) -> None:
    rows = template_rows(400, seed=seed, today=TODAY)
    header, body = rows[0], rows[1:]
    for position, (column, value) in edits:
        body[position][COL[column]] = value
    if duplicate is not None:
        a, b = duplicate
        body[b][COL["national_id"]] = body[a][COL["national_id"]]
    for position in sorted(blank, reverse=True):
        body.insert(position, [""] * len(header))
    data = encode([header, *body], encoding=encoding, title=title)
    split = split_both(data, parts, min_part_bytes=4096)
    if split is None:
        pytest.skip("not cut")  # rare: a cut that could not leave a quoted cell
    merged = in_parts(data, parts, min_part_bytes=4096, max_errors=max_errors)
    expected = whole(data, max_errors)
    if merged is not None:
        assert merged == expected
    else:  # only when a household or an ID number is on both sides of a cut
        assert duplicate is not None


@pytest.mark.parametrize("offset", range(10))
def test_a_bare_cr_is_found_wherever_the_blocks_fall(offset: int) -> None:
    # blocks of 4 bytes: every CRLF and CR lands at each position in a block, and across two
    for text, bare in (
        (b"ab\r\ncd\r\n", False),
        (b"ab\r\ncd\r", True),  # ends with a CR
        (b"ab\rcd\r\n", True),
        (b"ab\r\r\ncd", True),
        (b"\r\n\r\n\r\n", False),
        (b"", False),
    ):
        data = b"x" * offset + text
        with tempfile.TemporaryFile() as file, mock.patch.object(import_parts, "_BLOCK", 4):
            file.write(data)
            file.flush()
            assert import_parts._Spool(file.fileno(), len(data)).bare_cr() is bare, (offset, text)
        assert (data.count(b"\r") != data.count(b"\r\n")) is bare
