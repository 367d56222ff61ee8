"""Resident identity numbers (公民身份号码, GB 11643-1999).

Layout of the 18 characters::

    410602 19900101 123 4
    region birth    seq check

* region: 6-digit administrative division code where the number was first issued;
* birth date YYYYMMDD;
* sequence: 3 digits, odd for men and even for women (so the 17th character gives the sex);
* check character: ISO 7064 MOD 11-2 over the first 17 digits, ``0``–``9`` or ``X`` for 10.

The checksum is python-stdnum's (``stdnum.cn.ric``). We deliberately do not call
``stdnum.cn.ric.validate``: it also requires the region code to be in stdnum's own table of
historical divisions, which rejects the demo county's synthetic codes and lags behind renamed
divisions. The region is checked for shape only (6 digits, a non-zero province).

Pure: ``today`` is passed in, never read from a clock. Error messages never repeat the number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from stdnum.cn import ric

from services.registry.domain.model import Sex
from shared.contracts.vocabulary import mask_national_id as mask_national_id  # re-exported: the one masking rule

NationalIdErrorCode = Literal[
    "invalid_format",
    "invalid_check_digit",
    "invalid_birth_date",
    "birth_date_mismatch",
    "sex_mismatch",
]

EARLIEST_BIRTH_DATE: Final = date(1900, 1, 1)
_DIGITS: Final = frozenset("0123456789")


class InvalidNationalId(ValueError):
    """The number is not a valid resident ID; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: NationalIdErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: NationalIdErrorCode = code
        self.message = message

    def __repr__(self) -> str:
        return f"InvalidNationalId({self.code!r}, {self.message!r})"


@dataclass(frozen=True, slots=True)
class NationalId:
    value: str  # normalised: 18 characters, a final ``x`` upper-cased
    region_code: str  # the first 6 digits
    birth_date: date
    sex: Sex

    def masked(self) -> str:
        """``410602********1234``: the form shown in responses and exports."""
        return mask_national_id(self.value) or ""  # a validated number is never empty


def check_digit(first17: str) -> str:
    """The GB 11643 check character (``0``–``9`` or ``X``) for 17 digits."""
    if len(first17) != 17 or not _all_digits(first17):
        raise ValueError("expected 17 digits")
    # calc_check_digit ignores the last character of what it is given (the check slot).
    return ric.calc_check_digit(first17 + "0")


def validate_national_id(
    value: str,
    *,
    birth_date: date | None = None,
    sex: Sex | str | None = None,
    today: date,
) -> NationalId:
    """Validate and normalise a resident ID number.

    Surrounding whitespace is ignored and a lower-case ``x`` accepted. When ``birth_date`` or
    ``sex`` are given (the ones recorded for the person), the number must agree with them.
    Raises ``InvalidNationalId`` with one of the codes of ``NationalIdErrorCode``; checks run in
    the order format → check digit → birth date → agreement with the given birth date → sex.
    """
    number = value.strip() if isinstance(value, str) else ""
    if len(number) != 18:
        raise InvalidNationalId("invalid_format", "a resident ID number has 18 characters")
    body = number[:17]
    last = number[17]
    if not _all_digits(body) or (last not in _DIGITS and last not in "Xx"):
        raise InvalidNationalId("invalid_format", "a resident ID number is 17 digits followed by a digit or X")
    if last == "x":
        last = "X"
        number = body + last
    if number[:2] == "00":
        raise InvalidNationalId("invalid_format", "the region code (first 6 digits) has no province")
    if ric.calc_check_digit(number) != last:
        raise InvalidNationalId("invalid_check_digit", "the check digit (last character) does not match")

    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidNationalId(
            "invalid_birth_date", "the birth date in the number (digits 7–14) is not a calendar date"
        ) from None
    if born < EARLIEST_BIRTH_DATE:
        raise InvalidNationalId("invalid_birth_date", "the birth date in the number is before 1900")
    if born > today:
        raise InvalidNationalId("invalid_birth_date", "the birth date in the number is in the future")

    number_sex = Sex.male if int(number[16]) % 2 else Sex.female
    if birth_date is not None and birth_date != born:
        raise InvalidNationalId("birth_date_mismatch", "the birth date does not agree with the one in the ID number")
    if sex is not None and Sex(sex) != number_sex:
        raise InvalidNationalId("sex_mismatch", "the sex does not agree with the ID number (17th digit)")
    return NationalId(value=number, region_code=number[:6], birth_date=born, sex=number_sex)


def make_national_id(region6: str, birth_date: date, sequence3_with_sex: int | str) -> str:
    """Build a valid ID number (computing the check character), for demo data and tests.

    ``sequence3_with_sex`` is the 3-digit sequence, 0–999; its parity is the sex (odd male,
    even female). Use ``sequence_for(sex, n)`` to pick one for a given sex.
    """
    if len(region6) != 6 or not _all_digits(region6) or region6[:2] == "00":
        raise ValueError("region6 must be 6 digits with a non-zero province")
    if birth_date < EARLIEST_BIRTH_DATE:
        raise ValueError("birth_date must not be before 1900")
    if isinstance(sequence3_with_sex, str):
        if len(sequence3_with_sex) != 3 or not _all_digits(sequence3_with_sex):
            raise ValueError("sequence must be 3 digits")
        sequence = sequence3_with_sex
    else:
        if isinstance(sequence3_with_sex, bool) or not 0 <= sequence3_with_sex <= 999:
            raise ValueError("sequence must be in 0..999")
        sequence = f"{sequence3_with_sex:03d}"
    body = f"{region6}{birth_date:%Y%m%d}{sequence}"
    return body + check_digit(body)


def sequence_for(sex: Sex | str, n: int) -> int:
    """The n-th (0-based, 0 ≤ n < 500) 3-digit sequence number for a sex."""
    if not 0 <= n < 500:
        raise ValueError("n must be in 0..499")
    return 2 * n + (1 if Sex(sex) is Sex.male else 0)


def _all_digits(text: str) -> bool:
    # str.isdigit() would also accept full-width and other Unicode digits.
    return text.isascii() and text.isdigit()
