"""Citus readiness (issue 15, docs/scale.md): keys carry the distribution column; person claims.

- Every table distributed by `county_code` has it in its primary key and in every unique
  constraint and unique index. It is appended (`PRIMARY KEY (id, county_code)`), so every existing
  lookup by id, and every query that used a unique index's leading columns, keeps its index.
  Adding the county narrows nothing: an id, a claim, a household or a village has one county.
- Foreign keys between distributed tables include `county_code` on both sides (co-located, checked
  on one node): `(claim_id, county_code) REFERENCES claims.claim (id, county_code)`.
- `registry.person_claim`: the nationwide rule "a person is active in one household only" can no
  longer be a unique index on `registry.member` (members are sharded by county). One row per person
  active somewhere, keyed by the national-ID blind index (distributed by it on Citus), inserted in
  the transaction that makes a membership active and deleted in the one that ends it; its primary
  key refuses the second household. Back-filled from the active members.
  `uq_member_active_national_id_index` stays as the per-county guard, now
  `(national_id_index, county_code) WHERE active`.

Tables left alone: reference tables (region, threshold_version, scheme, scheme_version) and local
ones (audit log, idempotency keys, outboxes, import and export jobs); see tests/deploy/test_citus_ready.py.

Revision ID: 0007_citus_ready
Revises: 0006
Create Date: 2026-12-10
"""

from __future__ import annotations

from alembic import op

revision = "0007_citus_ready"
down_revision = "0006"
branch_labels = None
depends_on = None

# table -> (constraint, columns before). Every one becomes (columns..., county_code).
_PRIMARY_KEYS: list[tuple[str, str, str]] = [
    ("registry.household", "household_pkey", "id"),
    ("registry.member", "member_pkey", "id"),
    ("registry.income", "income_pkey", "household_id, year"),
    ("registry.household_history", "household_history_pkey", "id"),
    ("registry.benefit", "benefit_pkey", "id"),
    ("screening.run", "run_pkey", "id"),
    ("screening.lead", "lead_pkey", "id"),
    ("screening.lead_evidence", "pk_lead_evidence", "lead_id, code, feed_record_id"),
    ("screening.run_data_quality", "pk_run_data_quality", "run_id, issue, village_code, household_id"),
    ("screening.monitoring_case", "monitoring_case_pkey", "id"),
    ("screening.case_transition", "case_transition_pkey", "id"),
    ("screening.measure", "measure_pkey", "id"),
    ("screening.objection", "objection_pkey", "id"),
    ("screening.feed_batch", "feed_batch_pkey", "id"),
    ("screening.feed_record", "feed_record_pkey", "id"),
    ("screening.claim_lead", "claim_lead_pkey", "id"),
    ("claims.claim", "claim_pkey", "id"),
    ("claims.claim_transition", "claim_transition_pkey", "id"),
    ("claims.assessment", "assessment_pkey", "id"),
    ("claims.enrolment", "enrolment_pkey", "id"),
    ("claims.ledger", "ledger_pkey", "household_id, year, category"),
    ("claims.notice", "notice_pkey", "id"),
    ("claims.notice_claim", "notice_claim_pkey", "notice_id, claim_id"),
    ("claims.objection", "objection_pkey", "id"),
    ("claims.payment_batch", "payment_batch_pkey", "id"),
    ("claims.payment", "payment_pkey", "id"),
    ("claims.payment_attempt", "payment_attempt_pkey", "payment_id, attempt"),
    ("claims.simulation", "simulation_pkey", "id"),
]

_UNIQUE_CONSTRAINTS: list[tuple[str, str, str]] = [
    ("claims.claim", "uq_claim_same_event", "subject_id, category, incident_date"),
    ("claims.claim", "uq_claim_source_record_id", "source_record_id"),
    ("claims.notice", "uq_notice_village_day", "village_code, published_on, notice_days"),
    ("claims.payment", "uq_payment_claim_id", "claim_id"),
    ("screening.case_transition", "uq_case_transition_case_seq", "case_id, seq"),
]

# (table, index, columns before, predicate)
_UNIQUE_INDEXES: list[tuple[str, str, str, str]] = [
    ("claims.assessment", "uq_assessment_active_claim", "claim_id", "status = 'active'"),
    ("claims.enrolment", "uq_enrolment_pool_township", "scheme_code, township_code", "household_id IS NULL"),
    ("claims.payment_attempt", "uq_payment_attempt_paid", "payment_id", "status = 'paid'"),
    ("registry.member", "uq_member_active_national_id_index", "national_id_index", "active"),
]

