"""Screening: thresholds, feeds, runs, leads, cases, measures.

Revision ID: 0003_screening
Revises: 0002_registry
Create Date: 2026-11-22
"""

from __future__ import annotations

revision = "0003_screening"
down_revision = "0002_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled in by the service's own issue; kept in the chain so the history stays linear.
    pass


def downgrade() -> None:
    pass
