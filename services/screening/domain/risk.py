"""Risk codes, department feeds and the reference evaluation of rules.md §1.3.

:func:`evaluate_household` is the plain, readable statement of the monthly screening rules
for one household. The monthly run does the same thing as set-based SQL over the registry
snapshot and the feed records; this function is what that SQL is checked against, so every
comparison here is written exactly as in the spec (``<`` vs ``≥``), and divisions are avoided:
"I / n < line" is evaluated as "I < line × n", which is exact in ``Decimal`` (and in SQL
``numeric``) where a division would round.

The readings of rules.md §1.3 "Precisely" (the SQL run in ``db/runs_repository.py`` does the
same; tests pin both):

- A run of P sees the data as of P: I is the household's latest annual income whose year is
  ≤ P's year, I_prev the income of the year just before that one (:func:`income_as_of`);
  ``income_prev=None`` (absent) means ``income_drop`` cannot fire.
- No income on file (``income=None``): the income-based codes (``income_low``, ``income_drop``,
  ``illness`` by income share, ``unstable_employment``) and the I_adj condition are not
  evaluated; every other code is, and ``housing``/``water`` still make the household a lead.
  Such a lead's suggested type is ``unstable`` for a ``lifted_out`` household, else
  ``sudden_hardship`` ("marginal if I / n < line" cannot hold without I; the SQL's
  ``i < line × n`` is null there and falls to its ELSE). Its I_adj and per-person figures are
  ``None``, and it ranks after the leads with as many codes that have them (SQL: NULLS LAST).
- ``illness`` by income share needs some medical self-pay (M > 0 and M ≥ 0.5 × I); read
  literally, a household with zero or negative income and no medical spending at all would
  "fire" illness.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Final

from shared.contracts.vocabulary import MONITORED_STATUSES, HouseholdStatus, MonitoringType

from .thresholds import Thresholds

ZERO: Final = Decimal(0)
CENT: Final = Decimal("0.01")


class RiskCode(StrEnum):
    INCOME_LOW = "income_low"
    INCOME_DROP = "income_drop"
    ILLNESS = "illness"
    EDUCATION = "education"
    DISASTER = "disaster"
    ACCIDENT = "accident"
    INDUSTRY_FAILURE = "industry_failure"
    UNSTABLE_EMPLOYMENT = "unstable_employment"
    DISABILITY = "disability"
    LACK_OF_LABOUR = "lack_of_labour"
    HOUSING = "housing"
    WATER = "water"


#: Chinese labels for ledgers and exports.
RISK_LABELS: Final[Mapping[RiskCode, str]] = MappingProxyType(
    {
        RiskCode.INCOME_LOW: "收入低",
        RiskCode.INCOME_DROP: "收入骤减",
        RiskCode.ILLNESS: "因病",
        RiskCode.EDUCATION: "因学",
        RiskCode.DISASTER: "因灾",
        RiskCode.ACCIDENT: "因意外事故",
        RiskCode.INDUSTRY_FAILURE: "产业失败",
        RiskCode.UNSTABLE_EMPLOYMENT: "务工就业不稳",
        RiskCode.DISABILITY: "因残",
        RiskCode.LACK_OF_LABOUR: "缺劳力",
        RiskCode.HOUSING: "住房安全",
        RiskCode.WATER: "饮水安全",
    }
)


class FeedKind(StrEnum):
    MEDICAL_EXPENSE = "medical_expense"
    EDUCATION_EXPENSE = "education_expense"
    SCHOOL_ADMISSION = "school_admission"
    DISASTER_LOSS = "disaster_loss"
    ACCIDENT = "accident"
    INDUSTRY_LOSS = "industry_loss"
    JOB_LOSS = "job_loss"
    DISABILITY_NEW = "disability_new"
    HOUSING_UNSAFE = "housing_unsafe"
    WATER_UNSAFE = "water_unsafe"
    DIBAO_CHANGE = "dibao_change"
    DEATH = "death"


class Department(StrEnum):
    MEDICAL_INSURANCE = "medical_insurance"  # 医保
    EDUCATION = "education"  # 教育
    CIVIL_AFFAIRS = "civil_affairs"  # 民政
    EMERGENCY_MANAGEMENT = "emergency_management"  # 应急管理
    PUBLIC_SECURITY = "public_security"  # 公安
    AGRICULTURE = "agriculture"  # 农业农村
    HUMAN_RESOURCES = "human_resources"  # 人社
    DISABILITY_FEDERATION = "disability_federation"  # 残联
    HOUSING = "housing"  # 住建
    WATER = "water"  # 水利


DEPARTMENT_LABELS: Final[Mapping[Department, str]] = MappingProxyType(
    {
        Department.MEDICAL_INSURANCE: "医保",
        Department.EDUCATION: "教育",
        Department.CIVIL_AFFAIRS: "民政",
        Department.EMERGENCY_MANAGEMENT: "应急管理",
        Department.PUBLIC_SECURITY: "公安",
        Department.AGRICULTURE: "农业农村",
        Department.HUMAN_RESOURCES: "人社",
        Department.DISABILITY_FEDERATION: "残联",
        Department.HOUSING: "住建",
        Department.WATER: "水利",
    }
)

#: The kinds each department may send (rules.md §1.2). ``accident`` comes from public
#: security (traffic and other accidents) and from emergency management; ``death`` from civil
#: affairs (funeral/dibao records) and public security (household register cancellation).
DEPARTMENT_KINDS: Final[Mapping[Department, frozenset[FeedKind]]] = MappingProxyType(
    {
        Department.MEDICAL_INSURANCE: frozenset({FeedKind.MEDICAL_EXPENSE}),
        Department.EDUCATION: frozenset({FeedKind.EDUCATION_EXPENSE, FeedKind.SCHOOL_ADMISSION}),
        Department.CIVIL_AFFAIRS: frozenset({FeedKind.DIBAO_CHANGE, FeedKind.DEATH}),
        Department.EMERGENCY_MANAGEMENT: frozenset({FeedKind.DISASTER_LOSS, FeedKind.ACCIDENT}),
        Department.PUBLIC_SECURITY: frozenset({FeedKind.ACCIDENT, FeedKind.DEATH}),
        Department.AGRICULTURE: frozenset({FeedKind.INDUSTRY_LOSS}),
        Department.HUMAN_RESOURCES: frozenset({FeedKind.JOB_LOSS}),
        Department.DISABILITY_FEDERATION: frozenset({FeedKind.DISABILITY_NEW}),
        Department.HOUSING: frozenset({FeedKind.HOUSING_UNSAFE}),
        Department.WATER: frozenset({FeedKind.WATER_UNSAFE}),
    }
)


def department_may_send(department: Department | str, kind: FeedKind | str) -> bool:
    """Whether a department's feed may carry records of this kind (unknown names: False)."""
    try:
        return FeedKind(kind) in DEPARTMENT_KINDS[Department(department)]
    except ValueError:
        return False


