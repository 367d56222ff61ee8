"""Issue 10, the claims part: counties' real schemes (rules.md §2.1) and the engine's promises (§2.2).

- a scheme names its insurer, policy number and contract period;
- every school level of §2.1 (postgraduate and higher_vocational included), any subset;
- the protection line as poverty_standard × protection_line_multiplier, or the line alone;
- income drop "already paid this year" is the ledger's category_paid alone;
- no eligible assessment pays 0.00: amounts that can only pay nothing are refused.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.claims.domain.assessment import (
    ClaimFacts,
    FactsInvalid,
    HouseholdFacts,
    RejectionCode,
    YearToDate,
    assess,
    parse_claim_input,
    same_breakdown,
)
from services.claims.domain.reference import reference_scheme_data
from services.claims.domain.scheme import (
    Category,
    HouseholdStatus,
    SchemeInvalid,
    SchoolLevel,
    parse_scheme,
    scheme_to_dict,
)
from tests.unit.test_claims_assessment import claims_for, priors
from tests.unit.test_claims_scheme import scheme_dicts

REF = parse_scheme(reference_scheme_data())


def errors_of(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(SchemeInvalid) as info:
        parse_scheme(data)
    return info.value.errors


def paths_of(data: Any) -> list[str]:
    return [path for path, _ in errors_of(data)]


def with_contract(**changes: Any) -> dict[str, Any]:
    data = reference_scheme_data()
    data.update(
        insurer="中国人寿财产保险股份有限公司鹤壁市中心支公司",
        policy_number="PICC-410602-2026-001",
        contract_start="2026-01-01",
        contract_end="2026-12-31",
    )
    data.update(changes)
    return data


def second_county() -> dict[str, Any]:
    """A second county's scheme: postgraduate entry, four illness tiers, the line as standard × 1.5."""
    data = reference_scheme_data()
    data.pop("protection_line")
    data.update(
        code="qixian-2026",
        county_code="410621",
        insurer="中华联合财产保险股份有限公司浚县支公司",
        poverty_standard="4000.00",
        protection_line_multiplier="1.5",
    )
    data["categories"]["illness"]["tiers"] = [
        {"from": "0", "to": "10000", "rate": "0.40"},
        {"from": "10000", "to": "30000", "rate": "0.55"},
        {"from": "30000", "to": "60000", "rate": "0.65"},
        {"from": "60000", "to": None, "rate": "0.75"},
    ]
    data["categories"]["school_entry"]["lump_sums"] = {
        "senior_high": "1500.00",
        "higher_vocational": "3000.00",
        "undergraduate": "5000.00",
        "postgraduate": "8000.00",
    }
    return data


# ---------------------------------------------------------------------------------------------
# Insurer, policy number, contract period


def test_a_scheme_names_its_insurer_policy_and_contract_period() -> None:
    scheme = parse_scheme(with_contract())
    assert scheme.insurer == "中国人寿财产保险股份有限公司鹤壁市中心支公司"
    assert scheme.policy_number == "PICC-410602-2026-001"
    assert (scheme.contract_start, scheme.contract_end) == (date(2026, 1, 1), date(2026, 12, 31))
    out = scheme_to_dict(scheme)
    assert out["insurer"] == scheme.insurer
    assert out["contract_start"] == "2026-01-01"
    assert parse_scheme(out) == scheme


def test_insurer_and_contract_are_optional_so_stored_schemes_stay_valid() -> None:
    scheme = parse_scheme(reference_scheme_data())
    assert (scheme.insurer, scheme.policy_number) == (None, None)
    assert (scheme.contract_start, scheme.contract_end) == (None, None)
    assert "insurer" not in scheme_to_dict(scheme)  # a stored reference body reads back unchanged


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"contract_start": "2026-12-31", "contract_end": "2026-01-01"}, "contract_end"),
        ({"contract_start": "2026-02-30"}, "contract_start"),
        ({"contract_end": 20261231}, "contract_end"),
        ({"insurer": "  "}, "insurer"),
        ({"insurer": 12}, "insurer"),
        ({"insurer": "保" * 201}, "insurer"),
        ({"policy_number": ""}, "policy_number"),
        ({"policy_number": "x" * 65}, "policy_number"),
    ],
)
def test_bad_insurer_or_contract_fields_are_refused_with_their_path(changes: dict[str, Any], path: str) -> None:
    assert paths_of(with_contract(**changes)) == [path]


