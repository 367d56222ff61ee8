"""Working-day and month arithmetic for deadlines (rules.md §1.4: identification within 20
working days) and for the screening window.

Weekends are rest days. Public holidays and the make-up working days (调休上班, a Saturday or
Sunday that is worked) change every year: each county loads the State Council's annual
notice (国务院办公厅关于部分节假日安排的通知) into its configuration and passes the two sets in.
Nothing is hard-coded; :data:`SAMPLE_HOLIDAYS_2025` and :data:`SAMPLE_EXTRA_WORKDAYS_2025`
are an optional sample for demos and tests only.

Conventions: ``add_working_days(start, n)`` does not count ``start`` itself (the count begins
the next day, as in "within 20 working days of receipt"); ``working_days_between(a, b)``
counts the working days ``d`` with ``a < d <= b`` (backwards: ``b <= d < a``, negated), so
that ``working_days_between(a, add_working_days(a, n)) == n`` for every ``n``.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Final

_EMPTY: Final[frozenset[date]] = frozenset()
_ONE_DAY: Final = timedelta(days=1)


def is_working_day(day: date, holidays: frozenset[date] = _EMPTY, extra_workdays: frozenset[date] = _EMPTY) -> bool:
    """Monday–Friday unless a holiday; a weekend day listed in ``extra_workdays`` is worked.

    ``extra_workdays`` wins over ``holidays`` if a date is (wrongly) in both.
    """
    if day in extra_workdays:
        return True
    if day in holidays:
        return False
    return day.weekday() < 5


def add_working_days(
    start: date,
    n: int,
    holidays: frozenset[date] = _EMPTY,
    *,
    extra_workdays: frozenset[date] = _EMPTY,
) -> date:
    """The date ``n`` working days after ``start`` (``start`` itself is not counted).

    ``n == 0`` returns ``start`` unchanged; a negative ``n`` counts backwards.
    """
    step = _ONE_DAY if n >= 0 else -_ONE_DAY
    remaining = abs(n)
    day = start
    while remaining:
        day += step
        if is_working_day(day, holidays, extra_workdays):
            remaining -= 1
    return day


def working_days_between(
    a: date,
    b: date,
    holidays: frozenset[date] = _EMPTY,
    *,
    extra_workdays: frozenset[date] = _EMPTY,
) -> int:
    """Working days ``d`` with ``a < d <= b``; when ``b < a``, minus those with ``b <= d < a``.

    Either way ``working_days_between(a, add_working_days(a, n)) == n``.
    """
    if b < a:
        return -working_days_between(b - _ONE_DAY, a - _ONE_DAY, holidays, extra_workdays=extra_workdays)
    full_weeks, rest = divmod((b - a).days, 7)
    count = full_weeks * 5
    day = a + timedelta(days=full_weeks * 7)
    for _ in range(rest):
        day += _ONE_DAY
        if day.weekday() < 5:
            count += 1
    # Adjust the weekday count for the configured exceptions inside (a, b].
    count -= sum(1 for h in holidays if a < h <= b and h.weekday() < 5 and h not in extra_workdays)
    count += sum(1 for w in extra_workdays if a < w <= b and w.weekday() >= 5)
    return count


def identification_deadline(
    opened_on: date,
    limit: int = 20,
    holidays: frozenset[date] = _EMPTY,
    *,
    extra_workdays: frozenset[date] = _EMPTY,
) -> date:
    """Last day on which identification is still on time: ``limit`` working days after opening."""
    return add_working_days(opened_on, limit, holidays, extra_workdays=extra_workdays)


def is_overdue(
    opened_on: date,
    today: date,
    limit: int = 20,
    holidays: frozenset[date] = _EMPTY,
    *,
    extra_workdays: frozenset[date] = _EMPTY,
) -> bool:
    """True once ``today`` is past the deadline (a weekend right after it already counts)."""
    return today > identification_deadline(opened_on, limit, holidays, extra_workdays=extra_workdays)


def add_months(day: date, months: int) -> date:
    """Calendar months, clamping the day (31 Aug + 6 months → 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = _stdlib_calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def parse_period(period: str) -> tuple[int, int]:
    """``"YYYY-MM"`` → ``(year, month)``; ``ValueError`` on anything else."""
    if len(period) != 7 or period[4] != "-" or not (period[:4].isdigit() and period[5:].isdigit()):
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    year, month = int(period[:4]), int(period[5:])
    if not 1 <= month <= 12 or year < 1900:
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    return year, month


def screening_window(period: str) -> tuple[date, date]:
    """The 12 months ending with ``period`` (rules.md §1.3), as inclusive first and last dates.

    ``"2026-03"`` → ``(2025-04-01, 2026-03-31)``.
    """
    year, month = parse_period(period)
    last = date(year, month, _stdlib_calendar.monthrange(year, month)[1])
    first = add_months(date(year, month, 1), -11)
    return first, last


def previous_periods(period: str, count: int) -> tuple[str, ...]:
    """``period`` and the ``count − 1`` months before it, newest first (the last N monthly runs)."""
    year, month = parse_period(period)
    out = []
    for back in range(count):
        d = add_months(date(year, month, 1), -back)
        out.append(f"{d.year:04d}-{d.month:02d}")
    return tuple(out)


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += _ONE_DAY


#: SAMPLE ONLY, transcribed from the State Council notice for 2025 (国办发明电〔2024〕12号).
#: Counties load the official list for each year into configuration; do not rely on this.
SAMPLE_HOLIDAYS_2025: Final[frozenset[date]] = frozenset(
    {
        date(2025, 1, 1),  # 元旦
        *_days(date(2025, 1, 28), date(2025, 2, 4)),  # 春节
        *_days(date(2025, 4, 4), date(2025, 4, 6)),  # 清明节
        *_days(date(2025, 5, 1), date(2025, 5, 5)),  # 劳动节
        *_days(date(2025, 5, 31), date(2025, 6, 2)),  # 端午节
        *_days(date(2025, 10, 1), date(2025, 10, 8)),  # 国庆节、中秋节
    }
)
#: SAMPLE ONLY: the weekend days worked in 2025 (调休上班).
SAMPLE_EXTRA_WORKDAYS_2025: Final[frozenset[date]] = frozenset(
    {date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11)}
)
