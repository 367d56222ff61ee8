"""Claim assessment (理赔核算): rules.md §2.2, pure and in exact decimals.

``assess(scheme, facts, prior)`` returns an ``Assessment``: eligible or not, the payout, the
rejection code and a JSON-able breakdown holding every figure behind the decision, so that
anyone can check it by hand and ``explain`` can print it for cadres.

Arithmetic runs in a decimal context that traps ``Inexact``: if any step had to round, the
engine raises instead of paying a rounded figure. The only rounding is of the payout, half
up to 0.01, once, at the end. Comparisons against the protection line use exact products
(``I − B ≥ L × n``) rather than a divided per-capita figure; the per-capita figures in the
breakdown are for reading only and are floored to 0.01.

Decisions where rules.md is silent (each is tested):

- **Ledger base.** ``category_base`` is the year's sum of bases b. A claim adds its b to it
  when it passed the five gates and has b > 0, whatever happens next (income above the
  line, below the deductible, a cap reached, or paid): the deductible and the income test
  are about the household's whole burden of the year, and E2's B (45000) includes E1's b
  (35000). A claim rejected at a gate (not insured, negative list, outside the scheme year,
  reported late) adds nothing: its loss is outside the cover. ``Assessment.base_added`` is
  that b (or 0) and ``new_category_base`` the value the ledger's ``category_base`` becomes.
  School entry and income drop add nothing to the base.
- **Zero payouts.** A positive gross that rounds to 0.00 (only possible with sub-cent tier
  products) is rejected as ``category_cap_reached``: no eligible assessment pays 0.00.
- **Household cap in every category.** School entry and income drop take ``min(…, R)`` too,
  so R ≤ 0 rejects them with ``household_cap_reached`` as for the cumulative categories.
- **Missing previous income** counts as P = 0, so ``drop_too_small``.
- **Income drop "already paid this year"** is ``prior.category_paid > 0`` (the ledger's paid
  figure for income_drop), not a second flag. Facts stored before this rule carry
  ``prior.income_drop_paid_this_year``; ``parse_claim_input`` accepts it only when it agrees
  with ``category_paid`` (an income-drop claim) and drops it; a disagreeing flag is refused.
- **No eligible 0.00** is kept by scheme validation (see ``scheme.py``: amounts that can only
  pay nothing are refused) plus the rounding rule below; ``_pay`` asserts it.
- **School level.** A level missing from the facts, unknown, or not listed by the scheme is
  ``level_not_covered``.
- **Facts validation** (``FactsInvalid``): amounts have at most 2 decimal places and
  expense amounts are non-negative (incomes may be negative); members is 1–1000; an
  expense key that the category does not know is refused rather than read as 0; the report
  date may not precede the incident date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext
from enum import StrEnum
from types import MappingProxyType
from typing import Any, cast

from services.claims.domain.scheme import (
    CUMULATIVE_CATEGORIES,
    Category,
    CategoryConfig,
    HouseholdStatus,
    IllnessConfig,
    IncomeDropConfig,
    PoolMode,
    Scheme,
    SchoolEntryConfig,
    SchoolLevel,
    Tier,
    TieredConfig,
)
from services.claims.domain.values import (
    ZERO,
    InvalidInput,
    fmt,
    fmt_rate,
    money,
    per_capita_floor,
    ratio_floor,
    round_payout,
)


class RejectionCode(StrEnum):
    # gates, in order
    CATEGORY_NOT_COVERED = "category_not_covered"
    NOT_INSURED = "not_insured"
    NEGATIVE_LIST = "negative_list"
    OUTSIDE_COVERAGE = "outside_coverage"
    REPORTED_LATE = "reported_late"
    # cumulative categories
    NO_LOSS = "no_loss"
    INCOME_ABOVE_LINE = "income_above_line"
    BELOW_DEDUCTIBLE = "below_deductible"
    CATEGORY_CAP_REACHED = "category_cap_reached"
    HOUSEHOLD_CAP_REACHED = "household_cap_reached"
    # school entry
    LEVEL_NOT_COVERED = "level_not_covered"
    DUPLICATE = "duplicate"
    # income drop
    DROP_TOO_SMALL = "drop_too_small"
    ALREADY_PAID_THIS_YEAR = "already_paid_this_year"


GATES: tuple[RejectionCode, ...] = (
    RejectionCode.CATEGORY_NOT_COVERED,
    RejectionCode.NOT_INSURED,
    RejectionCode.NEGATIVE_LIST,
    RejectionCode.OUTSIDE_COVERAGE,
    RejectionCode.REPORTED_LATE,
)

# The checks after the gates, in order, per kind of category.
CUMULATIVE_CHECKS: tuple[RejectionCode, ...] = (
    RejectionCode.NO_LOSS,
    RejectionCode.INCOME_ABOVE_LINE,
    RejectionCode.BELOW_DEDUCTIBLE,
    RejectionCode.CATEGORY_CAP_REACHED,
    RejectionCode.HOUSEHOLD_CAP_REACHED,
)
SCHOOL_ENTRY_CHECKS: tuple[RejectionCode, ...] = (
    RejectionCode.INCOME_ABOVE_LINE,
    RejectionCode.LEVEL_NOT_COVERED,
    RejectionCode.DUPLICATE,
    RejectionCode.HOUSEHOLD_CAP_REACHED,
)
INCOME_DROP_CHECKS: tuple[RejectionCode, ...] = (
    RejectionCode.DROP_TOO_SMALL,
    RejectionCode.INCOME_ABOVE_LINE,
    RejectionCode.ALREADY_PAID_THIS_YEAR,
    RejectionCode.HOUSEHOLD_CAP_REACHED,
)

# Expense keys per category (issue 5). The base b is the first key minus all the others.
EXPENSE_KEYS: Mapping[Category, tuple[str, ...]] = MappingProxyType(
    {
        Category.ILLNESS: (
            "total_cost",
            "non_compliant_cost",
            "basic_insurance_paid",
            "critical_illness_paid",
            "medical_assistance_paid",
            "other_compensation",
        ),
        Category.DISASTER_ACCIDENT: ("assessed_loss", "compensation_received"),
        Category.IN_SCHOOL: ("education_cost", "aid_received"),
        Category.INDUSTRY_LOSS: ("assessed_loss", "insurance_compensation", "subsidies_received"),
        Category.SCHOOL_ENTRY: (),
        Category.INCOME_DROP: (),
    }
)
# Non-amount expense keys: the level is read, the student id is for the caller's duplicate check.
SCHOOL_ENTRY_KEYS: tuple[str, ...] = ("level", "student_member_id")
MAX_MEMBERS = 1000

ROUNDING_NOTE = "ROUND_HALF_UP to 0.01, once, on the payout"
_NO_PAYOUT = Decimal("0.00")


class FactsInvalid(InvalidInput):
    """Claim facts or year-to-date figures failed validation (``errors`` as in SchemeInvalid)."""


def _amount(value: object, path: str, errors: list[tuple[str, str]], *, allow_negative: bool) -> Decimal:
    try:
        return money(value, allow_negative=allow_negative)
    except ValueError as exc:
        errors.append((path, str(exc)))
        return ZERO


def _as_date(value: object, path: str, errors: list[tuple[str, str]]) -> date:
    if isinstance(value, datetime):
        errors.append((path, "must be a date, not a datetime"))
        return date.min
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors.append((path, f"must be a date (YYYY-MM-DD), got {value!r}"))
    return date.min


def _raise_if(errors: list[tuple[str, str]]) -> None:
    if errors:
        raise FactsInvalid(errors)


@dataclass(frozen=True, slots=True)
class HouseholdFacts:
    """The household at the incident date, frozen on the claim.

    Amounts may be given as strings or numbers; they are stored as Decimals.
    """

    status: HouseholdStatus
    members: int  # n
    annual_net_income: Decimal  # I
    previous_annual_net_income: Decimal | None = None  # P; None: unknown
    insured: bool = False  # enrolled for the scheme year
    negative_list: bool = False

    def __post_init__(self) -> None:
        errors: list[tuple[str, str]] = []
        try:
            object.__setattr__(self, "status", HouseholdStatus(self.status))
        except ValueError:
            errors.append(("household.status", f"unknown household status {self.status!r}"))
        if isinstance(self.members, bool) or not isinstance(self.members, int):
            errors.append(("household.members", "must be an integer"))
        elif not 1 <= self.members <= MAX_MEMBERS:
            errors.append(("household.members", f"must be between 1 and {MAX_MEMBERS}"))
        income = _amount(self.annual_net_income, "household.annual_net_income", errors, allow_negative=True)
        object.__setattr__(self, "annual_net_income", income)
        if self.previous_annual_net_income is not None:
            previous = _amount(
                self.previous_annual_net_income,
                "household.previous_annual_net_income",
                errors,
                allow_negative=True,
            )
            object.__setattr__(self, "previous_annual_net_income", previous)
        for flag in ("insured", "negative_list"):
            if not isinstance(getattr(self, flag), bool):
                errors.append((f"household.{flag}", "must be true or false"))
        _raise_if(errors)


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What happened: the category, the household, the dates and the expense facts.

    ``expense`` holds the category's keys (``EXPENSE_KEYS``; school entry: ``level`` and
    optionally ``student_member_id``); a missing amount counts as 0. Amounts may be given as
    strings or numbers and are stored as Decimals in a read-only mapping.
    """

    category: Category
    household: HouseholdFacts
    incident_date: date
    reported_date: date
    expense: Mapping[str, Decimal | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        errors: list[tuple[str, str]] = []
        try:
            category = Category(self.category)
            object.__setattr__(self, "category", category)
        except ValueError:
            errors.append(("category", f"unknown category {self.category!r}"))
            raise FactsInvalid(errors) from None
        if not isinstance(self.household, HouseholdFacts):
            errors.append(("household", "must be HouseholdFacts"))
        incident = _as_date(self.incident_date, "incident_date", errors)
        reported = _as_date(self.reported_date, "reported_date", errors)
        object.__setattr__(self, "incident_date", incident)
        object.__setattr__(self, "reported_date", reported)
        if not errors and reported < incident:
            errors.append(("reported_date", "must not be before incident_date"))
        if not isinstance(self.expense, Mapping):
            errors.append(("expense", "must be an object"))
            raise FactsInvalid(errors)
        expense: dict[str, Decimal | str] = {}
        if category is Category.SCHOOL_ENTRY:
            for key, value in self.expense.items():
                if key not in SCHOOL_ENTRY_KEYS:
                    errors.append((f"expense.{key}", "unknown expense field for school_entry"))
                elif key == "level" and not isinstance(value, str):
                    errors.append(("expense.level", "must be a string"))
                else:
                    expense[key] = value if isinstance(value, str) else str(value)
        else:
            known = EXPENSE_KEYS[category]
            for key, value in self.expense.items():
                if key not in known:
                    errors.append((f"expense.{key}", f"unknown expense field for {category.value}"))
                    continue
                expense[key] = _amount(value, f"expense.{key}", errors, allow_negative=False)
        object.__setattr__(self, "expense", MappingProxyType(expense))
        _raise_if(errors)

    def amount(self, key: str) -> Decimal:
        """An expense amount; missing counts as 0."""
        value = self.expense.get(key, ZERO)
        return value if isinstance(value, Decimal) else ZERO

    @property
    def school_level(self) -> str | None:
        value = self.expense.get("level")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class YearToDate:
    """The household's figures of the scheme year from the claims ledger, before this claim."""

    category_base: Decimal = ZERO  # sum of the bases b of this category already assessed
    category_paid: Decimal = ZERO  # paid (or approved to pay) in this category
    household_paid: Decimal = ZERO  # paid across all categories
    same_student_level_paid: bool = False  # school entry: this student, this level, already paid

    def __post_init__(self) -> None:
        errors: list[tuple[str, str]] = []
        for name in ("category_base", "category_paid", "household_paid"):
            object.__setattr__(self, name, _amount(getattr(self, name), f"prior.{name}", errors, allow_negative=False))
        if not isinstance(self.same_student_level_paid, bool):
            errors.append(("prior.same_student_level_paid", "must be true or false"))
        _raise_if(errors)


@dataclass(frozen=True, slots=True)
class Assessment:
    """The decision and everything behind it.

    The ledger after this claim: ``category_base = new_category_base``,
    ``category_paid = new_category_paid``, ``household_paid = new_household_paid``.
    """

    category: Category
    eligible: bool
    payout: Decimal  # 0.00 when rejected
    rejection_code: RejectionCode | None
    breakdown: dict[str, Any]
    base_added: Decimal  # b when the claim consumed base (see module doc), else 0
    new_category_base: Decimal
    new_category_paid: Decimal
    new_household_paid: Decimal


# ---------------------------------------------------------------------------------------------
# Parsing and serialising facts (the preview body's "facts", with "prior" inside)


def parse_claim_input(data: Mapping[str, Any]) -> tuple[ClaimFacts, YearToDate]:
    """Read the issue-5 preview ``facts`` object (``prior`` optional, zeros when absent)."""
    errors: list[tuple[str, str]] = []
    if not isinstance(data, Mapping):
        raise FactsInvalid([("(root)", "must be an object")])
    allowed = {"category", "household", "incident_date", "reported_date", "expense", "prior"}
    errors += [(str(key), "unknown field") for key in data if key not in allowed]
    errors += [
        (key, "required field is missing")
        for key in ("category", "household", "incident_date", "reported_date")
        if key not in data
    ]
    household_data = data.get("household")
    household_keys = {
        "status",
        "members",
        "annual_net_income",
        "previous_annual_net_income",
        "insured",
        "negative_list",
    }
    if isinstance(household_data, Mapping):
        errors += [(f"household.{key}", "unknown field") for key in household_data if key not in household_keys]
        errors += [
            (f"household.{key}", "required field is missing")
            for key in ("status", "members", "annual_net_income", "insured", "negative_list")
            if key not in household_data
        ]
    elif "household" in data:
        errors.append(("household", "must be an object"))
    prior_data = data.get("prior", {})
    prior_keys = {"category_base", "category_paid", "household_paid", "same_student_level_paid"}
    if isinstance(prior_data, Mapping):
        errors += [
            (f"prior.{key}", "unknown field")
            for key in prior_data
            if key not in prior_keys and key != _LEGACY_PAID_FLAG
        ]
    else:
        errors.append(("prior", "must be an object"))
    _raise_if(errors)
    assert isinstance(household_data, Mapping)
    assert isinstance(prior_data, Mapping)
    if _LEGACY_PAID_FLAG in prior_data:
        prior_data = dict(prior_data)
        flag = prior_data.pop(_LEGACY_PAID_FLAG)
        _check_legacy_flag(data.get("category"), flag, prior_data.get("category_paid", "0"))
    try:
        household = HouseholdFacts(**household_data)
        facts = ClaimFacts(
            category=data["category"],
            household=household,
            incident_date=data["incident_date"],
            reported_date=data["reported_date"],
            expense=data.get("expense") or {},
        )
        prior = YearToDate(**prior_data)
    except FactsInvalid:
        raise
    except (TypeError, ValueError) as exc:
        raise FactsInvalid([("(root)", str(exc))]) from exc
    return facts, prior


# Facts stored before "already paid this year" became category_paid alone carry this flag.
_LEGACY_PAID_FLAG = "income_drop_paid_this_year"


def same_breakdown(stored: Mapping[str, Any], recomputed: Mapping[str, Any]) -> bool:
    """Whether a recomputed breakdown says what the stored one says.

    A breakdown stored before "already paid this year" became ``category_paid`` alone carries the
    old flag among its prior figures; it was read only when it agreed with ``category_paid``, so
    it is no difference.
    """
    prior = stored.get("prior")
    if isinstance(prior, Mapping) and _LEGACY_PAID_FLAG in prior:
        stored = {**stored, "prior": {k: v for k, v in prior.items() if k != _LEGACY_PAID_FLAG}}
    return dict(stored) == dict(recomputed)


def _check_legacy_flag(category: object, flag: object, category_paid: object) -> None:
    """The old flag is read only when it says what category_paid says (income drop); else 422."""
    path = f"prior.{_LEGACY_PAID_FLAG}"
    if not isinstance(flag, bool):
        raise FactsInvalid([(path, "must be true or false (and may be left out: category_paid decides)")])
    if category != Category.INCOME_DROP.value:
        return  # it spoke of income drop, not of this claim's category
    try:
        paid = money(category_paid) > 0
    except ValueError:
        return  # reported at prior.category_paid
    if flag != paid:
        raise FactsInvalid(
            [
                (
                    path,
                    f"says {'already' if flag else 'not'} paid but prior.category_paid is "
                    f"{category_paid}: already paid this year is read from category_paid alone; leave the flag out",
                )
            ]
        )


def household_to_dict(household: HouseholdFacts) -> dict[str, Any]:
    previous = household.previous_annual_net_income
    return {
        "status": household.status._value_,
        "members": household.members,
        "annual_net_income": fmt(household.annual_net_income),
        "previous_annual_net_income": None if previous is None else fmt(previous),
        "insured": household.insured,
        "negative_list": household.negative_list,
    }


def facts_to_dict(facts: ClaimFacts, prior: YearToDate | None = None) -> dict[str, Any]:
    """The JSON form read by ``parse_claim_input`` (``prior`` included when given)."""
    household = facts.household
    previous = household.previous_annual_net_income
    result: dict[str, Any] = {
        "category": facts.category._value_,
        "household": {  # household_to_dict, written out: every assessment writes it
            "status": household.status._value_,
            "members": household.members,
            "annual_net_income": fmt(household.annual_net_income),
            "previous_annual_net_income": None if previous is None else fmt(previous),
            "insured": household.insured,
            "negative_list": household.negative_list,
        },
        "incident_date": facts.incident_date.isoformat(),
        "reported_date": facts.reported_date.isoformat(),
        "expense": (
            {k: v if isinstance(v, str) else fmt(v) for k, v in facts.expense.items()}
            if facts.category is _SCHOOL_ENTRY
            else {k: fmt(v) for k, v in facts.expense.items()}  # type: ignore[arg-type]  # Decimals only (validated)
        ),
    }
    if prior is not None:
        result["prior"] = prior_to_dict(prior)
    return result


def prior_to_dict(prior: YearToDate) -> dict[str, Any]:
    return {
        "category_base": fmt(prior.category_base),
        "category_paid": fmt(prior.category_paid),
        "household_paid": fmt(prior.household_paid),
        "same_student_level_paid": prior.same_student_level_paid,
    }


# ---------------------------------------------------------------------------------------------
# The engine

# Every operation must be exact: a rounded intermediate would be a silent error.
_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])