#: Amount fields of each kind (rules.md §1.2), all non-negative decimals; the batch control
#: total is the sum of these over the batch. Kinds not listed carry no amount.
FEED_AMOUNT_FIELDS: Final[Mapping[FeedKind, tuple[str, ...]]] = MappingProxyType(
    {
        FeedKind.MEDICAL_EXPENSE: (
            "total_cost",
            "basic_insurance",
            "critical_illness_insurance",
            "medical_assistance",
            "self_paid",
        ),
        FeedKind.EDUCATION_EXPENSE: ("cost", "aid"),
        FeedKind.DISASTER_LOSS: ("loss",),
        FeedKind.ACCIDENT: ("loss",),
        FeedKind.INDUSTRY_LOSS: ("loss",),
    }
)

#: Which window sum of :class:`HouseholdFigures` a kind's records add to.
WINDOW_FIGURE: Final[Mapping[FeedKind, str]] = MappingProxyType(
    {
        FeedKind.MEDICAL_EXPENSE: "medical_self_pay",  # M
        FeedKind.EDUCATION_EXPENSE: "education_self_pay",  # E
        FeedKind.DISASTER_LOSS: "disaster_loss",  # Dz
        FeedKind.ACCIDENT: "accident_loss",  # Ac
        FeedKind.INDUSTRY_LOSS: "industry_loss",  # Id
    }
)

#: The feed kinds whose records are the evidence of each code (lineage of a lead). Codes not
#: listed (income_low, income_drop, lack_of_labour) rest on registry data, not on feeds.
CODE_SOURCE_KINDS: Final[Mapping[RiskCode, frozenset[FeedKind]]] = MappingProxyType(
    {
        RiskCode.ILLNESS: frozenset({FeedKind.MEDICAL_EXPENSE}),
        RiskCode.EDUCATION: frozenset({FeedKind.EDUCATION_EXPENSE}),
        RiskCode.DISASTER: frozenset({FeedKind.DISASTER_LOSS}),
        RiskCode.ACCIDENT: frozenset({FeedKind.ACCIDENT}),
        RiskCode.INDUSTRY_FAILURE: frozenset({FeedKind.INDUSTRY_LOSS}),
        RiskCode.UNSTABLE_EMPLOYMENT: frozenset({FeedKind.JOB_LOSS}),
        RiskCode.DISABILITY: frozenset({FeedKind.DISABILITY_NEW}),
        RiskCode.HOUSING: frozenset({FeedKind.HOUSING_UNSAFE}),
        RiskCode.WATER: frozenset({FeedKind.WATER_UNSAFE}),
    }
)