def test_a_one_day_contract_is_fine() -> None:
    scheme = parse_scheme(with_contract(contract_start="2026-05-01", contract_end="2026-05-01"))
    assert scheme.contract_start == scheme.contract_end


# ---------------------------------------------------------------------------------------------
# School levels


def test_every_level_of_rules_2_1_is_known() -> None:
    assert {level.value for level in SchoolLevel} == {
        "senior_high",
        "secondary_vocational",
        "higher_vocational",
        "junior_college",
        "undergraduate",
        "postgraduate",
    }


def _school_entry(level: str, n: int = 5, income: str = "25000") -> ClaimFacts:
    return ClaimFacts(
        Category.SCHOOL_ENTRY,
        HouseholdFacts(HouseholdStatus.ORDINARY, n, D(income), None, True, False),
        date(2026, 9, 1),
        date(2026, 9, 5),
        {"level": level, "student_member_id": "s1"},
    )


def test_a_postgraduate_lump_sum_is_stored_and_paid() -> None:
    scheme = parse_scheme(second_county())
    assert parse_scheme(scheme_to_dict(scheme)) == scheme
    assert assess(scheme, _school_entry("postgraduate"), YearToDate()).payout == D("8000.00")
    assert assess(scheme, _school_entry("higher_vocational"), YearToDate()).payout == D("3000.00")
    # a level this county does not list
    assert assess(scheme, _school_entry("junior_college"), YearToDate()).rejection_code is (
        RejectionCode.LEVEL_NOT_COVERED
    )
    # the reference scheme does not list postgraduate
    assert assess(REF, _school_entry("postgraduate"), YearToDate()).rejection_code is RejectionCode.LEVEL_NOT_COVERED


def test_four_illness_tiers() -> None:
    scheme = parse_scheme(second_county())
    facts = ClaimFacts(
        Category.ILLNESS,
        HouseholdFacts(HouseholdStatus.UNSTABLE, 4, D("30000"), None, True, False),
        date(2026, 3, 5),
        date(2026, 3, 20),
        {"total_cost": "120000", "basic_insurance_paid": "40000"},
    )  # b = 80000, X = 75000
    result = assess(scheme, facts, YearToDate())
    assert [t["pay"] for t in result.breakdown["tiers"]] == ["4000.00", "11000.00", "19500.00", "11250.00"]
    assert result.payout == D("45750.00")


# ---------------------------------------------------------------------------------------------
# Protection line = poverty standard × multiplier


def test_the_line_is_derived_from_the_standard_and_multiplier() -> None:
    scheme = parse_scheme(second_county())
    assert scheme.protection_line == D("6000.00")
    assert (scheme.poverty_standard, scheme.protection_line_multiplier) == (D("4000.00"), D("1.5"))
    out = scheme_to_dict(scheme)
    assert (out["poverty_standard"], out["protection_line_multiplier"], out["protection_line"]) == (
        "4000.00",
        "1.5",
        "6000.00",
    )
    assert parse_scheme(out) == scheme


def test_the_derived_line_is_rounded_half_up_to_the_fen() -> None:
    data = second_county()
    data.update(poverty_standard="4123.45", protection_line_multiplier="1.333")  # 5496.558850
    assert parse_scheme(data).protection_line == D("5496.56")
    data.update(poverty_standard="0.01", protection_line_multiplier="0.5")  # 0.005 → 0.01
    assert parse_scheme(data).protection_line == D("0.01")


def test_the_line_given_with_the_standard_must_agree() -> None:
    data = second_county()
    data["protection_line"] = "6000.00"
    assert parse_scheme(data).protection_line == D("6000.00")
    data["protection_line"] = "6500.00"
    errors = errors_of(data)
    assert [p for p, _ in errors] == ["protection_line"]
    assert "6000.00" in errors[0][1]


