"""Exact decimal helpers and the error base shared by the claims domain.

Money is yuan with at most two decimal places (fen). Nothing here ever does float
arithmetic: a float that reaches us is converted through ``str`` first, so ``0.1`` means
``Decimal("0.1")`` and not the binary fraction behind it.
"""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")
# Bounds keep every product of the engine far inside 28 significant digits: 14 digits of
# money times 7 digits of a rate (rates have at most 6 decimal places).
MONEY_MAX = Decimal("999999999999.99")
RATE_PLACES = 6

_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")

# Rounding and display divisions happen in this context, never in the exact one.
_ROUNDING = Context(prec=60)


class ClaimsDomainError(Exception):
    """Base of every error the claims domain raises."""


class InvalidInput(ClaimsDomainError, ValueError):
    """Input that fails validation; ``errors`` lists ``(dotted field path, message)`` pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors: list[tuple[str, str]] = list(errors)
        super().__init__("; ".join(f"{path}: {message}" for path, message in self.errors))


def to_decimal(value: object) -> Decimal:
    """Read a decimal from a string, int, float (through ``str``) or Decimal.

    Strings must be plain decimal notation (``"120000.00"``, ``"-5"``): no exponent, no
    whitespace, no underscores, no NaN or infinity. Raises ``ValueError`` with a message
    fit for a field error.
    """
    if isinstance(value, bool):
        raise ValueError("must be a decimal number, not a boolean")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))
    elif isinstance(value, str):
        if not _PLAIN_DECIMAL.fullmatch(value):
            raise ValueError(f"must be a decimal number written like '1234.56', got {value!r}")
        result = Decimal(value)
    else:
        raise ValueError(f"must be a decimal number (string or number), got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError("must be a finite number")
    if result.is_zero():
        result = result.copy_abs()  # no "-0.00" anywhere
    return result


def has_places(value: Decimal, places: int) -> bool:
    """True when ``value`` is exactly representable with ``places`` decimal places."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        return False
    if exponent >= -places:
        return True
    return value == value.quantize(Decimal(1).scaleb(-places), context=_ROUNDING)


def money(value: object, *, allow_negative: bool = False) -> Decimal:
    """A money amount: at most 2 decimal places, |amount| ≤ MONEY_MAX, returned with 2 places."""
    result = to_decimal(value)
    if result < 0 and not allow_negative:
        raise ValueError("must not be negative")
    if abs(result) > MONEY_MAX:
        raise ValueError(f"must not exceed {MONEY_MAX} in absolute value")
    if not has_places(result, 2):
        raise ValueError("must have at most 2 decimal places (fen)")
    return result.quantize(CENT, context=_ROUNDING)


def rate(value: object) -> Decimal:
    """A rate or ratio in [0, 1] with at most 6 decimal places, kept as given."""
    result = to_decimal(value)
    if result < 0 or result > 1:
        raise ValueError("must be between 0 and 1")
    if not has_places(result, RATE_PLACES):
        raise ValueError(f"must have at most {RATE_PLACES} decimal places")
    return result


def fmt(value: Decimal) -> str:
    """A figure as text: 2 places when that is exact, otherwise every significant digit.

    Most figures are money with exactly 2 places (exponent −2): their ``str`` is already the
    plain text (``str`` of a Decimal uses plain notation for an exponent ≤ 0 whose adjusted
    exponent is ≥ −6, and exponent −2 gives ≥ −2), so it is returned as it is; scientific
    notation always ends in an exponent (``E+5``), never in ``.dd``. Any other ``str`` without an
    exponent is plain notation too and only needs the places rule; scientific notation and zeros
    go the general way (``_fmt_general``). tests/unit/test_claims_fmt.py holds them all equal.
    """
    text = str(value)
    if text[-3:-2] == ".":
        return "0.00" if text == "-0.00" else text
    if "E" in text or not value:  # scientific notation, or a zero (maybe "-0…"): the general way
        return _fmt_general(value)
    return _plain_text(text)  # no exponent in str: it is format(value, "f") already


def _fmt_general(value: Decimal) -> str:
    """``fmt`` for any finite Decimal, by way of ``format(value, "f")``."""
    return _plain_text(format(value.copy_abs() if value.is_zero() else value, "f"))  # plain notation, no "-0"


def _plain_text(text: str) -> str:
    """``fmt``'s places rule on a plain-notation text."""
    point = text.find(".")
    if point < 0:
        return text + ".00"
    places = len(text) - point - 1
    if places == 2:
        return text
    if places < 2:
        return text + "0"
    trimmed = text.rstrip("0")
    return trimmed if len(trimmed) - point - 1 >= 2 else text[: point + 3]


def fmt_rate(value: Decimal) -> str:
    """A rate as given, in plain notation."""
    return format(value, "f")


def round_payout(value: Decimal) -> Decimal:
    """The one rounding of the engine: half up (away from zero) to 0.01."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=_ROUNDING)


def per_capita_floor(amount: Decimal, members: int) -> Decimal:
    """``amount / members`` for display, rounded toward −∞ to 0.01.

    Decisions compare exact products (``I − B ≥ L × n``), never this figure; flooring keeps
    the displayed value on the same side of a 2-place line as the exact one.
    """
    return _ROUNDING.divide(amount, Decimal(members)).quantize(CENT, rounding=ROUND_FLOOR, context=_ROUNDING)


def ratio_floor(numerator: Decimal, denominator: Decimal, places: int = 4) -> Decimal:
    """``numerator / denominator`` for display, rounded toward −∞ to ``places``."""
    quantum = Decimal(1).scaleb(-places)
    return _ROUNDING.divide(numerator, denominator).quantize(quantum, rounding=ROUND_FLOOR, context=_ROUNDING)


__all__ = [
    "CENT",
    "MONEY_MAX",
    "RATE_PLACES",
    "ZERO",
    "ClaimsDomainError",
    "InvalidInput",
    "fmt",
    "fmt_rate",
    "has_places",
    "money",
    "per_capita_floor",
    "rate",
    "ratio_floor",
    "round_payout",
    "to_decimal",
]