def screening_amount(kind: FeedKind | str, amounts: Mapping[str, Decimal]) -> Decimal:
    """The part of one record that counts in its window sum.

    Medical: the self-paid amount. Education: cost − aid, floored at 0. Disaster, accident,
    industry: the loss. Other kinds: 0. Missing amounts count as 0.
    """
    kind = FeedKind(kind)
    if kind is FeedKind.MEDICAL_EXPENSE:
        return amounts.get("self_paid", ZERO)
    if kind is FeedKind.EDUCATION_EXPENSE:
        return max(ZERO, amounts.get("cost", ZERO) - amounts.get("aid", ZERO))
    if kind in (FeedKind.DISASTER_LOSS, FeedKind.ACCIDENT, FeedKind.INDUSTRY_LOSS):
        return amounts.get("loss", ZERO)
    return ZERO


# --- evaluation -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HouseholdFigures:
    """One household's inputs to the screening of a period (window = 12 months ending with it).

    ``new_disability_grade`` is the most severe grade (1 = most severe … 4) among the
    ``disability_new`` records of the window, ``None`` when there are none.
    ``labour_count`` is the number of members able to work.
    ``income`` is I as of the period (:func:`income_as_of`), ``None`` when the household has no
    income on file for a year ≤ P's; then ``income_prev`` must be ``None`` too.
    """

    members: int  # n
    income: Decimal | None  # I, the latest annual net income as of P (may be negative); None: none on file
    labour_count: int
    income_prev: Decimal | None = None  # I_prev, the year just before I's; None when absent
    status: HouseholdStatus = HouseholdStatus.ORDINARY
    medical_self_pay: Decimal = ZERO  # M
    education_self_pay: Decimal = ZERO  # E
    disaster_loss: Decimal = ZERO  # Dz
    accident_loss: Decimal = ZERO  # Ac
    industry_loss: Decimal = ZERO  # Id
    has_job_loss: bool = False
    new_disability_grade: int | None = None
    housing_unsafe: bool = False
    water_unsafe: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", HouseholdStatus(self.status))
        if not _is_int(self.members) or self.members < 0:
            raise ValueError("members must be an integer ≥ 0")
        if not _is_int(self.labour_count) or not 0 <= self.labour_count <= self.members:
            raise ValueError("labour_count must be an integer between 0 and members")
        if self.income is None and self.income_prev is not None:
            raise ValueError("income_prev without income: I_prev is the income of the year before I's")
        for name in ("income", "income_prev", *_WINDOW_SUMS):
            value = getattr(self, name)
            if value is None and name in ("income", "income_prev"):
                continue
            if not isinstance(value, Decimal) or not value.is_finite():
                raise TypeError(f"{name} must be a finite Decimal")
            if name in _WINDOW_SUMS and value < 0:
                raise ValueError(f"{name} must be ≥ 0")
        grade = self.new_disability_grade
        if grade is not None and (not _is_int(grade) or not 1 <= grade <= 4):
            raise ValueError("new_disability_grade must be 1, 2, 3, 4 or None")

    @property
    def window_total(self) -> Decimal:
        """M + E + Dz + Ac + Id."""
        return sum((getattr(self, name) for name in _WINDOW_SUMS), ZERO)

    @property
    def adjusted_income(self) -> Decimal | None:
        """I_adj = I − M − E − Dz − Ac − Id; None without I (not evaluated)."""
        return None if self.income is None else self.income - self.window_total


_WINDOW_SUMS: Final = (
    "medical_self_pay",
    "education_self_pay",
    "disaster_loss",
    "accident_loss",
    "industry_loss",
)

Figure = Decimal | int | bool | str | None


@dataclass(frozen=True, slots=True)
class RiskHit:
    """A code that fired and the figures it fired on (stored with the lead as evidence)."""

    code: RiskCode
    figures: Mapping[str, Figure] = field(default_factory=dict)


class EvaluationOutcome(StrEnum):
    EVALUATED = "evaluated"
    NO_MEMBERS = "no_members"  # n = 0: nothing per person can be computed


class LeadBasis(StrEnum):
    ADJUSTED_INCOME = "adjusted_income_below_line"  # I_adj / n < monitoring_line
    HOUSING = "housing"
    WATER = "water"


