"""Scheme validation and serialisation (rules.md §2.1, issue 5 "Schemes").

The hypothesis strategies for valid scheme dicts live here and are reused by the assessment
tests.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.claims.domain.reference import REFERENCE_SCHEME, reference_scheme_data
from services.claims.domain.scheme import (
    Category,
    HouseholdStatus,
    IllnessConfig,
    PoolMode,
    SchemeInvalid,
    SchoolLevel,
    Tier,
    TieredConfig,
    parse_scheme,
    scheme_to_dict,
)

# ---------------------------------------------------------------------------------------------
# Strategies


def _cents_to_decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


@st.composite
def money_inputs(draw: st.DrawFn, min_cents: int = 0, max_cents: int = 50_000_000) -> object:
    """A money amount in one of the accepted spellings: '12.30', '12.3', 12, Decimal, 12.5."""
    cents = draw(st.integers(min_cents, max_cents))
    value = _cents_to_decimal(cents)
    spelling = draw(st.sampled_from(["fixed", "plain", "int", "decimal", "float"]))
    if spelling == "fixed":
        return f"{value:.2f}"
    if spelling == "plain":
        return format(value.normalize(), "f")
    if spelling == "int" and cents % 100 == 0:
        return cents // 100
    if spelling == "float" and cents % 25 == 0 and cents < 10**9:
        return float(value)  # exactly representable quarters; read through str anyway
    return value


@st.composite
def rate_inputs(draw: st.DrawFn) -> str:
    places = draw(st.sampled_from([1, 2, 2, 2, 3, 6]))
    scale = 10**places
    return format(Decimal(draw(st.integers(0, scale))).scaleb(-places), "f")


@st.composite
def tiers_data(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 4))
    open_last = draw(st.booleans())
    needed = count - 1 if open_last else count
    points = sorted(draw(st.lists(st.integers(1, 30_000_000), min_size=needed, max_size=needed, unique=True)))
    lowers = [0, *points[: count - 1]]
    uppers: list[int | None] = [*points, None] if open_last else list(points)
    tiers = [
        {
            "from": format(_cents_to_decimal(lo), "f"),
            "to": None if hi is None else format(_cents_to_decimal(hi), "f"),
            "rate": draw(rate_inputs()),
        }
        for lo, hi in zip(lowers, uppers, strict=True)
    ]
    if all(Decimal(str(t["rate"])) == 0 for t in tiers):  # all rates 0 pays nothing: refused (issue 10)
        tiers[draw(st.integers(0, count - 1))]["rate"] = draw(st.sampled_from(["0.000001", "0.01", "0.5", "1"]))
    return tiers


@st.composite
def category_data(draw: st.DrawFn, category: Category) -> dict[str, Any]:
    if category is Category.ILLNESS:
        return {
            "deductible": {s.value: draw(money_inputs(max_cents=5_000_000)) for s in HouseholdStatus},
            "tiers": draw(tiers_data()),
            "cap": draw(money_inputs(min_cents=1)),
        }
    # Lump sums and caps of 0.00 pay nothing and are refused (issue 10): generated from 0.01.
    if category is Category.SCHOOL_ENTRY:
        levels = draw(st.lists(st.sampled_from(list(SchoolLevel)), min_size=1, unique=True))
        return {"lump_sums": {level.value: draw(money_inputs(min_cents=1, max_cents=2_000_000)) for level in levels}}
    if category is Category.INCOME_DROP:
        return {"min_drop_ratio": draw(rate_inputs()), "cap": draw(money_inputs(min_cents=1))}
    return {
        "deductible": draw(money_inputs(max_cents=5_000_000)),
        "tiers": draw(tiers_data()),
        "cap": draw(money_inputs(min_cents=1)),
    }


@st.composite
def scheme_dicts(draw: st.DrawFn, year: int | None = None) -> dict[str, Any]:
    categories = draw(st.lists(st.sampled_from(list(Category)), min_size=1, unique=True))
    data: dict[str, Any] = {
        "code": draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)),
        "county_code": draw(st.from_regex(r"[0-9]{6}", fullmatch=True)),
        "year": year if year is not None else draw(st.integers(2000, 2100)),
        "premium_per_person": draw(money_inputs(max_cents=100_000)),
        "pool_mode": draw(st.sampled_from(["enrolled", "all_rural"])),
        "protection_line": draw(money_inputs(min_cents=1, max_cents=5_000_000)),
        "household_annual_cap": draw(money_inputs(max_cents=100_000_000)),
        "report_window_days": draw(st.integers(0, 3660)),
        "notice_days": draw(st.integers(1, 365)),
        "categories": {c.value: draw(category_data(c)) for c in categories},
    }
    if draw(st.booleans()):
        data["version"] = draw(st.integers(1, 1000))
    return data


def errors_of(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(SchemeInvalid) as info:
        parse_scheme(data)
    return info.value.errors


def paths_of(data: Any) -> list[str]:
    return [path for path, _ in errors_of(data)]


def ref() -> dict[str, Any]:
    return reference_scheme_data()


# ---------------------------------------------------------------------------------------------
# The reference scheme


def test_reference_scheme_parses_with_the_published_figures() -> None:
    scheme = parse_scheme(REFERENCE_SCHEME)
    assert scheme.code == "reference-2026"
    assert scheme.version == 1  # the reference carries no version
    assert scheme.county_code == "410602"
    assert scheme.year == 2026
    assert scheme.pool_mode is PoolMode.ENROLLED
    assert scheme.premium_per_person == Decimal("100.00")
    assert scheme.protection_line == Decimal("6000.00")
    assert scheme.household_annual_cap == Decimal("150000.00")
    assert (scheme.report_window_days, scheme.notice_days) == (180, 10)
    illness = scheme.categories.illness
    assert isinstance(illness, IllnessConfig)
    assert illness.deductible.for_status(HouseholdStatus.UNSTABLE) == Decimal("5000")
    assert illness.deductible.for_status(HouseholdStatus.ORDINARY) == Decimal("20000")
    assert illness.tiers == (
        Tier(Decimal("0"), Decimal("20000"), Decimal("0.50")),
        Tier(Decimal("20000"), Decimal("50000"), Decimal("0.60")),
        Tier(Decimal("50000"), None, Decimal("0.70")),
    )
    disaster = scheme.categories.disaster_accident
    assert isinstance(disaster, TieredConfig)
    assert disaster.cap == Decimal("100000")
    assert scheme.categories.school_entry is not None
    assert scheme.categories.school_entry.lump_sums.for_level("undergraduate") == Decimal("5000")
    assert scheme.categories.income_drop is not None
    assert scheme.categories.income_drop.min_drop_ratio == Decimal("0.30")
    assert scheme.categories.covered() == tuple(Category)


def test_reference_scheme_is_the_rules_md_json_verbatim() -> None:
    text = (
        '{"code": "reference-2026", "county_code": "410602", "year": 2026,'
        ' "premium_per_person": "100.00", "pool_mode": "enrolled", "protection_line": "6000.00",'
        ' "household_annual_cap": "150000.00", "report_window_days": 180, "notice_days": 10,'
        ' "categories": {'
        ' "illness": {"deductible": {"ordinary": "20000.00", "lifted_out": "5000.00", "unstable": "5000.00",'
        ' "marginal": "20000.00", "sudden_hardship": "20000.00"},'
        ' "tiers": [{"from": "0", "to": "20000", "rate": "0.50"},'
        ' {"from": "20000", "to": "50000", "rate": "0.60"},'
        ' {"from": "50000", "to": null, "rate": "0.70"}],'
        ' "cap": "100000.00"},'
        ' "disaster_accident": {"deductible": "2000.00", "cap": "100000.00",'
        ' "tiers": [{"from": "0", "to": "50000", "rate": "0.60"}, {"from": "50000", "to": null, "rate": "0.70"}]},'
        ' "school_entry": {"lump_sums": {"senior_high": "2000.00", "secondary_vocational": "2000.00",'
        ' "junior_college": "3000.00", "undergraduate": "5000.00"}},'
        ' "in_school": {"deductible": "3000.00", "tiers": [{"from": "0", "to": null, "rate": "0.50"}],'
        ' "cap": "20000.00"},'
        ' "income_drop": {"min_drop_ratio": "0.30", "cap": "10000.00"},'
        ' "industry_loss": {"deductible": "2000.00", "tiers": [{"from": "0", "to": null, "rate": "0.50"}],'
        ' "cap": "20000.00"}}}'
    )
    assert json.loads(text) == REFERENCE_SCHEME


def test_reference_scheme_data_is_a_private_copy() -> None:
    data = reference_scheme_data()
    data["categories"]["illness"]["cap"] = "1.00"
    assert REFERENCE_SCHEME["categories"]["illness"]["cap"] == "100000.00"


def test_scheme_to_dict_is_json_with_money_at_two_places_and_rates_as_given() -> None:
    out = scheme_to_dict(parse_scheme(REFERENCE_SCHEME))
    assert json.loads(json.dumps(out)) == out
    assert out["version"] == 1
    assert out["categories"]["illness"]["tiers"][0] == {"from": "0.00", "to": "20000.00", "rate": "0.50"}
    assert out["categories"]["illness"]["tiers"][2]["to"] is None
    assert out["categories"]["income_drop"] == {"min_drop_ratio": "0.30", "cap": "10000.00"}
    expected = copy.deepcopy(REFERENCE_SCHEME)
    expected["version"] = 1
    for tiered in ("illness", "disaster_accident", "in_school", "industry_loss"):
        for tier in expected["categories"][tiered]["tiers"]:
            tier["from"] = f"{Decimal(tier['from']):.2f}"
            tier["to"] = None if tier["to"] is None else f"{Decimal(tier['to']):.2f}"
    assert out == expected


def test_round_trip_of_the_reference() -> None:
    scheme = parse_scheme(REFERENCE_SCHEME)
    assert parse_scheme(scheme_to_dict(scheme)) == scheme
    assert hash(scheme) == hash(parse_scheme(scheme_to_dict(scheme)))


@settings(max_examples=300, deadline=None)
@given(scheme_dicts())
def test_every_generated_scheme_parses_and_round_trips(data: dict[str, Any]) -> None:
    scheme = parse_scheme(data)
    out = scheme_to_dict(scheme)
    assert json.loads(json.dumps(out)) == out
    assert parse_scheme(out) == scheme
    assert scheme_to_dict(parse_scheme(out)) == out
    assert scheme.version == data.get("version", 1)


# ---------------------------------------------------------------------------------------------
# Numbers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("100", Decimal("100.00")),
        ("100.5", Decimal("100.50")),
        ("100.50", Decimal("100.50")),
        ("100.500", Decimal("100.50")),  # extra zeros are still 2 places of value
        (100, Decimal("100.00")),
        (Decimal("7.1"), Decimal("7.10")),
        (0.1, Decimal("0.10")),  # read through str: 0.1, not the binary fraction
        (1e3, Decimal("1000.00")),
        ("-0", Decimal("0.00")),
    ],
)
def test_amount_spellings_are_accepted_and_kept_exact(value: object, expected: Decimal) -> None:
    data = ref()
    data["premium_per_person"] = value
    premium = parse_scheme(data).premium_per_person
    assert premium == expected
    assert str(premium) == str(expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("100.001", "at most 2 decimal places"),
        (0.001, "at most 2 decimal places"),
        ("-1", "must not be negative"),
        ("1e3", "decimal number"),
        ("1_000", "decimal number"),
        (" 100", "decimal number"),
        ("NaN", "decimal number"),
        ("", "decimal number"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (Decimal("Infinity"), "finite"),
        (True, "boolean"),
        (None, "decimal number"),
        ([], "decimal number"),
        ("1000000000000.00", "must not exceed"),
    ],
)
def test_bad_amounts_are_refused_with_their_path(value: object, message: str) -> None:
    data = ref()
    data["premium_per_person"] = value
    errors = errors_of(data)
    assert len(errors) == 1
    path, text = errors[0]
    assert path == "premium_per_person"
    assert message in text


@pytest.mark.parametrize(
    ("value", "ok"),
    [("0", True), ("1", True), ("0.123456", True), ("0.1234560", True), ("0.1234567", False),
     ("1.01", False), ("-0.1", False), (0.5, True), (1, True), (2, False)],
)  # fmt: skip
def test_rates_are_between_0_and_1_with_at_most_6_places(value: object, ok: bool) -> None:
    # illness has three tiers: a rate of 0 in one of them is fine (all rates 0 pays nothing, refused)
    data = ref()
    data["categories"]["illness"]["tiers"][0]["rate"] = value
    if ok:
        config = parse_scheme(data).categories.illness
        assert config is not None
        assert config.tiers[0].rate == Decimal(str(value))
    else:
        assert paths_of(data) == ["categories.illness.tiers[0].rate"]


def test_rates_keep_their_spelling_through_the_round_trip() -> None:
    data = ref()
    data["categories"]["in_school"]["tiers"][0]["rate"] = "0.5000"
    data["categories"]["income_drop"]["min_drop_ratio"] = "0.3"
    out = scheme_to_dict(parse_scheme(data))
    assert out["categories"]["in_school"]["tiers"][0]["rate"] == "0.5000"
    assert out["categories"]["income_drop"]["min_drop_ratio"] == "0.3"


# ---------------------------------------------------------------------------------------------
# Top-level fields


def _with(**changes: object) -> dict[str, Any]:
    data = ref()
    for key, value in changes.items():
        if value is _DELETE:
            del data[key]
        else:
            data[key] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"code": ""}, "code", "1 to 64 characters"),
        ({"code": " reference"}, "code", "1 to 64 characters"),
        ({"code": "x" * 65}, "code", "1 to 64 characters"),
        ({"code": 7}, "code", "1 to 64 characters"),
        ({"county_code": "41060"}, "county_code", "6-digit"),
        ({"county_code": "4106021"}, "county_code", "6-digit"),
        ({"county_code": 410602}, "county_code", "6-digit"),
        ({"county_code": "41060a"}, "county_code", "6-digit"),
        ({"county_code": "４１０６０２"}, "county_code", "6-digit"),  # full-width digits
        ({"year": 1999}, "year", "between 2000 and 2100"),
        ({"year": 2101}, "year", "between 2000 and 2100"),
        ({"year": "2026"}, "year", "integer"),
        ({"year": 2026.0}, "year", "integer"),
        ({"year": True}, "year", "integer"),
        ({"version": 0}, "version", "between 1"),
        ({"version": "2"}, "version", "integer"),
        ({"pool_mode": "everyone"}, "pool_mode", "enrolled, all_rural"),
        ({"pool_mode": None}, "pool_mode", "enrolled, all_rural"),
        ({"protection_line": "0"}, "protection_line", "greater than 0"),
        ({"protection_line": "-6000"}, "protection_line", "negative"),
        ({"household_annual_cap": "-1"}, "household_annual_cap", "negative"),
        ({"premium_per_person": "-100"}, "premium_per_person", "negative"),
        ({"report_window_days": -1}, "report_window_days", "between 0 and 3660"),
        ({"report_window_days": 180.0}, "report_window_days", "integer"),
        ({"notice_days": 0}, "notice_days", "between 1 and 365"),
        ({"categories": {}}, "categories", "at least one category"),
        ({"categories": []}, "categories", "object keyed by category"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"code": _DELETE}, "code", "required"),
        ({"categories": _DELETE}, "categories", "required"),
        ({"pool_mode": _DELETE}, "pool_mode", "required"),
    ],
)
def test_top_level_errors(changes: dict[str, object], path: str, message: str) -> None:
    errors = errors_of(_with(**changes))
    assert [p for p, _ in errors] == [path]
    assert message in errors[0][1]


def test_a_non_object_is_refused() -> None:
    assert errors_of([1, 2]) == [("(root)", "must be an object, got list")]


def test_all_problems_are_reported_at_once() -> None:
    data = _with(year=3000, pool_mode="x", county_code="1")
    data["categories"]["illness"]["cap"] = "-5"
    assert sorted(paths_of(data)) == sorted(["year", "pool_mode", "county_code", "categories.illness.cap"])


def test_zero_is_a_valid_amount_where_non_negative() -> None:
    scheme = parse_scheme(_with(premium_per_person="0", household_annual_cap="0"))
    assert scheme.household_annual_cap == 0


def test_all_rural_pool_mode() -> None:
    assert parse_scheme(_with(pool_mode="all_rural")).pool_mode is PoolMode.ALL_RURAL


def test_version_is_kept() -> None:
    assert parse_scheme(_with(version=7)).version == 7


def test_error_message_lists_the_paths() -> None:
    with pytest.raises(SchemeInvalid, match=r"year: must be between 2000 and 2100"):
        parse_scheme(_with(year=1))


# ---------------------------------------------------------------------------------------------
# Categories


def test_unknown_category_is_refused() -> None:
    data = ref()
    data["categories"]["flood"] = {"cap": "1"}
    errors = errors_of(data)
    assert errors == [
        (
            "categories.flood",
            "unknown category; expected one of illness, disaster_accident, school_entry, in_school, "
            "income_drop, industry_loss",
        )
    ]


def test_a_scheme_may_cover_only_some_categories() -> None:
    data = ref()
    del data["categories"]["illness"]
    del data["categories"]["income_drop"]
    scheme = parse_scheme(data)
    assert scheme.categories.illness is None
    assert scheme.categories.get(Category.INCOME_DROP) is None
    assert Category.ILLNESS not in scheme.categories.covered()
    assert "illness" not in scheme_to_dict(scheme)["categories"]


def test_illness_deductible_unknown_status() -> None:
    data = ref()
    data["categories"]["illness"]["deductible"]["poor"] = "1000"
    errors = errors_of(data)
    assert [p for p, _ in errors] == ["categories.illness.deductible.poor"]
    assert "unknown household status" in errors[0][1]


@pytest.mark.parametrize("status", [s.value for s in HouseholdStatus])
def test_illness_deductible_every_status_required(status: str) -> None:
    data = ref()
    del data["categories"]["illness"]["deductible"][status]
    assert errors_of(data) == [
        (f"categories.illness.deductible.{status}", "missing deductible for this household status")
    ]


def test_illness_deductible_must_be_a_mapping() -> None:
    data = ref()
    data["categories"]["illness"]["deductible"] = "5000.00"
    assert paths_of(data) == ["categories.illness.deductible"]


def test_illness_deductible_negative() -> None:
    data = ref()
    data["categories"]["illness"]["deductible"]["marginal"] = "-1"
    assert errors_of(data) == [("categories.illness.deductible.marginal", "must not be negative")]


@pytest.mark.parametrize(
    ("category", "field", "value", "path"),
    [
        ("disaster_accident", "deductible", "-1", "categories.disaster_accident.deductible"),
        ("disaster_accident", "cap", "abc", "categories.disaster_accident.cap"),
        ("in_school", "cap", "-20000", "categories.in_school.cap"),
        ("industry_loss", "deductible", {"ordinary": "1"}, "categories.industry_loss.deductible"),
        ("illness", "cap", "1.234", "categories.illness.cap"),
        ("income_drop", "min_drop_ratio", "1.5", "categories.income_drop.min_drop_ratio"),
        ("income_drop", "cap", "-1", "categories.income_drop.cap"),
        ("school_entry", "lump_sums", {}, "categories.school_entry.lump_sums"),
        ("school_entry", "lump_sums", ["undergraduate"], "categories.school_entry.lump_sums"),
    ],
)
def test_category_field_errors(category: str, field: str, value: object, path: str) -> None:
    data = ref()
    data["categories"][category][field] = value
    assert paths_of(data) == [path]


@pytest.mark.parametrize(
    ("category", "field"),
    [("illness", "tiers"), ("illness", "cap"), ("illness", "deductible"), ("in_school", "deductible"),
     ("industry_loss", "cap"), ("income_drop", "min_drop_ratio"), ("school_entry", "lump_sums")],
)  # fmt: skip
def test_category_required_fields(category: str, field: str) -> None:
    data = ref()
    del data["categories"][category][field]
    assert errors_of(data) == [(f"categories.{category}.{field}", "required field is missing")]


def test_category_unknown_field() -> None:
    data = ref()
    data["categories"]["in_school"]["ceiling"] = "1"
    assert errors_of(data) == [("categories.in_school.ceiling", "unknown field")]


def test_category_must_be_an_object() -> None:
    data = ref()
    data["categories"]["income_drop"] = "0.30"
    assert paths_of(data) == ["categories.income_drop"]


def test_lump_sum_unknown_level() -> None:
    data = ref()
    data["categories"]["school_entry"]["lump_sums"]["kindergarten"] = "500"
    errors = errors_of(data)
    assert [p for p, _ in errors] == ["categories.school_entry.lump_sums.kindergarten"]
    assert "unknown school level" in errors[0][1]


def test_lump_sum_negative() -> None:
    data = ref()
    data["categories"]["school_entry"]["lump_sums"]["undergraduate"] = "-5000"
    assert paths_of(data) == ["categories.school_entry.lump_sums.undergraduate"]


def test_lump_sums_may_list_some_levels() -> None:
    data = ref()
    data["categories"]["school_entry"]["lump_sums"] = {"undergraduate": "5000"}
    config = parse_scheme(data).categories.school_entry
    assert config is not None
    assert config.lump_sums.for_level(SchoolLevel.UNDERGRADUATE) == Decimal("5000")
    assert config.lump_sums.for_level("senior_high") is None
    assert config.lump_sums.for_level("kindergarten") is None


# ---------------------------------------------------------------------------------------------
# Tiers


def _tiers(*rows: tuple[object, object, object]) -> list[dict[str, object]]:
    return [{"from": a, "to": b, "rate": r} for a, b, r in rows]


TIER_PATH = "categories.illness.tiers"


@pytest.mark.parametrize(
    ("tiers", "expected"),
    [
        pytest.param(
            _tiers(("100", "20000", "0.5"), ("20000", None, "0.6")),
            [(f"{TIER_PATH}[0].from", "the first tier must start at 0, got 100.00")],
            id="first-not-zero",
        ),
        pytest.param(
            _tiers(("0", "20000", "0.5"), ("25000", None, "0.6")),
            [
                (
                    f"{TIER_PATH}[1].from",
                    "tiers must be contiguous and ordered: expected 20000.00 (the previous tier's to), got 25000.00",
                )
            ],
            id="gap",
        ),
        pytest.param(
            _tiers(("0", "20000", "0.5"), ("15000", None, "0.6")),
            [
                (
                    f"{TIER_PATH}[1].from",
                    "tiers must be contiguous and ordered: expected 20000.00 (the previous tier's to), got 15000.00",
                )
            ],
            id="overlap",
        ),
        pytest.param(
            _tiers(("0", None, "0.5"), ("20000", None, "0.6")),
            [(f"{TIER_PATH}[0].to", "only the last tier may be open (to: null)")],
            id="open-not-last",
        ),
        pytest.param(
            _tiers(("0", "0", "0.5")),
            [(f"{TIER_PATH}[0].to", "must be greater than from (0.00), got 0.00")],
            id="empty-tier",
        ),
        pytest.param(
            _tiers(("0", "20000", "0.5"), ("20000", "10000", "0.6")),
            [(f"{TIER_PATH}[1].to", "must be greater than from (20000.00), got 10000.00")],
            id="to-below-from",
        ),
        pytest.param(
            _tiers(("0", "20000", "0.5"), ("20000", None, "1.2")),
            [(f"{TIER_PATH}[1].rate", "must be between 0 and 1")],
            id="rate-above-1",
        ),
        pytest.param(
            _tiers(("0", "20000", "-0.5"), ("20000", None, "0.5")),
            [(f"{TIER_PATH}[0].rate", "must be between 0 and 1")],
            id="negative-rate",
        ),
        pytest.param(
            _tiers(("0", "20000", "0.5"), ("20000", "-1", "0.5")),
            [(f"{TIER_PATH}[1].to", "must not be negative")],
            id="negative-to",
        ),
        pytest.param(
            _tiers(("0", "20000.001", "0.5")),
            [(f"{TIER_PATH}[0].to", "must have at most 2 decimal places (fen)")],
            id="to-sub-cent",
        ),
        pytest.param([], [(TIER_PATH, "must contain at least one tier")], id="no-tiers"),
        pytest.param("0-20000:0.5", [(TIER_PATH, "must be a list of tiers, got str")], id="not-a-list"),
        pytest.param([["0", None, "0.5"]], [(f"{TIER_PATH}[0]", "must be an object, got list")], id="tier-not-object"),
        pytest.param(
            [{"from": "0", "rate": "0.5"}], [(f"{TIER_PATH}[0].to", "required field is missing")], id="to-missing"
        ),
        pytest.param(
            [{"from": "0", "to": None, "rate": "0.5", "cap": "1"}],
            [(f"{TIER_PATH}[0].cap", "unknown field")],
            id="tier-unknown-field",
        ),
        pytest.param(
            _tiers(("0", "50000", "0.7"), ("20000", "50000", "0.6"), ("0", "20000", "0.5")),
            [
                (
                    f"{TIER_PATH}[1].from",
                    "tiers must be contiguous and ordered: expected 50000.00 (the previous tier's to), got 20000.00",
                ),
                (
                    f"{TIER_PATH}[2].from",
                    "tiers must be contiguous and ordered: expected 50000.00 (the previous tier's to), got 0.00",
                ),
            ],
            id="reversed",
        ),
        pytest.param(
            [{"from": str(i * 10), "to": str(i * 10 + 10), "rate": "0.5"} for i in range(21)],
            [(TIER_PATH, "must contain at most 20 tiers")],
            id="too-many",
        ),
    ],
)
def test_malformed_tiers(tiers: object, expected: list[tuple[str, str]]) -> None:
    data = ref()
    data["categories"]["illness"]["tiers"] = tiers
    assert errors_of(data) == expected


def test_the_last_tier_may_be_closed() -> None:
    data = ref()
    data["categories"]["in_school"]["tiers"] = _tiers(("0", "10000", "0.5"))
    config = parse_scheme(data).categories.in_school
    assert config is not None
    assert config.tiers == (Tier(Decimal("0"), Decimal("10000"), Decimal("0.5")),)


@st.composite
def broken_tiers(draw: st.DrawFn) -> tuple[dict[str, Any], str, str, str]:
    """A valid scheme with one tier list broken in one way; returns (data, path, fragment, kind)."""
    data = draw(scheme_dicts())
    tiered = [c for c in ("illness", "disaster_accident", "in_school", "industry_loss") if c in data["categories"]]
    assume(tiered)
    category = draw(st.sampled_from(tiered))
    tiers = data["categories"][category]["tiers"]
    base = f"categories.{category}.tiers"
    kinds = ["first_from", "rate_high", "rate_negative", "to_not_above_from"]
    if len(tiers) >= 2:
        kinds += ["gap", "overlap", "open_middle"]
    kind = draw(st.sampled_from(kinds))
    index = draw(st.integers(1, len(tiers) - 1)) if kind in ("gap", "overlap", "open_middle") else 0
    if kind == "first_from":
        tiers[0]["from"] = "0.01"
        return data, f"{base}[0].from", "must start at 0", kind
    if kind == "rate_high":
        i = draw(st.integers(0, len(tiers) - 1))
        tiers[i]["rate"] = draw(st.sampled_from(["1.01", "2", "100"]))
        return data, f"{base}[{i}].rate", "between 0 and 1", kind
    if kind == "rate_negative":
        i = draw(st.integers(0, len(tiers) - 1))
        tiers[i]["rate"] = "-0.1"
        return data, f"{base}[{i}].rate", "between 0 and 1", kind
    if kind == "to_not_above_from":
        i = draw(st.integers(0, len(tiers) - 1))
        tiers[i]["to"] = tiers[i]["from"]
        return data, f"{base}[{i}].to", "greater than from", kind
    if kind == "gap":
        previous_to = Decimal(tiers[index - 1]["to"])
        tiers[index]["from"] = format(previous_to + Decimal("0.01"), "f")
        return data, f"{base}[{index}].from", "contiguous", kind
    if kind == "overlap":
        previous_to = Decimal(tiers[index - 1]["to"])
        assume(previous_to > 0)
        tiers[index]["from"] = format(previous_to - Decimal("0.01"), "f")
        return data, f"{base}[{index}].from", "contiguous", kind
    tiers[index - 1]["to"] = None  # open_middle
    return data, f"{base}[{index - 1}].to", "only the last tier may be open", kind


@settings(max_examples=300, deadline=None)
@given(broken_tiers())
def test_parse_scheme_rejects_broken_tiers_at_the_right_path(case: tuple[dict[str, Any], str, str, str]) -> None:
    data, path, fragment, _kind = case
    errors = errors_of(data)
    assert any(p == path and fragment in m for p, m in errors), errors
