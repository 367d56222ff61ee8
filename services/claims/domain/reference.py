"""The reference scheme of rules.md §2.1, verbatim (demo data; a county replaces it).

It carries no ``version``: ``parse_scheme`` reads it as version 1. Treat the dict as
read-only; take ``copy.deepcopy(REFERENCE_SCHEME)`` (or ``reference_scheme_data()``) to edit.
"""

from __future__ import annotations

import copy
from typing import Any, Final

REFERENCE_SCHEME: Final[dict[str, Any]] = {
    "code": "reference-2026",
    "county_code": "410602",
    "year": 2026,
    "premium_per_person": "100.00",
    "pool_mode": "enrolled",
    "protection_line": "6000.00",
    "household_annual_cap": "150000.00",
    "report_window_days": 180,
    "notice_days": 10,
    "categories": {
        "illness": {
            "deductible": {
                "ordinary": "20000.00",
                "lifted_out": "5000.00",
                "unstable": "5000.00",
                "marginal": "20000.00",
                "sudden_hardship": "20000.00",
            },
            "tiers": [
                {"from": "0", "to": "20000", "rate": "0.50"},
                {"from": "20000", "to": "50000", "rate": "0.60"},
                {"from": "50000", "to": None, "rate": "0.70"},
            ],
            "cap": "100000.00",
        },
        "disaster_accident": {
            "deductible": "2000.00",
            "cap": "100000.00",
            "tiers": [
                {"from": "0", "to": "50000", "rate": "0.60"},
                {"from": "50000", "to": None, "rate": "0.70"},
            ],
        },
        "school_entry": {
            "lump_sums": {
                "senior_high": "2000.00",
                "secondary_vocational": "2000.00",
                "junior_college": "3000.00",
                "undergraduate": "5000.00",
            }
        },
        "in_school": {
            "deductible": "3000.00",
            "tiers": [{"from": "0", "to": None, "rate": "0.50"}],
            "cap": "20000.00",
        },
        "income_drop": {"min_drop_ratio": "0.30", "cap": "10000.00"},
        "industry_loss": {
            "deductible": "2000.00",
            "tiers": [{"from": "0", "to": None, "rate": "0.50"}],
            "cap": "20000.00",
        },
    },
}


def reference_scheme_data() -> dict[str, Any]:
    """A private copy of ``REFERENCE_SCHEME`` to edit or store."""
    return copy.deepcopy(REFERENCE_SCHEME)