@pytest.mark.parametrize(
    ("drop", "changes", "path"),
    [
        (("protection_line_multiplier",), {}, "protection_line_multiplier"),  # standard alone
        (("poverty_standard",), {}, "poverty_standard"),  # multiplier alone
        (("poverty_standard", "protection_line_multiplier"), {}, "protection_line"),  # nothing at all
        ((), {"protection_line_multiplier": "0"}, "protection_line_multiplier"),
        ((), {"protection_line_multiplier": "-1.5"}, "protection_line_multiplier"),
        ((), {"protection_line_multiplier": "1.1234567"}, "protection_line_multiplier"),
        ((), {"protection_line_multiplier": "101"}, "protection_line_multiplier"),
        ((), {"poverty_standard": "0"}, "poverty_standard"),
        ((), {"poverty_standard": "4000.001"}, "poverty_standard"),
    ],
)
def test_bad_line_parameters_name_the_field(drop: tuple[str, ...], changes: dict[str, Any], path: str) -> None:
    data = second_county()
    for key in drop:
        data.pop(key)
    data.update(changes)
    assert paths_of(data) == [path]


# ---------------------------------------------------------------------------------------------
# Income drop: already paid this year is category_paid alone


def _income_drop() -> ClaimFacts:
    return ClaimFacts(
        Category.INCOME_DROP,
        HouseholdFacts(HouseholdStatus.ORDINARY, 4, D("20000"), D("40000"), True, False),
        date(2026, 6, 1),
        date(2026, 6, 2),
    )


def test_income_drop_with_a_prior_payment_is_already_paid() -> None:
    prior = YearToDate(category_paid=D("4000.00"), household_paid=D("4000.00"))
    result = assess(REF, _income_drop(), prior)
    assert result.rejection_code is RejectionCode.ALREADY_PAID_THIS_YEAR
    assert result.payout == D("0.00")


def test_income_drop_preview_with_a_prior_category_paid_is_already_paid() -> None:
    body = {
        "category": "income_drop",
        "household": {
            "status": "ordinary",
            "members": 4,
            "annual_net_income": "20000",
            "previous_annual_net_income": "40000",
            "insured": True,
            "negative_list": False,
        },
        "incident_date": "2026-06-01",
        "reported_date": "2026-06-02",
        "prior": {"category_base": "0", "category_paid": "0.01", "household_paid": "0.01"},
    }
    facts, prior = parse_claim_input(body)
    assert assess(REF, facts, prior).rejection_code is RejectionCode.ALREADY_PAID_THIS_YEAR
    # nothing paid before: E6 pays
    body["prior"] = {"category_paid": "0", "household_paid": "0"}
    facts, prior = parse_claim_input(body)
    assert assess(REF, facts, prior).payout == D("4000.00")


def test_the_old_second_flag_may_only_agree_with_category_paid() -> None:
    body = {
        "category": "income_drop",
        "household": {
            "status": "ordinary",
            "members": 4,
            "annual_net_income": "20000",
            "previous_annual_net_income": "40000",
            "insured": True,
            "negative_list": False,
        },
        "incident_date": "2026-06-01",
        "reported_date": "2026-06-02",
    }
    # stored facts written before the change carry the flag; when it agrees it is read and dropped
    agreeing = {**body, "prior": {"category_paid": "4000", "income_drop_paid_this_year": True}}
    facts, prior = parse_claim_input(agreeing)
    assert assess(REF, facts, prior).rejection_code is RejectionCode.ALREADY_PAID_THIS_YEAR
    assert "income_drop_paid_this_year" not in assess(REF, facts, prior).breakdown["prior"]
    for flag, paid in ((True, "0"), (False, "4000")):
        with pytest.raises(FactsInvalid) as info:
            parse_claim_input({**body, "prior": {"category_paid": paid, "income_drop_paid_this_year": flag}})
        assert [p for p, _ in info.value.errors] == ["prior.income_drop_paid_this_year"]
    # another category's facts: the flag said nothing about this category and is ignored
    illness = {**body, "category": "illness", "expense": {"total_cost": "50000"}}
    facts, prior = parse_claim_input({**illness, "prior": {"income_drop_paid_this_year": True}})
    assert prior == YearToDate()


