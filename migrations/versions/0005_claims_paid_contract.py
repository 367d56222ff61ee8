"""Claims read contract for the monitoring ledger: paid claims per county, village and day.

Revision ID: 0005_claims_paid_contract
Revises: 0004_claims
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_claims_paid_contract"
down_revision = "0004_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_payment_paid_county_date",
        "payment",
        ["county_code", "paid_date"],
        schema="claims",
        postgresql_where=sa.text("status = 'paid'"),
    )
    op.execute(
        """
        CREATE VIEW claims.payment_paid_v1 AS
        SELECT p.id            AS payment_id,
               p.claim_id      AS claim_id,
               p.county_code   AS county_code,
               c.township_code AS township_code,
               c.village_code  AS village_code,
               p.household_id  AS household_id,
               p.category      AS category,
               p.amount        AS amount,
               p.paid_date     AS paid_date
          FROM claims.payment p
          JOIN claims.claim c ON c.id = p.claim_id
         WHERE p.status = 'paid'
        """
    )
    op.execute(
        "COMMENT ON VIEW claims.payment_paid_v1 IS 'Read contract v1 (owner: claims). One row per confirmed "
        "payment; filter by county_code and paid_date. See shared/contracts/claims.py.'"
    )


def downgrade() -> None:
    op.execute("DROP VIEW claims.payment_paid_v1")
    op.drop_index("ix_payment_paid_county_date", table_name="payment", schema="claims")
