"""GB 11643-1999 resident ID numbers: validation, construction, and the single-error property."""

from __future__ import annotations

from datetime import date, timedelta
from typing import get_args

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.registry.domain.model import Sex
from services.registry.domain.national_id import (
    InvalidNationalId,
    NationalId,
    NationalIdErrorCode,
    check_digit,
    make_national_id,
    mask_national_id,
    sequence_for,
    validate_national_id,
)

TODAY = date(2026, 3, 1)
CHECK_CHARS = "0123456789X"

regions = st.integers(min_value=0, max_value=999_999).map(lambda n: f"{n:06d}").filter(lambda r: r[:2] != "00")
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


def _raises(code: str, value: str, **kwargs: object) -> InvalidNationalId:
    with pytest.raises(InvalidNationalId) as caught:
        validate_national_id(value, today=TODAY, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code, caught.value
    assert value.strip() not in caught.value.message  # never echo the number
    return caught.value


def _with_check(first17: str) -> str:
    return first17 + check_digit(first17)


# --- acceptance ---------------------------------------------------------------------------


@given(region=regions, born=birth_dates, sequence=sequences)
@example(region="410602", born=date(1900, 1, 1), sequence=0)
@example(region="010000", born=TODAY, sequence=999)
def test_every_constructed_id_is_accepted_with_its_birth_date_and_sex(region: str, born: date, sequence: int) -> None:
    number = make_national_id(region, born, sequence)
    sex = Sex.male if sequence % 2 else Sex.female

    parsed = validate_national_id(number, birth_date=born, sex=sex, today=TODAY)

    assert parsed == NationalId(value=number, region_code=region, birth_date=born, sex=sex)
    assert len(number) == 18
    assert number[:17].isdigit()
    assert number[17] in CHECK_CHARS
    # Also without the recorded birth date and sex, and given the sex as a plain string.
    assert validate_national_id(number, today=TODAY) == parsed
    assert validate_national_id(number, sex=sex.value, today=TODAY) == parsed


def test_known_published_example_is_valid() -> None:
    # The example from python-stdnum's documentation of stdnum.cn.ric.
    parsed = validate_national_id("360426199101010071", today=TODAY)
    assert parsed.birth_date == date(1991, 1, 1)
    assert parsed.sex is Sex.male  # 7 is odd
    assert parsed.region_code == "360426"


def test_lowercase_x_is_accepted_and_normalised() -> None:
    born = date(1985, 6, 15)
    number = next(n for n in (make_national_id("410602", born, s) for s in range(1000)) if n.endswith("X"))
    parsed = validate_national_id(number.lower(), today=TODAY)
    assert parsed.value == number
    assert parsed.value.endswith("X")


def test_surrounding_whitespace_is_ignored() -> None:
    number = make_national_id("410602", date(1990, 1, 1), 123)
    assert validate_national_id(f"  {number}\t", today=TODAY).value == number


# --- the single-substitution property -----------------------------------------------------


@settings(max_examples=150)
@given(region=regions, born=birth_dates, sequence=sequences)
def test_every_single_character_substitution_is_rejected(region: str, born: date, sequence: int) -> None:
    """MOD 11-2 weights 2^(17-i) mod 11 are all non-zero and 11 is prime, so changing any one
    of the first 17 digits by d (1 ≤ |d| ≤ 9) changes the weighted sum by a non-multiple of 11:
    the check character always changes. Check that for all 17 × 9 + 10 substitutions."""
    number = make_national_id(region, born, sequence)
    for position in range(18):
        alphabet = CHECK_CHARS if position == 17 else "0123456789"
        for replacement in alphabet:
            if replacement == number[position]:
                continue
            corrupted = number[:position] + replacement + number[position + 1 :]
            # The arithmetic property, independent of the validator:
            assert check_digit(corrupted[:17]) != corrupted[17]
            # And the validator rejects it. A corrupted province can become "00", which is a
            # format error (checked before the check digit); everything else is a check digit error.
            with pytest.raises(InvalidNationalId) as caught:
                validate_national_id(corrupted, today=TODAY)
            expected = "invalid_format" if corrupted[:2] == "00" else "invalid_check_digit"
            assert caught.value.code == expected


@given(
    region=regions,
    born=birth_dates,
    sequence=sequences,
    position=st.integers(min_value=0, max_value=17),
    data=st.data(),
)
def test_a_random_single_corruption_is_rejected(
    region: str, born: date, sequence: int, position: int, data: st.DataObject
) -> None:
    number = make_national_id(region, born, sequence)
    alphabet = CHECK_CHARS if position == 17 else "0123456789"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != number[position]]))
    corrupted = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(InvalidNationalId):
        validate_national_id(corrupted, today=TODAY)


