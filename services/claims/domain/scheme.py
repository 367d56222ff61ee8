"""Anti-poverty insurance scheme (防贫保险方案): the parameters of rules.md §2.1.

A scheme is one county's cover for one year, versioned. ``parse_scheme`` turns its JSON form
into frozen dataclasses, reporting every problem at once as ``(dotted field path, message)``
pairs (``categories.illness.tiers[1].from``); ``scheme_to_dict`` gives the JSON form back
(money as strings with 2 places, rates as given) so that
``parse_scheme(scheme_to_dict(s)) == s``.

Choices where the spec is silent, all checked by ``parse_scheme``:

- ``version`` is optional in the input (the reference scheme has none) and defaults to 1;
  the claims service assigns versions, a used version never changes.
- ``code``: 1–64 characters of ``A–Z a–z 0–9 . _ -``, starting with a letter or digit.
- ``year``: 2000–2100; ``report_window_days``: 0–3660; ``notice_days``: 1–365.
- ``protection_line`` must be positive (with 0 every household would be above the line);
  every other amount is non-negative. Amounts have at most 2 decimal places and are at
  most 999,999,999,999.99; rates have at most 6 decimal places.
- A cumulative category has 1–20 tiers. The last tier may be closed: a loss above its ``to``
  then pays nothing more.
- ``categories`` must name at least one category; ``school_entry.lump_sums`` at least one
  level. Unknown fields are refused everywhere, so a typo never silently means "absent".
- **Insurer and contract** (§2.1): ``insurer`` (承保机构, 1–200 characters), ``policy_number``
  (1–64) and the contract period ``contract_start`` / ``contract_end`` (ISO dates, start ≤ end;
  either may be given alone) are optional, so schemes stored before they existed stay valid;
  notices, simulations and previews show them when present. The period is the insurer's
  contract and is not checked against the scheme year (contracts may straddle years).
- **School levels**: the six of §2.1; a scheme lists any subset.
- **Protection line** L: either ``protection_line`` alone, or ``poverty_standard`` (money > 0)
  with ``protection_line_multiplier`` (> 0, ≤ 100, at most 6 places); then L is the exact
  product rounded half up to 0.01, and a ``protection_line`` given as well must equal it (else
  the error names ``protection_line``). One of the pair without the other is refused.
- **Nothing that can only pay nothing** (rules.md §2.2 "no eligible assessment pays 0.00"):
  this is enforced by validation, not by a rejection code. A school-entry lump sum of 0.00, a
  category cap of 0.00 (cumulative or income drop) and tiers whose rates are all 0 are
  refused ("pays nothing": leave the level or the category out instead). With those refused,
  every eligible path pays at least 0.01: a lump sum ≥ 0.01, an income-drop gap L × n − I > 0
  capped by a cap ≥ 0.01, a cumulative gross that is rejected ``category_cap_reached`` when it
  rounds to 0.00, all bounded by a household room R > 0 in whole fen. A household cap of 0.00
  stays valid: it rejects every claim with ``household_cap_reached`` (a county that stopped
  paying for the year), never an eligible 0.00. Schemes stored before this rule are read with
  ``parse_scheme(..., stored=True)``: such a level or category is read as not covered
  (``level_not_covered`` / ``category_not_covered``) instead of refusing the stored document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum
from typing import Any

from services.claims.domain.values import CENT, InvalidInput, fmt, fmt_rate, has_places, money, rate, to_decimal
from shared.contracts.vocabulary import HouseholdStatus as HouseholdStatus  # the shared vocabulary (issue 11)


class Category(StrEnum):
    """The six categories (六类) of rules.md §2."""

    ILLNESS = "illness"
    DISASTER_ACCIDENT = "disaster_accident"
    SCHOOL_ENTRY = "school_entry"
    IN_SCHOOL = "in_school"
    INCOME_DROP = "income_drop"
    INDUSTRY_LOSS = "industry_loss"


CUMULATIVE_CATEGORIES: frozenset[Category] = frozenset(
    {Category.ILLNESS, Category.DISASTER_ACCIDENT, Category.IN_SCHOOL, Category.INDUSTRY_LOSS}
)


class SchoolLevel(StrEnum):
    SENIOR_HIGH = "senior_high"  # 普通高中
    SECONDARY_VOCATIONAL = "secondary_vocational"  # 中职
    HIGHER_VOCATIONAL = "higher_vocational"  # 高职
    JUNIOR_COLLEGE = "junior_college"  # 大专
    UNDERGRADUATE = "undergraduate"  # 本科
    POSTGRADUATE = "postgraduate"  # 研究生


class PoolMode(StrEnum):
    ENROLLED = "enrolled"  # only enrolled households are covered
    ALL_RURAL = "all_rural"  # the county buys cover and every household is covered


class SchemeInvalid(InvalidInput):
    """A scheme failed validation; ``errors`` is ``[(field_path, message), ...]``."""


@dataclass(frozen=True, slots=True)
class Tier:
    """Pays ``rate`` on the part of X between ``lower`` and ``upper`` (None: unbounded)."""

    lower: Decimal
    upper: Decimal | None
    rate: Decimal


@dataclass(frozen=True, slots=True)
class IllnessDeductibles:
    """The illness deductible (起付线) by household status; all five are required."""

    ordinary: Decimal
    lifted_out: Decimal
    unstable: Decimal
    marginal: Decimal
    sudden_hardship: Decimal

    def for_status(self, status: HouseholdStatus) -> Decimal:
        result: Decimal = getattr(self, HouseholdStatus(status).value)
        return result


@dataclass(frozen=True, slots=True)
class IllnessConfig:
    deductible: IllnessDeductibles
    tiers: tuple[Tier, ...]
    cap: Decimal


@dataclass(frozen=True, slots=True)
class TieredConfig:
    """disaster_accident, in_school and industry_loss: one deductible, tiers, a cap."""

    deductible: Decimal
    tiers: tuple[Tier, ...]
    cap: Decimal


@dataclass(frozen=True, slots=True)
class LumpSums:
    """The school-entry lump sum by level; None: the level is not covered."""

    senior_high: Decimal | None = None
    secondary_vocational: Decimal | None = None
    higher_vocational: Decimal | None = None
    junior_college: Decimal | None = None
    undergraduate: Decimal | None = None
    postgraduate: Decimal | None = None

    def for_level(self, level: SchoolLevel | str) -> Decimal | None:
        """The lump sum of ``level``; None for a level not listed or not known at all."""
        try:
            known = SchoolLevel(level)
        except ValueError:
            return None
        result: Decimal | None = getattr(self, known.value)
        return result


@dataclass(frozen=True, slots=True)
class SchoolEntryConfig:
    lump_sums: LumpSums


@dataclass(frozen=True, slots=True)
class IncomeDropConfig:
    min_drop_ratio: Decimal
    cap: Decimal


CategoryConfig = IllnessConfig | TieredConfig | SchoolEntryConfig | IncomeDropConfig


@dataclass(frozen=True, slots=True)
class SchemeCategories:
    """The categories a scheme covers; None: not covered."""

    illness: IllnessConfig | None = None
    disaster_accident: TieredConfig | None = None
    school_entry: SchoolEntryConfig | None = None
    in_school: TieredConfig | None = None
    income_drop: IncomeDropConfig | None = None
    industry_loss: TieredConfig | None = None

    def get(self, category: Category) -> CategoryConfig | None:
        result: CategoryConfig | None = getattr(self, Category(category).value)
        return result

    def covered(self) -> tuple[Category, ...]:
        return tuple(c for c in Category if self.get(c) is not None)


@dataclass(frozen=True, slots=True)
class Scheme:
    code: str
    version: int
    county_code: str
    year: int
    premium_per_person: Decimal
    pool_mode: PoolMode
    protection_line: Decimal  # L
    household_annual_cap: Decimal
    report_window_days: int
    notice_days: int
    categories: SchemeCategories
    insurer: str | None = None  # 承保机构
    policy_number: str | None = None
    contract_start: date | None = None
    contract_end: date | None = None
    poverty_standard: Decimal | None = None  # with the multiplier, L is derived from them
    protection_line_multiplier: Decimal | None = None

    def contract_info(self) -> dict[str, str | None]:
        """Insurer, policy number and contract period as shown on notices and reports."""
        return {
            "insurer": self.insurer,
            "policy_number": self.policy_number,
            "contract_start": None if self.contract_start is None else self.contract_start.isoformat(),
            "contract_end": None if self.contract_end is None else self.contract_end.isoformat(),
        }


# ---------------------------------------------------------------------------------------------
# Parsing

YEAR_MIN, YEAR_MAX = 2000, 2100
REPORT_WINDOW_MAX = 3660
NOTICE_DAYS_MAX = 365
MAX_TIERS = 20
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_COUNTY_CODE = re.compile(r"[0-9]{6}")

_TOP_REQUIRED = (
    "code",
    "county_code",
    "year",
    "premium_per_person",
    "pool_mode",
    "household_annual_cap",
    "report_window_days",
    "notice_days",
    "categories",
)
_TOP_OPTIONAL = (
    "version",
    "protection_line",  # required unless poverty_standard × protection_line_multiplier give it
    "poverty_standard",
    "protection_line_multiplier",
    "insurer",
    "policy_number",
    "contract_start",
    "contract_end",
)
INSURER_MAX = 200
POLICY_NUMBER_MAX = 64
MULTIPLIER_MAX = Decimal("100")
MULTIPLIER_PLACES = 6
_LINE_CONTEXT = Context(prec=60)
PAYS_NOTHING = "pays nothing: leave it out of the scheme instead"
_TIERED_FIELDS = ("deductible", "tiers", "cap")
_STATUS_VALUES = frozenset(s.value for s in HouseholdStatus)
_LEVEL_VALUES = frozenset(level.value for level in SchoolLevel)
_CATEGORY_VALUES = frozenset(c.value for c in Category)
_POOL_MODE_VALUES = frozenset(m.value for m in PoolMode)


class _Errors:
    def __init__(self, *, stored: bool = False) -> None:
        self.items: list[tuple[str, str]] = []
        self.stored = stored  # reading a stored document: what pays nothing is read as not covered

    def add(self, path: str, message: str) -> None:
        self.items.append((path, message))


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _obj(
    value: object, path: str, errors: _Errors, required: Sequence[str], optional: Sequence[str] = ()
) -> Mapping[str, Any] | None:
    """Check ``value`` is an object with exactly the allowed keys (reporting each problem)."""
    if not isinstance(value, Mapping):
        errors.add(path or "(root)", f"must be an object, got {type(value).__name__}")
        return None
    allowed = set(required) | set(optional)
    for key in value:
        if key not in allowed:
            errors.add(_join(path, key), "unknown field")
    for key in required:
        if key not in value:
            errors.add(_join(path, key), "required field is missing")
    return value


def _field(data: Mapping[str, Any], key: str, path: str, errors: _Errors, convert: Any) -> Any:
    """``convert(data[key])``, or None (with an error) when missing or invalid."""
    if key not in data:
        return None  # already reported by _obj
    try:
        return convert(data[key])
    except ValueError as exc:
        errors.add(_join(path, key), str(exc))
        return None


def _non_negative_money(value: object) -> Decimal:
    return money(value)


def _positive_money(value: object) -> Decimal:
    result = money(value)
    if result <= 0:
        raise ValueError("must be greater than 0")
    return result


def _int_between(low: int, high: int) -> Any:
    def convert(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be an integer, got {type(value).__name__}")
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return convert


def _code(value: object) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise ValueError(
            "must be 1 to 64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def _county_code(value: object) -> str:
    if not isinstance(value, str) or not _COUNTY_CODE.fullmatch(value):
        raise ValueError(f"must be a 6-digit county code string, got {value!r}")
    return value


def _text(limit: int) -> Any:
    def convert(value: object) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {type(value).__name__}")
        text = value.strip()
        if not text:
            raise ValueError("must not be blank")
        if len(text) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return text

    return convert


def _iso_date(value: object) -> date:
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"must be a date written YYYY-MM-DD, got {value!r}")


def _multiplier(value: object) -> Decimal:
    result = to_decimal(value)
    if result <= 0:
        raise ValueError("must be greater than 0")
    if result > MULTIPLIER_MAX:
        raise ValueError(f"must be at most {MULTIPLIER_MAX}")
    if not has_places(result, MULTIPLIER_PLACES):
        raise ValueError(f"must have at most {MULTIPLIER_PLACES} decimal places")
    return result


def derived_protection_line(poverty_standard: Decimal, multiplier: Decimal) -> Decimal:
    """L = poverty_standard × protection_line_multiplier, exact, then rounded half up to 0.01."""
    return _LINE_CONTEXT.multiply(poverty_standard, multiplier).quantize(
        CENT, rounding=ROUND_HALF_UP, context=_LINE_CONTEXT
    )


def _protection_line(top: Mapping[str, Any], errors: _Errors) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(L, poverty_standard, multiplier): the line alone, or derived from the pair (rules.md §2.1)."""
    line = _field(top, "protection_line", "", errors, _positive_money)
    standard = _field(top, "poverty_standard", "", errors, _positive_money)
    multiplier = _field(top, "protection_line_multiplier", "", errors, _multiplier)
    has_standard, has_multiplier = "poverty_standard" in top, "protection_line_multiplier" in top
    if has_standard != has_multiplier:
        missing = "protection_line_multiplier" if has_standard else "poverty_standard"
        errors.add(missing, "poverty_standard and protection_line_multiplier go together (the line is their product)")
        return line, standard, multiplier
    if not has_standard:
        if "protection_line" not in top:
            errors.add(
                "protection_line",
                "required field is missing (or give poverty_standard and protection_line_multiplier)",
            )
        return line, None, None
    if standard is None or multiplier is None:
        return line, standard, multiplier
    derived = derived_protection_line(standard, multiplier)
    if derived <= 0:
        errors.add("protection_line_multiplier", "the derived protection line must be greater than 0")
    if "protection_line" in top and line is not None and line != derived:
        errors.add(
            "protection_line",
            f"must equal poverty_standard × protection_line_multiplier = {fmt(standard)} × "
            f"{fmt_rate(multiplier)} = {fmt(derived)} (or leave it out), got {fmt(line)}",
        )
    return derived, standard, multiplier


