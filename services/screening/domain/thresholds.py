"""Screening thresholds (rules.md §1.1): parameters per county and year, never constants.

A county stores one :class:`Thresholds` per year, versioned; every run and every decision
keeps the version it used. :data:`DEMO_THRESHOLDS` holds the demo defaults of rules.md §1.1
and :data:`DEMO_SOURCES` the source note of each value ([S] published, [A] demo default that a
county replaces).

Beyond the table of §1.1 the spec writes four more numbers into its rules (the 0.5 × I of
``illness``, the 1.5 × line of ``unstable_employment``, and the two "6" of risk elimination).
rules.md says every number is a parameter, so they are fields here too, with the spec's
values as defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final

from .errors import FieldError, ThresholdsInvalid

MONEY_PLACES: Final = 2
RATIO_PLACES: Final = 4


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every parameter of the monthly screening and of the monitoring case workflow.

    Money in yuan (exact ``Decimal`` with at most two places); ratios as ``Decimal``.
    """

    monitoring_line: Decimal  # 监测范围, yuan per person per year
    medical_warning_line: Decimal  # medical self-pay within the 12-month window
    education_warning_line: Decimal  # education self-pay within the window
    disaster_warning_line: Decimal  # disaster loss within the window
    accident_warning_line: Decimal  # accident loss within the window
    industry_warning_line: Decimal  # industry loss within the window
    income_drop_ratio: Decimal  # (I_prev − I) / I_prev that fires income_drop
    notice_min_days: int = 5  # 公示 minimum, calendar days
    identification_limit_working_days: int = 20
    suggested_list_day: int = 10  # suggested lists reach townships by this day of the month
    # Numbers that rules.md writes into its rules (see the module docstring).
    illness_income_share: Decimal = Decimal("0.5")  # illness fires when M ≥ share × I
    employment_line_factor: Decimal = Decimal("1.5")  # unstable_employment: I / n < factor × line
    elimination_min_months: int = 6  # months since confirmation before elimination
    elimination_lead_free_runs: int = 6  # monthly runs without a lead before elimination

    def __post_init__(self) -> None:
        errors = _range_errors({f.name: getattr(self, f.name) for f in fields(self)})
        if errors:
            raise ThresholdsInvalid(errors)

    def as_dict(self) -> dict[str, str | int]:
        """Wire/storage form: decimals as plain strings (``"6000.00"``), integers as ints."""
        out: dict[str, str | int] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = format(value, "f") if isinstance(value, Decimal) else value
        return out


DECIMAL_FIELDS: Final[tuple[str, ...]] = (
    "monitoring_line",
    "medical_warning_line",
    "education_warning_line",
    "disaster_warning_line",
    "accident_warning_line",
    "industry_warning_line",
    "income_drop_ratio",
    "illness_income_share",
    "employment_line_factor",
)
INT_FIELDS: Final[tuple[str, ...]] = (
    "notice_min_days",
    "identification_limit_working_days",
    "suggested_list_day",
    "elimination_min_months",
    "elimination_lead_free_runs",
)
MONEY_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "monitoring_line",
        "medical_warning_line",
        "education_warning_line",
        "disaster_warning_line",
        "accident_warning_line",
        "industry_warning_line",
    }
)
#: Fields without a default: a county must state them.
REQUIRED_FIELDS: Final[tuple[str, ...]] = (*sorted(MONEY_FIELDS), "income_drop_ratio")


def parse_thresholds(data: Mapping[str, object], *, base: Thresholds | None = None) -> Thresholds:
    """Validate a mapping (JSON body, CSV row, DB row) into :class:`Thresholds`.

    Decimals may be given as ``Decimal``, ``int`` or a decimal string; floats are refused
    (binary floats cannot hold money exactly). Integers may be ``int`` or a digit string.
    Fields missing from ``data`` come from ``base`` when given (a new version edited from the
    current one), else from the dataclass defaults; the seven money/ratio lines of §1.1 have
    no default. Every problem is reported at once in :class:`ThresholdsInvalid`.
    """
    errors: list[FieldError] = []
    known = set(DECIMAL_FIELDS) | set(INT_FIELDS)
    errors.extend(FieldError(key, "unknown field") for key in sorted(set(data) - known))

    values: dict[str, object] = {}
    for name in (*DECIMAL_FIELDS, *INT_FIELDS):
        if name not in data:
            if base is not None:
                values[name] = getattr(base, name)
            elif name in REQUIRED_FIELDS:
                errors.append(FieldError(name, "required"))
            continue
        raw = data[name]
        parsed, message = _parse_decimal(raw) if name in DECIMAL_FIELDS else _parse_int(raw)
        if message is not None:
            errors.append(FieldError(name, message))
        else:
            values[name] = parsed

    errors.extend(_range_errors(values))
    if errors:
        raise ThresholdsInvalid(errors)
    return Thresholds(**values)  # type: ignore[arg-type]


