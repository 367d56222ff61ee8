"""The assessment engine against rules.md §2.2 and the worked examples E1–E11 of §2.3."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.claims.domain.assessment import (
    EXPENSE_KEYS,
    ClaimFacts,
    FactsInvalid,
    HouseholdFacts,
    RejectionCode,
    YearToDate,
    assess,
    explain,
    facts_to_dict,
    g_of,
    parse_claim_input,
)
from services.claims.domain.reference import reference_scheme_data
from services.claims.domain.scheme import (
    CUMULATIVE_CATEGORIES,
    Category,
    HouseholdStatus,
    IllnessConfig,
    IncomeDropConfig,
    Scheme,
    SchoolEntryConfig,
    SchoolLevel,
    TieredConfig,
    parse_scheme,
)
from tests.unit.test_claims_scheme import scheme_dicts

D = Decimal
REF = parse_scheme(reference_scheme_data())
RC = RejectionCode


def scheme_with(**changes: Any) -> Scheme:
    data = reference_scheme_data()
    for key, value in changes.items():
        data[key] = value
    return parse_scheme(data)


def household(
    status: str = "ordinary",
    n: int = 4,
    income: str = "20000",
    previous: str | None = None,
    insured: bool = True,
    negative: bool = False,
) -> HouseholdFacts:
    return HouseholdFacts(
        status=HouseholdStatus(status),
        members=n,
        annual_net_income=D(income),
        previous_annual_net_income=None if previous is None else D(previous),
        insured=insured,
        negative_list=negative,
    )


def claim(
    category: str,
    hh: HouseholdFacts | None = None,
    incident: str = "2026-03-05",
    reported: str = "2026-03-20",
    /,
    **expense: Any,
) -> ClaimFacts:
    return ClaimFacts(
        category=Category(category),
        household=hh or household(),
        incident_date=date.fromisoformat(incident),
        reported_date=date.fromisoformat(reported),
        expense=expense,
    )


def ytd(base: str = "0", paid: str = "0", household_paid: str = "0", **flags: bool) -> YearToDate:
    return YearToDate(category_base=D(base), category_paid=D(paid), household_paid=D(household_paid), **flags)


E1_EXPENSE = {
    "total_cost": "120000",
    "non_compliant_cost": "5000",
    "basic_insurance_paid": "60000",
    "critical_illness_paid": "15000",
    "medical_assistance_paid": "5000",
}
E1_HOUSEHOLD = household("unstable", 4, "30000")

# rules.md §2.3, verbatim: (id, facts, prior, payout or rejection code)
WORKED_EXAMPLES = [
    ("E1", claim("illness", E1_HOUSEHOLD, **E1_EXPENSE), ytd(), "16000.00"),
    (
        "E2",
        claim("illness", E1_HOUSEHOLD, total_cost="25000", basic_insurance_paid="15000"),
        ytd(base="35000", paid="16000", household_paid="16000"),
        "6000.00",
    ),
    (
        "E3",
        claim("illness", household("marginal", 3, "45000"), total_cost="50000", basic_insurance_paid="20000"),
        ytd(),
        "5000.00",
    ),
    (
        "E4",
        claim("illness", household("ordinary", 3, "90000"), total_cost="50000", basic_insurance_paid="20000"),
        ytd(),
        RC.INCOME_ABOVE_LINE,
    ),
    ("E5", claim("school_entry", household("ordinary", 5, "25000"), level="undergraduate"), ytd(), "5000.00"),
    ("E6", claim("income_drop", household("lifted_out", 4, "20000", previous="40000")), ytd(), "4000.00"),
    (
        "E7",
        claim("industry_loss", household("ordinary", 4, "28000"), assessed_loss="30000", insurance_compensation="8000"),
        ytd(),
        "10000.00",
    ),
    (
        "E8",
        claim(
            "disaster_accident", household("ordinary", 5, "50000"), assessed_loss="80000", compensation_received="10000"
        ),
        ytd(),
        "42600.00",
    ),
    (
        "E9",
        claim("in_school", household("ordinary", 4, "22000"), education_cost="15000", aid_received="6000"),
        ytd(),
        "3000.00",
    ),
    (
        "E10",
        claim("disaster_accident", household("ordinary", 4, "10000"), assessed_loss="300000"),
        ytd(household_paid="120000"),
        "30000.00",
    ),
    (
        "E11",
        claim("illness", E1_HOUSEHOLD, "2026-01-05", "2026-08-01", **E1_EXPENSE),
        ytd(),
        RC.REPORTED_LATE,
    ),
]


@pytest.mark.parametrize(
    ("facts", "prior", "expected"), [c[1:] for c in WORKED_EXAMPLES], ids=[c[0] for c in WORKED_EXAMPLES]
)
def test_worked_examples(facts: ClaimFacts, prior: YearToDate, expected: str | RejectionCode) -> None:
    result = assess(REF, facts, prior)
    if isinstance(expected, RejectionCode):
        assert not result.eligible
        assert result.rejection_code is expected
        assert str(result.payout) == "0.00"
        assert result.breakdown["rejection_code"] == expected.value
    else:
        assert result.eligible
        assert result.rejection_code is None
        assert result.payout == D(expected)
        assert str(result.payout) == expected
        assert result.breakdown["payout"] == expected
    assert json.loads(json.dumps(result.breakdown)) == result.breakdown


def _bd(facts: ClaimFacts, prior: YearToDate | None = None) -> dict[str, Any]:
    return assess(REF, facts, prior or ytd()).breakdown


def test_e1_figures() -> None:
    bd = _bd(WORKED_EXAMPLES[0][1])
    assert (bd["b"], bd["B"], bd["D"], bd["X"], bd["g"], bd["f"]) == (
        "35000.00", "35000.00", "5000.00", "30000.00", "16000.00", "16000.00",
    )  # fmt: skip
    assert bd["income_test"]["per_capita"] == "-1250.00"
    assert bd["tiers"] == [
        {"from": "0.00", "to": "20000.00", "amount": "20000.00", "rate": "0.50", "pay": "10000.00"},
        {"from": "20000.00", "to": "50000.00", "amount": "10000.00", "rate": "0.60", "pay": "6000.00"},
        {"from": "50000.00", "to": None, "amount": "0.00", "rate": "0.70", "pay": "0.00"},
    ]
    assert bd["scheme"]["code"] == "reference-2026"
    assert bd["scheme"]["version"] == 1
    assert bd["rounding"].startswith("ROUND_HALF_UP")
    assert [c["result"] for c in bd["checks"]] == ["pass"] * 10


def test_e2_figures() -> None:
    bd = _bd(WORKED_EXAMPLES[1][1], WORKED_EXAMPLES[1][2])
    assert (bd["b"], bd["B"], bd["X"], bd["f"], bd["category_paid"], bd["gross"]) == (
        "10000.00", "45000.00", "40000.00", "22000.00", "16000.00", "6000.00",
    )  # fmt: skip
    assert bd["prior"]["category_base"] == "35000.00"


def test_e1_then_e2_through_the_ledger() -> None:
    """The ledger figures returned by E1 are exactly E2's prior, and E2 pays 6000."""
    first = assess(REF, WORKED_EXAMPLES[0][1], ytd())
    assert (first.base_added, first.new_category_base) == (D("35000"), D("35000"))
    assert (first.new_category_paid, first.new_household_paid) == (D("16000"), D("16000"))
    prior = YearToDate(first.new_category_base, first.new_category_paid, first.new_household_paid)
    second = assess(REF, WORKED_EXAMPLES[1][1], prior)
    assert second.payout == D("6000.00")
    assert second.new_category_base == D("45000")
    assert second.new_category_paid == D("22000")


