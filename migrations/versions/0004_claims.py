"""Claims: schemes, enrolments, claims, assessments, ledger, notices, payments, simulations.

Revision ID: 0004_claims
Revises: 0003_screening
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_claims"
down_revision = "0003_screening"
branch_labels = None
depends_on = None

S = "claims"
CATEGORIES = "('illness', 'disaster_accident', 'school_entry', 'in_school', 'income_drop', 'industry_loss')"
STATES = (
    "('reported', 'investigating', 'investigated', 'village_reviewed', 'township_reviewed', 'filed', "
    "'assessed', 'in_notice', 'approved', 'paying', 'paid', 'payment_failed', 'rejected')"
)


def _money(name: str, **kw: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Numeric(14, 2), **kw)  # type: ignore[arg-type]


def _ts(name: str, *, nullable: bool = False, default: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=nullable, server_default=sa.func.now() if default else None
    )


def upgrade() -> None:
    # ---------------------------------------------------------------- schemes (reference data)
    op.create_table(
        "scheme",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.Text, nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint("status in ('active', 'draft')", name="status"),
        sa.CheckConstraint("county_code ~ '^[0-9]{6}$'", name="county_code"),
        schema=S,
    )
    # one scheme in force per county and year (drafts are for simulation and preview)
    op.create_index(
        "uq_scheme_active_county_year",
        "scheme",
        ["county_code", "year"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "scheme_version",
        sa.Column("code", sa.String(64), sa.ForeignKey(f"{S}.scheme.code"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("body", postgresql.JSONB, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_by", sa.Text, nullable=True),
        _ts("created_at"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        schema=S,
    )
    # A version an assessment used never changes and never goes away: enforced by the database,
    # so no code path (or hand-written SQL) can rewrite the parameters behind a stored decision.
    op.execute(
        """
        CREATE FUNCTION claims.scheme_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                IF OLD.used THEN
                    RAISE EXCEPTION 'scheme % version % is used by an assessment and cannot be deleted',
                        OLD.code, OLD.version USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN OLD;
            END IF;
            IF OLD.used AND (NEW.body IS DISTINCT FROM OLD.body OR NEW.code <> OLD.code
                             OR NEW.version <> OLD.version OR NOT NEW.used) THEN
                RAISE EXCEPTION 'scheme % version % is used by an assessment and is immutable',
                    OLD.code, OLD.version USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER scheme_version_immutable_when_used BEFORE UPDATE OR DELETE ON claims.scheme_version "
        "FOR EACH ROW EXECUTE FUNCTION claims.scheme_version_guard()"
    )

    # ---------------------------------------------------------------- enrolments
    op.create_table(
        "enrolment",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("scheme_code", sa.String(64), sa.ForeignKey(f"{S}.scheme.code"), nullable=False),
        sa.Column("household_id", sa.Uuid, nullable=True),
        sa.Column("township_code", sa.String(9), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=True),
        sa.Column("insured_people", sa.Integer, nullable=False),
        _money("premium", nullable=False),
        sa.Column("created_by", sa.Text, nullable=True),
        _ts("created_at"),
        sa.CheckConstraint("insured_people > 0", name="insured_people_positive"),
        sa.CheckConstraint("premium >= 0", name="premium_non_negative"),
        schema=S,
    )
    op.create_index(
        "uq_enrolment_household_year",
        "enrolment",
        ["county_code", "year", "household_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("household_id IS NOT NULL"),
    )
    op.create_index(
        "uq_enrolment_pool_township",
        "enrolment",
        ["scheme_code", "township_code"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("household_id IS NULL"),
    )
    op.create_index("ix_enrolment_scheme_township", "enrolment", ["scheme_code", "township_code"], schema=S)

    # ---------------------------------------------------------------- claims
    op.create_table(
        "claim",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("township_code", sa.String(9), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("household_id", sa.Uuid, nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=True),
        sa.Column("subject_id", sa.Uuid, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("incident_date", sa.Date, nullable=False),
        sa.Column("reported_date", sa.Date, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("expense", postgresql.JSONB, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_record_id", sa.String(200), nullable=True),
        sa.Column("lead_evidence", postgresql.JSONB, nullable=True),
        sa.Column("household_facts", postgresql.JSONB, nullable=True),
        sa.Column("facts_status", sa.String(8), nullable=False),
        sa.Column("facts_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("rejection_code", sa.String(64), nullable=True),
        sa.Column("rejection_stage", sa.String(20), nullable=True),
        sa.Column("created_by", sa.Text, nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint(f"category in {CATEGORIES}", name="category"),
        sa.CheckConstraint(f"state in {STATES}", name="state"),
        sa.CheckConstraint("source in ('feed', 'screening_run', 'application')", name="source"),
        sa.CheckConstraint("facts_status in ('ready', 'pending')", name="facts_status"),
        sa.CheckConstraint("facts_status = 'pending' OR household_facts IS NOT NULL", name="facts_when_ready"),
        sa.CheckConstraint("reported_date >= incident_date", name="reported_after_incident"),
        sa.CheckConstraint(
            "village_code LIKE township_code || '%' AND township_code LIKE county_code || '%'", name="region_nesting"
        ),
        # one claim per event: the same source record, or the same member/household, category and day
        sa.UniqueConstraint("source_record_id", name="uq_claim_source_record_id"),
        sa.UniqueConstraint("subject_id", "category", "incident_date", name="uq_claim_same_event"),
        schema=S,
    )
    op.create_index("ix_claim_county_state", "claim", ["county_code", "state"], schema=S)
    op.create_index("ix_claim_village_created", "claim", ["village_code", "created_at"], schema=S)
    op.create_index("ix_claim_household_year", "claim", ["household_id", "year"], schema=S)
    op.create_index(
        "ix_claim_facts_pending",
        "claim",
        ["created_at"],
        schema=S,
        postgresql_where=sa.text("facts_status = 'pending'"),
    )

    op.create_table(
        "claim_transition",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("claim_id", sa.Uuid, sa.ForeignKey(f"{S}.claim.id"), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("actor_sub", sa.Text, nullable=True),
        sa.Column("actor_role", sa.String(32), nullable=True),
        sa.Column("actor_region", sa.String(12), nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("evidence", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        _ts("at"),
        schema=S,
    )
    op.create_index("ix_claim_transition_claim", "claim_transition", ["claim_id", "id"], schema=S)

    # ---------------------------------------------------------------- assessments and the ledger
    op.create_table(
        "assessment",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("claim_id", sa.Uuid, sa.ForeignKey(f"{S}.claim.id"), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("household_id", sa.Uuid, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("scheme_code", sa.String(64), nullable=False),
        sa.Column("scheme_version", sa.Integer, nullable=False),
        sa.Column("facts", postgresql.JSONB, nullable=False),
        sa.Column("eligible", sa.Boolean, nullable=False),
        _money("payout", nullable=False),
        sa.Column("rejection_code", sa.String(64), nullable=True),
        _money("base_added", nullable=False),
        sa.Column("breakdown", postgresql.JSONB, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("assessed_by", sa.Text, nullable=True),
        _ts("created_at"),
        _ts("superseded_at", nullable=True, default=False),
        sa.ForeignKeyConstraint(
            ["scheme_code", "scheme_version"],
            [f"{S}.scheme_version.code", f"{S}.scheme_version.version"],
            name="fk_assessment_scheme_version",
        ),
        sa.CheckConstraint("status in ('active', 'superseded')", name="status"),
        sa.CheckConstraint("payout >= 0 AND base_added >= 0", name="amounts_non_negative"),
        sa.CheckConstraint("eligible = (rejection_code IS NULL)", name="eligible_xor_rejected"),
        sa.CheckConstraint("eligible OR payout = 0", name="rejected_pays_nothing"),
        schema=S,
    )
    op.create_index(
        "uq_assessment_active_claim",
        "assessment",
        ["claim_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index("ix_assessment_county_year", "assessment", ["county_code", "year"], schema=S)

    op.create_table(
        "ledger",
        sa.Column("household_id", sa.Uuid, primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("category", sa.String(32), primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        _money("base", nullable=False, server_default="0"),
        _money("paid", nullable=False, server_default="0"),
        _ts("updated_at"),
        sa.CheckConstraint(f"category in {CATEGORIES}", name="category"),
        sa.CheckConstraint("base >= 0 AND paid >= 0", name="non_negative"),
        schema=S,
    )

    # ---------------------------------------------------------------- notices and objections
    op.create_table(
        "notice",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("township_code", sa.String(9), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("published_on", sa.Date, nullable=False),
        sa.Column("notice_days", sa.Integer, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_by", sa.Text, nullable=True),
        _ts("created_at"),
        sa.CheckConstraint("status in ('open', 'closed')", name="status"),
        sa.CheckConstraint("notice_days >= 1 AND last_day >= published_on", name="window"),
        sa.UniqueConstraint("village_code", "published_on", "notice_days", name="uq_notice_village_day"),
        schema=S,
    )
    op.create_index("ix_notice_county_status", "notice", ["county_code", "status", "last_day"], schema=S)
    op.create_table(
        "notice_claim",
        sa.Column("notice_id", sa.Uuid, sa.ForeignKey(f"{S}.notice.id"), primary_key=True),
        sa.Column("claim_id", sa.Uuid, sa.ForeignKey(f"{S}.claim.id"), primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        _ts("listed_at"),
        sa.CheckConstraint("status in ('listed', 'approved', 'withdrawn')", name="status"),
        schema=S,
    )
    op.create_index("ix_notice_claim_claim", "notice_claim", ["claim_id"], schema=S)
    op.create_table(
        "objection",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("notice_id", sa.Uuid, sa.ForeignKey(f"{S}.notice.id"), nullable=False),
        sa.Column("claim_id", sa.Uuid, sa.ForeignKey(f"{S}.claim.id"), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("objector_enc", sa.LargeBinary, nullable=True),
        sa.Column("objector_masked", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("filed_by", sa.Text, nullable=True),
        _ts("filed_at"),
        sa.Column("decided_by", sa.Text, nullable=True),
        _ts("decided_at", nullable=True, default=False),
        sa.Column("decision_comment", sa.Text, nullable=True),
        sa.CheckConstraint("status in ('open', 'upheld', 'dismissed')", name="status"),
        schema=S,
    )
    op.create_index("ix_objection_notice", "objection", ["notice_id", "filed_at"], schema=S)
    op.create_index("ix_objection_claim_status", "objection", ["claim_id", "status"], schema=S)

    # ---------------------------------------------------------------- payments
    op.create_table(
        "payment_batch",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("declared_count", sa.Integer, nullable=False),
        _money("declared_total", nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_by", sa.Text, nullable=True),
        _ts("created_at"),
        sa.CheckConstraint("status in ('created', 'reconciled')", name="status"),
        sa.CheckConstraint("declared_count > 0 AND declared_total > 0", name="declared_positive"),
        schema=S,
    )
    op.create_table(
        "payment",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("claim_id", sa.Uuid, sa.ForeignKey(f"{S}.claim.id"), nullable=False),
        sa.Column("batch_id", sa.Uuid, sa.ForeignKey(f"{S}.payment_batch.id"), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("household_id", sa.Uuid, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        _money("amount", nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("bank_account_enc", sa.LargeBinary, nullable=False),
        sa.Column("bank_account_masked", sa.Text, nullable=False),
        sa.Column("bank_name", sa.Text, nullable=True),
        sa.Column("account_holder_enc", sa.LargeBinary, nullable=True),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("bank_reference", sa.Text, nullable=True),
        sa.Column("paid_date", sa.Date, nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        # Exactly one payment per claim, whatever the retries, restarts or duplicate requests.
        sa.UniqueConstraint("claim_id", name="uq_payment_claim_id"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("status in ('pending', 'paid', 'failed')", name="status"),
        sa.CheckConstraint("status <> 'paid' OR paid_date IS NOT NULL", name="paid_has_date"),
        schema=S,
    )
    op.create_index("ix_payment_batch", "payment", ["batch_id"], schema=S)
    op.create_table(
        "payment_attempt",
        sa.Column("payment_id", sa.Uuid, sa.ForeignKey(f"{S}.payment.id"), primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("batch_id", sa.Uuid, sa.ForeignKey(f"{S}.payment_batch.id"), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        _money("amount", nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("bank_reference", sa.Text, nullable=True),
        _ts("created_at"),
        _ts("confirmed_at", nullable=True, default=False),
        sa.CheckConstraint("status in ('pending', 'paid', 'failed')", name="status"),
        schema=S,
    )
    op.create_index("ix_payment_attempt_batch", "payment_attempt", ["batch_id"], schema=S)
    # at most one attempt of a payment can ever succeed
    op.create_index(
        "uq_payment_attempt_paid",
        "payment_attempt",
        ["payment_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status = 'paid'"),
    )

    # ---------------------------------------------------------------- simulations (jobs)
    op.create_table(
        "simulation",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("scheme", postgresql.JSONB, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("progress_done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("progress_total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("errors", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("result", postgresql.JSONB, nullable=True),
        sa.Column("created_by", sa.Text, nullable=True),
        _ts("created_at"),
        _ts("started_at", nullable=True, default=False),
        _ts("finished_at", nullable=True, default=False),
        sa.CheckConstraint("status in ('queued', 'running', 'succeeded', 'failed')", name="status"),
        schema=S,
    )
    op.create_index("ix_simulation_county_created", "simulation", ["county_code", "created_at"], schema=S)


def downgrade() -> None:
    for table in (
        "simulation",
        "payment_attempt",
        "payment",
        "payment_batch",
        "objection",
        "notice_claim",
        "notice",
        "ledger",
        "assessment",
        "claim_transition",
        "claim",
        "enrolment",
    ):
        op.drop_table(table, schema=S)
    op.execute("DROP TRIGGER scheme_version_immutable_when_used ON claims.scheme_version")
    op.drop_table("scheme_version", schema=S)
    op.execute("DROP FUNCTION claims.scheme_version_guard()")
    op.drop_table("scheme", schema=S)
