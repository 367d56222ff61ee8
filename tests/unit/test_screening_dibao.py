"""A month of 低保 (services/screening/domain/dibao.py): persons × the class's amount; seed 004's demo standard."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.screening.domain.dibao import CLASSES, DEMO_AMOUNTS, monthly_payment


@pytest.mark.parametrize(
    ("persons", "amount", "expected"),
    [(1, "462.00", "462.00"), (2, "462.00", "924.00"), (3, "200.00", "600.00"), (4, "354.50", "1418.00")],
)
def test_monthly_payment(persons: int, amount: str, expected: str) -> None:
    assert monthly_payment(persons, Decimal(amount)) == Decimal(expected)
    assert str(monthly_payment(persons, Decimal(amount))) == expected


def test_no_person_no_payment() -> None:
    with pytest.raises(ValueError):
        monthly_payment(0, Decimal("462.00"))


def test_the_demo_standard_is_seed_004s() -> None:
    assert CLASSES == ("A", "B", "C")
    assert [DEMO_AMOUNTS[c] for c in CLASSES] == [Decimal("462.00"), Decimal("354.00"), Decimal("200.00")]
