"""The 兜底 rules (services/screening/domain/care.py): the groups, the carer ratio, the monthly visit."""

from __future__ import annotations

from datetime import date

import pytest

from services.screening.domain.care import (
    CareGroup,
    Placement,
    born_by,
    groups_of,
    institution_refusal,
    next_visit_due,
    visit_overdue,
)

TODAY = date(2026, 4, 5)


@pytest.mark.parametrize(
    ("status", "born", "health", "grade", "labour", "expected"),
    [
        ("lifted_out", date(1966, 4, 5), "healthy", None, "none", [CareGroup.ELDERLY_NO_LABOUR]),  # 60 today
        ("lifted_out", date(1966, 4, 6), "healthy", None, "none", []),  # 60 tomorrow
        ("marginal", date(1950, 1, 1), "healthy", None, "weak", []),  # old but able to work a little
        ("unstable", date(1990, 1, 1), "disabled", 1, "normal", [CareGroup.SEVERE_DISABILITY]),
        ("sudden_hardship", date(1990, 1, 1), "disabled", 2, "none", [CareGroup.SEVERE_DISABILITY]),
        ("lifted_out", date(1990, 1, 1), "disabled", 3, "none", []),
        ("lifted_out", date(1990, 1, 1), "serious_illness", None, "normal", [CareGroup.SERIOUS_ILLNESS]),
        (
            "lifted_out",
            date(1940, 1, 1),
            "serious_illness",
            1,
            "none",
            [CareGroup.ELDERLY_NO_LABOUR, CareGroup.SEVERE_DISABILITY, CareGroup.SERIOUS_ILLNESS],
        ),
        ("ordinary", date(1940, 1, 1), "serious_illness", 1, "none", []),  # not a poor household
    ],
)
def test_groups_of(
    status: str, born: date, health: str, grade: int | None, labour: str, expected: list[CareGroup]
) -> None:
    found = groups_of(
        household_status=status,
        birth_date=born,
        health=health,
        disability_grade=grade,
        labour_ability=labour,
        today=TODAY,
    )
    assert found == expected


def test_born_by_on_a_leap_day() -> None:
    assert born_by(date(2026, 4, 5)) == date(1966, 4, 5)
    assert born_by(date(2028, 2, 29)) == date(1968, 2, 29)
    assert born_by(date(2025, 3, 1), age=1) == date(2024, 3, 1)
    assert born_by(date(2024, 2, 29), age=1) == date(2023, 2, 28)


@pytest.mark.parametrize(
    ("placement", "kind", "residents", "carers", "refusal"),
    [
        (Placement.INSTITUTIONAL, "care_home", 4, 1, None),  # the 5th resident of one carer
        (Placement.INSTITUTIONAL, "care_home", 5, 1, "carer_ratio_exceeded"),  # the 6th
        (Placement.INSTITUTIONAL, "care_home", 9, 2, None),
        (Placement.INSTITUTIONAL, "care_home", 0, 0, "carer_ratio_exceeded"),
        (Placement.INSTITUTIONAL, "hospital", 0, 10, "institution_kind_mismatch"),
        (Placement.TREATMENT, "care_home", 0, 10, "institution_kind_mismatch"),
        (Placement.TREATMENT, "hospital", 500, 0, None),  # a hospital has no ratio
    ],
)
def test_institution_refusal(placement: Placement, kind: str, residents: int, carers: int, refusal: str | None) -> None:
    assert institution_refusal(placement, kind, residents, carers) == refusal


def test_monthly_visit() -> None:
    assert next_visit_due(date(2026, 1, 31), None) == date(2026, 2, 28)
    assert next_visit_due(date(2026, 1, 10), date(2026, 3, 15)) == date(2026, 4, 15)
    assert not visit_overdue(date(2026, 3, 5), None, date(2026, 4, 5))  # due today
    assert visit_overdue(date(2026, 3, 5), None, date(2026, 4, 6))
    assert not visit_overdue(date(2026, 1, 5), date(2026, 4, 1), date(2026, 4, 6))
