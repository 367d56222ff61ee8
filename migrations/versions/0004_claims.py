"""Claims: schemes, enrolments, claims, assessments, notices, payments.

Revision ID: 0004_claims
Revises: 0003_screening
Create Date: 2026-11-22
"""

from __future__ import annotations

revision = "0004_claims"
down_revision = "0003_screening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled in by the service's own issue; kept in the chain so the history stays linear.
    pass


def downgrade() -> None:
    pass
