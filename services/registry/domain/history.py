"""History entries: what changed, field by field, in a form safe to store and show.

Pure. Values are turned into JSON-friendly scalars (dates ISO, money as 2-place strings, enums
as their value); personal data must already be masked by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


def plain(value: Any) -> Any:
    """A value as it is stored in a history entry (JSON scalar or list of them)."""
    if value is None or isinstance(value, bool | int | str):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.01")), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    return str(value)


def diff(before: Mapping[str, Any], after: Mapping[str, Any], fields: Iterable[str]) -> list[FieldChange]:
    """The changes between two states over `fields`, in the order given; unchanged fields are left out."""
    changes = []
    for name in fields:
        old, new = plain(before.get(name)), plain(after.get(name))
        if old != new:
            changes.append(FieldChange(name, old, new))
    return changes


def created(after: Mapping[str, Any], fields: Iterable[str]) -> list[FieldChange]:
    """A creation as changes from nothing (fields that are None are left out)."""
    return [FieldChange(name, None, plain(after[name])) for name in fields if after.get(name) is not None]
