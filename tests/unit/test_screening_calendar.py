"""Working days, months and screening windows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.screening.domain.calendar import (
    SAMPLE_EXTRA_WORKDAYS_2025,
    SAMPLE_HOLIDAYS_2025,
    add_months,
    add_working_days,
    identification_deadline,
    is_overdue,
    is_working_day,
    parse_period,
    previous_periods,
    screening_window,
    working_days_between,
)

H = SAMPLE_HOLIDAYS_2025
W = SAMPLE_EXTRA_WORKDAYS_2025
MON, FRI, SAT, SUN = date(2026, 3, 2), date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 8)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (MON, 0, MON),
        (MON, 1, date(2026, 3, 3)),
        (MON, 4, FRI),
        (MON, 5, date(2026, 3, 9)),
        (FRI, 1, date(2026, 3, 9)),  # over the weekend
        (SAT, 0, SAT),
        (SAT, 1, date(2026, 3, 9)),
        (SUN, 1, date(2026, 3, 9)),
        (MON, 20, date(2026, 3, 30)),
        (MON, -1, date(2026, 2, 27)),  # backwards over the weekend
        (SUN, -1, FRI),
    ],
)
def test_add_working_days_skips_weekends(start: date, n: int, expected: date) -> None:
    assert add_working_days(start, n) == expected


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # Spring Festival 2025: 28 Jan – 4 Feb off; Sunday 26 Jan and Saturday 8 Feb worked
        (date(2025, 1, 24), 1, date(2025, 1, 26)),
        (date(2025, 1, 26), 1, date(2025, 1, 27)),
        (date(2025, 1, 27), 1, date(2025, 2, 5)),
        (date(2025, 2, 7), 1, date(2025, 2, 8)),
        (date(2025, 2, 8), 1, date(2025, 2, 10)),
        # New Year's Day 2025 (a Wednesday)
        (date(2024, 12, 31), 1, date(2025, 1, 2)),
        # National Day and Mid-Autumn 2025: 1–8 Oct off, Sunday 28 Sep and Saturday 11 Oct worked
        (date(2025, 9, 26), 1, date(2025, 9, 28)),
        (date(2025, 9, 30), 1, date(2025, 10, 9)),
        (date(2025, 10, 10), 1, date(2025, 10, 11)),
        (date(2025, 10, 9), -1, date(2025, 9, 30)),
    ],
)
def test_add_working_days_with_holidays_and_make_up_days(start: date, n: int, expected: date) -> None:
    assert add_working_days(start, n, H, extra_workdays=W) == expected


def test_holidays_alone_without_make_up_days() -> None:
    assert add_working_days(date(2025, 2, 7), 1, H) == date(2025, 2, 10)
    assert add_working_days(date(2025, 1, 27), 1, H) == date(2025, 2, 5)


def test_a_make_up_day_wins_over_a_holiday_listed_by_mistake() -> None:
    day = date(2025, 2, 8)
    assert is_working_day(day, frozenset({day}), frozenset({day}))
    assert not is_working_day(SAT)
    assert is_working_day(MON)
    assert not is_working_day(date(2025, 10, 1), H, W)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (MON, MON, 0),
        (MON, FRI, 4),
        (FRI, SAT, 0),
        (FRI, date(2026, 3, 9), 1),
        (SAT, SUN, 0),
        (MON, date(2026, 3, 30), 20),
        (date(2026, 3, 30), MON, -20),
    ],
)
def test_working_days_between(a: date, b: date, expected: int) -> None:
    assert working_days_between(a, b) == expected


def test_working_days_between_with_the_2025_sample() -> None:
    # January 2025: 23 weekdays, minus New Year's Day, 28–31 Jan off (4), plus Sunday 26 Jan
    assert working_days_between(date(2024, 12, 31), date(2025, 1, 31), H, extra_workdays=W) == 23 - 1 - 4 + 1
    # the whole year: 261 weekdays − 18 weekday holidays + 5 make-up days
    year = working_days_between(date(2024, 12, 31), date(2025, 12, 31), H, extra_workdays=W)
    assert year == sum(is_working_day(date(2025, 1, 1) + timedelta(days=i), H, W) for i in range(365))
    assert year == 261 - 18 + 5 == 248


def test_the_sample_is_only_a_sample_of_2025() -> None:
    assert len(H) == 28  # 1 + 8 + 3 + 5 + 3 + 8 days off
    assert all(d.year == 2025 for d in H | W)
    assert all(d.weekday() >= 5 for d in W)
    assert not H & W


days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
holiday_sets = st.frozensets(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)), max_size=30)


def _brute_count(a: date, b: date, holidays: frozenset[date], extra: frozenset[date]) -> int:
    count = 0
    if a <= b:  # a < d <= b
        day = a
        while day < b:
            day += timedelta(days=1)
            count += is_working_day(day, holidays, extra)
        return count
    day = b  # b <= d < a, negated
    while day < a:
        count += is_working_day(day, holidays, extra)
        day += timedelta(days=1)
    return -count


@given(a=days, b=days, holidays=holiday_sets, extra=holiday_sets)
def test_working_days_between_counts_like_walking_day_by_day(
    a: date, b: date, holidays: frozenset[date], extra: frozenset[date]
) -> None:
    assert working_days_between(a, b, holidays, extra_workdays=extra) == _brute_count(a, b, holidays, extra)


@given(start=days, n=st.integers(min_value=-60, max_value=60), holidays=holiday_sets, extra=holiday_sets)
def test_add_and_between_are_inverse(start: date, n: int, holidays: frozenset[date], extra: frozenset[date]) -> None:
    end = add_working_days(start, n, holidays, extra_workdays=extra)
    assert working_days_between(start, end, holidays, extra_workdays=extra) == n
    if n != 0:
        assert is_working_day(end, holidays, extra)


@pytest.mark.parametrize(
    ("today", "overdue"),
    [
        (date(2026, 3, 27), False),
        (date(2026, 3, 30), False),  # the 20th working day: still on time
        (date(2026, 3, 31), True),
    ],
)
def test_is_overdue(today: date, overdue: bool) -> None:
    assert identification_deadline(MON) == date(2026, 3, 30)
    assert is_overdue(MON, today) is overdue


def test_overdue_counts_from_the_deadline_not_from_the_next_working_day() -> None:
    # opened Friday 6 March; deadline Friday 3 April; Saturday 4 April is already overdue
    assert identification_deadline(FRI) == date(2026, 4, 3)
    assert is_overdue(FRI, date(2026, 4, 4))
    assert not is_overdue(FRI, date(2026, 4, 3))


def test_overdue_respects_holidays_and_the_limit() -> None:
    opened = date(2025, 9, 22)  # a Monday; 23–26 Sep, Sun 28 Sep, 29–30 Sep, 9–11 Oct, 13–24 Oct
    assert identification_deadline(opened, 20, H, extra_workdays=W) == date(2025, 10, 24)
    assert not is_overdue(opened, date(2025, 10, 24), 20, H, extra_workdays=W)
    assert is_overdue(opened, date(2025, 10, 25), 20, H, extra_workdays=W)
    # without the make-up days two more weekdays are needed
    assert identification_deadline(opened, 20, H) == date(2025, 10, 28)
    assert identification_deadline(opened, 10, H) == date(2025, 10, 14)
    assert is_overdue(opened, date(2025, 10, 15), 10, H)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 9, 15), 6, date(2026, 3, 15)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 1, 31), -1, date(2025, 12, 31)),
        (date(2026, 3, 1), -11, date(2025, 4, 1)),
        (date(2026, 3, 1), 0, date(2026, 3, 1)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("period", "window"),
    [
        ("2026-03", (date(2025, 4, 1), date(2026, 3, 31))),
        ("2026-12", (date(2026, 1, 1), date(2026, 12, 31))),
        ("2024-02", (date(2023, 3, 1), date(2024, 2, 29))),
        ("2026-01", (date(2025, 2, 1), date(2026, 1, 31))),
    ],
)
def test_screening_window_is_the_12_months_ending_with_the_period(period: str, window: tuple[date, date]) -> None:
    assert screening_window(period) == window


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "2026-3", "202603", "26-03-01", "abcd-ef", "1800-01"])
def test_bad_periods(period: str) -> None:
    with pytest.raises(ValueError):
        parse_period(period)


def test_previous_periods() -> None:
    assert previous_periods("2026-02", 6) == ("2026-02", "2026-01", "2025-12", "2025-11", "2025-10", "2025-09")
    assert previous_periods("2026-02", 0) == ()