def _pool_mode(value: object) -> PoolMode:
    if isinstance(value, str) and value in _POOL_MODE_VALUES:
        return PoolMode(value)
    raise ValueError(f"must be one of {', '.join(m.value for m in PoolMode)}, got {value!r}")


def _tier_upper(value: object) -> Decimal | None:
    return None if value is None else money(value)


def _parse_tiers(value: object, path: str, errors: _Errors) -> tuple[Tier, ...] | None:
    if not isinstance(value, list | tuple):
        errors.add(path, f"must be a list of tiers, got {type(value).__name__}")
        return None
    if not value:
        errors.add(path, "must contain at least one tier")
        return None
    if len(value) > MAX_TIERS:
        errors.add(path, f"must contain at most {MAX_TIERS} tiers")
        return None
    before = len(errors.items)
    tiers: list[Tier] = []
    for index, raw in enumerate(value):
        tier_path = f"{path}[{index}]"
        tier_before = len(errors.items)
        data = _obj(raw, tier_path, errors, ("from", "to", "rate"))
        if data is None:
            continue
        lower = _field(data, "from", tier_path, errors, _non_negative_money)
        upper = _field(data, "to", tier_path, errors, _tier_upper)
        tier_rate = _field(data, "rate", tier_path, errors, rate)
        if len(errors.items) == tier_before:
            tiers.append(Tier(lower=lower, upper=upper, rate=tier_rate))
    if len(errors.items) > before:
        return None  # shape errors first; order checks on half-read tiers would only add noise
    if tiers[0].lower != 0:
        errors.add(f"{path}[0].from", f"the first tier must start at 0, got {fmt(tiers[0].lower)}")
    for index, tier in enumerate(tiers):
        if tier.upper is not None and tier.upper <= tier.lower:
            errors.add(f"{path}[{index}].to", f"must be greater than from ({fmt(tier.lower)}), got {fmt(tier.upper)}")
        if index == 0:
            continue
        previous = tiers[index - 1]
        if previous.upper is None:
            errors.add(f"{path}[{index - 1}].to", "only the last tier may be open (to: null)")
        elif tier.lower != previous.upper:
            errors.add(
                f"{path}[{index}].from",
                f"tiers must be contiguous and ordered: expected {fmt(previous.upper)} "
                f"(the previous tier's to), got {fmt(tier.lower)}",
            )
    return tuple(tiers) if len(errors.items) == before else None


