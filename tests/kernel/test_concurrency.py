"""The one If-Match parser and version check (shared/concurrency.py), used by the three services."""

from __future__ import annotations

import pytest

from shared.concurrency import ANY_VERSION, etag, parse_if_match, require_version
from shared.errors import PreconditionFailed, PreconditionRequired


@pytest.mark.parametrize(
    ("header", "version"),
    [('"3"', 3), ('W/"3"', 3), ("3", 3), (' "12" ', 12), ('W/ "7"', 7), ("*", ANY_VERSION), ('"0"', 0)],
)
def test_parses_what_the_apis_issue(header: str, version: int) -> None:
    assert parse_if_match(header) == version


def test_absent_is_none() -> None:
    assert parse_if_match(None) is None


@pytest.mark.parametrize("header", ["", "yesterday", '"-1"', "3.0", '"1e3"', "１２", "9" * 10, '"3", "4"'])
def test_anything_else_is_412_invalid_if_match(header: str) -> None:
    with pytest.raises(PreconditionFailed) as caught:
        parse_if_match(header)
    assert caught.value.code == "invalid_if_match"
    assert caught.value.status_code == 412


def test_etag_round_trips() -> None:
    assert parse_if_match(etag(41)) == 41


def test_missing_is_428_when_required() -> None:
    with pytest.raises(PreconditionRequired) as caught:
        require_version(None, 2, what="household")
    assert caught.value.code == "if_match_required"
    assert caught.value.status_code == 428
    assert "household" in str(caught.value.detail)


def test_missing_passes_when_optional() -> None:
    require_version(None, 2, required=False)


@pytest.mark.parametrize("required", [True, False])
def test_stale_is_412_version_conflict_naming_the_current_version(required: bool) -> None:
    with pytest.raises(PreconditionFailed) as caught:
        require_version(1, 2, what="member", required=required)
    assert caught.value.code == "version_conflict"
    assert caught.value.extra == {"current_version": 2}


@pytest.mark.parametrize("if_match", [2, ANY_VERSION])
def test_current_or_any_passes(if_match: int) -> None:
    require_version(if_match, 2)
