"""When a monitored household's risk may be proposed as eliminated (风险消除, rules.md §1.4).

The service gathers :class:`EliminationFacts` from its tables and refuses
``propose_elimination`` with 409 naming every blocker when the list is not empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from .calendar import add_months
from .risk import Figure, floor_per_capita
from .thresholds import Thresholds


class BlockerCode(StrEnum):
    TOO_EARLY = "too_early"
    NO_MEASURE_DELIVERED = "no_measure_delivered"
    INCOME_BELOW_LINE = "income_below_line"
    RECENT_LEAD = "recent_lead"
    NO_LABOUR = "no_labour"
    OPEN_HOUSING_OR_WATER_RISK = "open_housing_or_water_risk"


@dataclass(frozen=True, slots=True)
class EliminationFacts:
    """What the conditions of rules.md §1.4 are checked on.

    ``recent_lead_periods``: the periods (``YYYY-MM``), among the household's county's last
    ``elimination_lead_free_runs`` monthly runs, in which the household evaluated as a lead.
    A monitored household gets no new lead row (its evidence goes to its case), so this means
    "the run's evaluation said lead", whichever way the run recorded it.
    ``open_housing_risk`` / ``open_water_risk``: an unsafe record not yet resolved.
    """

    confirmed_on: date
    measures_delivered: int
    members: int
    latest_income: Decimal | None  # latest annual net income I; None when none recorded
    labour_count: int
    recent_lead_periods: tuple[str, ...] = ()
    open_housing_risk: bool = False
    open_water_risk: bool = False


@dataclass(frozen=True, slots=True)
class Blocker:
    code: BlockerCode
    message_zh: str
    message_en: str
    figures: Mapping[str, Figure] = field(default_factory=dict)


def earliest_proposal_date(confirmed_on: date, t: Thresholds) -> date:
    return add_months(confirmed_on, t.elimination_min_months)


def elimination_blockers(facts: EliminationFacts, t: Thresholds, today: date) -> list[Blocker]:
    """Every unmet condition, in the order of rules.md §1.4; empty = may be proposed."""
    blockers: list[Blocker] = []

    earliest = earliest_proposal_date(facts.confirmed_on, t)
    if today < earliest:
        months = t.elimination_min_months
        blockers.append(
            Blocker(
                BlockerCode.TOO_EARLY,
                f"自 {facts.confirmed_on} 认定为监测对象未满 {months} 个月，{earliest} 起方可提出风险消除",
                f"less than {months} months since confirmation on {facts.confirmed_on}; "
                f"elimination may be proposed from {earliest}",
                {"confirmed_on": facts.confirmed_on.isoformat(), "earliest_date": earliest.isoformat()},
            )
        )

    if facts.measures_delivered < 1:
        blockers.append(
            Blocker(
                BlockerCode.NO_MEASURE_DELIVERED,
                "尚无已落实的帮扶措施",
                "no assistance measure has been delivered",
                {"measures_delivered": facts.measures_delivered},
            )
        )

    line = t.monitoring_line
    n, income = facts.members, facts.latest_income
    if income is None or n <= 0:
        why_zh, why_en = ("无收入记录", "no income recorded") if n > 0 else ("家庭无成员", "no members")
        blockers.append(
            Blocker(
                BlockerCode.INCOME_BELOW_LINE,
                f"{why_zh}，无法确认人均纯收入不低于监测范围 {line} 元",
                f"{why_en}: cannot show per-capita income at or above the monitoring line {line}",
                {"members": n, "income": income, "monitoring_line": line},
            )
        )
    elif income < line * n:
        per_capita = floor_per_capita(income, n)
        blockers.append(
            Blocker(
                BlockerCode.INCOME_BELOW_LINE,
                f"最新人均纯收入 {per_capita} 元低于监测范围 {line} 元",
                f"latest per-capita net income {per_capita} is below the monitoring line {line}",
                {"members": n, "income": income, "per_capita_income": per_capita, "monitoring_line": line},
            )
        )

    if facts.recent_lead_periods:
        runs = t.elimination_lead_free_runs
        periods = ", ".join(sorted(facts.recent_lead_periods))
        blockers.append(
            Blocker(
                BlockerCode.RECENT_LEAD,
                f"最近 {runs} 次月度筛查中仍被预警（{periods}）",
                f"flagged as a lead in the last {runs} monthly runs ({periods})",
                {"lead_periods": periods},
            )
        )

    if facts.labour_count < 1:
        blockers.append(
            Blocker(
                BlockerCode.NO_LABOUR,
                "家庭无劳动能力成员，应继续监测",
                "no member is able to work; the household stays monitored",
                {"labour_count": facts.labour_count},
            )
        )

    if facts.open_housing_risk or facts.open_water_risk:
        which_zh = "、".join(
            label for flag, label in ((facts.open_housing_risk, "住房"), (facts.open_water_risk, "饮水")) if flag
        )
        which_en = " and ".join(
            label for flag, label in ((facts.open_housing_risk, "housing"), (facts.open_water_risk, "water")) if flag
        )
        blockers.append(
            Blocker(
                BlockerCode.OPEN_HOUSING_OR_WATER_RISK,
                f"{which_zh}安全风险尚未消除",
                f"open {which_en} safety risk",
                {"housing": facts.open_housing_risk, "water": facts.open_water_risk},
            )
        )
    return blockers