def test_e3_e4_income_test_figures() -> None:
    assert _bd(WORKED_EXAMPLES[2][1])["income_test"]["per_capita"] == "5000.00"
    bd = _bd(WORKED_EXAMPLES[3][1])
    assert bd["income_test"]["per_capita"] == "20000.00"
    assert bd["income_test"]["above_line"] is True
    assert "D" not in bd  # never reached


def test_e6_e8_e10_figures() -> None:
    e6 = _bd(WORKED_EXAMPLES[5][1])
    assert (e6["drop_ratio"], e6["gap"], e6["f"]) == ("0.5000", "4000.00", "4000.00")
    e8 = _bd(WORKED_EXAMPLES[7][1])
    assert e8["X"] == "68000.00"
    assert [t["pay"] for t in e8["tiers"]] == ["30000.00", "12600.00"]
    e10 = _bd(WORKED_EXAMPLES[9][1], WORKED_EXAMPLES[9][2])
    assert (e10["g"], e10["f"], e10["cap_applied"]) == ("203600.00", "100000.00", True)
    assert (e10["R"], e10["household_cap_applied"]) == ("30000.00", True)


def test_e11_is_208_days() -> None:
    bd = _bd(WORKED_EXAMPLES[10][1])
    assert bd["report_days"] == 208
    assert [c["result"] for c in bd["checks"]][:6] == ["pass", "pass", "pass", "pass", "fail", "not_reached"]


# ---------------------------------------------------------------------------------------------
# Gates, in order


def test_category_not_covered() -> None:
    data = reference_scheme_data()
    del data["categories"]["in_school"]
    result = assess(parse_scheme(data), claim("in_school", education_cost="9000"), ytd())
    assert result.rejection_code is RC.CATEGORY_NOT_COVERED
    assert result.breakdown["checks"][0]["result"] == "fail"
    assert all(c["result"] == "not_reached" for c in result.breakdown["checks"][1:])


def test_not_insured_under_enrolled_pool() -> None:
    facts = claim("illness", household("unstable", 4, "30000", insured=False), **E1_EXPENSE)
    assert assess(REF, facts, ytd()).rejection_code is RC.NOT_INSURED


def test_all_rural_pool_covers_households_not_enrolled() -> None:
    facts = claim("illness", household("unstable", 4, "30000", insured=False), **E1_EXPENSE)
    assert assess(scheme_with(pool_mode="all_rural"), facts, ytd()).payout == D("16000.00")


def test_negative_list() -> None:
    facts = claim("illness", household("unstable", 4, "30000", negative=True), **E1_EXPENSE)
    assert assess(REF, facts, ytd()).rejection_code is RC.NEGATIVE_LIST


@pytest.mark.parametrize(("incident", "covered"), [("2025-12-31", False), ("2026-01-01", True), ("2026-12-31", True),
                                                   ("2027-01-01", False)])  # fmt: skip
