"""公益岗 (public-welfare posts, rules.md §4): the post's level from its region, the months an
assignment covers, and the wage payable for a month from its attendance and assessment (考核).

rules.md §4 gives a 公益岗 measure a post, a monthly wage, months and a monthly attendance and
assessment, and counts it as wage income "per month paid"; it does not say how the assessment
moves the pay. The rule decided here (docs: the wage function's docstring):

- the month's wage is the post's monthly wage × (days attended ÷ the post's days per month),
  attendance above the required days capped at the full wage, rounded half-up to the fen;
- `pass` 合格: that wage;
- `warning` 基本合格 (警告): that wage as well, with a note on the payment (the warning is a record
  for the next assessment, not a deduction);
- `fail` 不合格: no wage for the month (not payable);
- no day attended: no wage (not payable).

Pure: values in, the wage and the reason out.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

CENT = Decimal("0.01")


class PostLevel(StrEnum):
    COUNTY = "county"  # 县级
    TOWNSHIP = "township"  # 乡镇级
    VILLAGE = "village"  # 村级


LEVEL_LABELS = {PostLevel.COUNTY: "县级", PostLevel.TOWNSHIP: "乡镇级", PostLevel.VILLAGE: "村级"}
_LEVEL_BY_LENGTH = {6: PostLevel.COUNTY, 9: PostLevel.TOWNSHIP, 12: PostLevel.VILLAGE}


class Assessment(StrEnum):
    PASS = "pass"  # noqa: S105 (合格, an assessment, not a secret)
    WARNING = "warning"  # 基本合格 (警告)
    FAIL = "fail"  # 不合格


ASSESSMENT_LABELS = {Assessment.PASS: "合格", Assessment.WARNING: "基本合格(警告)", Assessment.FAIL: "不合格"}

WARNING_NOTE = "考核警告：按出勤发放本月工资"


class NotPayable(StrEnum):
    ASSESSMENT_FAILED = "assessment_failed"  # 考核不合格, 不发工资
    NO_ATTENDANCE = "no_attendance"  # 本月未出勤


@dataclass(frozen=True)
class Wage:
    """The month's wage payable: the amount, whether it is paid at all and why not, a note."""

    amount: Decimal
    payable: bool
    not_payable: NotPayable | None = None
    note: str | None = None


def level_of(region_code: str) -> PostLevel | None:
    """county (6 digits), township (9), village (12); anything else None."""
    if not region_code.isdigit():
        return None
    return _LEVEL_BY_LENGTH.get(len(region_code))


def period_bounds(period: str) -> tuple[date, date]:
    """``"2026-03"`` → the first and the last day of the month."""
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def days_in_month(period: str) -> int:
    return period_bounds(period)[1].day


def covers(period: str, start: date, end: date | None) -> bool:
    """The assignment (start … end, end open when None) holds the post on some day of the month."""
    first, last = period_bounds(period)
    return start <= last and (end is None or end >= first)


def wage_payable(monthly_wage: Decimal, days_per_month: int, days_attended: int, assessment: Assessment) -> Wage:
    """The wage of one month (rules above): pro rata of the required days, capped at the monthly wage;
    `fail` pays nothing, `warning` pays with a note, no attendance pays nothing."""
    if days_per_month < 1:
        raise ValueError("days_per_month must be at least 1")
    if days_attended < 0:
        raise ValueError("days_attended must not be negative")
    if assessment is Assessment.FAIL:
        return Wage(Decimal("0.00"), False, NotPayable.ASSESSMENT_FAILED)
    if days_attended == 0:
        return Wage(Decimal("0.00"), False, NotPayable.NO_ATTENDANCE)
    days = min(days_attended, days_per_month)
    amount = (monthly_wage * days / days_per_month).quantize(CENT, rounding=ROUND_HALF_UP)
    if amount <= 0:
        return Wage(Decimal("0.00"), False, NotPayable.NO_ATTENDANCE)
    note = WARNING_NOTE if assessment is Assessment.WARNING else None
    return Wage(amount, True, None, note)
