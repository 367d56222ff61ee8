"""Issue 15: the engine's remembered fmt gives values.fmt's text for every number, whatever the
exponent it was written with (equal Decimals share a cache entry, so their text must agree)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.claims.domain import assessment
from services.claims.domain.values import fmt as plain_fmt


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**9), max_value=10**9))
def test_cached_text_is_the_plain_text_for_every_spelling(value: Decimal) -> None:
    for spelling in (value, value.quantize(Decimal("0.000001")), value.normalize()):
        assert assessment.fmt(spelling) == plain_fmt(spelling)


def test_zero_and_negative_zero_share_one_text() -> None:
    assert assessment.fmt(Decimal("-0.00")) == assessment.fmt(Decimal("0")) == "0.00"
