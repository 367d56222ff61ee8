"""The measure types the registry names in its reports are screening's (shared/contracts/assistance.py)."""

from __future__ import annotations

from services.screening.domain.assistance import MEASURE_TYPE_LABELS as SCREENING_LABELS
from shared.contracts.assistance import MEASURE_TYPE_LABELS


def test_the_contract_lists_every_type_screening_pays_with_the_same_name() -> None:
    assert MEASURE_TYPE_LABELS == SCREENING_LABELS


def test_the_contract_names_screenings_care_groups_and_placements() -> None:
    from services.screening.domain.care import GROUP_LABELS, CareGroup, Placement
    from shared.contracts.assistance import CARE_GROUP_LABELS, PLACEMENT_LABELS

    assert {str(group): label for group, label in GROUP_LABELS.items()} == CARE_GROUP_LABELS
    assert set(CARE_GROUP_LABELS) == {g.value for g in CareGroup}
    assert set(PLACEMENT_LABELS) == {p.value for p in Placement}