# Enum members under module names: reading ``RejectionCode.X`` goes through the enum's metaclass
# (~0.2 us each, ten times an assessment); a module global is a dictionary lookup.
_ALREADY_PAID_THIS_YEAR = RejectionCode.ALREADY_PAID_THIS_YEAR
_BELOW_DEDUCTIBLE = RejectionCode.BELOW_DEDUCTIBLE
_CATEGORY_CAP_REACHED = RejectionCode.CATEGORY_CAP_REACHED
_CATEGORY_NOT_COVERED = RejectionCode.CATEGORY_NOT_COVERED
_DROP_TOO_SMALL = RejectionCode.DROP_TOO_SMALL
_DUPLICATE = RejectionCode.DUPLICATE
_HOUSEHOLD_CAP_REACHED = RejectionCode.HOUSEHOLD_CAP_REACHED
_INCOME_ABOVE_LINE = RejectionCode.INCOME_ABOVE_LINE
_LEVEL_NOT_COVERED = RejectionCode.LEVEL_NOT_COVERED
_NEGATIVE_LIST = RejectionCode.NEGATIVE_LIST
_NOT_INSURED = RejectionCode.NOT_INSURED
_NO_LOSS = RejectionCode.NO_LOSS
_OUTSIDE_COVERAGE = RejectionCode.OUTSIDE_COVERAGE
_REPORTED_LATE = RejectionCode.REPORTED_LATE
_SCHOOL_ENTRY = Category.SCHOOL_ENTRY
_ENROLLED = PoolMode.ENROLLED


