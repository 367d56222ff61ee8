"""The one string rule, the one Money type and strict scalars (shared/contracts/types.py), as units."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from shared.contracts.types import (
    Code,
    Count,
    Document,
    Line,
    Money,
    Name,
    SignedMoney,
    StrictBool,
    Text,
    WireModel,
    check_text,
    forbidden_character,
)
from shared.errors import Unprocessable


class Sample(WireModel):
    code: Code | None = None
    line: Line | None = None
    name: Name | None = None
    text: Text | None = None
    plain: str | None = None
    doc: Document | None = None
    nested: dict[str, Any] | None = None
    items: list[str] | None = None
    amount: Money | None = None
    signed: SignedMoney | None = None
    flag: StrictBool | None = None
    count: Count | None = None


def errors_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate(data)
    return [(".".join(str(p) for p in e["loc"]), e["type"]) for e in caught.value.errors()]


BAD_CHARACTERS = ["\u0000", "\u0001", "\u001b", "\u007f", "\u0085", "\u009f", "\ud800", "\udfff", "\uffff"]


@pytest.mark.parametrize("ch", BAD_CHARACTERS)
@pytest.mark.parametrize("field", ["line", "name", "text", "plain", "items", "nested", "doc"])
def test_control_characters_and_surrogates_are_refused_in_every_kind_of_field(field: str, ch: str) -> None:
    value: Any = f"a{ch}b"
    if field == "items":
        value = ["ok", value]
    elif field in ("nested", "doc"):
        value = {"outer": {"inner": [value]}}
    found = errors_of({field: value})
    assert found, found
    assert found[0][0] == field, found
    assert found[0][1] in ("invalid_character", "string_unicode")  # pydantic itself refuses some surrogates


@pytest.mark.parametrize("ch", ["\t", "\n", "\r", "\u2028"])
def test_line_breaks_and_tabs_only_in_free_text(ch: str) -> None:
    for field in ("line", "name"):
        assert errors_of({field: f"a{ch}b"}) == [(field, "invalid_character")]
    assert errors_of({"code": f"a{ch}b"})[0][0] == "code"
    if ch != "\u2028":
        assert Sample.model_validate({"text": f"第一行{ch}第二行"}).text == f"第一行{ch}第二行"
        assert Sample.model_validate({"doc": {"findings": f"a{ch}b"}}).doc == {"findings": f"a{ch}b"}
    # keys of documents are single-line
    assert errors_of({"doc": {f"k{ch}": "v"}})[0] == ("doc", "invalid_character")


def test_ordinary_text_passes() -> None:
    sample = Sample.model_validate(
        {
            "name": "张建国",
            "line": "鹤壁集镇 三组 12号 ‘quoted’",
            "text": "入户核查属实\n患尿毒症",
            "code": "reference-2026",
            "doc": {"总费用": "120000.00", "photos": ["f1.jpg"]},
            "plain": "Ünïcødé ✓",
        }
    )
    assert sample.name == "张建国"


def test_every_string_has_a_bound() -> None:
    assert errors_of({"text": "x" * 2001}) == [("text", "string_too_long")]
    assert errors_of({"name": "x" * 51}) == [("name", "string_too_long")]
    assert errors_of({"plain": "x" * 10_001}) == [("plain", "string_too_long")]
    assert errors_of({"doc": {"k": "x" * 10_001}}) == [("doc", "string_too_long")]
    assert errors_of({"code": "x" * 65}) == [("code", "string_too_long")]


def test_codes_are_ascii() -> None:
    for bad in ["４１０６０２", "٤١٠٦٠٢", "a b", "-lead", "a/b", ""]:
        assert errors_of({"code": bad})[0][0] == "code", bad


@pytest.mark.parametrize(
    "value",
    [
        "1E+5",
        "1e5",
        "100000.001",
        "1,000.00",
        " 12.00",
        "12.00 ",
        "+12",
        "NaN",
        "Infinity",
        ".5",
        "5.",
        "1000000000000",
        "-1.00",
        "0x10",
        "١٢",
    ],
)
def test_money_is_a_plain_decimal_string(value: str) -> None:
    assert errors_of({"amount": value}) == [("amount", "invalid_money")]


@pytest.mark.parametrize("value", [100000, 12.5, 0, True, None, [], {}])
def test_money_refuses_json_numbers_and_other_types(value: Any) -> None:
    if value is None:
        assert Sample.model_validate({"amount": None}).amount is None  # optional field
        return
    assert errors_of({"amount": value}) == [("amount", "invalid_money")]


def test_money_accepts_plain_decimals_and_writes_two_places() -> None:
    sample = Sample.model_validate({"amount": "100000", "signed": "-12.5"})
    assert sample.amount == Decimal("100000")
    assert sample.signed == Decimal("-12.5")
    assert sample.model_dump(mode="json")["amount"] == "100000.00"
    assert sample.model_dump(mode="json")["signed"] == "-12.50"
    assert Sample.model_validate({"amount": "999999999999.99"}).amount == Decimal("999999999999.99")
    assert Sample.model_validate({"amount": "-0.00"}).model_dump(mode="json")["amount"] == "0.00"


@pytest.mark.parametrize("value", [0, 1, "yes", "true", "0", 1.0, None])
def test_booleans_are_strict(value: Any) -> None:
    if value is None:
        return
    assert errors_of({"flag": value}) == [("flag", "bool_type")]
    assert Sample.model_validate({"flag": False}).flag is False


@pytest.mark.parametrize("value", [1.5, "12", 1.0, True, -1])
def test_counts_are_strict(value: Any) -> None:
    assert errors_of({"count": value})[0][0] == "count"
    assert Sample.model_validate({"count": 12}).count == 12


def test_unknown_fields_are_refused() -> None:
    assert errors_of({"surprise": 1}) == [("surprise", "extra_forbidden")]


def test_the_rule_reaches_subclass_fields() -> None:
    class Child(Sample):
        extra_text: str | None = None

    with pytest.raises(ValidationError):
        Child.model_validate({"extra_text": "a\u0000b"})


def test_check_text_for_hand_parsed_input() -> None:
    assert check_text("reference-2026", "scheme.code") == "reference-2026"
    assert check_text("a\nb", "facts.note", multiline=True) == "a\nb"
    with pytest.raises(Unprocessable) as caught:
        check_text("a\u0000b", "facts.expense.total_cost")
    problem = caught.value.problem()
    assert problem.status == 422
    assert problem.code == "validation_failed"
    assert problem.errors
    assert problem.errors[0].field == "facts.expense.total_cost"
    assert problem.errors[0].code == "invalid_character"
    with pytest.raises(Unprocessable):
        check_text("a\tb", "scheme.name")
    with pytest.raises(Unprocessable):
        check_text("x" * 11, "scheme.name", max_length=10)


def test_forbidden_character_says_where() -> None:
    assert forbidden_character("ok") is None
    assert forbidden_character("张三") is None
    assert forbidden_character("ab\u0000") == "contains a control character: U+0000 at position 2"
    assert forbidden_character("a\tb", multiline=True) is None


def test_plain_base_models_are_not_wire_models() -> None:
    # response models stay plain BaseModel: the rule is for what comes in
    assert not issubclass(BaseModel, WireModel)
