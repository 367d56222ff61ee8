"""Tables every service schema carries (outbox, idempotency keys) and the shared audit log."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db import make_metadata


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox_message",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("seq", BigInteger, Identity(always=False), nullable=False, unique=True),
        Column("target", String(32), nullable=False),
        Column("method", String(8), nullable=False),
        Column("path", Text, nullable=False),
        Column("body", JSONB, nullable=True),
        Column("idempotency_key", String(200), nullable=False),
        Column("ordering_key", String(200), nullable=True),
        Column("county_code", String(6), nullable=True),
        Column("request_id", String(64), nullable=True),
        Column("status", String(16), nullable=False, server_default="pending"),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("last_error", Text, nullable=True),
        Column("response_status", Integer, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("delivered_at", DateTime(timezone=True), nullable=True),
    )


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_key",
        metadata,
        Column("scope", String(200), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("response", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def attachment_tables(metadata: MetaData) -> tuple[Table, Table]:
    """A schema's attachments (shared/attachments.py): one row per file, its bytes in 256 KiB chunks.
    Keys carry county_code (the distribution column), the chunks' foreign key is co-located."""
    schema = metadata.schema
    attachment = Table(
        "attachment",
        metadata,
        Column("id", Uuid, nullable=False),
        Column("county_code", String(6), nullable=False),
        Column("village_code", String(12), nullable=False),
        Column("owner_type", String(32), nullable=False),
        Column("owner_id", Uuid, nullable=False),
        Column("content_type", String(64), nullable=False),
        Column("size_bytes", BigInteger, nullable=False),
        Column("sha256", LargeBinary, nullable=False),
        Column("chunks", Integer, nullable=False),
        Column("created_by", Text, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("id", "county_code", name="pk_attachment"),
    )
    chunk = Table(
        "attachment_chunk",
        metadata,
        Column("attachment_id", Uuid, nullable=False),
        Column("county_code", String(6), nullable=False),
        Column("seq", Integer, nullable=False),
        Column("data", LargeBinary, nullable=False),
        PrimaryKeyConstraint("attachment_id", "county_code", "seq", name="pk_attachment_chunk"),
        ForeignKeyConstraint(
            ["attachment_id", "county_code"],
            [f"{schema}.attachment.id", f"{schema}.attachment.county_code"],
            name="fk_attachment_chunk_attachment",
            ondelete="CASCADE",
        ),
    )
    return attachment, chunk


audit_metadata = make_metadata("audit")

audit_log = Table(
    "audit_log",
    audit_metadata,
    Column("id", BigInteger, primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("service", String(32), nullable=False),
    Column("actor_sub", Text, nullable=True),
    Column("actor_roles", Text, nullable=True),
    Column("actor_region", String(12), nullable=True),
    Column("action", String(100), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", Text, nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("prev_hash", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
)
