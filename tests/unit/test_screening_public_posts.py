"""The 公益岗 wage rule (services/screening/domain/public_posts.py): pro rata of the required days, capped
at the monthly wage, rounded half-up to the fen; warning pays with a note, fail and no attendance pay nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.screening.domain.public_posts import (
    WARNING_NOTE,
    Assessment,
    NotPayable,
    PostLevel,
    covers,
    days_in_month,
    level_of,
    wage_payable,
)

D = Decimal


@pytest.mark.parametrize(
    ("wage", "required", "attended", "assessment", "amount", "payable", "reason", "note"),
    [
        ("800.00", 20, 20, Assessment.PASS, "800.00", True, None, None),
        ("800.00", 20, 25, Assessment.PASS, "800.00", True, None, None),  # capped at the monthly wage
        ("800.00", 20, 10, Assessment.PASS, "400.00", True, None, None),
        ("1000.00", 22, 7, Assessment.PASS, "318.18", True, None, None),  # 318.1818… down
        ("1000.00", 22, 15, Assessment.PASS, "681.82", True, None, None),  # 681.8181… up
        ("100.00", 8, 1, Assessment.PASS, "12.50", True, None, None),
        ("0.01", 3, 1, Assessment.PASS, "0.00", False, NotPayable.NO_ATTENDANCE, None),  # nothing to pay
        ("0.05", 10, 1, Assessment.PASS, "0.01", True, None, None),  # 0.005 half-up
        ("800.00", 20, 20, Assessment.WARNING, "800.00", True, None, WARNING_NOTE),
        ("800.00", 20, 12, Assessment.WARNING, "480.00", True, None, WARNING_NOTE),
        ("800.00", 20, 20, Assessment.FAIL, "0.00", False, NotPayable.ASSESSMENT_FAILED, None),
        ("800.00", 20, 0, Assessment.PASS, "0.00", False, NotPayable.NO_ATTENDANCE, None),
        ("800.00", 20, 0, Assessment.FAIL, "0.00", False, NotPayable.ASSESSMENT_FAILED, None),
    ],
)
def test_wage_payable(
    wage: str,
    required: int,
    attended: int,
    assessment: Assessment,
    amount: str,
    payable: bool,
    reason: NotPayable | None,
    note: str | None,
) -> None:
    result = wage_payable(D(wage), required, attended, assessment)
    assert result.amount == D(amount)
    assert str(result.amount) == amount  # two places
    assert result.payable is payable
    assert result.not_payable == reason
    assert result.note == note


@given(
    wage=st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2),
    required=st.integers(1, 31),
    attended=st.integers(0, 31),
    assessment=st.sampled_from(list(Assessment)),
)
def test_wage_never_exceeds_the_monthly_wage_and_grows_with_attendance(
    wage: Decimal, required: int, attended: int, assessment: Assessment
) -> None:
    result = wage_payable(wage, required, attended, assessment)
    assert D(0) <= result.amount <= wage
    assert result.payable == (result.amount > 0)
    if assessment is Assessment.FAIL:
        assert not result.payable
    else:
        more = wage_payable(wage, required, min(attended + 1, 31), assessment)
        assert more.amount >= result.amount
        if attended >= required:
            assert result.amount == wage


def test_bad_figures_are_refused() -> None:
    with pytest.raises(ValueError):
        wage_payable(D("800"), 0, 1, Assessment.PASS)
    with pytest.raises(ValueError):
        wage_payable(D("800"), 20, -1, Assessment.PASS)


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("410602", PostLevel.COUNTY),
        ("410602100", PostLevel.TOWNSHIP),
        ("410602100201", PostLevel.VILLAGE),
        ("4106", None),
        ("41060210020", None),
        ("41060210020x", None),
    ],
)
def test_level_of(code: str, level: PostLevel | None) -> None:
    assert level_of(code) == level


@pytest.mark.parametrize(
    ("period", "start", "end", "expected"),
    [
        ("2026-03", date(2026, 3, 31), None, True),
        ("2026-03", date(2026, 4, 1), None, False),
        ("2026-03", date(2026, 1, 1), date(2026, 3, 1), True),
        ("2026-03", date(2026, 1, 1), date(2026, 2, 28), False),
        ("2026-02", date(2026, 2, 28), date(2026, 2, 28), True),
    ],
)
def test_covers(period: str, start: date, end: date | None, expected: bool) -> None:
    assert covers(period, start, end) is expected


def test_days_in_month() -> None:
    assert [days_in_month(p) for p in ("2026-02", "2028-02", "2026-04", "2026-12")] == [28, 29, 30, 31]
