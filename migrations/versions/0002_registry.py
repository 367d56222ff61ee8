"""Registry: households, members, incomes, benefits, history, snapshot view.

Revision ID: 0002_registry
Revises: 0001_kernel
Create Date: 2026-11-22
"""

from __future__ import annotations

revision = "0002_registry"
down_revision = "0001_kernel"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled in by the service's own issue; kept in the chain so the history stays linear.
    pass


def downgrade() -> None:
    pass
