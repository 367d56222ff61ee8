"""One string rule, one money type, strict scalars: what every boundary of the three services accepts.

The string rule (issue 9): no string that crosses a boundary — a body field, a query, path or
header value, a CSV/XLSX cell, a JSON-lines feed record — may hold

- NUL or any other C0 control character, DEL (U+007F) or a C1 control (U+0080–U+009F);
- a lone surrogate (U+D800–U+DFFF), which JSON's ``\\ud800`` can smuggle in;
- the non-characters U+FFFE / U+FFFF.

Free text (comments, reasons, findings, descriptions, the values inside free-form JSON
documents) may also hold tab, line feed and carriage return; codes, names, ids and every other
single-line value may not. Every string has a maximum length. A violation is a 422
``validation_failed`` naming the field, with the field error's code ``invalid_character``.

Use the Annotated types (`Code`, `Line`, `Name`, `Text`, `Cursor`, …) for fields and for
query/path parameters, `WireModel` as the base of every request model (it applies the rule to
any string field, including strings nested in ``dict[str, Any]`` documents, so a plain ``str``
added later is still covered), `Document` for a free-form JSON object taken as a whole body, and
`check_text` where input is parsed by hand.

Money: `Money` is a plain decimal string (``"1234.56"``): no exponent, at most two places, under
10^12 yuan; JSON numbers are refused (a float cannot carry a cent exactly). It serialises as a
string with two places. Booleans and counts in bodies are strict (`StrictBool`, `Count`, `Year`):
``0``/``1``/``"yes"`` are not booleans, ``1.5`` and ``"12"`` are not counts. Query parameters
keep FastAPI's parsing (``?overdue=true``), then go through the same types.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from shared.errors import FieldError, Unprocessable

__all__ = [
    "MAX_STRING",
    "Code",
    "ContractModel",
    "Count",
    "CountyCode",
    "Cursor",
    "Document",
    "HouseholdNumber",
    "IdText",
    "Line",
    "Money",
    "MoneyOut",
    "Name",
    "PositiveMoney",
    "RegionPrefix",
    "SignedMoney",
    "StrictBool",
    "Text",
    "TownshipCode",
    "VillageCode",
    "WireModel",
    "Year",
    "check_text",
    "check_tree",
    "forbidden_character",
    "is_plain_money",
    "parse_money",
    "string_rule",
]

#: No string anywhere is longer than this unless its field says more (a 1 MB "comment" is a 422).
MAX_STRING: Final = 10_000
#: Keys inside free-form JSON documents (scheme documents, evidence, expense facts).
MAX_KEY: Final = 200
#: Nesting of free-form documents (a scheme is 4 levels deep).
MAX_DEPTH: Final = 32

# Always refused: C0 except tab/LF/CR, DEL, C1, surrogates, U+FFFE/U+FFFF.
_FORBIDDEN_ANYWHERE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Refused in single-line values: all of the above plus tab, LF, CR and the Unicode line/paragraph separators.
_FORBIDDEN_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")

_NAMES = {
    "\t": "tab",
    "\n": "line feed",
    "\r": "carriage return",
    "\u2028": "line separator",
    "\u2029": "paragraph separator",
}


def forbidden_character(value: str, *, multiline: bool = False) -> str | None:
    """A description of the first character the rule refuses in ``value``, or None when it is clean."""
    if value.isprintable() and value.isascii():  # fast path: the common case costs one C loop
        return None
    match = (_FORBIDDEN_ANYWHERE if multiline else _FORBIDDEN_IN_LINE).search(value)
    if match is None:
        return None
    ch = match.group()
    name = _NAMES.get(ch)
    if name:
        what = f"a {name} (allowed only in free text)"
    elif "\ud800" <= ch <= "\udfff":
        what = "a lone surrogate"
    else:
        what = "a control character"
    return f"contains {what}: U+{ord(ch):04X} at position {match.start()}"


def _refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_character", message)


def string_rule(*, multiline: bool, max_length: int) -> AfterValidator:
    def check(value: str) -> str:
        problem = forbidden_character(value, multiline=multiline)
        if problem is not None:
            raise _refuse(problem)
        if len(value) > max_length:
            raise PydanticCustomError("string_too_long", "at most {max_length} characters", {"max_length": max_length})
        return value

    return AfterValidator(check)


def _clean_text(value: str, limit: int, multiline: bool) -> bool:
    return len(value) <= limit and (
        (value.isprintable() and value.isascii()) or forbidden_character(value, multiline=multiline) is None
    )


def _clean_tree(value: Any, depth: int) -> bool:
    """Whether `check_tree` would pass ``value`` (a container at ``depth``), without naming paths.

    The same checks as `check_tree`, in one pass that builds no path text: every request with a
    document (a scheme inline, expense facts) pays this, and only a refused one pays the walk that
    names where (issue 15: the path f-strings were most of the rule's cost).
    """
    if value.__class__ is dict:
        items: Iterable[Any] = value.values()
        for key in value:
            if key.__class__ is str and not _clean_text(key, MAX_KEY, False):
                return False
    elif value.__class__ is list or value.__class__ is tuple:
        items = value
    else:
        return False  # another Mapping or sequence type: the full walk decides
    depth += 1
    for item in items:
        cls = item.__class__
        if cls is str:
            if not _clean_text(item, MAX_STRING, True):
                return False
        elif depth > MAX_DEPTH:
            return False  # anything but a string this deep is refused, as check_tree refuses it
        elif cls is dict or cls is list or cls is tuple:
            if not _clean_tree(item, depth):
                return False
        elif isinstance(item, str | Mapping | list | tuple):
            return False  # a subclass: the full walk decides
    return True


def check_tree(value: Any, *, path: str = "", depth: int = 0) -> Any:
    """Apply the rule to every string in a JSON value: keys single-line (≤ 200), string values free text.

    Raises ``PydanticCustomError`` (inside a validator it becomes a 422 field error) whose
    message names the nested path, e.g. ``facts.expense.total_cost: contains a control character``.
    """
    if depth == 0 and not path and _clean_tree(value, 0):
        return value  # every string and key passes: nothing to name
    if isinstance(value, str):
        problem = forbidden_character(value, multiline=True)
        if problem is not None:
            raise _refuse(f"{path}: {problem}" if path else problem)
        if len(value) > MAX_STRING:
            raise PydanticCustomError(
                "string_too_long",
                "{where}at most {max_length} characters",
                {"where": f"{path}: " if path else "", "max_length": MAX_STRING},
            )
        return value
    if depth > MAX_DEPTH:
        raise PydanticCustomError("too_deep", "nested more than {depth} levels", {"depth": MAX_DEPTH})
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                where = f"{path}.{key}" if path else key
                problem = forbidden_character(key, multiline=False)
                if problem is not None or len(key) > MAX_KEY:
                    shown = path or "(root)"
                    raise _refuse(f"{shown}: a key {problem or f'is longer than {MAX_KEY} characters'}")
            else:
                where = f"{path}.{key}" if path else str(key)
            check_tree(item, path=where, depth=depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_tree(item, path=f"{path}[{index}]", depth=depth + 1)
    return value


def check_text(value: str, field: str, *, multiline: bool = False, max_length: int = MAX_STRING) -> str:
    """The string rule for input parsed by hand: returns ``value`` or raises a 422 naming ``field``.

    Raises `shared.errors.Unprocessable` (``validation_failed``) with one field error
    (code ``invalid_character`` or ``string_too_long``).
    """
    problem = forbidden_character(value, multiline=multiline)
    code = "invalid_character"
    if problem is None and len(value) > max_length:
        problem, code = f"at most {max_length} characters", "string_too_long"
    if problem is not None:
        raise Unprocessable(
            f"{field}: {problem}",
            code="validation_failed",
            errors=[FieldError(field=field, message=problem, code=code)],
        )
    return value


# ---------------------------------------------------------------- string types

#: A machine code or id: ASCII letters, digits and ``._:-``, starting with a letter or digit (≤ 64).
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
#: An identifier another system chose (a payer's reference, a feed's record id): one line, ≤ 200, not blank.
IdText = Annotated[str, Field(min_length=1, max_length=200), string_rule(multiline=False, max_length=200)]
#: One line of text (titles, bank and school names, addresses): no tab or newline, ≤ 200.
Line = Annotated[str, Field(min_length=1, max_length=200), string_rule(multiline=False, max_length=200)]
#: A person's name: one line, ≤ 50.
Name = Annotated[str, Field(min_length=1, max_length=50), string_rule(multiline=False, max_length=50)]
#: Free text (comments, reasons, findings, descriptions): tab and newlines allowed, ≤ 2000.
Text = Annotated[str, Field(min_length=1, max_length=2000), string_rule(multiline=True, max_length=2000)]
#: An opaque pagination cursor (URL-safe base64 as issued; anything else is the pagination's `invalid_cursor`).
Cursor = Annotated[str, Field(max_length=500), string_rule(multiline=False, max_length=500)]

CountyCode = Annotated[str, Field(pattern=r"^[0-9]{6}$", examples=["410602"])]
TownshipCode = Annotated[str, Field(pattern=r"^[0-9]{9}$", examples=["410602100"])]
VillageCode = Annotated[str, Field(pattern=r"^[0-9]{12}$", examples=["410602100201"])]
RegionPrefix = Annotated[
    str,
    Field(
        pattern=r"^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$",
        description="division-code prefix: 2, 4, 6, 9 or 12 digits (行政区划代码前缀)",
        examples=["410602100"],
    ),
]
HouseholdNumber = Annotated[
    str,
    Field(
        pattern=r"^[0-9A-Za-z][0-9A-Za-z_-]{0,63}$",
        description="household number (户编号), unique in the county",
        examples=["4106021002010001"],
    ),
]


def _free_text_value(value: Any) -> Any:
    return check_tree(value)


#: A free-form JSON object (a scheme document, evidence, expense facts): every key and string inside checked.
Document = Annotated[dict[str, Any], AfterValidator(_free_text_value)]

# ---------------------------------------------------------------- numbers

#: A count or other integer whose meaning coercion would change: ``1.5``, ``"12"``, ``true`` refused.
Count = Annotated[StrictInt, Field(ge=0, le=2**31 - 1)]  # an int4 column holds it
Year = Annotated[StrictInt, Field(ge=2000, le=2100, examples=[2026])]

CENT: Final = Decimal("0.01")
MONEY_LIMIT: Final = Decimal("1000000000000")  # 10^12 yuan: |amount| must stay below it
_PLAIN_MONEY = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,2})?")
_MONEY_MESSAGE = "must be a decimal string like '1234.56' (no exponent, at most 2 decimal places, below 10^12)"


def _parse_money(value: object, *, negative: bool) -> Decimal:
    if isinstance(value, Decimal):  # built in Python (a database row, a computed figure)
        if not value.is_finite() or abs(value) >= MONEY_LIMIT or value != value.quantize(CENT, ROUND_HALF_UP):
            raise PydanticCustomError("invalid_money", _MONEY_MESSAGE)
        result = value
    elif isinstance(value, str):
        if not _PLAIN_MONEY.fullmatch(value):
            raise PydanticCustomError("invalid_money", _MONEY_MESSAGE)
        result = Decimal(value)
    else:  # JSON numbers (int, float), booleans, null, objects
        raise PydanticCustomError(
            "invalid_money",
            "must be a decimal string like '1234.56', not a JSON {kind}",
            {"kind": "boolean" if isinstance(value, bool) else type(value).__name__},
        )
    if result.is_zero():
        result = abs(result)  # no "-0.00"
    if result < 0 and not negative:
        raise PydanticCustomError("invalid_money", "must not be negative")
    return result


def parse_money(value: object, field: str, *, negative: bool = False) -> Decimal:
    """`Money`'s rule for input parsed by hand (a form field, a CSV cell): the amount, or a 422 naming ``field``."""
    try:
        return _parse_money(value, negative=negative)
    except PydanticCustomError as exc:
        raise Unprocessable(
            f"{field}: {exc.message()}",
            code="validation_failed",
            errors=[FieldError(field=field, message=exc.message(), code="invalid_money")],
        ) from None


def is_plain_money(text: str) -> bool:
    """True when ``text`` is written as `Money` wants it: ``-?digits[.d[d]]``, at most 12 integer digits."""
    return _PLAIN_MONEY.fullmatch(text) is not None


def _money_in(value: object) -> Decimal:
    return _parse_money(value, negative=False)


def _signed_money_in(value: object) -> Decimal:
    return _parse_money(value, negative=True)


def _money_out(value: Decimal) -> str:
    return format(Decimal(value).quantize(CENT, ROUND_HALF_UP), "f")


_MONEY_JSON = {
    "type": "string",
    "format": "decimal",
    "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$",
    "examples": ["12000.00"],
}
_SIGNED_MONEY_JSON = {**_MONEY_JSON, "pattern": r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"}

#: Money in and out of every service: a plain decimal string, ≥ 0, at most 2 places, below 10^12.
Money = Annotated[
    Decimal,
    BeforeValidator(_money_in),
    PlainSerializer(_money_out, return_type=str, when_used="json"),
    WithJsonSchema(_MONEY_JSON),
]
#: Money that must be greater than zero (a payment, a benefit).
PositiveMoney = Annotated[Money, Field(gt=0)]
#: Money that may be negative (a net income after production costs).
SignedMoney = Annotated[
    Decimal,
    BeforeValidator(_signed_money_in),
    PlainSerializer(_money_out, return_type=str, when_used="json"),
    WithJsonSchema(_SIGNED_MONEY_JSON),
]
#: Figures a service computes and shows (any sign, any Decimal), written as a string with two places.
MoneyOut = Annotated[
    Decimal,
    PlainSerializer(_money_out, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "format": "decimal", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "examples": ["12000.00"]}
    ),
]

# ---------------------------------------------------------------- the base of every request model


class WireModel(BaseModel):
    """Base of every request (input) model: unknown fields refused, the string rule on every string.

    Typed fields (`Line`, `Text`, …) carry their own limits; this catches the rest: any ``str``
    field (at most `MAX_STRING` characters, no control characters except tab and newlines) and
    every key and string nested in a list or dict field.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _string_rule_everywhere(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str | Mapping | list | tuple):
            check_tree(value)
        return value


class ContractModel(WireModel):
    """A request model of a contract between services: the string rule, but unknown fields ignored, so a
    newer caller can send a field an older callee does not know yet during a rolling upgrade."""

    model_config = ConfigDict(extra="ignore")