def tier_slices(tiers: tuple[Tier, ...], x: Decimal) -> list[dict[str, Any]]:
    """Each tier's slice of X and its pay (exact); used by ``assess`` and handy for tests."""
    rows = []
    for tier in tiers:
        top = x if tier.upper is None else min(x, tier.upper)
        amount = max(ZERO, top - tier.lower)
        rows.append({"tier": tier, "amount": amount, "pay": tier.rate * amount})
    return rows


def g_of(tiers: tuple[Tier, ...], x: Decimal) -> Decimal:
    """g(X) = Σ rate × (min(X, to) − from) where positive."""
    with localcontext(_EXACT):
        return sum((row["pay"] for row in tier_slices(tiers, x)), ZERO)


# The texts of the gates and checks in order, per kind of category. An enum member's ``.value`` is
# a descriptor call; the engine reads ``_value_`` (the plain attribute behind it) or these texts.
_ORDERS: Mapping[tuple[RejectionCode, ...], tuple[str, ...]] = MappingProxyType(
    {
        checks: tuple(code.value for code in GATES + checks)
        for checks in (CUMULATIVE_CHECKS, SCHOOL_ENTRY_CHECKS, INCOME_DROP_CHECKS)
    }
)
_CUMULATIVE_ORDER = _ORDERS[CUMULATIVE_CHECKS]
_SCHOOL_ENTRY_ORDER = _ORDERS[SCHOOL_ENTRY_CHECKS]
_INCOME_DROP_ORDER = _ORDERS[INCOME_DROP_CHECKS]
_CUMULATIVE_NAMES = frozenset(category.value for category in CUMULATIVE_CATEGORIES)