def _parse_illness(value: object, path: str, errors: _Errors) -> IllnessConfig | None:
    before = len(errors.items)
    data = _obj(value, path, errors, _TIERED_FIELDS)
    if data is None:
        return None
    deductibles: dict[str, Decimal] = {}
    if "deductible" in data:
        ded_path = _join(path, "deductible")
        raw = data["deductible"]
        if not isinstance(raw, Mapping):
            errors.add(ded_path, "must be an object mapping each household status to an amount")
        else:
            statuses = ", ".join(s.value for s in HouseholdStatus)
            for key in raw:
                if key not in _STATUS_VALUES:
                    errors.add(_join(ded_path, key), f"unknown household status; expected one of {statuses}")
                    continue
                converted = _field(raw, key, ded_path, errors, _non_negative_money)
                if converted is not None:
                    deductibles[key] = converted
            for status in HouseholdStatus:
                if status.value not in raw:
                    errors.add(_join(ded_path, status.value), "missing deductible for this household status")
    tiers = _parse_tiers(data["tiers"], _join(path, "tiers"), errors) if "tiers" in data else None
    cap = _field(data, "cap", path, errors, _non_negative_money)
    if len(errors.items) > before or tiers is None or cap is None:
        return None
    if not _pays_something(tiers, cap, path, errors):
        return None
    return IllnessConfig(deductible=IllnessDeductibles(**deductibles), tiers=tiers, cap=cap)


