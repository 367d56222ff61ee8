"""The household aggregate's rows made without `__init__` (issue 15): equal to the dataclass made
the ordinary way, and refused for a class that is not one field per column."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text

from services.registry.db import household_repository as repository


def test_a_record_read_by_column_names_equals_the_dataclass_made_by_init() -> None:
    values: dict[str, Any] = {
        "household_id": uuid.uuid4(),
        "year": 2025,
        "county_code": "410602",
        "wage_income": Decimal("1200.00"),
        "business_income": Decimal("0.00"),
        "property_income": Decimal("10.50"),
        "transfer_income": Decimal("300.00"),
        "benefit_income": Decimal("0.00"),
        "production_costs": Decimal("100.00"),
        "net_income": Decimal("1410.50"),
        "version": 3,
        "created_at": datetime(2026, 1, 2, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 3, tzinfo=UTC),
    }
    # a record gives its fields by name, in whatever order the row type has them
    record = dict(reversed(list(values.items())))
    made = repository._read_income(record)
    assert made == repository.Income(**values)
    assert [getattr(made, f.name) for f in fields(made)] == list(values.values())
    with pytest.raises(AttributeError):  # still frozen
        made.year = 2024  # type: ignore[misc]


def test_a_class_that_is_not_one_field_per_column_is_refused() -> None:
    table = Table("t", MetaData(), Column("a", Integer), Column("b", Text))

    @dataclass(frozen=True)
    class Wider:
        a: int
        b: str
        c: list[int] = field(default_factory=list)  # __init__ would fill it; a read would not

    @dataclass(frozen=True)
    class Checked:
        a: int
        b: str

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True, slots=True)
    class Slotted:
        a: int
        b: str

    for cls in (Wider, Checked, Slotted):
        with pytest.raises(TypeError):
            repository._row_reader(cls, table)