def test_a_corrupted_check_character_reports_invalid_check_digit() -> None:
    number = make_national_id("410602", date(1990, 1, 1), 123)
    wrong = next(c for c in CHECK_CHARS if c != number[17])
    _raises("invalid_check_digit", number[:17] + wrong)


# --- birth date and sex -------------------------------------------------------------------


def test_birth_date_mismatch() -> None:
    born = date(1990, 1, 1)
    number = make_national_id("410602", born, 123)
    _raises("birth_date_mismatch", number, birth_date=born + timedelta(days=1))


def test_sex_mismatch_from_the_17th_digit_parity() -> None:
    male = make_national_id("410602", date(1990, 1, 1), sequence_for(Sex.male, 7))
    female = make_national_id("410602", date(1990, 1, 1), sequence_for("female", 7))
    assert int(male[16]) % 2 == 1
    assert int(female[16]) % 2 == 0
    _raises("sex_mismatch", male, sex=Sex.female)
    _raises("sex_mismatch", female, sex="male")
    assert validate_national_id(male, today=TODAY).sex is Sex.male
    assert validate_national_id(female, today=TODAY).sex is Sex.female


def test_birth_date_is_checked_before_sex() -> None:
    number = make_national_id("410602", date(1990, 1, 1), 123)  # male
    _raises("birth_date_mismatch", number, birth_date=date(1991, 1, 1), sex=Sex.female)


@pytest.mark.parametrize(
    ("birth8", "why"),
    [
        ("19900230", "30 February"),
        ("19901301", "month 13"),
        ("19900001", "month 0"),
        ("19900100", "day 0"),
        ("19900431", "31 April"),
        ("19010229", "29 February in a common year"),
        ("18991231", "before 1900"),
        ("00000000", "all zero"),
        ("20260302", "the day after today"),
        ("20991231", "in the future"),
    ],
)
def test_implausible_birth_dates_are_rejected(birth8: str, why: str) -> None:
    _raises("invalid_birth_date", _with_check(f"410602{birth8}123"))


@pytest.mark.parametrize("birth8", ["19000101", "20000229", "20260301", "19960229"])
def test_boundary_birth_dates_are_accepted(birth8: str) -> None:
    parsed = validate_national_id(_with_check(f"410602{birth8}123"), today=TODAY)
    assert parsed.birth_date.strftime("%Y%m%d") == birth8


# --- format -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "",
        "41060219900101123",  # 17 characters
        "4106021990010112345",  # 19
        "41060219900101123A",  # a letter other than X as the check character
        "4106021990010X1234",  # X not at the end
        "４１０６０２１９９００１０１１２３４",  # full-width digits
        "410602 9900101 234",  # spaces inside
        "00060219900101123X",  # no province
    ],
)
def test_malformed_numbers_are_invalid_format(value: str) -> None:
    with pytest.raises(InvalidNationalId) as caught:
        validate_national_id(value, today=TODAY)
    assert caught.value.code == "invalid_format"


def test_error_codes_are_the_documented_ones() -> None:
    assert set(get_args(NationalIdErrorCode)) == {
        "invalid_format",
        "invalid_check_digit",
        "invalid_birth_date",
        "birth_date_mismatch",
        "sex_mismatch",
    }
    error = InvalidNationalId("invalid_format", "bad")
    assert isinstance(error, ValueError)
    assert error.message == "bad"
    assert str(error) == "bad"


# --- construction helpers -----------------------------------------------------------------


def test_make_national_id_accepts_a_three_digit_string_sequence() -> None:
    assert make_national_id("410602", date(1990, 1, 1), "007") == make_national_id("410602", date(1990, 1, 1), 7)


@pytest.mark.parametrize(
    ("region", "born", "sequence"),
    [
        ("41060", date(1990, 1, 1), 1),
        ("00ab02", date(1990, 1, 1), 1),
        ("000602", date(1990, 1, 1), 1),
        ("410602", date(1899, 12, 31), 1),
        ("410602", date(1990, 1, 1), 1000),
        ("410602", date(1990, 1, 1), -1),
        ("410602", date(1990, 1, 1), "12"),
    ],
)
def test_make_national_id_rejects_bad_parts(region: str, born: date, sequence: int | str) -> None:
    with pytest.raises(ValueError):
        make_national_id(region, born, sequence)


def test_check_digit_matches_the_standard_weights() -> None:
    # The textbook definition: weights 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11, 10 → X.
    first17 = "11010519491231002"
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    value = (12 - sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11) % 11
    assert check_digit(first17) == ("X" if value == 10 else str(value)) == "X"
    with pytest.raises(ValueError):
        check_digit("1234")


def test_masking_keeps_region_and_last_four() -> None:
    number = make_national_id("410602", date(1990, 1, 1), 123)
    assert mask_national_id(number) == "410602********" + number[14:]
    assert validate_national_id(number, today=TODAY).masked() == mask_national_id(number)