def test_outside_coverage(incident: str, covered: bool) -> None:
    reported = (date.fromisoformat(incident) + timedelta(days=1)).isoformat()
    result = assess(REF, claim("illness", E1_HOUSEHOLD, incident, reported, **E1_EXPENSE), ytd())
    assert result.eligible is covered
    assert result.rejection_code is (None if covered else RC.OUTSIDE_COVERAGE)


@pytest.mark.parametrize(("days", "late"), [(0, False), (180, False), (181, True), (208, True)])
def test_reported_late_boundary(days: int, late: bool) -> None:
    reported = (date(2026, 1, 5) + timedelta(days=days)).isoformat()
    result = assess(REF, claim("illness", E1_HOUSEHOLD, "2026-01-05", reported, **E1_EXPENSE), ytd())
    assert result.rejection_code is (RC.REPORTED_LATE if late else None)


def test_gates_fire_in_order() -> None:
    hh = household("unstable", 4, "30000", insured=False, negative=True)
    late = claim("illness", hh, "2025-01-05", "2026-08-01", **E1_EXPENSE)
    assert assess(REF, late, ytd()).rejection_code is RC.NOT_INSURED
    hh = household("unstable", 4, "30000", negative=True)
    assert assess(REF, claim("illness", hh, "2025-01-05", "2026-08-01"), ytd()).rejection_code is RC.NEGATIVE_LIST
    outside_and_late = claim("illness", E1_HOUSEHOLD, "2025-01-05", "2026-08-01", **E1_EXPENSE)
    assert assess(REF, outside_and_late, ytd()).rejection_code is RC.OUTSIDE_COVERAGE
    data = reference_scheme_data()
    del data["categories"]["illness"]
    assert assess(parse_scheme(data), late, ytd()).rejection_code is RC.CATEGORY_NOT_COVERED


