"""The one page helper (shared/pagination.py): typed cursors, the one invalid_cursor, the next cursor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from shared.errors import Unprocessable
from shared.pagination import convert_cursor, decode_cursor, encode_cursor, next_cursor, read_cursor

ID = uuid.UUID("01890000-0000-7000-8000-000000000001")
AT = datetime(2026, 4, 5, 2, 0, tzinfo=UTC)


def test_a_cursor_round_trips_typed() -> None:
    cursor = encode_cursor([AT.isoformat(), str(ID)])
    assert read_cursor(cursor, datetime.fromisoformat, uuid.UUID) == (AT, ID)
    assert read_cursor(encode_cursor(["410603", "0007", str(ID)]), str, str, uuid.UUID) == ("410603", "0007", ID)


def test_no_cursor_is_the_first_page() -> None:
    assert read_cursor(None, uuid.UUID) is None
    assert read_cursor("", uuid.UUID) is None
    assert convert_cursor(None, str) is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 !!",
        encode_cursor(["not-a-uuid"]),  # right arity, wrong type
        encode_cursor([str(ID), str(ID)]),  # wrong arity
        encode_cursor({"a": 1}),  # type: ignore[arg-type]
        "e30",  # {} in base64
    ],
)
def test_a_cursor_not_issued_here_is_invalid_cursor(cursor: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        read_cursor(cursor, uuid.UUID)
    assert caught.value.code == "invalid_cursor"
    assert caught.value.status_code == 422


def test_convert_checks_arity_and_types() -> None:
    assert convert_cursor(["a", str(ID)], str, uuid.UUID) == ("a", ID)
    for values in (["a"], ["a", "b"]):
        with pytest.raises(Unprocessable) as caught:
            convert_cursor(values, str, uuid.UUID)
        assert caught.value.code == "invalid_cursor"


def test_next_cursor_only_when_there_is_one_more_row() -> None:
    rows = [{"id": i} for i in range(4)]
    key = lambda r: [r["id"]]  # noqa: E731
    assert next_cursor(rows[:3], 3, key) is None
    after = next_cursor(rows, 3, key)
    assert after is not None
    assert decode_cursor(after, 1) == [2]  # the last row shown, not the extra one