@dataclass(frozen=True, slots=True)
class Evaluation:
    outcome: EvaluationOutcome
    members: int
    hits: tuple[RiskHit, ...] = ()  # in RiskCode order
    adjusted_income: Decimal | None = None  # I_adj, exact
    per_capita_income: Decimal | None = None  # I / n rounded down to the cent (display)
    adjusted_per_capita: Decimal | None = None  # I_adj / n rounded down to the cent (display)
    is_lead: bool = False
    lead_basis: tuple[LeadBasis, ...] = ()
    suggested_type: MonitoringType | None = None  # set for leads only
    income_on_file: bool = True  # False: income-based codes and I_adj not evaluated (listed apart)

    @property
    def codes(self) -> tuple[RiskCode, ...]:
        return tuple(hit.code for hit in self.hits)

    def figures(self, code: RiskCode) -> Mapping[str, Figure] | None:
        for hit in self.hits:
            if hit.code is code:
                return hit.figures
        return None


def floor_per_capita(amount: Decimal, members: int) -> Decimal:
    """``amount / members`` rounded down to the cent, exactly.

    Rounding down keeps displayed figures consistent with decisions: for a line with at most
    two places, ``floor(I / n) < line`` exactly when ``I / n < line``.
    """
    cents = math.floor(Fraction(amount) * 100 / members)
    return Decimal(cents).scaleb(-2).quantize(CENT)


def _floor_ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    """numerator / denominator rounded down to 4 places (display only)."""
    units = math.floor(Fraction(numerator) * 10_000 / Fraction(denominator))
    return Decimal(units).scaleb(-4).quantize(Decimal("0.0001"))


def income_as_of(incomes: Mapping[int, Decimal], period_year: int) -> tuple[int | None, Decimal | None, Decimal | None]:
    """rules.md §1.3 "Precisely": (I's year, I, I_prev) for a period of ``period_year``.

    ``incomes`` are the household's annual net incomes by year, as registered when the period was
    first run. I is the latest whose year is ≤ ``period_year``; I_prev is the income of the year
    just before I's (None when there is none: a gap is not bridged). No such year: all None.
    """
    years = [y for y in incomes if y <= period_year]
    if not years:
        return None, None, None
    year = max(years)
    return year, incomes[year], incomes.get(year - 1)


def suggest_type(status: HouseholdStatus, income: Decimal | None, members: int, t: Thresholds) -> MonitoringType:
    """rules.md §1.3: ``lifted_out`` → unstable; else marginal if I / n < line, else sudden hardship.

    Also used for self-reports and cadre visits, which have no lead. ``members`` must be > 0.
    Without income on file (``None``) "I / n < line" is not evaluated: unstable or sudden hardship.
    """
    if members <= 0:
        raise ValueError("members must be > 0")
    if status is HouseholdStatus.LIFTED_OUT:
        return MonitoringType.UNSTABLE
    if income is not None and income < t.monitoring_line * members:
        return MonitoringType.MARGINAL
    return MonitoringType.SUDDEN_HARDSHIP


