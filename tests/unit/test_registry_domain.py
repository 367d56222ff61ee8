"""Registry domain: division codes, per-capita net income, and the enums' Chinese labels."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.registry.domain.model import (
    LABELLED_ENUMS,
    LABELS_ZH,
    MONITORING_TYPES,
    DibaoClass,
    EducationStage,
    HouseholdStatus,
    IncomeSource,
    LabourAbility,
    Relation,
    Sex,
    label_zh,
    per_capita_net_income,
)
from services.registry.domain.regions import (
    InvalidRegionCode,
    RegionCode,
    RegionLevel,
    is_within,
    parent_code,
    parse_region_code,
    region_prefix,
)

# --- regions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "code12", "level", "prefix"),
    [
        ("41", "410000000000", RegionLevel.province, "41"),
        ("4106", "410600000000", RegionLevel.city, "4106"),
        ("410602", "410602000000", RegionLevel.county, "410602"),
        ("410602001", "410602001000", RegionLevel.township, "410602001"),
        ("410602001001", "410602001001", RegionLevel.village, "410602001001"),
        # zero-padded forms
        ("410000", "410000000000", RegionLevel.province, "41"),
        ("410600", "410600000000", RegionLevel.city, "4106"),  # GB/T 2260: 410600 is a city
        ("410000000000", "410000000000", RegionLevel.province, "41"),
        ("410600000000", "410600000000", RegionLevel.city, "4106"),
        ("410602000000", "410602000000", RegionLevel.county, "410602"),
        ("410602001000", "410602001000", RegionLevel.township, "410602001"),
        ("410602000", "410602000000", RegionLevel.county, "410602"),
        ("4100", "410000000000", RegionLevel.province, "41"),
        (" 410602 ", "410602000000", RegionLevel.county, "410602"),
        ("110101001001", "110101001001", RegionLevel.village, "110101001001"),
        ("410602001200", "410602001200", RegionLevel.village, "410602001200"),
    ],
)
def test_parse_region_code(code: str, code12: str, level: RegionLevel, prefix: str) -> None:
    region = parse_region_code(code)
    assert region == RegionCode(code12=code12, level=level, prefix=prefix)
    assert region_prefix(code) == prefix
    assert level.prefix_length == len(prefix)
    assert str(region) == code12


@pytest.mark.parametrize(
    "code",
    [
        "",
        "4",
        "410",
        "41060",
        "4106020",
        "41060200",
        "4106020010",
        "41060200100",
        "4106020010011",
        "00",
        "000000000000",
        "001234",  # no province
        "410006",  # a county under no city
        "410600001000",  # a township under no county
        "410602000001",  # a village under no township
        "41a602",
        "４１０６０２",
    ],
)
def test_invalid_region_codes(code: str) -> None:
    with pytest.raises(InvalidRegionCode):
        parse_region_code(code)


def test_invalid_region_code_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        region_prefix("123")


@pytest.mark.parametrize(
    ("code", "parent"),
    [
        ("410602001001", "410602001000"),
        ("410602001", "410602000000"),
        ("410602", "410600000000"),
        ("4106", "410000000000"),
        ("410600", "410000000000"),
        ("41", None),
        ("410000000000", None),
    ],
)
def test_parent_code(code: str, parent: str | None) -> None:
    assert parent_code(code) == parent


def test_walking_up_from_a_village_reaches_the_province() -> None:
    chain = []
    code: str | None = "410602001001"
    while code is not None:
        chain.append(parse_region_code(code).level)
        code = parent_code(code)
    assert chain == list(RegionLevel)[::-1]


def test_scope_checks_by_prefix() -> None:
    county = parse_region_code("410602")
    assert county.contains(parse_region_code("410602001001"))
    assert county.contains(county)
    assert not county.contains(parse_region_code("410603001001"))
    assert not parse_region_code("410602001001").contains(county)
    assert county.county_code == "410602"
    assert parse_region_code("410602001001").county_code == "410602"
    assert parse_region_code("4106").county_code is None
    assert is_within("410602001001", "41")
    assert is_within("410602001001", "410602000000")
    assert not is_within("410602001001", "410603")


# --- per-capita net income ----------------------------------------------------------------


def D(text: str) -> Decimal:
    return Decimal(text)


@pytest.mark.parametrize(
    ("wage", "business", "property_", "transfer", "costs", "members", "expected"),
    [
        ("20000", "8000", "500", "1500", "6000", 4, "6000.00"),
        ("30000.00", "0", "0", "0", "0", 4, "7500.00"),
        ("10000", "0", "0", "0", "0", 3, "3333.33"),
        ("20000", "0", "0", "0", "0", 3, "6666.67"),
        ("0.01", "0", "0", "0", "0", 2, "0.01"),  # 0.005 rounds half up
        ("0.01", "0", "0", "0", "0", 3, "0.00"),  # 0.00333…
        ("0.05", "0", "0", "0", "0", 2, "0.03"),  # 0.025 → 0.03, not banker's 0.02
        ("0", "0", "0", "0", "0.01", 2, "-0.01"),  # a negative half cent goes away from zero
        ("1000", "0", "0", "0", "4000", 3, "-1000.00"),  # costs above income
        ("0", "0", "0", "0", "0", 1, "0.00"),
        ("99999999.99", "0", "0", "0", "0", 7, "14285714.28"),
    ],
)
def test_per_capita_net_income(
    wage: str, business: str, property_: str, transfer: str, costs: str, members: int, expected: str
) -> None:
    result = per_capita_net_income(D(wage), D(business), D(property_), D(transfer), D(costs), members)
    assert result == D(expected)
    assert result is not None
    assert result.as_tuple().exponent == -2


def test_per_capita_net_income_of_an_empty_household_is_none() -> None:
    assert per_capita_net_income(D("1000"), D("0"), D("0"), D("0"), D("0"), 0) is None


def test_per_capita_net_income_rejects_floats_and_negative_members() -> None:
    with pytest.raises(TypeError):
        per_capita_net_income(1000.0, D("0"), D("0"), D("0"), D("0"), 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        per_capita_net_income(D("1000"), D("0"), D("0"), D("0"), D("0"), -1)
    with pytest.raises(TypeError):
        per_capita_net_income(D("1000"), D("0"), D("0"), D("0"), D("0"), 2.0)  # type: ignore[arg-type]


money = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)


@given(wage=money, business=money, transfer=money, costs=money, members=st.integers(1, 20))
def test_per_capita_is_the_exact_quotient_rounded_once(
    wage: Decimal, business: Decimal, transfer: Decimal, costs: Decimal, members: int
) -> None:
    result = per_capita_net_income(wage, business, D("0"), transfer, costs, members)
    assert result is not None
    net = wage + business + transfer - costs
    # Within half a cent of the exact quotient: |result × n − net| ≤ n × 0.005.
    assert abs(result * members - net) <= members * D("0.005")


@given(wage=money, extra=money, costs=money, members=st.integers(1, 20))
def test_per_capita_never_goes_down_when_income_goes_up(
    wage: Decimal, extra: Decimal, costs: Decimal, members: int
) -> None:
    zero = D("0")
    before = per_capita_net_income(wage, zero, zero, zero, costs, members)
    after = per_capita_net_income(wage + extra, zero, zero, zero, costs, members)
    assert before is not None
    assert after is not None
    assert after >= before


# --- enums and labels ---------------------------------------------------------------------


def test_every_enum_value_has_a_distinct_chinese_label() -> None:
    for enum in LABELLED_ENUMS:
        labels = LABELS_ZH[enum]
        assert set(labels) == {member.value for member in enum}, enum
        assert len(set(labels.values())) == len(labels), enum
        for member in enum:
            assert member.label_zh == label_zh(member) == labels[member]
            assert all("\u4e00" <= ch <= "\u9fff" or ch.isascii() for ch in member.label_zh)


def test_labels_are_per_enum_even_when_values_collide() -> None:
    # "none" is both a labour ability and an education stage; their labels differ.
    assert LabourAbility.none.label_zh == "无劳动力"
    assert EducationStage.none.label_zh == "无"


def test_selected_labels() -> None:
    assert HouseholdStatus.ORDINARY.label_zh == "一般农户"
    assert HouseholdStatus.SUDDEN_HARDSHIP.label_zh == "突发严重困难户"
    assert Relation.head.label_zh == "户主"
    assert Sex.female.label_zh == "女"
    assert DibaoClass.B.label_zh == "B类"
    assert IncomeSource.production_costs.label_zh == "生产经营支出"


def test_monitoring_types() -> None:
    assert {HouseholdStatus.UNSTABLE, HouseholdStatus.MARGINAL, HouseholdStatus.SUDDEN_HARDSHIP} == MONITORING_TYPES
    assert not HouseholdStatus.LIFTED_OUT.is_monitoring
    assert HouseholdStatus.MARGINAL.is_monitoring


def test_enum_values_are_the_wire_strings() -> None:
    assert [m.value for m in Relation][:4] == ["head", "spouse", "son", "daughter"]
    assert [m.value for m in EducationStage] == [
        "none",
        "preschool",
        "primary",
        "junior",
        "senior_high",
        "secondary_vocational",
        "junior_college",
        "undergraduate",
        "postgraduate",
    ]
    assert HouseholdStatus("lifted_out") == "lifted_out"