def _parse_decimal(raw: object) -> tuple[Decimal | None, str | None]:
    if isinstance(raw, (bool, float)):
        return None, 'must be a decimal string such as "6000.00", not a float or boolean'
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            return None, "not a decimal number"
    else:
        return None, "must be a decimal string"
    if not value.is_finite():
        return None, "must be a finite number"
    return value, None


def _parse_int(raw: object) -> tuple[int | None, str | None]:
    if isinstance(raw, bool):
        return None, "must be an integer"
    if isinstance(raw, int):
        return raw, None
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip()), None
    return None, "must be an integer"


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _range_errors(values: Mapping[str, object]) -> list[FieldError]:
    """Range checks on already-typed values (absent names are skipped)."""
    errors: list[FieldError] = []

    def check_decimal(name: str, ok: bool, message: str, places: int) -> None:
        value = values.get(name)
        if value is None:
            return
        if not isinstance(value, Decimal) or isinstance(value, bool):
            errors.append(FieldError(name, "must be a Decimal"))
        elif not value.is_finite():
            errors.append(FieldError(name, "must be a finite number"))
        elif not ok:
            errors.append(FieldError(name, message))
        elif _places(value) > places:
            errors.append(FieldError(name, f"at most {places} decimal places"))

    def dec(name: str) -> Decimal:
        value = values.get(name)
        return value if isinstance(value, Decimal) and value.is_finite() else Decimal(0)

    for name in sorted(MONEY_FIELDS):
        check_decimal(name, dec(name) > 0, "must be greater than 0", MONEY_PLACES)
    check_decimal(
        "income_drop_ratio",
        Decimal(0) < dec("income_drop_ratio") <= 1,
        "must be greater than 0 and at most 1",
        RATIO_PLACES,
    )
    check_decimal(
        "illness_income_share",
        Decimal(0) < dec("illness_income_share") <= 1,
        "must be greater than 0 and at most 1",
        RATIO_PLACES,
    )
    check_decimal(
        "employment_line_factor",
        dec("employment_line_factor") >= 1,
        "must be at least 1",
        RATIO_PLACES,
    )

    int_ranges: dict[str, tuple[int, int, str]] = {
        "notice_min_days": (1, 366, "must be between 1 and 366 days"),
        "identification_limit_working_days": (1, 366, "must be between 1 and 366 working days"),
        "suggested_list_day": (1, 28, "must be a day between 1 and 28 (every month has it)"),
        "elimination_min_months": (0, 120, "must be between 0 and 120 months"),
        "elimination_lead_free_runs": (0, 120, "must be between 0 and 120 runs"),
    }
    for name, (low, high, message) in int_ranges.items():
        value = values.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(FieldError(name, "must be an integer"))
        elif not low <= value <= high:
            errors.append(FieldError(name, message))
    return errors


DEMO_THRESHOLDS: Final = Thresholds(
    monitoring_line=Decimal("6000.00"),
    medical_warning_line=Decimal("10000.00"),
    education_warning_line=Decimal("8000.00"),
    disaster_warning_line=Decimal("5000.00"),
    accident_warning_line=Decimal("5000.00"),
    industry_warning_line=Decimal("10000.00"),
    income_drop_ratio=Decimal("0.30"),
    notice_min_days=5,
    identification_limit_working_days=20,
    suggested_list_day=10,
    illness_income_share=Decimal("0.5"),
    employment_line_factor=Decimal("1.5"),
    elimination_min_months=6,
    elimination_lead_free_runs=6,
)

#: Source note per value of :data:`DEMO_THRESHOLDS` (stored beside each value of a version).
DEMO_SOURCES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "monitoring_line": "[S] 6,000 in 2021 schemes; provinces set higher lines since (e.g. Yunnan 8,700 in 2025)",
        "medical_warning_line": "[A] demo default, medical self-pay in 12 months",
        "education_warning_line": "[A] demo default, education self-pay in 12 months",
        "disaster_warning_line": "[A] demo default, disaster loss in 12 months",
        "accident_warning_line": "[A] demo default, accident loss in 12 months",
        "industry_warning_line": "[A] demo default, industry loss in 12 months",
        "income_drop_ratio": "[A] demo default",
        "notice_min_days": "[S] monitoring notice (公示) of at least 5 days",
        "identification_limit_working_days": "[S] identification within 20 working days",
        "suggested_list_day": "[seed document] suggested lists reach townships by day 10",
        "illness_income_share": "[rules.md §1.3] illness fires when M ≥ 0.5 × I",
        "employment_line_factor": "[rules.md §1.3] unstable_employment when I / n < 1.5 × line",
        "elimination_min_months": "[rules.md §1.4] ≥ 6 months since confirmation",
        "elimination_lead_free_runs": "[rules.md §1.4] no lead in the last 6 monthly runs",
    }
)