class _CumulativeParts:
    """A cumulative category's texts under one scheme: the base formula, the cap, the tiers' bounds
    and rates, and the deductible with its basis by household status."""

    __slots__ = ("cap", "cap_text", "deductibles", "formula", "keys", "tiers")

    def __init__(self, category: Category, config: IllnessConfig | TieredConfig) -> None:
        self.keys = EXPENSE_KEYS[category]
        self.formula = _BASE_FORMULA[category]
        self.cap = config.cap
        self.cap_text = fmt(config.cap)
        self.tiers: tuple[tuple[Tier, str, str | None, str], ...] = tuple(
            (tier, fmt(tier.lower), None if tier.upper is None else fmt(tier.upper), fmt_rate(tier.rate))
            for tier in config.tiers
        )
        self.deductibles: dict[str, tuple[Decimal, str, str]] = {}
        for status in HouseholdStatus:
            if isinstance(config, IllnessConfig):
                deductible = config.deductible.for_status(status)
                basis = f"illness, household status {status._value_}"
            else:
                deductible = config.deductible
                basis = category._value_
            self.deductibles[status._value_] = (deductible, fmt(deductible), basis)


class _SchemeParts:
    """What every assessment under one parsed scheme reads from it, made once.

    ``summary`` is the scheme's part of the breakdown (copied per assessment); ``configs`` the
    covered categories' configurations; ``covers`` the category gate's texts; ``pool`` the
    insurance gate's texts by whether the household is enrolled; then the line L, the household
    cap and each category's figures with their texts.
    """

    __slots__ = (
        "configs",
        "covers",
        "cumulative",
        "drop",
        "household_cap",
        "household_cap_text",
        "line",
        "line_text",
        "lump_sums",
        "pool",
        "scheme",
        "summary",
    )

    def __init__(self, scheme: Scheme) -> None:
        self.scheme = scheme
        self.summary: dict[str, Any] = {
            "code": scheme.code,
            "version": scheme.version,
            "year": scheme.year,
            "pool_mode": scheme.pool_mode.value,
            "protection_line": fmt(scheme.protection_line),
            "household_annual_cap": fmt(scheme.household_annual_cap),
            "report_window_days": scheme.report_window_days,
        }
        self.configs: dict[str, CategoryConfig | None] = {c.value: scheme.categories.get(c) for c in Category}
        self.covers: dict[str, str] = {
            c.value: f"scheme {'covers' if self.configs[c.value] is not None else 'does not cover'} {c.value}"
            for c in Category
        }
        mode = scheme.pool_mode.value
        self.pool: tuple[str, str] = (
            f"pool_mode {mode}; household not enrolled",
            f"pool_mode {mode}; household enrolled",
        )
        self.line = scheme.protection_line
        self.line_text = fmt(scheme.protection_line)
        self.household_cap = scheme.household_annual_cap
        self.household_cap_text = fmt(scheme.household_annual_cap)
        self.cumulative: dict[str, _CumulativeParts] = {}
        self.lump_sums: dict[str, tuple[Decimal, str] | None] = {}
        self.drop: tuple[str, str] | None = None  # income drop: the min ratio's text, the cap's
        for category in Category:
            config = self.configs[category.value]
            if isinstance(config, IllnessConfig | TieredConfig):
                self.cumulative[category.value] = _CumulativeParts(category, config)
            elif isinstance(config, SchoolEntryConfig):
                for level in SchoolLevel:
                    lump_sum = config.lump_sums.for_level(level)
                    self.lump_sums[level.value] = None if lump_sum is None else (lump_sum, fmt(lump_sum))
            elif isinstance(config, IncomeDropConfig):
                self.drop = (fmt_rate(config.min_drop_ratio), fmt(config.cap))


