"""Responsible cadres 帮扶责任人 (rules.md §3): when an assignment runs, and when two are the same one.

An assignment runs from `start_date` to `end_date` inclusive; an open end (None) runs on. A cadre is
the same person when the name is the same and the phone is the same (by blind index) — or, when
either assignment has no phone on record, the same work unit 单位名称. One person assigned twice to
one household with overlapping dates is refused (409 `cadre_assignment_overlap`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Assignment:
    """What the rules read of an assignment: who, and from/to."""

    name: str
    phone_index: bytes | None
    work_unit: str | None
    start_date: date
    end_date: date | None
    id: uuid.UUID | None = None


def is_current(start_date: date, end_date: date | None, today: date) -> bool:
    """Runs on `today`: started on or before it, not ended before it."""
    return start_date <= today and (end_date is None or end_date >= today)


def periods_overlap(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    """Two inclusive date ranges (None = open end) share at least one day."""
    return (b_end is None or a_start <= b_end) and (a_end is None or b_start <= a_end)


def same_person(a: Assignment, b: Assignment) -> bool:
    if a.name != b.name:
        return False
    if a.phone_index is not None and b.phone_index is not None:
        return a.phone_index == b.phone_index
    return (a.work_unit or "") == (b.work_unit or "")


def overlapping(new: Assignment, existing: list[Assignment]) -> Assignment | None:
    """The first existing assignment of the same person whose dates overlap `new`'s, or None."""
    for other in existing:
        if same_person(new, other) and periods_overlap(new.start_date, new.end_date, other.start_date, other.end_date):
            return other
    return None
