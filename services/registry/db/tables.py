"""Tables of schema `registry`."""

from sqlalchemy import CheckConstraint, Column, DateTime, Index, String, Table, Text, func, text

from shared.db import make_metadata
from shared.kernel_tables import idempotency_table, outbox_table

metadata = make_metadata("registry")

outbox = outbox_table(metadata)
idempotency = idempotency_table(metadata)

region = Table(
    "region",
    metadata,
    Column("code", String(12), primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", String(10), nullable=False),
    Column("parent_code", String(12), nullable=True),
    Column("prefix", String(12), nullable=False, unique=True),
    Column("county_code", String(6), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("level in ('province', 'city', 'county', 'township', 'village')", name="level"),
    Index("ix_region_parent_code", "parent_code"),
    Index("ix_region_prefix_pattern", text("prefix text_pattern_ops")),
)