def _pays_something(tiers: tuple[Tier, ...], cap: Decimal, path: str, errors: _Errors) -> bool:
    """False (with an error, unless reading a stored scheme) when a category can only pay 0.00."""
    ok = True
    if all(tier.rate == 0 for tier in tiers):
        ok = False
        if not errors.stored:
            errors.add(_join(path, "tiers"), f"every tier's rate is 0, so the category {PAYS_NOTHING}")
    if cap == 0:
        ok = False
        if not errors.stored:
            errors.add(_join(path, "cap"), f"a cap of 0.00 {PAYS_NOTHING}")
    return ok


def _parse_tiered(value: object, path: str, errors: _Errors) -> TieredConfig | None:
    data = _obj(value, path, errors, _TIERED_FIELDS)
    if data is None:
        return None
    deductible = _field(data, "deductible", path, errors, _non_negative_money)
    tiers = _parse_tiers(data["tiers"], _join(path, "tiers"), errors) if "tiers" in data else None
    cap = _field(data, "cap", path, errors, _non_negative_money)
    if deductible is None or tiers is None or cap is None:
        return None
    if not _pays_something(tiers, cap, path, errors):
        return None
    return TieredConfig(deductible=deductible, tiers=tiers, cap=cap)


def _parse_school_entry(value: object, path: str, errors: _Errors) -> SchoolEntryConfig | None:
    data = _obj(value, path, errors, ("lump_sums",))
    if data is None or "lump_sums" not in data:
        return None
    sums_path = _join(path, "lump_sums")
    raw = data["lump_sums"]
    if not isinstance(raw, Mapping):
        errors.add(sums_path, "must be an object mapping each school level to an amount")
        return None
    if not raw:
        errors.add(sums_path, "must list at least one school level")
        return None
    before = len(errors.items)
    levels = ", ".join(level.value for level in SchoolLevel)
    sums: dict[str, Decimal] = {}
    for key in raw:
        if key not in _LEVEL_VALUES:
            errors.add(_join(sums_path, key), f"unknown school level; expected one of {levels}")
            continue
        converted = _field(raw, key, sums_path, errors, _non_negative_money)
        if converted is None:
            continue
        if converted == 0:
            if not errors.stored:
                errors.add(_join(sums_path, key), f"a lump sum of 0.00 {PAYS_NOTHING}")
            continue  # stored: the level is read as not listed
        sums[key] = converted
    if len(errors.items) > before:
        return None
    return SchoolEntryConfig(lump_sums=LumpSums(**sums))


