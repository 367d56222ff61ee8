"""Kernel: schemas, outbox and idempotency tables per service, audit log, regions.

Revision ID: 0001_kernel
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_kernel"
down_revision = None
branch_labels = None
depends_on = None

SERVICE_SCHEMAS = ("registry", "screening", "claims")


def _kernel_tables(schema: str) -> None:
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=False), nullable=False, unique=True),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("body", postgresql.JSONB, nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("ordering_key", sa.String(200), nullable=True),
        sa.Column("county_code", sa.String(6), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("response_status", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status in ('pending', 'delivered', 'dead')", name="status"),
        schema=schema,
    )
    op.create_index(
        "ix_outbox_message_pending",
        "outbox_message",
        ["next_attempt_at"],
        schema=schema,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_outbox_message_ordering_pending",
        "outbox_message",
        ["ordering_key", "seq"],
        schema=schema,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "idempotency_key",
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", postgresql.JSONB, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=schema,
    )


def upgrade() -> None:
    for schema in (*SERVICE_SCHEMAS, "audit"):
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for schema in SERVICE_SCHEMAS:
        _kernel_tables(schema)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("actor_sub", sa.Text, nullable=True),
        sa.Column("actor_roles", sa.Text, nullable=True),
        sa.Column("actor_region", sa.String(12), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.Text, nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("detail", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("prev_hash", sa.LargeBinary, nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        schema="audit",
    )
    op.create_index("ix_audit_log_resource", "audit_log", ["resource_type", "resource_id"], schema="audit")
    # Append-only: ordinary roles cannot change history. A superuser can still disable the
    # trigger, which is what the hash chain is for.
    op.execute(
        """
        CREATE FUNCTION audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit.audit_log is append-only';
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit.audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change()"
    )
    # The sequence name the kernel uses for `nextval` regardless of how identity named it.
    op.execute(
        "DO $$ BEGIN IF to_regclass('audit.audit_log_id_seq') IS NULL THEN "
        "RAISE EXCEPTION 'expected sequence audit.audit_log_id_seq'; END IF; END $$;"
    )

    op.create_table(
        "region",
        sa.Column("code", sa.String(12), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("parent_code", sa.String(12), nullable=True),
        sa.Column("prefix", sa.String(12), nullable=False, unique=True),
        sa.Column("county_code", sa.String(6), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("level in ('province', 'city', 'county', 'township', 'village')", name="level"),
        sa.CheckConstraint("code ~ '^[0-9]{12}$'", name="code_digits"),
        schema="registry",
    )
    op.create_index("ix_region_parent_code", "region", ["parent_code"], schema="registry")
    op.create_index("ix_region_prefix_pattern", "region", [sa.text("prefix text_pattern_ops")], schema="registry")


def downgrade() -> None:
    op.drop_table("region", schema="registry")
    op.execute("DROP TABLE audit.audit_log")
    op.execute("DROP FUNCTION audit.refuse_change()")
    for schema in SERVICE_SCHEMAS:
        op.drop_table("idempotency_key", schema=schema)
        op.drop_table("outbox_message", schema=schema)
    for schema in ("audit", *SERVICE_SCHEMAS):
        op.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
