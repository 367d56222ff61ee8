"""Screening thresholds (rules.md §1.1), feeds (§1.2) and the reference evaluation (§1.3)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.screening.domain.errors import ThresholdsInvalid
from services.screening.domain.risk import (
    CODE_SOURCE_KINDS,
    DEPARTMENT_KINDS,
    DEPARTMENT_LABELS,
    RISK_LABELS,
    Department,
    Evaluation,
    EvaluationOutcome,
    FeedKind,
    HouseholdFigures,
    LeadBasis,
    LeadRouting,
    RiskCode,
    department_may_send,
    evaluate_household,
    floor_per_capita,
    income_as_of,
    rank_key,
    route_evaluation,
    screening_amount,
    suggest_type,
)
from services.screening.domain.thresholds import (
    DECIMAL_FIELDS,
    DEMO_SOURCES,
    DEMO_THRESHOLDS,
    INT_FIELDS,
    REQUIRED_FIELDS,
    Thresholds,
    parse_thresholds,
)
from shared.contracts.vocabulary import HouseholdStatus, MonitoringType

D = Decimal
T = DEMO_THRESHOLDS

# --- thresholds -----------------------------------------------------------------------------


def test_demo_thresholds_are_the_values_of_rules_1_1() -> None:
    assert T.monitoring_line == D("6000.00")
    assert T.medical_warning_line == D("10000.00")
    assert T.education_warning_line == D("8000.00")
    assert T.disaster_warning_line == D("5000.00")
    assert T.accident_warning_line == D("5000.00")
    assert T.industry_warning_line == D("10000.00")
    assert T.income_drop_ratio == D("0.30")
    assert (T.notice_min_days, T.identification_limit_working_days, T.suggested_list_day) == (5, 20, 10)
    assert (T.illness_income_share, T.employment_line_factor) == (D("0.5"), D("1.5"))
    assert (T.elimination_min_months, T.elimination_lead_free_runs) == (6, 6)


def test_every_demo_value_has_a_source_note() -> None:
    names = {f.name for f in dataclasses.fields(Thresholds)}
    assert set(DEMO_SOURCES) == names
    assert DEMO_SOURCES["monitoring_line"].startswith("[S] 6,000 in 2021 schemes")
    assert all(note.startswith("[") for note in DEMO_SOURCES.values())


def test_thresholds_round_trip_through_their_wire_form() -> None:
    wire = T.as_dict()
    assert wire["monitoring_line"] == "6000.00"
    assert wire["notice_min_days"] == 5
    assert parse_thresholds(wire) == T


def test_thresholds_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        T.monitoring_line = D(1)  # type: ignore[misc]


def test_parse_accepts_strings_ints_and_decimals_and_fills_int_defaults() -> None:
    t = parse_thresholds(
        {
            "monitoring_line": "8700.00",
            "medical_warning_line": 10000,
            "education_warning_line": D("8000"),
            "disaster_warning_line": " 5000.00 ",
            "accident_warning_line": "5000",
            "industry_warning_line": "10000.5",
            "income_drop_ratio": "0.25",
            "notice_min_days": "7",
        }
    )
    assert t.monitoring_line == D("8700.00")
    assert t.industry_warning_line == D("10000.5")
    assert t.notice_min_days == 7
    assert t.identification_limit_working_days == 20
    assert t.employment_line_factor == D("1.5")


def test_parse_with_base_changes_only_the_given_fields() -> None:
    t = parse_thresholds({"monitoring_line": "8700.00"}, base=T)
    assert t == dataclasses.replace(T, monitoring_line=D("8700.00"))


def test_parse_reports_every_problem_at_once() -> None:
    with pytest.raises(ThresholdsInvalid) as info:
        parse_thresholds({"monitoring_line": 6000.0, "colour": "red", "notice_min_days": True})
    errors = {e.field: e.message for e in info.value.errors}
    assert info.value.code == "invalid_thresholds"
    assert "float" in errors["monitoring_line"]
    assert errors["colour"] == "unknown field"
    assert errors["notice_min_days"] == "must be an integer"
    for name in REQUIRED_FIELDS:
        if name != "monitoring_line":
            assert errors[name] == "required"


def _valid() -> dict[str, object]:
    return dict(T.as_dict())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("monitoring_line", "0", "must be greater than 0"),
        ("monitoring_line", "-1.00", "must be greater than 0"),
        ("monitoring_line", "6000.001", "at most 2 decimal places"),
        ("monitoring_line", "abc", "not a decimal number"),
        ("monitoring_line", "NaN", "must be a finite number"),
        ("monitoring_line", "Infinity", "must be a finite number"),
        ("monitoring_line", True, "not a float or boolean"),
        ("monitoring_line", None, "must be a decimal string"),
        ("medical_warning_line", "0.00", "must be greater than 0"),
        ("income_drop_ratio", "0", "must be greater than 0 and at most 1"),
        ("income_drop_ratio", "1.01", "must be greater than 0 and at most 1"),
        ("income_drop_ratio", "0.12345", "at most 4 decimal places"),
        ("illness_income_share", "1.5", "must be greater than 0 and at most 1"),
        ("employment_line_factor", "0.9", "must be at least 1"),
        ("notice_min_days", 0, "must be between 1 and 366 days"),
        ("notice_min_days", "five", "must be an integer"),
        ("notice_min_days", 5.0, "must be an integer"),
        ("identification_limit_working_days", -1, "must be between 1 and 366 working days"),
        ("suggested_list_day", 29, "must be a day between 1 and 28"),
        ("elimination_min_months", 121, "must be between 0 and 120 months"),
    ],
)
def test_parse_refuses(field: str, value: object, message: str) -> None:
    data = _valid() | {field: value}
    with pytest.raises(ThresholdsInvalid) as info:
        parse_thresholds(data)
    assert [e.field for e in info.value.errors] == [field]
    assert message in info.value.errors[0].message


def test_a_one_decimal_ratio_and_a_ratio_of_one_are_accepted() -> None:
    assert parse_thresholds(_valid() | {"income_drop_ratio": "1"}).income_drop_ratio == 1
    assert parse_thresholds(_valid() | {"income_drop_ratio": "0.3"}).income_drop_ratio == D("0.3")


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ThresholdsInvalid):
        dataclasses.replace(T, monitoring_line=D("-5"))
    with pytest.raises(ThresholdsInvalid):
        dataclasses.replace(T, suggested_list_day=0)


def test_field_lists_cover_the_dataclass() -> None:
    assert set(DECIMAL_FIELDS) | set(INT_FIELDS) == {f.name for f in dataclasses.fields(Thresholds)}


# --- departments and feed kinds -------------------------------------------------------------


def test_every_kind_has_a_department_and_every_department_a_label() -> None:
    sent = set().union(*DEPARTMENT_KINDS.values())
    assert sent == set(FeedKind)
    assert set(DEPARTMENT_KINDS) == set(Department) == set(DEPARTMENT_LABELS)
    assert set(RISK_LABELS) == set(RiskCode)


@pytest.mark.parametrize(
    ("department", "kind", "allowed"),
    [
        ("medical_insurance", "medical_expense", True),
        ("medical_insurance", "education_expense", False),
        ("education", "education_expense", True),
        ("education", "school_admission", True),
        ("civil_affairs", "dibao_change", True),
        ("civil_affairs", "death", True),
        ("public_security", "death", True),
        ("public_security", "accident", True),
        ("emergency_management", "accident", True),
        ("emergency_management", "disaster_loss", True),
        ("agriculture", "industry_loss", True),
        ("human_resources", "job_loss", True),
        ("disability_federation", "disability_new", True),
        ("housing", "housing_unsafe", True),
        ("housing", "water_unsafe", False),
        ("water", "water_unsafe", True),
        ("water", "death", False),
        ("unknown_department", "death", False),
        ("water", "unknown_kind", False),
    ],
)
def test_department_may_send(department: str, kind: str, allowed: bool) -> None:
    assert department_may_send(department, kind) is allowed


@pytest.mark.parametrize(
    ("kind", "amounts", "expected"),
    [
        ("medical_expense", {"total_cost": D(120000), "basic_insurance": D(60000), "self_paid": D(35000)}, 35000),
        ("education_expense", {"cost": D(15000), "aid": D(6000)}, 9000),
        ("education_expense", {"cost": D(5000), "aid": D(6000)}, 0),
        ("disaster_loss", {"loss": D("80000.50")}, D("80000.50")),
        ("accident", {"loss": D(7000)}, 7000),
        ("industry_loss", {"loss": D(30000)}, 30000),
        ("industry_loss", {}, 0),
        ("job_loss", {"loss": D(1)}, 0),
        ("school_admission", {}, 0),
    ],
)
def test_screening_amount(kind: str, amounts: dict[str, Decimal], expected: Decimal | int) -> None:
    assert screening_amount(kind, amounts) == expected


def test_code_sources_are_feed_kinds_of_some_department() -> None:
    for kinds in CODE_SOURCE_KINDS.values():
        assert kinds <= set(FeedKind)
    assert RiskCode.INCOME_LOW not in CODE_SOURCE_KINDS


# --- evaluation: each code below, at and above its threshold ---------------------------------

# n = 4, I = 40000 (10000 a person), two workers, nothing in the window: fires nothing.
BASE = HouseholdFigures(members=4, income=D("40000.00"), labour_count=2)


def test_the_base_household_fires_nothing() -> None:
    e = evaluate_household(BASE, T)
    assert e.outcome is EvaluationOutcome.EVALUATED
    assert e.codes == ()
    assert not e.is_lead
    assert e.suggested_type is None
    assert e.adjusted_income == D("40000.00")
    assert e.per_capita_income == e.adjusted_per_capita == D("10000.00")


def _fig(**changes: object) -> HouseholdFigures:
    return dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]


THRESHOLD_TABLE = [
    # income_low: I / n < 6000 ⇔ I < 24000
    (RiskCode.INCOME_LOW, {"income": D("23999.99")}, True),
    (RiskCode.INCOME_LOW, {"income": D("24000.00")}, False),
    (RiskCode.INCOME_LOW, {"income": D("24000.01")}, False),
    (RiskCode.INCOME_LOW, {"income": D("-100.00")}, True),
    # income_drop: (I_prev − I) / I_prev ≥ 0.30, I_prev = 40000 ⇒ I ≤ 28000
    (RiskCode.INCOME_DROP, {"income_prev": D("40000"), "income": D("28000.01")}, False),
    (RiskCode.INCOME_DROP, {"income_prev": D("40000"), "income": D("28000.00")}, True),
    (RiskCode.INCOME_DROP, {"income_prev": D("40000"), "income": D("27999.99")}, True),
    (RiskCode.INCOME_DROP, {"income_prev": None, "income": D("100")}, False),
    (RiskCode.INCOME_DROP, {"income_prev": D("0"), "income": D("-100")}, False),
    (RiskCode.INCOME_DROP, {"income_prev": D("-10"), "income": D("-100")}, False),
    (RiskCode.INCOME_DROP, {"income_prev": D("40000"), "income": D("50000")}, False),
    # illness by the warning line: M ≥ 10000 (0.5 × I = 20000 is higher here)
    (RiskCode.ILLNESS, {"medical_self_pay": D("9999.99")}, False),
    (RiskCode.ILLNESS, {"medical_self_pay": D("10000.00")}, True),
    (RiskCode.ILLNESS, {"medical_self_pay": D("10000.01")}, True),
    # illness by income share: M ≥ 0.5 × I with n = 2, I = 15000 ⇒ M ≥ 7500
    (RiskCode.ILLNESS, {"members": 2, "income": D("15000"), "medical_self_pay": D("7499.99")}, False),
    (RiskCode.ILLNESS, {"members": 2, "income": D("15000"), "medical_self_pay": D("7500.00")}, True),
    (RiskCode.ILLNESS, {"members": 2, "income": D("15000"), "medical_self_pay": D("7500.01")}, True),
    # ... but it needs some medical spending (rules.md §1.3 "Precisely": M > 0), even with income ≤ 0:
    # with I = 0 the share amount is 0, so M = 0 is "at" it and M = 0.01 above it
    (RiskCode.ILLNESS, {"income": D("0"), "medical_self_pay": D("0")}, False),
    (RiskCode.ILLNESS, {"income": D("0"), "medical_self_pay": D("0.01")}, True),
    (RiskCode.ILLNESS, {"income": D("-500"), "medical_self_pay": D("0")}, False),
    (RiskCode.ILLNESS, {"income": D("-500"), "medical_self_pay": D("0.01")}, True),
    # education: E ≥ 8000
    (RiskCode.EDUCATION, {"education_self_pay": D("7999.99")}, False),
    (RiskCode.EDUCATION, {"education_self_pay": D("8000.00")}, True),
    (RiskCode.EDUCATION, {"education_self_pay": D("8000.01")}, True),
    # disaster / accident: ≥ 5000 each
    (RiskCode.DISASTER, {"disaster_loss": D("4999.99")}, False),
    (RiskCode.DISASTER, {"disaster_loss": D("5000.00")}, True),
    (RiskCode.DISASTER, {"disaster_loss": D("5000.01")}, True),
    (RiskCode.ACCIDENT, {"accident_loss": D("4999.99")}, False),
    (RiskCode.ACCIDENT, {"accident_loss": D("5000.00")}, True),
    (RiskCode.ACCIDENT, {"accident_loss": D("5000.01")}, True),
    (RiskCode.ACCIDENT, {"disaster_loss": D("9999")}, False),
    # industry_failure: ≥ 10000
    (RiskCode.INDUSTRY_FAILURE, {"industry_loss": D("9999.99")}, False),
    (RiskCode.INDUSTRY_FAILURE, {"industry_loss": D("10000.00")}, True),
    (RiskCode.INDUSTRY_FAILURE, {"industry_loss": D("10000.01")}, True),
    # unstable_employment: a job loss and I / n < 1.5 × 6000 = 9000 ⇔ I < 36000
    (RiskCode.UNSTABLE_EMPLOYMENT, {"has_job_loss": True, "income": D("35999.99")}, True),
    (RiskCode.UNSTABLE_EMPLOYMENT, {"has_job_loss": True, "income": D("36000.00")}, False),
    (RiskCode.UNSTABLE_EMPLOYMENT, {"has_job_loss": True, "income": D("36000.01")}, False),
    (RiskCode.UNSTABLE_EMPLOYMENT, {"has_job_loss": False, "income": D("35999.99")}, False),
    # disability: a new grade 1 or 2 (1 is the most severe)
    (RiskCode.DISABILITY, {"new_disability_grade": 1}, True),
    (RiskCode.DISABILITY, {"new_disability_grade": 2}, True),
    (RiskCode.DISABILITY, {"new_disability_grade": 3}, False),
    (RiskCode.DISABILITY, {"new_disability_grade": 4}, False),
    (RiskCode.DISABILITY, {"new_disability_grade": None}, False),
    # lack_of_labour: no member able to work
    (RiskCode.LACK_OF_LABOUR, {"labour_count": 0}, True),
    (RiskCode.LACK_OF_LABOUR, {"labour_count": 1}, False),
    # housing / water: a record
    (RiskCode.HOUSING, {"housing_unsafe": True}, True),
    (RiskCode.HOUSING, {"housing_unsafe": False}, False),
    (RiskCode.WATER, {"water_unsafe": True}, True),
    (RiskCode.WATER, {"water_unsafe": False}, False),
]


@pytest.mark.parametrize(
    ("code", "changes", "fires"),
    THRESHOLD_TABLE,
    ids=[f"{c}-{'fires' if f else 'quiet'}-{i}" for i, (c, _, f) in enumerate(THRESHOLD_TABLE)],
)
def test_risk_code_threshold(code: RiskCode, changes: dict[str, object], fires: bool) -> None:
    e = evaluate_household(_fig(**changes), T)
    assert (code in e.codes) is fires
    assert (e.figures(code) is not None) is fires


def test_thresholds_are_parameters_not_constants() -> None:
    t = dataclasses.replace(T, monitoring_line=D("8700.00"), medical_warning_line=D("20000.00"))
    # 40000 / 4 = 10000 ≥ 8700 but 34799.99 / 4 < 8700
    assert RiskCode.INCOME_LOW in evaluate_household(_fig(income=D("34799.99")), t).codes
    assert RiskCode.INCOME_LOW not in evaluate_household(_fig(income=D("34800.00")), t).codes
    assert RiskCode.ILLNESS not in evaluate_household(_fig(medical_self_pay=D("19999.99")), t).codes
    t2 = dataclasses.replace(T, illness_income_share=D("0.25"), employment_line_factor=D("2"))
    assert RiskCode.ILLNESS in evaluate_household(_fig(medical_self_pay=D("10000")), t2).codes
    job = _fig(has_job_loss=True, income=D("47999.99"))
    assert RiskCode.UNSTABLE_EMPLOYMENT in evaluate_household(job, t2).codes


def test_codes_come_in_risk_code_order_with_their_figures() -> None:
    h = _fig(
        members=3,
        income=D("17999.99"),
        income_prev=D("30000"),
        medical_self_pay=D("12000"),
        housing_unsafe=True,
        labour_count=0,
    )
    e = evaluate_household(h, T)
    assert e.codes == (
        RiskCode.INCOME_LOW,
        RiskCode.INCOME_DROP,
        RiskCode.ILLNESS,
        RiskCode.LACK_OF_LABOUR,
        RiskCode.HOUSING,
    )
    # 17999.99 / 3 = 5999.996…: shown rounded down, so the figure agrees with the decision
    assert e.figures(RiskCode.INCOME_LOW) == {
        "income": D("17999.99"),
        "members": 3,
        "per_capita_income": D("5999.99"),
        "monitoring_line": D("6000.00"),
    }
    drop = e.figures(RiskCode.INCOME_DROP)
    assert drop is not None
    assert drop["drop_ratio"] == D("0.4000")
    illness = e.figures(RiskCode.ILLNESS)
    assert illness is not None
    assert illness["by_warning_line"] is True
    assert illness["by_income_share"] is True
    assert illness["income_share_amount"] == D("8999.995")
    assert e.figures(RiskCode.WATER) is None


# --- adjusted income and the lead decision ---------------------------------------------------


@pytest.mark.parametrize(
    ("sums", "is_lead"),
    [
        # I = 40000, n = 4: lead when I_adj < 24000, i.e. window sums > 16000
        ({"medical_self_pay": D("9000"), "education_self_pay": D("7000.01")}, True),
        ({"medical_self_pay": D("9000"), "education_self_pay": D("7000.00")}, False),
        ({"medical_self_pay": D("9000"), "education_self_pay": D("6999.99")}, False),
        ({"disaster_loss": D("4000"), "accident_loss": D("4000"), "industry_loss": D("8000.01")}, True),
        ({"disaster_loss": D("4000"), "accident_loss": D("4000"), "industry_loss": D("8000.00")}, False),
    ],
)
def test_lead_when_adjusted_income_per_person_is_below_the_line(sums: dict[str, Decimal], is_lead: bool) -> None:
    h = _fig(**sums)
    e = evaluate_household(h, T)
    assert e.adjusted_income == D("40000.00") - sum(sums.values())
    assert e.is_lead is is_lead
    assert e.lead_basis == ((LeadBasis.ADJUSTED_INCOME,) if is_lead else ())


def test_a_lead_may_carry_no_code_when_only_the_adjusted_income_is_low() -> None:
    # 7500 a person, medical self-pay 8000 (below both illness tests) ⇒ I_adj / n = 5500
    e = evaluate_household(_fig(income=D("30000"), medical_self_pay=D("8000")), T)
    assert e.codes == ()
    assert e.is_lead
    assert e.adjusted_per_capita == D("5500.00")


@pytest.mark.parametrize(
    ("changes", "basis"),
    [
        ({"housing_unsafe": True}, (LeadBasis.HOUSING,)),
        ({"water_unsafe": True}, (LeadBasis.WATER,)),
        ({"housing_unsafe": True, "water_unsafe": True}, (LeadBasis.HOUSING, LeadBasis.WATER)),
        (
            {"income": D("1000"), "water_unsafe": True},
            (LeadBasis.ADJUSTED_INCOME, LeadBasis.WATER),
        ),
    ],
)
def test_housing_or_water_make_a_lead_whatever_the_income(
    changes: dict[str, object], basis: tuple[LeadBasis, ...]
) -> None:
    e = evaluate_household(_fig(income=D("1000000"), **changes) if "income" not in changes else _fig(**changes), T)
    assert e.is_lead
    assert e.lead_basis == basis


def test_other_codes_alone_do_not_make_a_lead() -> None:
    e = evaluate_household(_fig(labour_count=0, new_disability_grade=1, income_prev=D("100000")), T)
    assert set(e.codes) == {RiskCode.INCOME_DROP, RiskCode.DISABILITY, RiskCode.LACK_OF_LABOUR}
    assert not e.is_lead


# --- rules.md §1.3 "Precisely": I as of P's year, no income on file --------------------------

INCOMES = {2022: D("30000"), 2023: D("32000"), 2024: D("20000")}


@pytest.mark.parametrize(
    ("incomes", "period_year", "expected"),
    [
        # the latest year ≤ P's year: below, at and above the latest year on file
        (INCOMES, 2023, (2023, D("32000"), D("30000"))),
        (INCOMES, 2024, (2024, D("20000"), D("32000"))),
        (INCOMES, 2025, (2024, D("20000"), D("32000"))),
        # the earliest year: no year before it, I_prev absent
        (INCOMES, 2022, (2022, D("30000"), None)),
        # before every year on file: no income on file
        (INCOMES, 2021, (None, None, None)),
        ({}, 2024, (None, None, None)),
        # a gap is not bridged: I_prev is the year just before I's, or absent
        ({2021: D("50000"), 2023: D("10000")}, 2023, (2023, D("10000"), None)),
        ({2021: D("50000"), 2023: D("10000")}, 2022, (2021, D("50000"), None)),
    ],
)
def test_income_as_of_the_periods_year(
    incomes: dict[int, Decimal], period_year: int, expected: tuple[int | None, Decimal | None, Decimal | None]
) -> None:
    assert income_as_of(incomes, period_year) == expected


def test_income_drop_as_of_a_past_period_ignores_later_years() -> None:
    # 2024's drop (32000 → 20000, 37.5 %) is not yet on file for a 2023 period
    for period_year, drops in ((2023, False), (2024, True), (2025, True)):
        _, income, prev = income_as_of(INCOMES, period_year)
        e = evaluate_household(_fig(income=income, income_prev=prev), T)
        assert (RiskCode.INCOME_DROP in e.codes) is drops, period_year


NO_INCOME = dataclasses.replace(BASE, income=None)

# Without income the income-based tests never fire, whatever the figures that would make them fire;
# every other code is evaluated as usual, below, at and above its line.
NO_INCOME_TABLE = [
    # income_low: not evaluated, whatever n
    (RiskCode.INCOME_LOW, {}, False),
    (RiskCode.INCOME_LOW, {"members": 1, "labour_count": 1}, False),
    # illness by income share: not evaluated (any M > 0 would be ≥ 0.5 × I for I ≤ 0) ...
    (RiskCode.ILLNESS, {"medical_self_pay": D("0.01")}, False),
    (RiskCode.ILLNESS, {"medical_self_pay": D("5000")}, False),
    # ... illness by the warning line still is
    (RiskCode.ILLNESS, {"medical_self_pay": D("9999.99")}, False),
    (RiskCode.ILLNESS, {"medical_self_pay": D("10000.00")}, True),
    (RiskCode.ILLNESS, {"medical_self_pay": D("10000.01")}, True),
    # unstable_employment: a job loss, but no I to compare with 1.5 × line
    (RiskCode.UNSTABLE_EMPLOYMENT, {"has_job_loss": True}, False),
    (RiskCode.UNSTABLE_EMPLOYMENT, {"has_job_loss": True, "members": 1, "labour_count": 1}, False),
    # the other codes
    (RiskCode.EDUCATION, {"education_self_pay": D("7999.99")}, False),
    (RiskCode.EDUCATION, {"education_self_pay": D("8000.00")}, True),
    (RiskCode.EDUCATION, {"education_self_pay": D("8000.01")}, True),
    (RiskCode.DISASTER, {"disaster_loss": D("4999.99")}, False),
    (RiskCode.DISASTER, {"disaster_loss": D("5000.00")}, True),
    (RiskCode.DISASTER, {"disaster_loss": D("5000.01")}, True),
    (RiskCode.ACCIDENT, {"accident_loss": D("4999.99")}, False),
    (RiskCode.ACCIDENT, {"accident_loss": D("5000.00")}, True),
    (RiskCode.ACCIDENT, {"accident_loss": D("5000.01")}, True),
    (RiskCode.INDUSTRY_FAILURE, {"industry_loss": D("9999.99")}, False),
    (RiskCode.INDUSTRY_FAILURE, {"industry_loss": D("10000.00")}, True),
    (RiskCode.INDUSTRY_FAILURE, {"industry_loss": D("10000.01")}, True),
    (RiskCode.DISABILITY, {"new_disability_grade": 2}, True),
    (RiskCode.DISABILITY, {"new_disability_grade": 3}, False),
    (RiskCode.LACK_OF_LABOUR, {"labour_count": 0}, True),
    (RiskCode.LACK_OF_LABOUR, {"labour_count": 1}, False),
    (RiskCode.HOUSING, {"housing_unsafe": True}, True),
    (RiskCode.WATER, {"water_unsafe": True}, True),
]


@pytest.mark.parametrize(
    ("code", "changes", "fires"),
    NO_INCOME_TABLE,
    ids=[f"{c}-{'fires' if f else 'quiet'}-{i}" for i, (c, _, f) in enumerate(NO_INCOME_TABLE)],
)
def test_no_income_on_file_evaluates_every_code_that_does_not_need_income(
    code: RiskCode, changes: dict[str, object], fires: bool
) -> None:
    e = evaluate_household(dataclasses.replace(NO_INCOME, **changes), T)  # type: ignore[arg-type]
    assert e.outcome is EvaluationOutcome.EVALUATED
    assert e.income_on_file is False
    assert (code in e.codes) is fires
    assert (e.figures(code) is not None) is fires
    assert not {RiskCode.INCOME_LOW, RiskCode.INCOME_DROP, RiskCode.UNSTABLE_EMPLOYMENT} & set(e.codes)
    assert (e.adjusted_income, e.per_capita_income, e.adjusted_per_capita) == (None, None, None)


def test_no_income_illness_by_the_line_shows_the_share_as_not_evaluated() -> None:
    e = evaluate_household(dataclasses.replace(NO_INCOME, medical_self_pay=D("12000")), T)
    assert e.figures(RiskCode.ILLNESS) == {
        "medical_self_pay": D("12000"),
        "medical_warning_line": D("10000.00"),
        "income": None,
        "illness_income_share": T.illness_income_share,
        "income_share_amount": None,
        "by_warning_line": True,
        "by_income_share": None,
    }


@pytest.mark.parametrize(
    ("changes", "is_lead", "basis"),
    [
        # housing and water still make a lead
        ({"housing_unsafe": True}, True, (LeadBasis.HOUSING,)),
        ({"water_unsafe": True}, True, (LeadBasis.WATER,)),
        ({"housing_unsafe": True, "water_unsafe": True}, True, (LeadBasis.HOUSING, LeadBasis.WATER)),
        # the I_adj condition is not evaluated: window sums far above any income do not make a lead
        ({}, False, ()),
        ({"medical_self_pay": D("1000000"), "disaster_loss": D("50000")}, False, ()),
        ({"labour_count": 0, "new_disability_grade": 1}, False, ()),
        ({"medical_self_pay": D("1000000"), "water_unsafe": True}, True, (LeadBasis.WATER,)),
    ],
)
def test_no_income_on_file_a_lead_only_by_housing_or_water(
    changes: dict[str, object], is_lead: bool, basis: tuple[LeadBasis, ...]
) -> None:
    e = evaluate_household(dataclasses.replace(NO_INCOME, **changes), T)  # type: ignore[arg-type]
    assert e.is_lead is is_lead
    assert e.lead_basis == basis
    assert (e.suggested_type is not None) is is_lead


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        # as the SQL run: lifted_out → unstable, else sudden hardship ("I / n < line" needs I)
        (HouseholdStatus.LIFTED_OUT, MonitoringType.UNSTABLE),
        (HouseholdStatus.ORDINARY, MonitoringType.SUDDEN_HARDSHIP),
        (HouseholdStatus.MARGINAL, MonitoringType.SUDDEN_HARDSHIP),
        (HouseholdStatus.UNSTABLE, MonitoringType.SUDDEN_HARDSHIP),
        (HouseholdStatus.SUDDEN_HARDSHIP, MonitoringType.SUDDEN_HARDSHIP),
    ],
)
def test_no_income_on_file_suggested_type(status: HouseholdStatus, expected: MonitoringType) -> None:
    e = evaluate_household(dataclasses.replace(NO_INCOME, status=status, housing_unsafe=True), T)
    assert e.suggested_type is expected
    assert suggest_type(status, None, 4, T) is expected


def test_income_prev_needs_an_income() -> None:
    with pytest.raises(ValueError, match="income_prev"):
        HouseholdFigures(members=2, income=None, labour_count=1, income_prev=D("30000"))


def test_no_income_leads_rank_after_leads_with_as_many_codes() -> None:
    # SQL: ORDER BY cardinality(codes) DESC, adj / n (nulls last)
    two_rich = _eval(income=D("1000000"), housing_unsafe=True, labour_count=0)
    two_no_income = evaluate_household(dataclasses.replace(NO_INCOME, housing_unsafe=True, labour_count=0), T)
    one_poor = _eval(income=D("26000"), housing_unsafe=True)
    one_rich = _eval(income=D("1000000"), housing_unsafe=True)
    one_no_income = evaluate_household(dataclasses.replace(NO_INCOME, water_unsafe=True), T)
    no_members = evaluate_household(HouseholdFigures(members=0, income=None, labour_count=0), T)
    assert [len(e.codes) for e in (two_rich, two_no_income, one_poor, one_rich, one_no_income)] == [2, 2, 1, 1, 1]
    shuffled = [no_members, one_no_income, one_rich, two_no_income, one_poor, two_rich]
    assert sorted(shuffled, key=rank_key) == [two_rich, two_no_income, one_poor, one_rich, one_no_income, no_members]


@pytest.mark.parametrize(
    ("changes", "status", "open_case", "routing"),
    [
        ({"housing_unsafe": True}, HouseholdStatus.ORDINARY, False, LeadRouting.NEW_LEAD),
        ({"labour_count": 0}, HouseholdStatus.ORDINARY, False, LeadRouting.NONE),
        ({"labour_count": 0}, HouseholdStatus.MARGINAL, False, LeadRouting.CASE_EVIDENCE),
        ({"medical_self_pay": D("10000")}, HouseholdStatus.ORDINARY, True, LeadRouting.CASE_EVIDENCE),
        ({"medical_self_pay": D("9999.99")}, HouseholdStatus.ORDINARY, True, LeadRouting.NONE),
    ],
)
def test_no_income_on_file_routing(
    changes: dict[str, object], status: HouseholdStatus, open_case: bool, routing: LeadRouting
) -> None:
    e = evaluate_household(dataclasses.replace(NO_INCOME, **changes), T)  # type: ignore[arg-type]
    assert route_evaluation(e, status, open_case) is routing


# --- suggested type --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "income", "extra", "expected"),
    [
        # lifted_out → unstable, whatever the income
        (HouseholdStatus.LIFTED_OUT, D("1000"), {}, MonitoringType.UNSTABLE),
        (HouseholdStatus.LIFTED_OUT, D("40000"), {"housing_unsafe": True}, MonitoringType.UNSTABLE),
        # otherwise marginal if I / n < line ...
        (HouseholdStatus.ORDINARY, D("23999.99"), {}, MonitoringType.MARGINAL),
        # ... else sudden hardship (at the line and above)
        (HouseholdStatus.ORDINARY, D("24000.00"), {"medical_self_pay": D("1")}, MonitoringType.SUDDEN_HARDSHIP),
        (HouseholdStatus.ORDINARY, D("40000"), {"medical_self_pay": D("20000")}, MonitoringType.SUDDEN_HARDSHIP),
        (HouseholdStatus.ORDINARY, D("40000"), {"water_unsafe": True}, MonitoringType.SUDDEN_HARDSHIP),
        (HouseholdStatus.MARGINAL, D("1000"), {}, MonitoringType.MARGINAL),
        (HouseholdStatus.SUDDEN_HARDSHIP, D("1000"), {}, MonitoringType.MARGINAL),
    ],
)
def test_suggested_type(
    status: HouseholdStatus, income: Decimal, extra: dict[str, object], expected: MonitoringType
) -> None:
    e = evaluate_household(_fig(status=status, income=income, **extra), T)
    assert e.is_lead
    assert e.suggested_type is expected
    assert suggest_type(status, income, 4, T) is expected


def test_no_suggested_type_without_a_lead_and_suggest_type_needs_members() -> None:
    assert evaluate_household(_fig(status=HouseholdStatus.LIFTED_OUT), T).suggested_type is None
    with pytest.raises(ValueError):
        suggest_type(HouseholdStatus.ORDINARY, D(0), 0, T)


# --- n = 0 and input validation --------------------------------------------------------------


def test_a_household_without_members_is_not_evaluable() -> None:
    h = HouseholdFigures(members=0, income=D("0"), labour_count=0, housing_unsafe=True)
    e = evaluate_household(h, T)
    assert e.outcome is EvaluationOutcome.NO_MEMBERS
    assert e.outcome == "no_members"
    assert (e.codes, e.is_lead, e.suggested_type, e.adjusted_income) == ((), False, None, None)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"members": -1}, ValueError),
        ({"labour_count": 5}, ValueError),
        ({"labour_count": -1}, ValueError),
        ({"medical_self_pay": D("-0.01")}, ValueError),
        ({"industry_loss": D("-1")}, ValueError),
        ({"income": 40000.0}, TypeError),
        ({"income": D("NaN")}, TypeError),
        ({"income_prev": "1"}, TypeError),
        ({"income": None, "income_prev": D("1")}, ValueError),
        ({"new_disability_grade": 0}, ValueError),
        ({"new_disability_grade": 5}, ValueError),
        ({"members": True}, ValueError),
    ],
)
def test_household_figures_are_validated(changes: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        _fig(**changes)


def test_negative_income_is_allowed() -> None:
    e = evaluate_household(_fig(income=D("-2500.50")), T)
    assert e.per_capita_income == D("-625.13")  # rounded down
    assert RiskCode.INCOME_LOW in e.codes


# --- ranking and routing ---------------------------------------------------------------------


def _eval(**changes: object) -> Evaluation:
    return evaluate_household(_fig(**changes), T)


def test_rank_more_codes_first_then_lower_adjusted_income_per_person() -> None:
    three_codes = _eval(income=D("20000"), labour_count=0, housing_unsafe=True)
    two_codes_poorer = _eval(income=D("8000"), labour_count=0)
    two_codes_richer = _eval(income=D("16000"), labour_count=0)
    one_code = _eval(income=D("100"))
    no_members = evaluate_household(HouseholdFigures(members=0, income=D(0), labour_count=0), T)
    shuffled = [one_code, no_members, two_codes_richer, three_codes, two_codes_poorer]
    assert sorted(shuffled, key=rank_key) == [
        three_codes,
        two_codes_poorer,
        two_codes_richer,
        one_code,
        no_members,
    ]


def test_rank_compares_per_person_income_exactly() -> None:
    # 10000 / 3 = 3333.333… > 3333.33 × 3 / 3: a cent-rounded comparison would tie them
    a = evaluate_household(_fig(members=3, income=D("10000"), labour_count=1), T)
    b = evaluate_household(_fig(members=3, income=D("9999.99"), labour_count=1), T)
    assert a.adjusted_per_capita == b.adjusted_per_capita == D("3333.33")
    assert rank_key(b) < rank_key(a)


@pytest.mark.parametrize(
    ("changes", "status", "open_case", "routing"),
    [
        ({"income": D("100")}, HouseholdStatus.ORDINARY, False, LeadRouting.NEW_LEAD),
        ({"income": D("100")}, HouseholdStatus.LIFTED_OUT, False, LeadRouting.NEW_LEAD),
        ({"income": D("100")}, HouseholdStatus.ORDINARY, True, LeadRouting.CASE_EVIDENCE),
        ({"income": D("100")}, HouseholdStatus.MARGINAL, False, LeadRouting.CASE_EVIDENCE),
        ({"labour_count": 0}, HouseholdStatus.UNSTABLE, False, LeadRouting.CASE_EVIDENCE),
        ({"labour_count": 0}, HouseholdStatus.ORDINARY, False, LeadRouting.NONE),
        ({}, HouseholdStatus.SUDDEN_HARDSHIP, True, LeadRouting.NONE),
        ({}, HouseholdStatus.ORDINARY, False, LeadRouting.NONE),
    ],
)
def test_route_evaluation(
    changes: dict[str, object], status: HouseholdStatus, open_case: bool, routing: LeadRouting
) -> None:
    assert route_evaluation(_eval(**changes), status, open_case) is routing


def test_an_unevaluable_household_is_never_routed() -> None:
    e = evaluate_household(HouseholdFigures(members=0, income=D(0), labour_count=0), T)
    assert route_evaluation(e, HouseholdStatus.MARGINAL, True) is LeadRouting.NONE


# --- properties ------------------------------------------------------------------------------

cents = st.integers(min_value=-10_000_000, max_value=100_000_000).map(lambda c: D(c).scaleb(-2))
non_negative_cents = st.integers(min_value=0, max_value=10_000_000).map(lambda c: D(c).scaleb(-2))
line_cents = st.integers(min_value=100, max_value=5_000_000).map(lambda c: D(c).scaleb(-2))
ratio = st.integers(min_value=1, max_value=100).map(lambda c: D(c).scaleb(-2))


@st.composite
def households(draw: st.DrawFn) -> HouseholdFigures:
    members = draw(st.integers(min_value=0, max_value=12))
    income = draw(st.none() | cents)  # None: no income on file as of the period
    return HouseholdFigures(
        members=members,
        income=income,
        labour_count=draw(st.integers(min_value=0, max_value=members)),
        income_prev=None if income is None else draw(st.none() | cents),
        status=draw(st.sampled_from(HouseholdStatus)),
        medical_self_pay=draw(non_negative_cents),
        education_self_pay=draw(non_negative_cents),
        disaster_loss=draw(non_negative_cents),
        accident_loss=draw(non_negative_cents),
        industry_loss=draw(non_negative_cents),
        has_job_loss=draw(st.booleans()),
        new_disability_grade=draw(st.none() | st.integers(min_value=1, max_value=4)),
        housing_unsafe=draw(st.booleans()),
        water_unsafe=draw(st.booleans()),
    )


@st.composite
def thresholds(draw: st.DrawFn) -> Thresholds:
    return Thresholds(
        monitoring_line=draw(line_cents),
        medical_warning_line=draw(line_cents),
        education_warning_line=draw(line_cents),
        disaster_warning_line=draw(line_cents),
        accident_warning_line=draw(line_cents),
        industry_warning_line=draw(line_cents),
        income_drop_ratio=draw(ratio),
        illness_income_share=draw(ratio),
        employment_line_factor=draw(st.integers(min_value=100, max_value=300).map(lambda c: D(c).scaleb(-2))),
    )


def _oracle(h: HouseholdFigures, t: Thresholds) -> tuple[set[RiskCode], bool, MonitoringType | None]:
    """rules.md §1.3 read literally, with exact rational division (independent of the code), and
    its "Precisely" readings: without income on file (I is None) the income-based tests and the
    I_adj condition are not evaluated; illness by income share needs M > 0."""
    n = h.members
    q = Fraction
    income = None if h.income is None else q(h.income)
    per_capita = None if income is None else income / n
    line = q(t.monitoring_line)
    codes: set[RiskCode] = set()
    if per_capita is not None and per_capita < line:
        codes.add(RiskCode.INCOME_LOW)
    prev = h.income_prev
    if income is not None and prev is not None and prev > 0 and (q(prev) - income) / q(prev) >= q(t.income_drop_ratio):
        codes.add(RiskCode.INCOME_DROP)
    m = q(h.medical_self_pay)
    if m >= q(t.medical_warning_line) or (income is not None and m > 0 and m >= q(t.illness_income_share) * income):
        codes.add(RiskCode.ILLNESS)
    if h.education_self_pay >= t.education_warning_line:
        codes.add(RiskCode.EDUCATION)
    if h.disaster_loss >= t.disaster_warning_line:
        codes.add(RiskCode.DISASTER)
    if h.accident_loss >= t.accident_warning_line:
        codes.add(RiskCode.ACCIDENT)
    if h.industry_loss >= t.industry_warning_line:
        codes.add(RiskCode.INDUSTRY_FAILURE)
    if h.has_job_loss and per_capita is not None and per_capita < q(t.employment_line_factor) * line:
        codes.add(RiskCode.UNSTABLE_EMPLOYMENT)
    if h.new_disability_grade in (1, 2):
        codes.add(RiskCode.DISABILITY)
    if h.labour_count == 0:
        codes.add(RiskCode.LACK_OF_LABOUR)
    if h.housing_unsafe:
        codes.add(RiskCode.HOUSING)
    if h.water_unsafe:
        codes.add(RiskCode.WATER)
    window = sum(
        (q(x) for x in (h.medical_self_pay, h.education_self_pay, h.disaster_loss, h.accident_loss, h.industry_loss)),
        q(0),
    )
    by_income = income is not None and (income - window) / n < line
    lead = by_income or h.housing_unsafe or h.water_unsafe
    kind = None
    if lead:
        if h.status is HouseholdStatus.LIFTED_OUT:
            kind = MonitoringType.UNSTABLE
        elif per_capita is not None and per_capita < line:
            kind = MonitoringType.MARGINAL
        else:
            kind = MonitoringType.SUDDEN_HARDSHIP
    return codes, lead, kind


@settings(max_examples=400)
@given(h=households(), t=thresholds())
def test_evaluation_matches_a_literal_reading_of_the_spec(h: HouseholdFigures, t: Thresholds) -> None:
    e = evaluate_household(h, t)
    if h.members == 0:
        assert e.outcome is EvaluationOutcome.NO_MEMBERS
        return
    codes, lead, kind = _oracle(h, t)
    assert set(e.codes) == codes
    assert e.is_lead is lead
    assert e.suggested_type is kind
    assert e.income_on_file is (h.income is not None)
    assert list(e.codes) == sorted(e.codes, key=list(RiskCode).index)


@given(h=households(), t=thresholds())
def test_adjusted_income_formula_and_per_capita_rounding(h: HouseholdFigures, t: Thresholds) -> None:
    e = evaluate_household(h, t)
    if h.members == 0:
        return
    if h.income is None:  # no income on file: I_adj and the per-person figures are not computed
        assert (e.adjusted_income, e.per_capita_income, e.adjusted_per_capita) == (None, None, None)
        assert RiskCode.INCOME_LOW not in e.codes
        return
    expected = (
        h.income - h.medical_self_pay - h.education_self_pay - h.disaster_loss - h.accident_loss - h.industry_loss
    )
    assert e.adjusted_income == expected
    assert e.adjusted_per_capita is not None
    assert e.per_capita_income is not None
    exact = Fraction(expected) / h.members
    assert Fraction(e.adjusted_per_capita) <= exact < Fraction(e.adjusted_per_capita) + Fraction(1, 100)
    # rounding down never flips a comparison with a line of two places
    assert (e.per_capita_income < t.monitoring_line) is (RiskCode.INCOME_LOW in e.codes)


@given(amount=cents, members=st.integers(min_value=1, max_value=50))
def test_floor_per_capita_is_exact(amount: Decimal, members: int) -> None:
    floored = floor_per_capita(amount, members)
    assert floored == floored.quantize(D("0.01"))
    assert floored * members <= amount < (floored + D("0.01")) * members


@given(h=households(), extra=non_negative_cents)
def test_more_window_spending_never_removes_a_lead(h: HouseholdFigures, extra: Decimal) -> None:
    before = evaluate_household(h, T)
    after = evaluate_household(dataclasses.replace(h, medical_self_pay=h.medical_self_pay + extra), T)
    if before.is_lead:
        assert after.is_lead
    if RiskCode.ILLNESS in before.codes:
        assert RiskCode.ILLNESS in after.codes


@st.composite
def households_on_the_edges(draw: st.DrawFn) -> tuple[HouseholdFigures, Thresholds]:
    """Figures drawn at a threshold ± one cent, where a wrong comparison would show."""
    t = draw(thresholds())
    n = draw(st.integers(min_value=1, max_value=9))

    def near(value: Decimal) -> Decimal:
        return value + draw(st.sampled_from([D("-0.01"), D("0"), D("0.01")]))

    income = near(draw(st.sampled_from([t.monitoring_line * n, t.employment_line_factor * t.monitoring_line * n])))
    prev = draw(st.none() | line_cents)
    if prev is not None and draw(st.booleans()):
        income = near(prev - t.income_drop_ratio * prev)  # the drop right at the ratio
    medical = draw(st.sampled_from([t.medical_warning_line, t.illness_income_share * income]))
    sums = {
        "medical_self_pay": max(D(0), near(medical)),
        "education_self_pay": max(D(0), near(t.education_warning_line)),
        "disaster_loss": max(D(0), near(t.disaster_warning_line)),
        "accident_loss": max(D(0), near(t.accident_warning_line)),
        "industry_loss": max(D(0), near(t.industry_warning_line)),
    }
    keep = draw(st.sets(st.sampled_from(sorted(sums))))
    sums = {k: (v if k in keep else D(0)) for k, v in sums.items()}
    if draw(st.booleans()):  # make I_adj land right at line × n
        sums["industry_loss"] = max(
            D(0), income - near(t.monitoring_line * n) - sum(sums.values()) + sums["industry_loss"]
        )
    no_income = draw(st.integers(min_value=0, max_value=9)) == 0  # now and then: no income on file
    h = HouseholdFigures(
        members=n,
        income=None if no_income else income,
        labour_count=draw(st.integers(min_value=0, max_value=n)),
        income_prev=None if no_income else prev,
        status=draw(st.sampled_from(HouseholdStatus)),
        has_job_loss=draw(st.booleans()),
        medical_self_pay=sums["medical_self_pay"],
        education_self_pay=sums["education_self_pay"],
        disaster_loss=sums["disaster_loss"],
        accident_loss=sums["accident_loss"],
        industry_loss=sums["industry_loss"],
    )
    return h, t


@settings(max_examples=600)
@given(case=households_on_the_edges())
def test_evaluation_matches_the_literal_reading_at_the_thresholds(
    case: tuple[HouseholdFigures, Thresholds],
) -> None:
    h, t = case
    e = evaluate_household(h, t)
    codes, lead, kind = _oracle(h, t)
    assert set(e.codes) == codes
    assert e.is_lead is lead
    assert e.suggested_type is kind


def test_plain_strings_from_a_database_row_are_accepted() -> None:
    h = HouseholdFigures(members=2, income=D("1000"), labour_count=1, status="lifted_out")  # type: ignore[arg-type]
    assert h.status is HouseholdStatus.LIFTED_OUT
    assert evaluate_household(h, T).suggested_type is MonitoringType.UNSTABLE
    with pytest.raises(ValueError):
        HouseholdFigures(members=2, income=D("1000"), labour_count=1, status="rich")  # type: ignore[arg-type]