def _parse_income_drop(value: object, path: str, errors: _Errors) -> IncomeDropConfig | None:
    data = _obj(value, path, errors, ("min_drop_ratio", "cap"))
    if data is None:
        return None
    ratio = _field(data, "min_drop_ratio", path, errors, rate)
    cap = _field(data, "cap", path, errors, _non_negative_money)
    if ratio is None or cap is None:
        return None
    if cap == 0:
        if not errors.stored:
            errors.add(_join(path, "cap"), f"a cap of 0.00 {PAYS_NOTHING}")
        return None
    return IncomeDropConfig(min_drop_ratio=ratio, cap=cap)


_CATEGORY_PARSERS: dict[Category, Any] = {
    Category.ILLNESS: _parse_illness,
    Category.DISASTER_ACCIDENT: _parse_tiered,
    Category.SCHOOL_ENTRY: _parse_school_entry,
    Category.IN_SCHOOL: _parse_tiered,
    Category.INCOME_DROP: _parse_income_drop,
    Category.INDUSTRY_LOSS: _parse_tiered,
}


def _parse_categories(value: object, path: str, errors: _Errors) -> SchemeCategories | None:
    if not isinstance(value, Mapping):
        errors.add(path, f"must be an object keyed by category, got {type(value).__name__}")
        return None
    if not value:
        errors.add(path, "must cover at least one category")
        return None
    before = len(errors.items)
    names = ", ".join(c.value for c in Category)
    parsed: dict[str, Any] = {}
    for key, config in value.items():
        if key not in _CATEGORY_VALUES:
            errors.add(_join(path, key), f"unknown category; expected one of {names}")
            continue
        category = Category(key)
        result = _CATEGORY_PARSERS[category](config, _join(path, key), errors)
        if result is not None:
            parsed[category.value] = result
    if len(errors.items) > before:
        return None
    return SchemeCategories(**parsed)


