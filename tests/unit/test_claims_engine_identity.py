"""The engine's output does not change when it is made faster (issue 15).

The first 2,000 claims of bench/claims_assess.py (seed 20260305: all six categories) are assessed
under the reference scheme, and 2,000 more (seed 20260306) under a variant that takes the paths
the reference never takes (every rejection code is reached by one or the other); each one's
result, ledger, breakdown and explanation is written as JSON, and its digest must equal the one
the engine wrote before the speed work (e1e7fda), recorded in claims_engine_2000.sha256 and
claims_engine_variant_2000.sha256. The whole 100,000 of the bench were compared the same way, byte for
byte, for each optimisation commit.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import importlib.util
import json
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from services.claims.domain import assessment
from services.claims.domain.assessment import Assessment, assess, explain
from services.claims.domain.reference import REFERENCE_SCHEME
from services.claims.domain.scheme import Category, parse_scheme

ROOT = Path(__file__).resolve().parents[2]
DIGESTS = Path(__file__).with_name("claims_engine_2000.sha256")
VARIANT_DIGESTS = Path(__file__).with_name("claims_engine_variant_2000.sha256")


def _variant_scheme() -> dict[str, Any]:
    """The reference scheme changed so that the paths it never takes are taken: household cap
    reached, a category and a level not covered, sub-fen tier pays, a 3-place drop ratio."""
    data = copy.deepcopy(REFERENCE_SCHEME)
    data.update(household_annual_cap="25000.00", pool_mode="all_rural", protection_line="7000.00")
    del data["categories"]["in_school"]
    del data["categories"]["school_entry"]["lump_sums"]["undergraduate"]
    data["categories"]["industry_loss"]["tiers"] = [
        {"from": "0", "to": "1000.5", "rate": "0.555"},
        {"from": "1000.5", "to": None, "rate": "0.3333"},
    ]
    data["categories"]["income_drop"]["min_drop_ratio"] = "0.255"
    return data


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("claims_assess_bench", ROOT / "bench" / "claims_assess.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _document(result: Assessment) -> str:
    return json.dumps(
        [
            result.category.value,
            result.eligible,
            str(result.payout),
            None if result.rejection_code is None else result.rejection_code.value,
            str(result.base_added),
            str(result.new_category_base),
            str(result.new_category_paid),
            str(result.new_household_paid),
            result.breakdown,
            explain(result),
        ],
        ensure_ascii=False,
    )


def _assess_all(scheme_data: dict[str, Any], seed: int, digests: Path) -> set[str]:
    expected = [line for line in digests.read_text().splitlines() if line and not line.startswith("#")]
    assert len(expected) == 2000
    scheme = parse_scheme(scheme_data)
    outcomes: set[str] = set()
    for index, (facts, prior) in enumerate(_bench().generate_claims(2000, seed)):
        result = assess(scheme, facts, prior)
        outcomes.add(result.rejection_code.value if result.rejection_code else "paid")
        document = _document(result)
        digest = hashlib.sha256(document.encode()).hexdigest()[:16]
        assert digest == expected[index], f"claim {index} is assessed differently now: {document}"
    return outcomes


def test_two_thousand_claims_are_assessed_byte_for_byte_as_before() -> None:
    outcomes = _assess_all(REFERENCE_SCHEME, 20260305, DIGESTS)
    assert {"paid", "not_insured", "negative_list", "outside_coverage", "reported_late", "no_loss"} <= outcomes
    assert {"income_above_line", "below_deductible", "category_cap_reached", "duplicate"} <= outcomes
    assert {"drop_too_small", "already_paid_this_year"} <= outcomes


def test_the_paths_the_reference_scheme_never_takes_are_assessed_as_before() -> None:
    outcomes = _assess_all(_variant_scheme(), 20260306, VARIANT_DIGESTS)
    assert {"category_not_covered", "household_cap_reached", "level_not_covered", "paid"} <= outcomes


def test_the_fast_constructor_makes_the_dataclass_object() -> None:
    values: dict[str, Any] = {
        "category": Category.ILLNESS,
        "eligible": True,
        "payout": Decimal("12.34"),
        "rejection_code": None,
        "breakdown": {"x": 1},
        "base_added": Decimal("1.00"),
        "new_category_base": Decimal("2.00"),
        "new_category_paid": Decimal("3.00"),
        "new_household_paid": Decimal("4.00"),
    }
    fast = assessment._new_assessment(**values)
    assert fast == Assessment(**values)
    assert dataclasses.asdict(fast) == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.payout = Decimal("0")  # type: ignore[misc]


def test_scheme_parts_are_bounded_and_follow_the_scheme_object() -> None:
    first = parse_scheme(REFERENCE_SCHEME)
    second = parse_scheme({**REFERENCE_SCHEME, "household_annual_cap": "1.00"})
    assessment._SCHEME_PARTS.clear()
    assert assessment._scheme_parts(first).household_cap_text == "150000.00"
    assert assessment._scheme_parts(second).household_cap_text == "1.00"
    for _ in range(assessment._SCHEME_PARTS_SIZE + 10):
        assessment._scheme_parts(parse_scheme(REFERENCE_SCHEME))
    assert len(assessment._SCHEME_PARTS) <= assessment._SCHEME_PARTS_SIZE