def test_gates_apply_to_every_category() -> None:
    hh = household("ordinary", 4, "10000", previous="40000", negative=True)
    for category in Category:
        result = assess(REF, claim(category.value, hh), ytd())
        assert result.rejection_code is RC.NEGATIVE_LIST
        assert [c["code"] for c in result.breakdown["checks"]][:5] == [
            "category_not_covered", "not_insured", "negative_list", "outside_coverage", "reported_late",
        ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Cumulative categories


@pytest.mark.parametrize(
    ("category", "expense"),
    [
        ("illness", {}),
        ("illness", {"total_cost": "10000", "basic_insurance_paid": "6000", "other_compensation": "4000"}),
        ("illness", {"total_cost": "10000", "non_compliant_cost": "12000"}),  # negative floors to 0
        ("disaster_accident", {"assessed_loss": "5000", "compensation_received": "5000"}),
        ("in_school", {"education_cost": "3000", "aid_received": "4000"}),
        ("industry_loss", {"assessed_loss": "9000", "insurance_compensation": "5000", "subsidies_received": "4000"}),
    ],
)
def test_no_loss(category: str, expense: dict[str, str]) -> None:
    result = assess(REF, claim(category, **expense), ytd(base="50000"))
    assert result.rejection_code is RC.NO_LOSS
    assert result.breakdown["b"] == "0.00"
    assert result.base_added == 0
    assert result.new_category_base == D("50000")


def test_every_deduction_counts_in_the_illness_base() -> None:
    expense = {"total_cost": "100000", "non_compliant_cost": "1", "basic_insurance_paid": "2",
               "critical_illness_paid": "3", "medical_assistance_paid": "4", "other_compensation": "5"}  # fmt: skip
    assert _bd(claim("illness", E1_HOUSEHOLD, **expense))["b"] == "99985.00"
    industry = {"assessed_loss": "30000", "insurance_compensation": "8000", "subsidies_received": "2000"}
    assert _bd(claim("industry_loss", **industry))["b"] == "20000.00"


def test_income_above_line_uses_the_year_to_date_base() -> None:
    # I = 60000, n = 4: alone (60000 − 10000)/4 = 12500 ≥ 6000; with B = 40000, 5000 < 6000.
    hh = household("ordinary", 4, "60000")
    facts = claim("disaster_accident", hh, assessed_loss="10000")
    alone = assess(REF, facts, ytd())
    assert alone.rejection_code is RC.INCOME_ABOVE_LINE
    later = assess(REF, facts, ytd(base="30000"))
    assert later.eligible
    assert later.breakdown["B"] == "40000.00"


def test_income_exactly_on_the_line_is_above() -> None:
    # (I − B)/n = 6000 exactly → income_above_line (≥)
    facts = claim("in_school", household("ordinary", 3, "27000"), education_cost="9000")
    assert assess(REF, facts, ytd()).rejection_code is RC.INCOME_ABOVE_LINE
    facts = claim("in_school", household("ordinary", 3, "27000"), education_cost="9000.01")
    assert assess(REF, facts, ytd()).eligible


def test_income_test_compares_exact_figures_not_the_display() -> None:
    # (18000.02 − 0)/3 = 6000.00666… ≥ 6000 though shown as 6000.00; 18000.01 − 0.03 below it
    above = claim("school_entry", household("ordinary", 3, "18000.02"), level="senior_high")
    assert assess(REF, above, ytd()).rejection_code is RC.INCOME_ABOVE_LINE
    below = claim("school_entry", household("ordinary", 3, "17999.99"), level="senior_high")
    result = assess(REF, below, ytd())
    assert result.eligible
    assert result.breakdown["income_test"]["per_capita"] == "5999.99"  # floored, not 6000.00


@pytest.mark.parametrize(("status", "deductible"), [("ordinary", "20000"), ("lifted_out", "5000"), ("unstable", "5000"),
                                                    ("marginal", "20000"), ("sudden_hardship", "20000")])  # fmt: skip
def test_illness_deductible_by_household_status(status: str, deductible: str) -> None:
    facts = claim("illness", household(status, 4, "0"), total_cost="30000")
    bd = _bd(facts)
    assert bd["D"] == f"{D(deductible):.2f}"
    assert bd["X"] == f"{D(30000) - D(deductible):.2f}"


def test_below_deductible_and_exactly_at_it() -> None:
    at = claim("illness", household("marginal", 4, "0"), total_cost="20000")
    result = assess(REF, at, ytd())
    assert result.rejection_code is RC.BELOW_DEDUCTIBLE
    assert result.breakdown["X"] == "0.00"
    assert result.base_added == D("20000")  # counts toward the deductible of later claims
    next_claim = assess(REF, claim("illness", household("marginal", 4, "0"), total_cost="0.02"), ytd(base="20000"))
    assert next_claim.payout == D("0.01")


def test_category_cap_reached() -> None:
    facts = claim("industry_loss", assessed_loss="100000")
    result = assess(REF, facts, ytd(base="50000", paid="20000", household_paid="20000"))
    assert result.rejection_code is RC.CATEGORY_CAP_REACHED
    assert result.breakdown["gross"] == "0.00"
    assert result.base_added == D("100000")


def test_category_cap_limits_the_payout() -> None:
    result = assess(REF, claim("in_school", education_cost="100000"), ytd(paid="5000", household_paid="5000"))
    assert result.payout == D("15000.00")
    assert result.breakdown["cap_applied"] is True


def test_household_cap_reached_for_each_category() -> None:
    prior = ytd(household_paid="150000")
    hh = household("unstable", 4, "10000", previous="40000")
    cases = {
        "illness": {"total_cost": "50000"},
        "disaster_accident": {"assessed_loss": "50000"},
        "in_school": {"education_cost": "50000"},
        "industry_loss": {"assessed_loss": "50000"},
        "school_entry": {"level": "undergraduate"},
        "income_drop": {},
    }
    for category, expense in cases.items():
        result = assess(REF, claim(category, hh, **expense), prior)
        assert result.rejection_code is RC.HOUSEHOLD_CAP_REACHED, category
        assert result.breakdown["R"] == "0.00"


def test_household_room_limits_every_category() -> None:
    prior = ytd(household_paid="149000")
    hh = household("unstable", 4, "0", previous="40000")
    assert assess(REF, claim("school_entry", hh, level="undergraduate"), prior).payout == D("1000.00")
    assert assess(REF, claim("income_drop", hh), prior).payout == D("1000.00")
    assert assess(REF, claim("illness", hh, total_cost="90000"), prior).payout == D("1000.00")


def test_open_and_closed_last_tier() -> None:
    data = reference_scheme_data()
    data["categories"]["in_school"]["tiers"] = [{"from": "0", "to": "10000", "rate": "0.5"}]
    data["categories"]["in_school"]["cap"] = "999999"
    closed = parse_scheme(data)
    facts = claim("in_school", household("ordinary", 4, "0"), education_cost="100000")
    assert assess(closed, facts, ytd()).payout == D("5000.00")  # nothing above the closed tier
    assert assess(REF, facts, ytd()).payout == D("20000.00")  # open tier, then the cap


def test_rounding_half_up_once_at_the_end() -> None:
    data = reference_scheme_data()
    data["categories"]["in_school"] = {
        "deductible": "0",
        "tiers": [{"from": "0", "to": "0.01", "rate": "0.5"}, {"from": "0.01", "to": None, "rate": "0.555"}],
        "cap": "20000",
    }
    scheme = parse_scheme(data)
    # X = 10.01: 0.01 × 0.5 + 10 × 0.555 = 0.005 + 5.55 = 5.555, kept exact until the payout → 5.56
    result = assess(scheme, claim("in_school", household("ordinary", 4, "0"), education_cost="10.01"), ytd())
    assert result.breakdown["g"] == "5.555"
    assert result.breakdown["payout_unrounded"] == "5.555"
    assert result.payout == D("5.56")
    data["categories"]["in_school"]["tiers"][1]["rate"] = "0.5"
    scheme = parse_scheme(data)
    # X = 0.02: 0.005 + 0.005 = 0.01; rounding each slice would have paid 0.02
    result = assess(scheme, claim("in_school", household("ordinary", 4, "0"), education_cost="0.02"), ytd())
    assert [t["pay"] for t in result.breakdown["tiers"]] == ["0.005", "0.005"]
    assert result.payout == D("0.01")
    data["categories"]["in_school"]["tiers"] = [{"from": "0", "to": None, "rate": "0.25"}]
    scheme = parse_scheme(data)
    # 0.10 × 0.25 = 0.025 → 0.03 half up (half-even would give 0.02)
    result = assess(scheme, claim("in_school", household("ordinary", 4, "0"), education_cost="0.10"), ytd())
    assert result.payout == D("0.03")


def test_a_gross_that_rounds_to_zero_is_cap_reached_not_a_zero_payout() -> None:
    data = reference_scheme_data()
    data["categories"]["in_school"] = {
        "deductible": "0", "tiers": [{"from": "0", "to": None, "rate": "0.000001"}], "cap": "20000",
    }  # fmt: skip
    scheme = parse_scheme(data)
    result = assess(scheme, claim("in_school", household("ordinary", 4, "0"), education_cost="1000"), ytd())
    assert result.breakdown["gross"] == "0.001"
    assert result.rejection_code is RC.CATEGORY_CAP_REACHED
    assert result.payout == 0


def test_g_of_matches_the_rules_formula() -> None:
    illness = REF.categories.illness
    assert illness is not None
    assert g_of(illness.tiers, D("0")) == 0
    assert g_of(illness.tiers, D("20000")) == D("10000")
    assert g_of(illness.tiers, D("50000")) == D("28000")
    assert g_of(illness.tiers, D("60000")) == D("35000")


# ---------------------------------------------------------------------------------------------
# School entry and income drop


def test_school_entry_income_above_line() -> None:
    facts = claim("school_entry", household("ordinary", 5, "30000"), level="undergraduate")
    assert assess(REF, facts, ytd()).rejection_code is RC.INCOME_ABOVE_LINE


@pytest.mark.parametrize("level", ["senior_high", "secondary_vocational", "junior_college", "undergraduate"])
def test_school_entry_lump_sums(level: str) -> None:
    expected = {"senior_high": "2000.00", "secondary_vocational": "2000.00", "junior_college": "3000.00",
                "undergraduate": "5000.00"}[level]  # fmt: skip
    assert assess(REF, claim("school_entry", level=level), ytd()).payout == D(expected)


def test_school_entry_level_not_covered() -> None:
    data = reference_scheme_data()
    data["categories"]["school_entry"]["lump_sums"] = {"undergraduate": "5000"}
    scheme = parse_scheme(data)
    for expense in ({"level": "senior_high"}, {"level": "kindergarten"}, {}):
        result = assess(scheme, claim("school_entry", **expense), ytd())
        assert result.rejection_code is RC.LEVEL_NOT_COVERED, expense


def test_school_entry_duplicate() -> None:
    result = assess(REF, claim("school_entry", level="undergraduate"), ytd(same_student_level_paid=True))
    assert result.rejection_code is RC.DUPLICATE


def test_school_entry_order_income_before_level_before_duplicate() -> None:
    rich = household("ordinary", 1, "100000")
    prior = ytd(same_student_level_paid=True, household_paid="150000")
    assert assess(REF, claim("school_entry", rich, level="x"), prior).rejection_code is RC.INCOME_ABOVE_LINE
    assert assess(REF, claim("school_entry", level="x"), prior).rejection_code is RC.LEVEL_NOT_COVERED
    assert assess(REF, claim("school_entry", level="undergraduate"), prior).rejection_code is RC.DUPLICATE


def test_school_entry_ignores_the_student_member_id_and_adds_no_base() -> None:
    result = assess(REF, claim("school_entry", level="undergraduate", student_member_id="m-1"), ytd(base="5"))
    assert result.payout == D("5000.00")
    assert (result.base_added, result.new_category_base) == (0, D("5"))


@pytest.mark.parametrize(
    ("income", "previous", "code"),
    [
        ("20000", "28000", RC.DROP_TOO_SMALL),  # 0.2857 < 0.30
        ("19600", "28000", None),  # exactly 0.30
        ("20000", None, RC.DROP_TOO_SMALL),
        ("20000", "0", RC.DROP_TOO_SMALL),
        ("-100", "-200", RC.DROP_TOO_SMALL),  # P ≤ 0
        ("20000", "20000", RC.DROP_TOO_SMALL),
        ("30000", "60000", RC.INCOME_ABOVE_LINE),  # dropped 0.5 but 7500 per person ≥ 6000
    ],
)
def test_income_drop_checks(income: str, previous: str | None, code: RejectionCode | None) -> None:
    result = assess(REF, claim("income_drop", household("ordinary", 4, income, previous)), ytd())
    assert result.rejection_code is code


def test_income_drop_already_paid_this_year() -> None:
    facts = claim("income_drop", household("ordinary", 4, "20000", "40000"))
    # "already paid" is the ledger's category_paid for income_drop alone (issue 10)
    assert assess(REF, facts, ytd(paid="4000.00")).rejection_code is RC.ALREADY_PAID_THIS_YEAR
    assert assess(REF, facts, ytd(paid="0.01")).rejection_code is RC.ALREADY_PAID_THIS_YEAR
    assert assess(REF, facts, ytd(paid="0")).payout == D("4000.00")


def test_income_drop_cap_and_negative_income() -> None:
    facts = claim("income_drop", household("ordinary", 4, "-5000", "40000"))
    result = assess(REF, facts, ytd())
    assert result.breakdown["gap"] == "29000.00"
    assert result.payout == D("10000.00")


# ---------------------------------------------------------------------------------------------
# Ledger decision: which claims add their b to category_base


@pytest.mark.parametrize(
    ("facts", "prior", "code", "added"),
    [
        (claim("illness", E1_HOUSEHOLD, **E1_EXPENSE), ytd(), None, "35000"),
        (WORKED_EXAMPLES[3][1], ytd(), RC.INCOME_ABOVE_LINE, "30000"),
        (claim("illness", household("ordinary", 4, "0"), total_cost="1000"), ytd(), RC.BELOW_DEDUCTIBLE, "1000"),
        (claim("in_school", education_cost="9000"), ytd(paid="20000"), RC.CATEGORY_CAP_REACHED, "9000"),
        (claim("in_school", education_cost="9000"), ytd(household_paid="150000"), RC.HOUSEHOLD_CAP_REACHED, "9000"),
        (claim("in_school"), ytd(), RC.NO_LOSS, "0"),
        (WORKED_EXAMPLES[10][1], ytd(), RC.REPORTED_LATE, "0"),
        (claim("in_school", household(insured=False), education_cost="9000"), ytd(), RC.NOT_INSURED, "0"),
        (claim("in_school", household(negative=True), education_cost="9000"), ytd(), RC.NEGATIVE_LIST, "0"),
        (claim("in_school", None, "2025-12-01", "2026-01-01", education_cost="9000"), ytd(), RC.OUTSIDE_COVERAGE, "0"),
        (claim("income_drop", household("ordinary", 4, "20000", "40000")), ytd(), None, "0"),
    ],
)
def test_base_added(facts: ClaimFacts, prior: YearToDate, code: RejectionCode | None, added: str) -> None:
    result = assess(REF, facts, prior)
    assert result.rejection_code is code
    assert result.base_added == D(added)
    assert result.new_category_base == prior.category_base + D(added)
    assert result.breakdown["ledger"]["base_added"] == f"{D(added):.2f}"
    assert result.new_household_paid == prior.household_paid + result.payout


def test_a_claim_below_the_deductible_counts_toward_the_next() -> None:
    hh = household("unstable", 4, "0")
    first = assess(REF, claim("illness", hh, total_cost="4000"), ytd())
    assert first.rejection_code is RC.BELOW_DEDUCTIBLE
    prior = YearToDate(first.new_category_base, first.new_category_paid, first.new_household_paid)
    second = assess(REF, claim("illness", hh, total_cost="4000"), prior)
    assert second.breakdown["X"] == "3000.00"
    assert second.payout == D("1500.00")


# ---------------------------------------------------------------------------------------------
# Facts validation and the JSON form


def test_parse_claim_input_reads_the_issue_preview_body() -> None:
    body = {
        "category": "illness",
        "household": {"status": "unstable", "members": 4, "annual_net_income": "30000.00",
                      "previous_annual_net_income": "36000.00", "insured": True, "negative_list": False},
        "incident_date": "2026-03-05", "reported_date": "2026-03-20",
        "expense": {"total_cost": "120000.00", "non_compliant_cost": "5000.00",
                    "basic_insurance_paid": "60000.00", "critical_illness_paid": "15000.00",
                    "medical_assistance_paid": "5000.00", "other_compensation": "0"},
        "prior": {"category_base": "0", "category_paid": "0", "household_paid": "0",
                  "same_student_level_paid": False},
    }  # fmt: skip
    facts, prior = parse_claim_input(body)
    result = assess(REF, facts, prior)
    assert result.payout == D("16000.00")
    again = parse_claim_input(json.loads(json.dumps(facts_to_dict(facts, prior))))
    assert again == (facts, prior)
    assert assess(REF, *again).breakdown == result.breakdown


def test_parse_claim_input_prior_is_optional() -> None:
    facts, prior = parse_claim_input(
        {"category": "income_drop", "household": {"status": "ordinary", "members": 4, "annual_net_income": 20000,
         "previous_annual_net_income": 40000, "insured": True, "negative_list": False},
         "incident_date": "2026-06-01", "reported_date": "2026-06-01"}
    )  # fmt: skip
    assert prior == YearToDate()
    assert assess(REF, facts, prior).payout == D("4000.00")


@pytest.mark.parametrize(
    ("body_change", "path"),
    [
        ({"category": "flood"}, "category"),
        ({"colour": 1}, "colour"),
        ({"expense": {"total_costs": "1"}}, "expense.total_costs"),
        ({"expense": {"total_cost": "-1"}}, "expense.total_cost"),
        ({"expense": {"total_cost": "1.001"}}, "expense.total_cost"),
        ({"expense": {"total_cost": "abc"}}, "expense.total_cost"),
        ({"reported_date": "2026-03-01"}, "reported_date"),
        ({"incident_date": "5 March"}, "incident_date"),
        ({"prior": {"category_base": "-1"}}, "prior.category_base"),
        ({"prior": {"paid": "1"}}, "prior.paid"),
        ({"household": {"status": "ordinary", "members": 0, "annual_net_income": "1", "insured": True,
                        "negative_list": False}}, "household.members"),
        ({"household": {"status": "rich", "members": 1, "annual_net_income": "1", "insured": True,
                        "negative_list": False}}, "household.status"),
        ({"household": {"status": "ordinary", "members": 1, "annual_net_income": "1", "insured": "yes",
                        "negative_list": False}}, "household.insured"),
        ({"household": {"status": "ordinary", "members": 1, "annual_net_income": "1"}}, "household.insured"),
    ],
)  # fmt: skip
def test_invalid_facts(body_change: dict[str, Any], path: str) -> None:
    body: dict[str, Any] = {
        "category": "illness",
        "household": {"status": "unstable", "members": 4, "annual_net_income": "30000", "insured": True,
                      "negative_list": False},
        "incident_date": "2026-03-05", "reported_date": "2026-03-20",
        "expense": {"total_cost": "1000"},
    }  # fmt: skip
    body.update(body_change)
    with pytest.raises(FactsInvalid) as info:
        parse_claim_input(body)
    assert path in [p for p, _ in info.value.errors]


def test_school_entry_expense_keys() -> None:
    with pytest.raises(FactsInvalid):
        claim("school_entry", level="undergraduate", total_cost="1")
    with pytest.raises(FactsInvalid):
        claim("school_entry", level=5)


def test_facts_are_read_only() -> None:
    facts = claim("illness", total_cost="1000")
    with pytest.raises(TypeError):
        facts.expense["total_cost"] = D("5")  # type: ignore[index]


# ---------------------------------------------------------------------------------------------
# explain


def test_explain_lines_for_cadres() -> None:
    lines = explain(assess(REF, WORKED_EXAMPLES[0][1], ytd()))
    assert "起付线 D = 5000.00 (illness, household status unstable)" in lines
    assert "本次基数 b = 35000.00" in lines
    assert "累计基数 B = 35000.00" in lines
    assert "超起付线部分 X = 30000.00" in lines
    assert "分段 Tier 0.00–20000.00: 20000.00 × 0.50 = 10000.00" in lines
    assert "分段赔付 g(X) = 16000.00" in lines
    assert "人均 (I − B) / n = -1250.00 < 保障线 L = 6000.00" in lines
    assert lines[-1].startswith("赔付金额 Payout = 16000.00")
    assert lines[0] == "方案 Scheme: reference-2026 v1 (2026)"


def test_explain_a_rejection_and_a_stored_breakdown() -> None:
    result = assess(REF, WORKED_EXAMPLES[3][1], ytd())
    stored = json.loads(json.dumps(result.breakdown))
    lines = explain(stored)
    assert lines == explain(result)
    assert lines[-1] == "拒赔 Rejected: 收入高于保障线 income above the line [income_above_line]"
    assert not any(line.startswith("起付线") for line in lines)


@pytest.mark.parametrize("index", range(len(WORKED_EXAMPLES)))
def test_explain_every_worked_example(index: int) -> None:
    _, facts, prior, _ = WORKED_EXAMPLES[index]
    lines = explain(assess(REF, facts, prior))
    assert len(lines) >= 4
    assert all(isinstance(line, str) and line for line in lines)


# ---------------------------------------------------------------------------------------------
# Properties

AMOUNT_CENTS = st.integers(0, 50_000_000)


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


@st.composite
def households(draw: st.DrawFn) -> HouseholdFacts:
    return HouseholdFacts(
        status=draw(st.sampled_from(list(HouseholdStatus))),
        members=draw(st.integers(1, 12)),
        annual_net_income=_money(draw(st.integers(-2_000_000, 30_000_000))),
        previous_annual_net_income=draw(st.none() | st.integers(-1_000_000, 30_000_000).map(_money)),
        insured=draw(st.booleans() | st.just(True)),
        negative_list=draw(st.just(False) | st.booleans()),
    )


@st.composite
def expenses(draw: st.DrawFn, category: Category) -> dict[str, Any]:
    if category is Category.SCHOOL_ENTRY:
        level = draw(st.sampled_from([*(level.value for level in SchoolLevel), "x"]))
        return {"level": level}
    keys = EXPENSE_KEYS[category]
    result: dict[str, Any] = {}
    for i, key in enumerate(keys):
        if draw(st.booleans()) or i == 0:
            cents = draw(AMOUNT_CENTS if i == 0 else st.integers(0, 5_000_000))
            result[key] = _money(cents)
    return result


@st.composite
def claims_for(draw: st.DrawFn, year: int, category: Category | None = None) -> ClaimFacts:
    cat = category or draw(st.sampled_from(list(Category)))
    incident = date(year, 1, 1) + timedelta(days=draw(st.integers(-20, 380)))
    return ClaimFacts(
        category=cat,
        household=draw(households()),
        incident_date=incident,
        reported_date=incident + timedelta(days=draw(st.integers(0, 400))),
        expense=draw(expenses(cat)),
    )


@st.composite
def priors(draw: st.DrawFn) -> YearToDate:
    return YearToDate(
        category_base=_money(draw(st.integers(0, 20_000_000))),
        category_paid=_money(draw(st.integers(0, 5_000_000))),
        household_paid=_money(draw(st.integers(0, 20_000_000))),
        same_student_level_paid=draw(st.booleans()),
    )


def _check_limits(scheme: Scheme, facts: ClaimFacts, prior: YearToDate) -> None:
    result = assess(scheme, facts, prior)
    assert result.payout >= 0
    assert result.payout == result.payout.quantize(D("0.01"))
    assert result.eligible == (result.rejection_code is None)
    if not result.eligible:
        assert result.payout == 0
        return
    assert result.payout > 0
    assert result.payout <= scheme.household_annual_cap - prior.household_paid  # household room R
    config = scheme.categories.get(facts.category)
    if isinstance(config, IllnessConfig | TieredConfig):
        assert result.payout <= config.cap
        assert result.payout <= config.cap - prior.category_paid
    elif isinstance(config, SchoolEntryConfig):
        assert result.payout <= config.lump_sums.for_level(facts.expense["level"])  # type: ignore[operator, arg-type]
    else:
        assert isinstance(config, IncomeDropConfig)
        assert result.payout <= config.cap
    assert json.loads(json.dumps(result.breakdown)) == result.breakdown


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_every_accepted_scheme_can_be_assessed_and_payouts_stay_within_caps(data: st.DataObject) -> None:
    scheme = parse_scheme(data.draw(scheme_dicts()))
    facts = data.draw(claims_for(scheme.year))
    prior = data.draw(priors())
    _check_limits(scheme, facts, prior)
    explain(assess(scheme, facts, prior))


@settings(max_examples=400, deadline=None)
@given(claims_for(2026), priors())
def test_reference_payouts_stay_within_caps(facts: ClaimFacts, prior: YearToDate) -> None:
    _check_limits(REF, facts, prior)


_LOSS_KEY = {
    Category.ILLNESS: "total_cost",
    Category.DISASTER_ACCIDENT: "assessed_loss",
    Category.IN_SCHOOL: "education_cost",
    Category.INDUSTRY_LOSS: "assessed_loss",
}


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_payout_never_decreases_when_the_loss_grows(data: st.DataObject) -> None:
    use_reference = data.draw(st.booleans())
    scheme = REF if use_reference else parse_scheme(data.draw(scheme_dicts(year=2026)))
    category = data.draw(st.sampled_from(sorted(CUMULATIVE_CATEGORIES)))
    facts = data.draw(claims_for(2026, category))
    prior = data.draw(priors())
    extra = _money(data.draw(st.integers(1, 20_000_000)))
    key = _LOSS_KEY[category]
    bigger = ClaimFacts(
        category=facts.category,
        household=facts.household,
        incident_date=facts.incident_date,
        reported_date=facts.reported_date,
        expense={**facts.expense, key: facts.amount(key) + extra},
    )
    small, large = assess(scheme, facts, prior), assess(scheme, bigger, prior)
    assert large.payout >= small.payout
    if small.eligible:
        assert large.eligible


def _round(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_sequence_of_claims_pays_f_of_the_total_base(data: st.DataObject) -> None:
    """Σ payouts = round(min(g(B_total − D), cap)) while no household cap binds."""
    raw = data.draw(scheme_dicts(year=2026))
    raw["household_annual_cap"] = "999999999999.99"
    raw["pool_mode"] = "all_rural"
    raw["report_window_days"] = 3660
    scheme = parse_scheme(raw)
    covered = [c for c in scheme.categories.covered() if c in CUMULATIVE_CATEGORIES]
    assume(covered)
    category = data.draw(st.sampled_from(covered))
    config = scheme.categories.get(category)
    assert isinstance(config, IllnessConfig | TieredConfig)
    hh = data.draw(households())
    hh = HouseholdFacts(hh.status, hh.members, hh.annual_net_income, None, True, False)
    amounts = data.draw(st.lists(st.integers(0, 10_000_000).map(_money), min_size=1, max_size=8))
    prior = YearToDate()
    total_paid = D(0)
    last = None
    for amount in amounts:
        facts = ClaimFacts(category, hh, date(2026, 6, 1), date(2026, 6, 2), {_LOSS_KEY[category]: amount})
        last = assess(scheme, facts, prior)
        total_paid += last.payout
        prior = YearToDate(last.new_category_base, last.new_category_paid, last.new_household_paid)
    assert last is not None
    big_b = sum(amounts, D(0))
    assert prior.category_base == big_b
    deductible = config.deductible.for_status(hh.status) if isinstance(config, IllnessConfig) else config.deductible
    line_times_n = scheme.protection_line * hh.members
    if hh.annual_net_income - big_b >= line_times_n:
        expected = D(0)  # still above the line at the end, so at every step
    else:
        expected = _round(min(g_of(config.tiers, max(D(0), big_b - deductible)), config.cap))
    assert total_paid == expected
    assert prior.category_paid == total_paid


@pytest.mark.parametrize(
    ("value", "text"),
    [("0", "0.00"), ("-0", "0.00"), ("-0.000", "0.00"), ("5", "5.00"), ("5.5", "5.50"), ("5.500", "5.50"),
     ("5.555", "5.555"), ("5.55500", "5.555"), ("0.00100000", "0.001"), ("1E+3", "1000.00"),
     ("-1250", "-1250.00"), ("1E-7", "0.0000001"), ("100.10000", "100.10")],
)  # fmt: skip
def test_figures_print_two_places_unless_more_are_exact(value: str, text: str) -> None:
    from services.claims.domain.values import fmt

    assert fmt(D(value)) == text
    assert D(fmt(D(value))) == D(value)


@settings(max_examples=200, deadline=None)
@given(claims_for(2026), priors())
def test_a_stored_breakdown_recomputes_to_the_same_figures(facts: ClaimFacts, prior: YearToDate) -> None:
    """What an assessment stores (its breakdown: facts, prior, scheme code and version) is enough."""
    stored = json.loads(json.dumps(assess(REF, facts, prior).breakdown))
    assert (stored["scheme"]["code"], stored["scheme"]["version"]) == (REF.code, REF.version)
    again_facts, again_prior = parse_claim_input({**stored["facts"], "prior": stored["prior"]})
    assert (again_facts, again_prior) == (facts, prior)
    assert assess(REF, again_facts, again_prior).breakdown == stored


def test_the_domain_imports_no_framework() -> None:
    import subprocess
    import sys

    code = (
        "import sys, services.claims.domain, services.claims.domain.workflow;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'fastapi', 'sqlalchemy', 'httpx', 'pydantic'}))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"