# ---------------------------------------------------------------------------------------------
# No eligible assessment pays 0.00


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda c: c["school_entry"]["lump_sums"].update(senior_high="0.00"),
         "categories.school_entry.lump_sums.senior_high"),
        (lambda c: c["income_drop"].update(cap="0"), "categories.income_drop.cap"),
        (lambda c: c["illness"].update(cap="0.00"), "categories.illness.cap"),
        (lambda c: c["in_school"].update(cap="0"), "categories.in_school.cap"),
        (
            lambda c: c["disaster_accident"].update(
                tiers=[{"from": "0", "to": "50000", "rate": "0"}, {"from": "50000", "to": None, "rate": "0.00"}]
            ),
            "categories.disaster_accident.tiers",
        ),
    ],
)  # fmt: skip
def test_amounts_that_can_only_pay_nothing_are_refused(edit: Any, path: str) -> None:
    data = reference_scheme_data()
    edit(data["categories"])
    errors = errors_of(data)
    assert [p for p, _ in errors] == [path]
    assert "pays nothing" in errors[0][1]


def test_a_zero_lump_sum_gave_an_eligible_zero_payout() -> None:
    """The defect: school entry with a 0.00 lump sum was eligible and paid 0.00."""
    data = reference_scheme_data()
    data["categories"]["school_entry"]["lump_sums"]["senior_high"] = "0.00"
    with pytest.raises(SchemeInvalid):
        parse_scheme(data)


def test_a_stored_scheme_with_such_an_amount_reads_it_as_not_covered() -> None:
    """Stored before validation refused them: a 0.00 level or a category paying nothing is not cover."""
    data = reference_scheme_data()
    data["categories"]["school_entry"]["lump_sums"]["senior_high"] = "0.00"
    data["categories"]["income_drop"]["cap"] = "0.00"
    data["categories"]["illness"]["tiers"] = [{"from": "0", "to": None, "rate": "0"}]
    scheme = parse_scheme(copy.deepcopy(data), stored=True)
    result = assess(scheme, _school_entry("senior_high"), YearToDate())
    assert (result.eligible, result.rejection_code) == (False, RejectionCode.LEVEL_NOT_COVERED)
    assert assess(scheme, _school_entry("undergraduate"), YearToDate()).payout == D("5000.00")
    assert assess(scheme, _income_drop(), YearToDate()).rejection_code is RejectionCode.CATEGORY_NOT_COVERED
    assert scheme.categories.illness is None
    assert scheme.categories.disaster_accident is not None


# ---------------------------------------------------------------------------------------------
# The property that found the eligible 0.00 (deterministic under the `ci` profile, tests/conftest.py)


@st.composite
def schemes_with_zeros(draw: st.DrawFn) -> dict[str, Any]:
    """Valid scheme dicts with, often, a lump sum, a cap or every rate of a category set to 0."""
    data = draw(scheme_dicts(year=2026))
    for name, config in data["categories"].items():
        if not draw(st.booleans()):
            continue
        if name == "school_entry":
            level = draw(st.sampled_from(sorted(config["lump_sums"])))
            config["lump_sums"][level] = draw(st.sampled_from(["0", "0.00", 0]))
        elif draw(st.booleans()) or name == "income_drop":
            config["cap"] = "0.00"
        else:
            for tier in config["tiers"]:
                tier["rate"] = "0"
    return data


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_no_scheme_gives_an_eligible_zero_payout(data: st.DataObject) -> None:
    raw = data.draw(schemes_with_zeros())
    facts = data.draw(claims_for(2026))
    prior = data.draw(priors())
    errors: list[tuple[str, str]] = []
    try:
        scheme = parse_scheme(copy.deepcopy(raw))
    except SchemeInvalid as exc:
        errors = exc.errors
        scheme = parse_scheme(copy.deepcopy(raw), stored=True)  # what a stored copy would be read as
    assert all("pays nothing" in message for _, message in errors), errors
    result = assess(scheme, facts, prior)
    assert result.eligible == (result.payout > 0)
    assert result.eligible == (result.rejection_code is None)


def test_a_breakdown_stored_with_the_old_flag_recomputes_as_the_same() -> None:
    recomputed = {"prior": {"category_paid": "0.00", "household_paid": "0.00"}, "payout": "4000.00"}
    stored = copy.deepcopy(recomputed)
    stored["prior"]["income_drop_paid_this_year"] = False
    assert same_breakdown(stored, recomputed)
    stored["prior"]["category_paid"] = "10.00"  # a real difference still shows
    assert not same_breakdown(stored, recomputed)
    assert not same_breakdown({**recomputed, "payout": "1.00"}, recomputed)