# Keyed by identity, holding the scheme itself so that a recycled id cannot match; bounded.
_SCHEME_PARTS: dict[int, _SchemeParts] = {}
_SCHEME_PARTS_SIZE = 256


def _scheme_parts(scheme: Scheme) -> _SchemeParts:
    parts = _SCHEME_PARTS.get(id(scheme))
    if parts is None or parts.scheme is not scheme:
        if len(_SCHEME_PARTS) >= _SCHEME_PARTS_SIZE:
            _SCHEME_PARTS.clear()
        parts = _SCHEME_PARTS[id(scheme)] = _SchemeParts(scheme)
    return parts


_ZERO_TEXT = fmt(ZERO)
_NEGATIVE_LIST_TEXTS = ("household not on the negative list", "household on the negative list")

# Assessment is a frozen dataclass: its __init__ sets each field through object.__setattr__, which
# costs as much as a tenth of an assessment. The engine makes its results with the slots' own
# setters instead (the same object: tests/unit/test_claims_engine_fast.py compares them).
_ASSESSMENT_FIELDS = (
    "category",
    "eligible",
    "payout",
    "rejection_code",
    "breakdown",
    "base_added",
    "new_category_base",
    "new_category_paid",
    "new_household_paid",
)
assert tuple(f.name for f in fields(Assessment)) == _ASSESSMENT_FIELDS, "update _new_assessment"
_SET_CATEGORY, _SET_ELIGIBLE, _SET_PAYOUT, _SET_REJECTION, _SET_BREAKDOWN = (
    getattr(Assessment, name).__set__ for name in _ASSESSMENT_FIELDS[:5]
)
_SET_BASE_ADDED, _SET_NEW_BASE, _SET_NEW_CATEGORY_PAID, _SET_NEW_HOUSEHOLD_PAID = (
    getattr(Assessment, name).__set__ for name in _ASSESSMENT_FIELDS[5:]
)


def _new_assessment(
    category: Category,
    eligible: bool,
    payout: Decimal,
    rejection_code: RejectionCode | None,
    breakdown: dict[str, Any],
    base_added: Decimal,
    new_category_base: Decimal,
    new_category_paid: Decimal,
    new_household_paid: Decimal,
) -> Assessment:
    """``Assessment(...)`` with these fields, without the frozen dataclass's per-field detour."""
    result: Assessment = object.__new__(Assessment)
    _SET_CATEGORY(result, category)
    _SET_ELIGIBLE(result, eligible)
    _SET_PAYOUT(result, payout)
    _SET_REJECTION(result, rejection_code)
    _SET_BREAKDOWN(result, breakdown)
    _SET_BASE_ADDED(result, base_added)
    _SET_NEW_BASE(result, new_category_base)
    _SET_NEW_CATEGORY_PAID(result, new_category_paid)
    _SET_NEW_HOUSEHOLD_PAID(result, new_household_paid)
    return result


