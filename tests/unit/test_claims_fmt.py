"""values.fmt's short way (a Decimal's own ``str`` when it ends in ``.dd``) gives the general
way's text for every number, whatever the exponent it was written with (issue 15)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from services.claims.domain import assessment
from services.claims.domain.values import _fmt_general, fmt


def _spellings(value: Decimal) -> list[Decimal]:
    return [
        value,
        -value,
        value.quantize(Decimal("0.01")) if value.adjusted() < 20 else value,
        value.quantize(Decimal("0.000001")) if value.adjusted() < 20 else value,
        value.normalize(),
        value.scaleb(-7),
        value.scaleb(7),
    ]


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**12), max_value=10**12))
@example(Decimal("0"))
@example(Decimal("-0.00"))
@example(Decimal("1E+2"))
@example(Decimal("1.23E+5"))
@example(Decimal("1.2E+10"))
@example(Decimal("5E-7"))
@example(Decimal("0E-7"))
@example(Decimal("-0E+3"))
@example(Decimal("123.45E+100"))
def test_the_short_way_gives_the_general_text(value: Decimal) -> None:
    for spelling in _spellings(value):
        assert fmt(spelling) == _fmt_general(spelling), spelling


def test_known_texts() -> None:
    cases = {
        Decimal("-0.00"): "0.00",
        Decimal("0"): "0.00",
        Decimal("1E+2"): "100.00",
        Decimal("12.5"): "12.50",
        Decimal("12.345"): "12.345",
        Decimal("12.3400"): "12.34",
        Decimal("-7.00"): "-7.00",
        Decimal("1.23E-7"): "0.000000123",
    }
    for value, text in cases.items():
        assert fmt(value) == text, value
    # the engine writes its figures with values.fmt itself (no copy or cache of its own)
    assert assessment.fmt is fmt
