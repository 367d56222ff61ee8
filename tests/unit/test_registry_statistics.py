"""The county report's shares (rules.md §5, seed 004): two decimals, the county's truncation by default."""

from decimal import Decimal

import pytest

from services.registry.domain.statistics import Rounding, share


def test_seed_004_shares_truncate() -> None:
    counts = {"illness": 77, "disability": 78, "lack_of_labour": 15, "education": 6, "motivation": 6, "disaster": 2}
    assert sum(counts.values()) == 184
    assert [share(n, 184) for n in counts.values()] == [
        Decimal(x) for x in ("41.84", "42.39", "8.15", "3.26", "3.26", "1.08")
    ]
    assert share(480, 120_000) == Decimal("0.40")


def test_half_up_on_request() -> None:
    assert share(77, 184, Rounding.half_up) == Decimal("41.85")
    assert share(2, 184, Rounding.half_up) == Decimal("1.09")
    assert share(1, 3, Rounding.half_up) == Decimal("33.33")


def test_edges() -> None:
    assert share(0, 0) is None
    assert share(0, 5) == Decimal("0.00")
    assert share(5, 5) == Decimal("100.00")
    with pytest.raises(TypeError):
        share(1.0, 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        share(-1, 2)
