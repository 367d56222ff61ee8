"""低保 (minimum living guarantee, rules.md §4): the county's monthly amount per person by class
(A / B / C), versioned per county and year like the thresholds, and the month's payment of a
household in a class: persons covered × the class's amount. Pure.

Demo data: seed 004's 462 / 354 / 200 yuan per person per month [S]; a county replaces them with
its published standard (a new version; payments keep the version they were computed with).
"""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

CLASSES = ("A", "B", "C")
CLASS_LABELS = MappingProxyType({"A": "一类(A类)", "B": "二类(B类)", "C": "三类(C类)"})
DEMO_AMOUNTS = MappingProxyType({"A": Decimal("462.00"), "B": Decimal("354.00"), "C": Decimal("200.00")})
DEMO_SOURCE = "[S] seed 004: 低保 A/B/C 类 每人每月 462 / 354 / 200 元 (demo data; replace with the county's standard)"


def monthly_payment(persons: int, amount_per_person: Decimal) -> Decimal:
    """A household's month of 低保: persons covered × the class's monthly amount per person, to the fen."""
    if persons < 1:
        raise ValueError("persons must be at least 1")
    return (amount_per_person * persons).quantize(Decimal("0.01"))
