"""Cursor pagination: opaque cursors over a stable sort key, `?cursor=…&limit=…`."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from shared.errors import Unprocessable

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="pass as `cursor` to get the next page; null on the last page"
    )


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid_cursor() from exc
    if not isinstance(values, list) or len(values) != arity:
        raise _invalid_cursor()
    return values


def _invalid_cursor() -> Unprocessable:
    return Unprocessable("cursor is not one this API issued", code="invalid_cursor")


def convert_cursor(values: Sequence[Any] | None, *kinds: Callable[[str], Any]) -> tuple[Any, ...] | None:
    """Decoded cursor values → typed (`uuid.UUID`, `datetime.fromisoformat`, `str`…); a bad one is `invalid_cursor`."""
    if values is None:
        return None
    if len(values) != len(kinds):
        raise _invalid_cursor()
    try:
        return tuple(kind(str(value)) for kind, value in zip(kinds, values, strict=True))
    except (ValueError, TypeError) as exc:
        raise _invalid_cursor() from exc


def read_cursor(cursor: str | None, *kinds: Callable[[str], Any]) -> tuple[Any, ...] | None:
    """`?cursor=` → a tuple typed by `kinds` (None: the first page); a cursor not issued here is `invalid_cursor`."""
    return convert_cursor(decode_cursor(cursor, len(kinds)), *kinds)


def next_cursor(rows: Sequence[R], limit: int, key: Callable[[R], list[Any]]) -> str | None:
    """Rows fetched with `limit + 1`: the cursor after the `limit`-th row when there is one more, else None."""
    return encode_cursor(key(rows[limit - 1])) if len(rows) > limit else None


class PageParams(BaseModel):
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT


def page_params(
    cursor: Annotated[str | None, Query(description="opaque cursor from `next_cursor` (分页游标)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")] = DEFAULT_LIMIT,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)