class _Run:
    """Collects the checks and figures of one assessment.

    The checks are recorded in their order (``_ORDERS``) and a failed one ends the assessment, so
    ``finish`` adds the ones after the last recorded as not reached. ``facts_doc`` and
    ``prior_doc`` are the breakdown's facts and prior: figures shown again later reuse their text.
    """

    __slots__ = ("base_added", "breakdown", "checks", "facts", "facts_doc", "order", "parts", "prior", "prior_doc")

    def __init__(self, parts: _SchemeParts, facts: ClaimFacts, prior: YearToDate, order: tuple[str, ...]) -> None:
        self.parts = parts
        self.facts = facts
        self.prior = prior
        self.order = order
        self.checks: list[dict[str, Any]] = []
        self.base_added = ZERO
        facts_doc = self.facts_doc = facts_to_dict(facts)
        prior_doc = self.prior_doc = prior_to_dict(prior)
        self.breakdown: dict[str, Any] = {
            "scheme": dict(parts.summary),
            "category": facts_doc["category"],
            "facts": facts_doc,
            "prior": prior_doc,
        }

    def check(self, code: RejectionCode, failed: bool, detail: str) -> bool:
        """Record one check; True when it failed (the claim is rejected with ``code``)."""
        self.checks.append({"code": code._value_, "result": "fail" if failed else "pass", "detail": detail})
        return failed

    def finish(
        self, rejection: RejectionCode | None, payout: Decimal = ZERO, base_text: str | None = None
    ) -> Assessment:
        """The assessment; ``base_text``: ``base_added``'s text when the caller has written it."""
        checks = self.checks
        order = self.order
        done = len(checks)
        assert checks[-1]["code"] == order[done - 1], "checks recorded out of order"
        checks += [{"code": text, "result": "not_reached", "detail": ""} for text in order[done:]]
        eligible = rejection is None
        paid = payout if eligible else _NO_PAYOUT
        prior = self.prior
        base_added = self.base_added
        # In the exact context (assess runs in it): these sums trap as every other step.
        new_base = prior.category_base + base_added
        new_category_paid = prior.category_paid + paid
        new_household_paid = prior.household_paid + paid
        breakdown = self.breakdown
        breakdown["checks"] = checks
        breakdown["rounding"] = ROUNDING_NOTE
        breakdown["eligible"] = eligible
        breakdown["rejection_code"] = None if rejection is None else rejection._value_
        breakdown["payout"] = fmt(paid)
        breakdown["ledger"] = {
            "base_added": (_ZERO_TEXT if base_added is ZERO else fmt(base_added)) if base_text is None else base_text,
            "new_category_base": fmt(new_base),
            "new_category_paid": fmt(new_category_paid),
            "new_household_paid": fmt(new_household_paid),
        }
        return _new_assessment(
            self.facts.category,
            eligible,
            paid,
            rejection,
            breakdown,
            base_added,
            new_base,
            new_category_paid,
            new_household_paid,
        )


def assess(scheme: Scheme, facts: ClaimFacts, prior: YearToDate) -> Assessment:
    """Assess one claim under ``scheme`` given the household's year to date (rules.md §2.2).

    The whole assessment runs in the exact context (``_EXACT``: Inexact and the rest trap); the
    gates do no decimal arithmetic, the ledger sums in ``finish`` and every figure after do.
    """
    with localcontext(_EXACT):
        return _assess(scheme, facts, prior)


def _assess(scheme: Scheme, facts: ClaimFacts, prior: YearToDate) -> Assessment:
    category = facts.category
    name = category._value_
    # by the category's text: hashing an enum member (or a tuple of them) is a Python-level call
    if name in _CUMULATIVE_NAMES:
        order = _CUMULATIVE_ORDER
    elif category is _SCHOOL_ENTRY:
        order = _SCHOOL_ENTRY_ORDER
    else:
        order = _INCOME_DROP_ORDER
    parts = _scheme_parts(scheme)
    run = _Run(parts, facts, prior, order)
    household = facts.household
    config = parts.configs[name]

    if run.check(_CATEGORY_NOT_COVERED, config is None, parts.covers[name]):
        return run.finish(_CATEGORY_NOT_COVERED)
    insured = household.insured
    not_insured = scheme.pool_mode is _ENROLLED and not insured
    if run.check(_NOT_INSURED, not_insured, parts.pool[insured]):
        return run.finish(_NOT_INSURED)
    negative = household.negative_list
    if run.check(_NEGATIVE_LIST, negative, _NEGATIVE_LIST_TEXTS[negative]):
        return run.finish(_NEGATIVE_LIST)
    year = facts.incident_date.year
    if run.check(
        _OUTSIDE_COVERAGE,
        year != scheme.year,
        f"incident {run.facts_doc['incident_date']} in {year}, scheme year {scheme.year}",
    ):
        return run.finish(_OUTSIDE_COVERAGE)
    days = (facts.reported_date - facts.incident_date).days
    window = scheme.report_window_days
    run.breakdown["report_days"] = days
    if run.check(
        _REPORTED_LATE,
        days > window,
        f"reported {days} days after the incident; window {window} days",
    ):
        return run.finish(_REPORTED_LATE)

    if isinstance(config, IllnessConfig | TieredConfig):
        return _cumulative(run, parts.cumulative[name])
    if isinstance(config, SchoolEntryConfig):
        return _school_entry(run)
    assert isinstance(config, IncomeDropConfig)
    return _income_drop(run, config)


def _income_test(run: _Run, base: Decimal | None, base_text: str | None) -> bool:
    """Record ``income_above_line``; True when (I − B) / n ≥ L (B = 0 outside cumulative)."""
    household = run.facts.household
    n = household.members
    income = household.annual_net_income
    line_text = run.parts.line_text
    remaining = income if base is None else income - base
    above = remaining >= run.parts.line * n
    shown = fmt(per_capita_floor(remaining, n))
    run.breakdown["income_test"] = {
        "I": run.facts_doc["household"]["annual_net_income"],
        "B": base_text,
        "n": n,
        "per_capita": shown,
        "per_capita_rounding": "floored to 0.01 for display; the test compares exact figures",
        "L": line_text,
        "above_line": above,
    }
    formula = "I / n" if base is None else "(I − B) / n"
    relation = "≥" if above else "<"
    return run.check(_INCOME_ABOVE_LINE, above, f"{formula} = {shown} {relation} L = {line_text}")


def _household_room(run: _Run) -> Decimal | None:
    """Record ``household_cap_reached``; returns R, or None when R ≤ 0."""
    parts, bd = run.parts, run.breakdown
    room = parts.household_cap - run.prior.household_paid
    room_text = fmt(room)
    bd["household_annual_cap"] = parts.household_cap_text
    bd["household_paid"] = run.prior_doc["household_paid"]
    bd["R"] = room_text
    if run.check(_HOUSEHOLD_CAP_REACHED, room <= 0, f"R = {room_text}"):
        return None
    return room