def parse_scheme(data: Mapping[str, Any], *, stored: bool = False) -> Scheme:
    """Validate a scheme's JSON form (rules.md §2.1) and build a ``Scheme``.

    Amounts may be strings (``"100.00"``) or numbers; a float is read through ``str``.
    Raises ``SchemeInvalid`` listing every problem found as ``(field_path, message)``.
    ``stored=True`` reads a document stored earlier: what can only pay nothing (see the module
    doc) is read as not covered instead of refused; everything else is checked as for new input.
    """
    errors = _Errors(stored=stored)
    top = _obj(data, "", errors, _TOP_REQUIRED, _TOP_OPTIONAL)
    if top is None:
        raise SchemeInvalid(errors.items)
    code = _field(top, "code", "", errors, _code)
    version = _field(top, "version", "", errors, _int_between(1, 2**31 - 1)) if "version" in top else 1
    county_code = _field(top, "county_code", "", errors, _county_code)
    year = _field(top, "year", "", errors, _int_between(YEAR_MIN, YEAR_MAX))
    premium = _field(top, "premium_per_person", "", errors, _non_negative_money)
    pool_mode = _field(top, "pool_mode", "", errors, _pool_mode)
    protection_line, poverty_standard, multiplier = _protection_line(top, errors)
    insurer = _field(top, "insurer", "", errors, _text(INSURER_MAX))
    policy_number = _field(top, "policy_number", "", errors, _text(POLICY_NUMBER_MAX))
    contract_start = _field(top, "contract_start", "", errors, _iso_date)
    contract_end = _field(top, "contract_end", "", errors, _iso_date)
    if contract_start is not None and contract_end is not None and contract_end < contract_start:
        errors.add(
            "contract_end",
            f"must not be before contract_start ({contract_start.isoformat()}), got {contract_end.isoformat()}",
        )
    household_cap = _field(top, "household_annual_cap", "", errors, _non_negative_money)
    report_window = _field(top, "report_window_days", "", errors, _int_between(0, REPORT_WINDOW_MAX))
    notice_days = _field(top, "notice_days", "", errors, _int_between(1, NOTICE_DAYS_MAX))
    categories = _parse_categories(top["categories"], "categories", errors) if "categories" in top else None
    if errors.items:
        raise SchemeInvalid(errors.items)
    assert categories is not None
    assert protection_line is not None  # without errors, given or derived
    return Scheme(
        code=code,
        version=version,
        county_code=county_code,
        year=year,
        premium_per_person=premium,
        pool_mode=pool_mode,
        protection_line=protection_line,
        household_annual_cap=household_cap,
        report_window_days=report_window,
        notice_days=notice_days,
        categories=categories,
        insurer=insurer,
        policy_number=policy_number,
        contract_start=contract_start,
        contract_end=contract_end,
        poverty_standard=poverty_standard,
        protection_line_multiplier=multiplier,
    )


