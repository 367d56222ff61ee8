"""The measure types the registry names in its reports are screening's (shared/contracts/assistance.py)."""

from __future__ import annotations

from services.screening.domain.assistance import MEASURE_TYPE_LABELS as SCREENING_LABELS
from shared.contracts.assistance import MEASURE_TYPE_LABELS


def test_the_contract_lists_every_type_screening_pays_with_the_same_name() -> None:
    assert MEASURE_TYPE_LABELS == SCREENING_LABELS