def _pay(run: _Run, amount: Decimal, room: Decimal, base_text: str | None = None) -> Assessment:
    exact = min(amount, room)
    run.breakdown["household_cap_applied"] = room < amount
    run.breakdown["payout_unrounded"] = fmt(exact)
    payout = round_payout(exact)
    # Validation refuses what can only pay nothing and a sub-fen gross is category_cap_reached,
    # so an eligible assessment always pays at least 0.01 (module doc, "No eligible 0.00").
    assert payout > 0, f"eligible assessment would pay {payout}"
    return run.finish(None, payout, base_text)


_BASE_FORMULA: Mapping[Category, str] = MappingProxyType(
    {c: " − ".join(keys) for c, keys in EXPENSE_KEYS.items() if keys}
)


def _cumulative(run: _Run, parts: _CumulativeParts) -> Assessment:
    facts, prior, bd = run.facts, run.prior, run.breakdown
    keys = parts.keys
    # A cumulative category's expense holds Decimals only (ClaimFacts validated them): .get is
    # ClaimFacts.amount, and the facts' texts of the same amounts are the components' texts.
    expense = cast(Mapping[str, Decimal], facts.expense)
    texts = run.facts_doc["expense"]
    raw = expense.get(keys[0], ZERO) - sum([expense.get(key, ZERO) for key in keys[1:]], ZERO)
    b = max(ZERO, raw)
    raw_text = fmt(raw)
    b_text = raw_text if b is raw else fmt(b)
    bd["b_components"] = {key: texts.get(key, "0.00") for key in keys}
    bd["b_formula"] = parts.formula
    bd["b_before_floor"] = raw_text
    bd["b"] = b_text
    if run.check(_NO_LOSS, b <= 0, f"b = {b_text}"):
        return run.finish(_NO_LOSS)

    run.base_added = b
    big_b = prior.category_base + b
    big_b_text = fmt(big_b)
    bd["B"] = big_b_text
    if _income_test(run, big_b, big_b_text):
        return run.finish(_INCOME_ABOVE_LINE, base_text=b_text)

    deductible, deductible_text, basis = parts.deductibles[facts.household.status._value_]
    bd["deductible_basis"] = basis
    x = max(ZERO, big_b - deductible)
    x_text = fmt(x)
    bd["D"] = deductible_text
    bd["X"] = x_text
    if run.check(_BELOW_DEDUCTIBLE, x <= 0, f"X = max(0, B − D) = {x_text}"):
        return run.finish(_BELOW_DEDUCTIBLE, base_text=b_text)

    # tier_slices and g(X), written out: each tier's slice of X and its pay, summed in order
    g = ZERO
    tiers = []
    for tier, lower_text, upper_text, rate_text in parts.tiers:
        upper = tier.upper
        top = x if upper is None else min(x, upper)
        amount = max(ZERO, top - tier.lower)
        pay = tier.rate * amount
        g += pay
        tiers.append({"from": lower_text, "to": upper_text, "amount": fmt(amount), "rate": rate_text, "pay": fmt(pay)})
    bd["tiers"] = tiers
    cap = parts.cap
    f = min(g, cap)
    gross = f - prior.category_paid
    g_text = fmt(g)
    gross_text = fmt(gross)
    bd["g"] = g_text
    bd["cap"] = parts.cap_text
    bd["cap_applied"] = g > cap
    bd["f"] = g_text if f is g else fmt(f)
    bd["category_paid"] = run.prior_doc["category_paid"]
    bd["gross"] = gross_text
    # A positive gross under half a fen would round to a 0.00 payout: treated as cap reached.
    cap_reached = gross <= 0 or round_payout(gross) <= 0
    if run.check(_CATEGORY_CAP_REACHED, cap_reached, f"gross = f − category_paid = {gross_text}"):
        return run.finish(_CATEGORY_CAP_REACHED, base_text=b_text)

    room = _household_room(run)
    if room is None:
        return run.finish(_HOUSEHOLD_CAP_REACHED, base_text=b_text)
    return _pay(run, gross, room, b_text)


def _school_entry(run: _Run) -> Assessment:
    facts, bd = run.facts, run.breakdown
    if _income_test(run, None, None):
        return run.finish(_INCOME_ABOVE_LINE)
    level = facts.school_level
    # the scheme's lump sums by level text (LumpSums.for_level: None for a level not listed or unknown)
    lump_sum = None if level is None else run.parts.lump_sums.get(level)
    bd["level"] = level
    bd["lump_sum"] = None if lump_sum is None else lump_sum[1]
    if run.check(
        _LEVEL_NOT_COVERED,
        lump_sum is None,
        f"level {level!r} {'not ' if lump_sum is None else ''}listed by the scheme",
    ):
        return run.finish(_LEVEL_NOT_COVERED)
    assert lump_sum is not None
    duplicate = run.prior.same_student_level_paid
    if run.check(
        _DUPLICATE,
        duplicate,
        f"same student and level {'already' if duplicate else 'not yet'} paid",
    ):
        return run.finish(_DUPLICATE)
    room = _household_room(run)
    if room is None:
        return run.finish(_HOUSEHOLD_CAP_REACHED)
    return _pay(run, lump_sum[0], room)