def evaluate_household(h: HouseholdFigures, t: Thresholds) -> Evaluation:
    """Evaluate one household for one period (rules.md §1.3, with its "Precisely" readings)."""
    n = h.members
    if n == 0:
        return Evaluation(outcome=EvaluationOutcome.NO_MEMBERS, members=0)

    income = h.income  # None: no income on file, the income-based tests below are not evaluated
    line_total = t.monitoring_line * n  # line × n: "I / n < line" ⇔ "I < line × n"
    per_capita = None if income is None else floor_per_capita(income, n)
    hits: list[RiskHit] = []

    if income is not None and income < line_total:
        hits.append(
            RiskHit(
                RiskCode.INCOME_LOW,
                {
                    "income": income,
                    "members": n,
                    "per_capita_income": per_capita,
                    "monitoring_line": t.monitoring_line,
                },
            )
        )

    prev = h.income_prev
    if income is not None and prev is not None and prev > 0 and prev - income >= t.income_drop_ratio * prev:
        hits.append(
            RiskHit(
                RiskCode.INCOME_DROP,
                {
                    "income": income,
                    "income_prev": prev,
                    "drop_ratio": _floor_ratio(prev - income, prev),
                    "income_drop_ratio": t.income_drop_ratio,
                },
            )
        )

    m = h.medical_self_pay
    by_line = m >= t.medical_warning_line
    # by income share: M > 0 and M ≥ share × I; not evaluated (None) without income
    share_amount = None if income is None else t.illness_income_share * income
    by_share = None if share_amount is None else (m > 0 and m >= share_amount)
    if by_line or by_share:
        hits.append(
            RiskHit(
                RiskCode.ILLNESS,
                {
                    "medical_self_pay": m,
                    "medical_warning_line": t.medical_warning_line,
                    "income": income,
                    "illness_income_share": t.illness_income_share,
                    "income_share_amount": share_amount,
                    "by_warning_line": by_line,
                    "by_income_share": by_share,
                },
            )
        )

    for code, amount_name, amount, line_name, line in (
        (RiskCode.EDUCATION, "education_self_pay", h.education_self_pay,
         "education_warning_line", t.education_warning_line),
        (RiskCode.DISASTER, "disaster_loss", h.disaster_loss,
         "disaster_warning_line", t.disaster_warning_line),
        (RiskCode.ACCIDENT, "accident_loss", h.accident_loss,
         "accident_warning_line", t.accident_warning_line),
        (RiskCode.INDUSTRY_FAILURE, "industry_loss", h.industry_loss,
         "industry_warning_line", t.industry_warning_line),
    ):  # fmt: skip
        if amount >= line:
            hits.append(RiskHit(code, {amount_name: amount, line_name: line}))

    employment_line = t.employment_line_factor * t.monitoring_line
    if h.has_job_loss and income is not None and income < employment_line * n:
        hits.append(
            RiskHit(
                RiskCode.UNSTABLE_EMPLOYMENT,
                {
                    "job_loss": True,
                    "income": income,
                    "members": n,
                    "per_capita_income": per_capita,
                    "employment_line": employment_line,
                },
            )
        )

    if h.new_disability_grade is not None and h.new_disability_grade <= 2:
        hits.append(RiskHit(RiskCode.DISABILITY, {"new_disability_grade": h.new_disability_grade}))

    if h.labour_count == 0:
        hits.append(RiskHit(RiskCode.LACK_OF_LABOUR, {"labour_count": 0, "members": n}))

    if h.housing_unsafe:
        hits.append(RiskHit(RiskCode.HOUSING, {"housing_unsafe": True}))
    if h.water_unsafe:
        hits.append(RiskHit(RiskCode.WATER, {"water_unsafe": True}))

    adjusted = h.adjusted_income  # None without income: the I_adj condition is not evaluated
    basis: list[LeadBasis] = []
    if adjusted is not None and adjusted < line_total:
        basis.append(LeadBasis.ADJUSTED_INCOME)
    if h.housing_unsafe:
        basis.append(LeadBasis.HOUSING)
    if h.water_unsafe:
        basis.append(LeadBasis.WATER)
    is_lead = bool(basis)

    return Evaluation(
        outcome=EvaluationOutcome.EVALUATED,
        members=n,
        hits=tuple(hits),
        adjusted_income=adjusted,
        per_capita_income=per_capita,
        adjusted_per_capita=None if adjusted is None else floor_per_capita(adjusted, n),
        is_lead=is_lead,
        lead_basis=tuple(basis),
        suggested_type=suggest_type(h.status, income, n, t) if is_lead else None,
        income_on_file=income is not None,
    )


def rank_key(evaluation: Evaluation) -> tuple[int, int, int, Fraction]:
    """Sort key for leads: more codes first, then lower I_adj / n (exact), unevaluable last.

    Among leads with as many codes, those without income on file (no I_adj) come after the
    others, as in the SQL run (``ORDER BY cardinality(codes) DESC, adj / n`` puts nulls last).
    Ties are left to the caller (add the household id for a stable order).
    """
    if evaluation.outcome is not EvaluationOutcome.EVALUATED:
        return (1, 0, 0, Fraction(0))
    if evaluation.adjusted_income is None:
        return (0, -len(evaluation.hits), 1, Fraction(0))
    return (0, -len(evaluation.hits), 0, Fraction(evaluation.adjusted_income) / evaluation.members)


class LeadRouting(StrEnum):
    NONE = "none"  # nothing to record
    NEW_LEAD = "new_lead"
    CASE_EVIDENCE = "case_evidence"  # attach the codes and figures to the household's case


def route_evaluation(evaluation: Evaluation, status: HouseholdStatus, has_open_case: bool) -> LeadRouting:
    """rules.md §1.3: a monitored household, or one with an open case, gets new evidence on its
    case (when the run found a lead or any code) instead of a second lead."""
    if evaluation.outcome is not EvaluationOutcome.EVALUATED:
        return LeadRouting.NONE
    if has_open_case or status in MONITORED_STATUSES:
        return LeadRouting.CASE_EVIDENCE if evaluation.is_lead or evaluation.hits else LeadRouting.NONE
    return LeadRouting.NEW_LEAD if evaluation.is_lead else LeadRouting.NONE


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