# ---------------------------------------------------------------------------------------------
# Serialising


def _tiers_to_list(tiers: tuple[Tier, ...]) -> list[dict[str, Any]]:
    return [
        {"from": fmt(t.lower), "to": None if t.upper is None else fmt(t.upper), "rate": fmt_rate(t.rate)} for t in tiers
    ]


def category_config_to_dict(config: CategoryConfig) -> dict[str, Any]:
    """The JSON form of one category's parameters."""
    if isinstance(config, IllnessConfig):
        return {
            "deductible": {s.value: fmt(config.deductible.for_status(s)) for s in HouseholdStatus},
            "tiers": _tiers_to_list(config.tiers),
            "cap": fmt(config.cap),
        }
    if isinstance(config, TieredConfig):
        return {
            "deductible": fmt(config.deductible),
            "tiers": _tiers_to_list(config.tiers),
            "cap": fmt(config.cap),
        }
    if isinstance(config, SchoolEntryConfig):
        return {
            "lump_sums": {
                f.name: fmt(amount)
                for f in fields(config.lump_sums)
                if (amount := getattr(config.lump_sums, f.name)) is not None
            }
        }
    return {"min_drop_ratio": fmt_rate(config.min_drop_ratio), "cap": fmt(config.cap)}


def scheme_to_dict(scheme: Scheme) -> dict[str, Any]:
    """The JSON form of a scheme; ``parse_scheme(scheme_to_dict(s)) == s``."""
    categories: dict[str, Any] = {}
    for category in Category:
        config = scheme.categories.get(category)
        if config is not None:
            categories[category.value] = category_config_to_dict(config)
    result: dict[str, Any] = {
        "code": scheme.code,
        "version": scheme.version,
        "county_code": scheme.county_code,
        "year": scheme.year,
        "premium_per_person": fmt(scheme.premium_per_person),
        "pool_mode": scheme.pool_mode.value,
        "protection_line": fmt(scheme.protection_line),
        "household_annual_cap": fmt(scheme.household_annual_cap),
        "report_window_days": scheme.report_window_days,
        "notice_days": scheme.notice_days,
        "categories": categories,
    }
    # Optional fields only when present, so a scheme without them keeps its stored form.
    if scheme.poverty_standard is not None and scheme.protection_line_multiplier is not None:
        result["poverty_standard"] = fmt(scheme.poverty_standard)
        result["protection_line_multiplier"] = fmt_rate(scheme.protection_line_multiplier)
    for key, value in scheme.contract_info().items():
        if value is not None:
            result[key] = value
    return result
