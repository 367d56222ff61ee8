"""The preview's inline schemes are parsed once per distinct body, boundedly (issue 15)."""

from __future__ import annotations

import copy

import pytest

from services.claims.domain.reference import REFERENCE_SCHEME
from services.claims.domain.scheme import parse_scheme
from services.claims.service import schemes
from shared.errors import Unprocessable


def test_the_same_body_gives_the_same_parsed_scheme_and_another_body_its_own() -> None:
    schemes._INLINE.clear()
    first = schemes.inline_scheme(copy.deepcopy(REFERENCE_SCHEME))
    again = schemes.inline_scheme(dict(reversed(list(copy.deepcopy(REFERENCE_SCHEME).items()))))
    assert again is first  # key order does not matter
    assert first == parse_scheme(REFERENCE_SCHEME)
    other = schemes.inline_scheme({**copy.deepcopy(REFERENCE_SCHEME), "household_annual_cap": "1.00"})
    assert other is not first
    assert str(other.household_annual_cap) == "1.00"
    assert str(first.household_annual_cap) == "150000.00"


def test_an_invalid_body_is_refused_every_time_and_not_remembered() -> None:
    schemes._INLINE.clear()
    bad = {**copy.deepcopy(REFERENCE_SCHEME), "protection_line": "-1"}
    for _ in range(2):
        with pytest.raises(Unprocessable) as refused:
            schemes.inline_scheme(bad)
        assert any(e.field == "scheme.protection_line" for e in refused.value.errors or [])
    assert schemes._INLINE == {}
    bad_status = {**copy.deepcopy(REFERENCE_SCHEME), "status": "bogus"}
    with pytest.raises(Unprocessable):
        schemes.inline_scheme(bad_status)
    assert schemes._INLINE == {}


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    schemes._INLINE.clear()
    for cap in range(schemes._INLINE_MAX * 2 + 3):
        schemes.inline_scheme({**copy.deepcopy(REFERENCE_SCHEME), "household_annual_cap": f"{cap + 1}.00"})
        assert 1 <= len(schemes._INLINE) <= schemes._INLINE_MAX
    # a body longer than the key bound is parsed every time, never remembered
    schemes._INLINE.clear()
    monkeypatch.setattr(schemes, "_INLINE_KEY_MAX", 100)
    parsed = schemes.inline_scheme(copy.deepcopy(REFERENCE_SCHEME))
    assert parsed == parse_scheme(REFERENCE_SCHEME)
    assert schemes._INLINE == {}