# (table, constraint, column, referenced table): single-column foreign keys between distributed tables,
# all to the referenced table's `id`.
_FOREIGN_KEYS: list[tuple[str, str, str, str]] = [
    ("claims.assessment", "assessment_claim_id_fkey", "claim_id", "claims.claim"),
    ("claims.claim_transition", "claim_transition_claim_id_fkey", "claim_id", "claims.claim"),
    ("claims.notice_claim", "notice_claim_claim_id_fkey", "claim_id", "claims.claim"),
    ("claims.notice_claim", "notice_claim_notice_id_fkey", "notice_id", "claims.notice"),
    ("claims.objection", "objection_claim_id_fkey", "claim_id", "claims.claim"),
    ("claims.objection", "objection_notice_id_fkey", "notice_id", "claims.notice"),
    ("claims.payment", "payment_batch_id_fkey", "batch_id", "claims.payment_batch"),
    ("claims.payment", "payment_claim_id_fkey", "claim_id", "claims.claim"),
    ("claims.payment_attempt", "payment_attempt_batch_id_fkey", "batch_id", "claims.payment_batch"),
    ("claims.payment_attempt", "payment_attempt_payment_id_fkey", "payment_id", "claims.payment"),
    ("screening.case_transition", "case_transition_case_id_fkey", "case_id", "screening.monitoring_case"),
    ("screening.feed_record", "feed_record_batch_id_fkey", "batch_id", "screening.feed_batch"),
    ("screening.lead", "lead_run_id_fkey", "run_id", "screening.run"),
    ("screening.measure", "measure_case_id_fkey", "case_id", "screening.monitoring_case"),
    ("screening.monitoring_case", "monitoring_case_lead_id_fkey", "lead_id", "screening.lead"),
    ("screening.objection", "objection_case_id_fkey", "case_id", "screening.monitoring_case"),
    ("screening.run_data_quality", "run_data_quality_run_id_fkey", "run_id", "screening.run"),
]

_PERSON_CLAIM = [
    """
CREATE TABLE registry.person_claim (
    national_id_index  bytea        NOT NULL,
    member_id          uuid         NOT NULL,
    household_id       uuid         NOT NULL,
    county_code        varchar(6)   NOT NULL,
    claimed_at         timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT person_claim_pkey PRIMARY KEY (national_id_index)
)""",
    """COMMENT ON TABLE registry.person_claim IS
    'one row per person active in a household, keyed by the national-ID blind index: the nationwide '
    'one-household rule when members are sharded by county (written with the membership, same transaction)'""",
    """INSERT INTO registry.person_claim (national_id_index, member_id, household_id, county_code)
SELECT national_id_index, id, household_id, county_code FROM registry.member WHERE active""",
]


def upgrade() -> None:
    for table, name, _column, _referenced in _FOREIGN_KEYS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for table, name, columns in _PRIMARY_KEYS:
        op.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} PRIMARY KEY ({columns}, county_code)"
        )
    for table, name, columns in _UNIQUE_CONSTRAINTS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} UNIQUE ({columns}, county_code)")
    for table, name, columns, where in _UNIQUE_INDEXES:
        schema = table.split(".")[0]
        op.execute(f"DROP INDEX {schema}.{name}")
        op.execute(f"CREATE UNIQUE INDEX {name} ON {table} ({columns}, county_code) WHERE {where}")
    for table, name, column, referenced in _FOREIGN_KEYS:
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} "
            f"FOREIGN KEY ({column}, county_code) REFERENCES {referenced} (id, county_code)"
        )
    for statement in _PERSON_CLAIM:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE registry.person_claim")
    for table, name, _column, _referenced in _FOREIGN_KEYS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for table, name, columns, where in _UNIQUE_INDEXES:
        schema = table.split(".")[0]
        op.execute(f"DROP INDEX {schema}.{name}")
        op.execute(f"CREATE UNIQUE INDEX {name} ON {table} ({columns}) WHERE {where}")
    for table, name, columns in _UNIQUE_CONSTRAINTS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} UNIQUE ({columns})")
    for table, name, columns in _PRIMARY_KEYS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} PRIMARY KEY ({columns})")
    for table, name, column, referenced in _FOREIGN_KEYS:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column}) REFERENCES {referenced} (id)")
