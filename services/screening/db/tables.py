"""Tables of schema `screening` (DDL: migrations/versions/0003_screening.py)."""

from dataclasses import fields
from typing import TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import RowMapping

from shared.db import make_metadata
from shared.kernel_tables import attachment_tables, idempotency_table, outbox_table
from shared.pii_rotation import EncryptedColumn

metadata = make_metadata("screening")

outbox = outbox_table(metadata)
idempotency = idempotency_table(metadata)
attachment, attachment_chunk = attachment_tables(metadata)  # shared/attachments.py (migration 0009)


def _created_at() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


threshold_version = Table(
    "threshold_version",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("year", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("values", JSONB, nullable=False),
    Column("sources", JSONB, nullable=False),
    Column("note", Text),
    Column("created_by", Text),
    _created_at(),
)

feed_batch = Table(
    "feed_batch",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("department", String(40), nullable=False),
    Column("period", String(7)),
    Column("format", String(8), nullable=False),
    Column("declared_record_count", Integer, nullable=False),
    Column("declared_control_total", Numeric(18, 2), nullable=False),
    Column("record_count", Integer, nullable=False, server_default="0"),
    Column("control_total", Numeric(18, 2), nullable=False, server_default="0"),
    Column("status", String(16), nullable=False),
    Column("progress_done", Integer, nullable=False, server_default="0"),
    Column("progress_total", Integer, nullable=False, server_default="0"),
    Column("accepted_count", Integer, nullable=False, server_default="0"),
    Column("duplicate_count", Integer, nullable=False, server_default="0"),
    Column("invalid_count", Integer, nullable=False, server_default="0"),
    Column("matched_count", Integer, nullable=False, server_default="0"),
    Column("unmatched_count", Integer, nullable=False, server_default="0"),
    Column("claim_lead_count", Integer, nullable=False, server_default="0"),
    Column("errors", JSONB, nullable=False, server_default="[]"),
    Column("result", JSONB),
    Column("content_sha256", String(64), nullable=False),
    Column("created_by", Text),
    _created_at(),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
)

feed_record = Table(
    "feed_record",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("batch_id", Uuid, ForeignKey("screening.feed_batch.id"), nullable=False),
    Column("department", String(40), nullable=False),
    Column("source_record_id", String(200), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("event_date", Date, nullable=False),
    Column("national_id_enc", LargeBinary),
    Column("national_id_index", LargeBinary),
    Column("national_id_masked", String(32)),
    Column("household_number", String(64)),
    Column("member_id", Uuid),
    Column("household_id", Uuid),
    Column("amount", Numeric(14, 2), nullable=False, server_default="0"),
    Column("amounts", JSONB, nullable=False, server_default="{}"),
    Column("grade", SmallInteger),
    Column("details", JSONB, nullable=False, server_default="{}"),
    Column("matched_at", DateTime(timezone=True)),
    _created_at(),
)

run = Table(
    "run",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("period", String(7), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("trigger", String(16), nullable=False, server_default="api"),
    Column("threshold_version_id", Uuid, ForeignKey("screening.threshold_version.id")),
    Column("thresholds", JSONB),
    Column("window_start", Date, nullable=False),
    Column("window_end", Date, nullable=False),
    Column("progress_done", Integer, nullable=False, server_default="0"),
    Column("progress_total", Integer, nullable=False, server_default="0"),
    Column("result", JSONB),
    Column("errors", JSONB, nullable=False, server_default="[]"),
    Column("superseded_by", Uuid),
    Column("superseded_at", DateTime(timezone=True)),
    Column("created_by", Text),
    _created_at(),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
)

lead = Table(
    "lead",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("run_id", Uuid, ForeignKey("screening.run.id"), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("township_code", String(9), nullable=False),
    Column("village_code", String(12), nullable=False),
    Column("household_id", Uuid, nullable=False),
    Column("household_number", Text),
    Column("household_status", String(20), nullable=False),
    Column("members", Integer, nullable=False),
    Column("labour_count", Integer, nullable=False),
    Column("income_year", Integer),
    Column("income", Numeric(14, 2), nullable=False),
    Column("income_prev", Numeric(14, 2)),
    Column("window_total", Numeric(16, 2), nullable=False),
    Column("adjusted_income", Numeric(16, 2), nullable=False),
    Column("per_capita_income", Numeric(16, 2), nullable=False),
    Column("adjusted_per_capita", Numeric(16, 2), nullable=False),
    Column("codes", ARRAY(Text), nullable=False),
    Column("figures", JSONB, nullable=False),
    Column("lead_basis", ARRAY(Text), nullable=False),
    Column("is_lead", Boolean, nullable=False),
    Column("suggested_type", String(20)),
    Column("insured_this_year", Boolean, nullable=False, server_default="false"),
    Column("routing", String(16), nullable=False),
    Column("case_id", Uuid),
    Column("rank", Integer),
    Column("township_rank", Integer),
    Column("state", String(16), nullable=False, server_default="open"),
    _created_at(),
)

lead_evidence = Table(
    "lead_evidence",
    metadata,
    Column("lead_id", Uuid, primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("code", String(32), primary_key=True),
    Column("feed_record_id", Uuid, primary_key=True),
    Column("batch_id", Uuid, nullable=False),
)

monitoring_case = Table(
    "monitoring_case",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("township_code", String(9), nullable=False),
    Column("village_code", String(12), nullable=False),
    Column("household_id", Uuid, nullable=False),
    Column("household_number", Text),
    Column("source", String(16), nullable=False),
    Column("state", String(32), nullable=False),
    Column("risk_codes", ARRAY(Text), nullable=False, server_default="{}"),
    Column("suggested_type", String(20)),
    Column("monitoring_type", String(20)),
    Column("elimination_kind", String(16)),
    Column("lead_id", Uuid, ForeignKey("screening.lead.id")),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("state_entered_at", DateTime(timezone=True), nullable=False),
    Column("identification_deadline", Date, nullable=False),
    Column("notice_start_date", Date),
    Column("notice_days", Integer),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("eliminated_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("threshold_version_id", Uuid, ForeignKey("screening.threshold_version.id")),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_by", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

case_transition = Table(
    "case_transition",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("case_id", Uuid, ForeignKey("screening.monitoring_case.id"), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(40), nullable=False),
    Column("from_state", String(32), nullable=False),
    Column("to_state", String(32), nullable=False),
    Column("actor_sub", Text, nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("actor_region", String(12), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("comment", Text),
    Column("evidence", JSONB, nullable=False, server_default="{}"),
    Column("threshold_version_id", Uuid, ForeignKey("screening.threshold_version.id")),
)

measure = Table(
    "measure",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("case_id", Uuid, ForeignKey("screening.monitoring_case.id"), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("household_id", Uuid, nullable=False),
    Column("measure_type", String(32), nullable=False),
    Column("description", Text, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("delivered_date", Date),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_by", Text),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

objection = Table(
    "objection",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("case_id", Uuid, ForeignKey("screening.monitoring_case.id"), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("notice_state", String(32), nullable=False),
    Column("notice_start_date", Date, nullable=False),
    Column("content", Text, nullable=False),
    Column("raised_by_sub", Text, nullable=False),
    Column("raised_by_role", String(32), nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("resolution", Text),
    Column("resolved_by_sub", Text),
    Column("resolved_at", DateTime(timezone=True)),
    Column("version", Integer, nullable=False, server_default="1"),
)

claim_lead = Table(
    "claim_lead",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("source", String(16), nullable=False),
    Column("source_record_id", String(200), nullable=False),
    Column("household_id", Uuid, nullable=False),
    Column("category", String(32), nullable=False),
    Column("incident_year", Integer, nullable=False),
    Column("feed_record_id", Uuid),
    Column("run_id", Uuid),
    Column("outbox_message_id", Uuid, nullable=False),
    _created_at(),
)

# --- assistance (rules.md §4; migration 0009_assistance) ------------------------------------

assistance_measure = Table(
    "assistance_measure",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), primary_key=True),
    Column("township_code", String(9), nullable=False),
    Column("village_code", String(12), nullable=False),
    Column("household_id", Uuid, nullable=False),
    Column("measure_type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("risk_code", String(32)),
    Column("due_date", Date),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("provider", Text),
    Column("details", JSONB, nullable=False, server_default="{}"),
    Column("amount", Numeric(14, 2)),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_by", Text),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

assistance_measure_history = Table(
    "assistance_measure_history",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("county_code", String(6), primary_key=True),
    Column("measure_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("changes", JSONB, nullable=False),
    Column("actor_sub", Text),
    Column("at", DateTime(timezone=True), nullable=False),
)

assistance_payment = Table(
    "assistance_payment",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), primary_key=True),
    Column("village_code", String(12), nullable=False),
    Column("measure_id", Uuid, nullable=False),
    Column("household_id", Uuid, nullable=False),
    Column("measure_type", String(32), nullable=False),
    Column("income_type", String(16), nullable=False),
    Column("period", String(7), nullable=False),
    Column("year", Integer, nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("paid_date", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reverses_id", Uuid),
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    Column("details", JSONB, nullable=False, server_default="{}"),
    Column("created_by", Text),
    _created_at(),
)

visit = Table(
    "visit",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), primary_key=True),
    Column("township_code", String(9), nullable=False),
    Column("village_code", String(12), nullable=False),
    Column("household_id", Uuid, nullable=False),
    Column("visit_date", Date, nullable=False),
    Column("visitors", ARRAY(Text), nullable=False),
    Column("findings", JSONB, nullable=False),
    Column("case_id", Uuid),
    Column("created_by", Text),
    _created_at(),
)

# --- 公益岗 public-welfare posts (rules.md §4; migration 0012_public_posts) --------------------

public_post = Table(
    "public_post",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), primary_key=True),
    Column("region_code", String(12), nullable=False),
    Column("level", String(8), nullable=False),
    Column("name", Text, nullable=False),
    Column("monthly_wage", Numeric(14, 2), nullable=False),
    Column("days_per_month", SmallInteger, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("status", String(8), nullable=False, server_default="open"),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_by", Text),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

public_post_assignment = Table(
    "public_post_assignment",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), primary_key=True),
    Column("post_id", Uuid, nullable=False),
    Column("township_code", String(9), nullable=False),
    Column("village_code", String(12), nullable=False),
    Column("household_id", Uuid, nullable=False),
    Column("member_id", Uuid, nullable=False),
    Column("measure_id", Uuid, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("status", String(8), nullable=False),
    Column("end_reason", Text),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_by", Text),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

public_post_attendance = Table(
    "public_post_attendance",
    metadata,
    Column("assignment_id", Uuid, primary_key=True),
    Column("county_code", String(6), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("days_attended", SmallInteger, nullable=False),
    Column("assessment", String(8), nullable=False),
    Column("note", Text),
    Column("monthly_wage", Numeric(14, 2), nullable=False),
    Column("days_per_month", SmallInteger, nullable=False),
    Column("wage_payable", Numeric(14, 2), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_by", Text),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# --- 低保 standards (rules.md §4; migration 0013_dibao_standards) ---------------------------------

dibao_standard = Table(
    "dibao_standard",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), primary_key=True),
    Column("year", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("amount_a", Numeric(14, 2), nullable=False),
    Column("amount_b", Numeric(14, 2), nullable=False),
    Column("amount_c", Numeric(14, 2), nullable=False),
    Column("source", Text, nullable=False),
    Column("note", Text),
    Column("created_by", Text),
    _created_at(),
)

# --- 兜底保障 (rules.md §4; migration 0014_care) ---------------------------------------------

care_institution = Table(
    "care_institution",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), primary_key=True),
    Column("region_code", String(12), nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("carers", Integer, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_by", Text),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

care_subject = Table(
    "care_subject",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), primary_key=True),
    Column("township_code", String(9), nullable=False),
    Column("village_code", String(12), nullable=False),
    Column("household_id", Uuid, nullable=False),
    Column("member_id", Uuid, nullable=False),
    Column("care_group", String(24), nullable=False),
    Column("status", String(12), nullable=False),
    Column("placement", String(16)),
    Column("institution_id", Uuid),
    Column("guardian_name", Text),
    Column("agreement_ref", Text),
    Column("agreement_signed_on", Date),
    Column("placed_on", Date),
    Column("note", Text),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_by", Text),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

care_visit = Table(
    "care_visit",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), primary_key=True),
    Column("subject_id", Uuid, nullable=False),
    Column("visit_date", Date, nullable=False),
    Column("visitor", Text, nullable=False),
    Column("findings", Text),
    Column("created_by", Text),
    _created_at(),
)

# --- 两类户动态调整 (rules.md §4; migration 0015_adjustments) -------------------------------------

adjustment_settlement = Table(
    "adjustment_settlement",
    metadata,
    Column("county_code", String(6), primary_key=True),
    Column("village_code", String(12), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("township_code", String(9), nullable=False),
    Column("status", String(12), nullable=False),
    Column("entries", JSONB, nullable=False, server_default="[]"),
    Column("entry_count", Integer, nullable=False, server_default="0"),
    Column("submitted_by", Text),
    Column("submitted_at", DateTime(timezone=True)),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("return_reason", Text),
    Column("version", Integer, nullable=False, server_default="1"),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# --- read contracts of other services: views screening reads, never their tables ----------------
#
# `registry.household_snapshot_v1` and `registry.member_identity_v1` are versioned views the
# registry owns (shared/contracts/registry.py); `claims.payment_paid_v1` is the claims service's
# (shared/contracts/claims.py). The set-based SQL of the repositories names them through these.

SNAPSHOT = "registry.household_snapshot_v1"
MEMBER_IDENTITY = "registry.member_identity_v1"
MEMBER_CARE = "registry.member_care_v1"
REGION = "registry.region_v1"
HOUSEHOLD_INCOME = "registry.household_income_v1"
PAYMENT_PAID = "claims.payment_paid_v1"

SNAPSHOT_COLUMNS = (
    "household_id, household_number, county_code, township_code, village_code, status, member_count, "
    "labour_count, income_year, annual_net_income, previous_annual_net_income, dibao, tekun, negative_list, "
    "insured_years"
)

# Columns `fangpin rotate-pii-key` re-encrypts under the current key (shared/pii_rotation.py).
ENCRYPTED_COLUMNS = [
    EncryptedColumn(
        "screening", "feed_record", "id", "national_id_enc", "national_id", index_column="national_id_index"
    ),
]


R = TypeVar("R")


def row_as(cls: type[R], row: RowMapping) -> R:
    """A result row as the repository's frozen dataclass `cls` (its fields name the columns it reads)."""
    return cls(**{f.name: row[f.name] for f in fields(cls)})  # type: ignore[arg-type]