def _income_drop(run: _Run, config: IncomeDropConfig) -> Assessment:
    facts, bd = run.facts, run.breakdown
    household = facts.household
    income = household.annual_net_income
    previous = household.previous_annual_net_income
    assert run.parts.drop is not None
    min_ratio_text, cap_text = run.parts.drop
    p = ZERO if previous is None else previous
    drop = p - income
    # (P − I) / P ≥ ratio, compared as P − I ≥ ratio × P (P > 0) so nothing is divided.
    enough = p > 0 and drop >= config.min_drop_ratio * p
    household_doc = run.facts_doc["household"]
    bd["P"] = household_doc["previous_annual_net_income"]
    bd["I"] = household_doc["annual_net_income"]
    bd["drop"] = fmt(drop)
    bd["drop_ratio"] = fmt_rate(ratio_floor(drop, p)) if p > 0 else None
    bd["min_drop_ratio"] = min_ratio_text
    detail = (
        f"(P − I) / P = {bd['drop_ratio']} vs min {bd['min_drop_ratio']}" if p > 0 else "no previous-year income P > 0"
    )
    if run.check(_DROP_TOO_SMALL, not enough, detail):
        return run.finish(_DROP_TOO_SMALL)
    if _income_test(run, None, None):
        return run.finish(_INCOME_ABOVE_LINE)
    paid_before = run.prior.category_paid
    paid = paid_before > 0
    paid_text = run.prior_doc["category_paid"]
    bd["category_paid"] = paid_text
    if run.check(
        _ALREADY_PAID_THIS_YEAR,
        paid,
        f"income drop paid this year (category_paid) = {paid_text}",
    ):
        return run.finish(_ALREADY_PAID_THIS_YEAR)
    n = household.members
    gap = run.parts.line * n - income
    amount = min(gap, config.cap)
    bd["gap"] = fmt(gap)
    bd["gap_formula"] = "L × n − I"
    bd["cap"] = cap_text
    bd["cap_applied"] = gap > config.cap
    bd["f"] = bd["gap"] if amount is gap else cap_text
    room = _household_room(run)
    if room is None:
        return run.finish(_HOUSEHOLD_CAP_REACHED)
    return _pay(run, amount, room)


# ---------------------------------------------------------------------------------------------
# Explaining

CATEGORY_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "illness": "因病 illness",
        "disaster_accident": "因灾因意外 disaster/accident",
        "school_entry": "因学入学 school entry",
        "in_school": "因学在校 in school",
        "income_drop": "收入骤减 income drop",
        "industry_loss": "产业损失 industry loss",
    }
)

REJECTION_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "category_not_covered": "方案未包含该类别 category not covered",
        "not_insured": "未参保 not insured",
        "negative_list": "属负面清单 on the negative list",
        "outside_coverage": "不在保险年度内 outside the scheme year",
        "reported_late": "超过报案时限 reported late",
        "no_loss": "无损失 no loss",
        "income_above_line": "收入高于保障线 income above the line",
        "below_deductible": "未达起付线 below the deductible",
        "category_cap_reached": "已达类别封顶 category cap reached",
        "household_cap_reached": "已达家庭年度封顶 household cap reached",
        "level_not_covered": "学段不在保障范围 level not covered",
        "duplicate": "同一学生同一学段已赔付 duplicate",
        "drop_too_small": "收入降幅不足 drop too small",
        "already_paid_this_year": "本年度已赔付 already paid this year",
    }
)

_RESULT_LABELS = {"pass": "通过 pass", "fail": "未通过 fail", "not_reached": "未检查 not reached"}

# (breakdown key, label) printed in this order when present.
_FIGURES: tuple[tuple[str, str], ...] = (
    ("b", "本次基数 b"),
    ("B", "累计基数 B"),
    ("D", "起付线 D"),
    ("X", "超起付线部分 X"),
    ("g", "分段赔付 g(X)"),
    ("cap", "类别封顶 cap"),
    ("f", "封顶后 f"),
    ("category_paid", "本类已赔 category_paid"),
    ("gross", "本次应赔 gross"),
    ("level", "学段 level"),
    ("lump_sum", "定额 lump sum"),
    ("P", "上年收入 P"),
    ("I", "本年收入 I"),
    ("drop_ratio", "降幅 (P − I) / P"),
    ("min_drop_ratio", "最低降幅 min drop ratio"),
    ("gap", "缺口 L × n − I"),
    ("household_annual_cap", "家庭年度封顶 household cap"),
    ("household_paid", "家庭已赔 household_paid"),
    ("R", "家庭剩余额度 R"),
    ("payout_unrounded", "赔付(未舍入) payout before rounding"),
)


def explain(assessment: Assessment | Mapping[str, Any]) -> list[str]:
    """Lines a cadre can read, Chinese then English, from an assessment or a stored breakdown."""
    bd = assessment.breakdown if isinstance(assessment, Assessment) else assessment
    scheme = bd["scheme"]
    lines = [
        f"方案 Scheme: {scheme['code']} v{scheme['version']} ({scheme['year']})",
        f"类别 Category: {CATEGORY_LABELS.get(bd['category'], bd['category'])}",
    ]
    for check in bd["checks"]:
        if check["result"] == "not_reached":
            continue
        label = REJECTION_LABELS.get(check["code"], check["code"])
        line = f"检查 Check [{check['code']}] {label}: {_RESULT_LABELS[check['result']]}"
        lines.append(f"{line} — {check['detail']}" if check["detail"] else line)
    test = bd.get("income_test")
    if test is not None:
        formula = "人均 (I − B) / n" if test["B"] is not None else "人均 I / n"
        relation = "≥" if test["above_line"] else "<"
        lines.append(f"{formula} = {test['per_capita']} {relation} 保障线 L = {test['L']}")
    for key, label in _FIGURES:
        if key == "g" and "tiers" in bd:
            for tier in bd["tiers"]:
                upper = "∞" if tier["to"] is None else tier["to"]
                lines.append(f"分段 Tier {tier['from']}–{upper}: {tier['amount']} × {tier['rate']} = {tier['pay']}")
        if key == "D" and key in bd:
            lines.append(f"{label} = {bd[key]} ({bd['deductible_basis']})")
        elif key == "cap" and key in bd:
            lines.append(f"{label} = {bd[key]}{' (applied 已封顶)' if bd.get('cap_applied') else ''}")
        elif key == "R" and key in bd:
            lines.append(f"{label} = {bd[key]}{' (applied 已封顶)' if bd.get('household_cap_applied') else ''}")
        elif bd.get(key) is not None:
            lines.append(f"{label} = {bd[key]}")
    if bd["eligible"]:
        lines.append(f"赔付金额 Payout = {bd['payout']} ({bd['rounding']})")
    else:
        code = bd["rejection_code"]
        lines.append(f"拒赔 Rejected: {REJECTION_LABELS.get(code, code)} [{code}]")
    return lines
