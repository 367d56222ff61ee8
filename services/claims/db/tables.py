"""Tables of schema `claims` (DDL in migrations/versions/0004_claims.py).

Large tables carry `county_code`: access scoping and, at national scale, the distribution key.
Other services' ids (households, members) are bare UUIDs.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db import make_metadata
from shared.kernel_tables import idempotency_table, outbox_table
from shared.pii_rotation import EncryptedColumn

metadata = make_metadata("claims")

outbox = outbox_table(metadata)
idempotency = idempotency_table(metadata)

MONEY = Numeric(14, 2)


def _created() -> Column:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


scheme = Table(
    "scheme",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("year", Integer, nullable=False),
    Column("status", String(8), nullable=False),  # active | draft
    Column("latest_version", Integer, nullable=False),
    Column("created_by", Text, nullable=True),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

scheme_version = Table(
    "scheme_version",
    metadata,
    Column("code", String(64), ForeignKey("claims.scheme.code"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("body", JSONB, nullable=False),
    Column("used", Boolean, nullable=False, server_default="false"),
    Column("created_by", Text, nullable=True),
    _created(),
)

enrolment = Table(
    "enrolment",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("year", Integer, nullable=False),
    Column("scheme_code", String(64), ForeignKey("claims.scheme.code"), nullable=False),
    Column("household_id", Uuid, nullable=True),  # null: a notional all_rural pool row of a township
    Column("township_code", String(9), nullable=False),
    Column("village_code", String(12), nullable=True),
    Column("insured_people", Integer, nullable=False),
    Column("premium", MONEY, nullable=False),
    Column("created_by", Text, nullable=True),
    _created(),
)

claim = Table(
    "claim",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("township_code", String(9), nullable=False),
    Column("village_code", String(12), nullable=False),
    Column("household_id", Uuid, nullable=False),
    Column("member_id", Uuid, nullable=True),
    Column("subject_id", Uuid, nullable=False),  # member_id, else household_id: the same-event key
    Column("category", String(32), nullable=False),
    Column("incident_date", Date, nullable=False),
    Column("reported_date", Date, nullable=False),
    Column("year", Integer, nullable=False),
    Column("expense", JSONB, nullable=False),
    Column("source", String(16), nullable=False),  # feed | screening_run | application
    Column("source_record_id", String(200), nullable=True, unique=True),
    Column("lead_evidence", JSONB, nullable=True),
    Column("household_facts", JSONB, nullable=True),  # the registry's HouseholdFacts, frozen at intake
    Column("facts_status", String(8), nullable=False),  # ready | pending
    Column("facts_fetched_at", DateTime(timezone=True), nullable=True),
    Column("state", String(20), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("rejection_code", String(64), nullable=True),
    Column("rejection_stage", String(20), nullable=True),  # assessment | review
    Column("created_by", Text, nullable=True),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

claim_transition = Table(
    "claim_transition",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("claim_id", Uuid, ForeignKey("claims.claim.id"), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_state", String(20), nullable=True),
    Column("to_state", String(20), nullable=False),
    Column("actor_sub", Text, nullable=True),
    Column("actor_role", String(32), nullable=True),
    Column("actor_region", String(12), nullable=True),
    Column("comment", Text, nullable=True),
    Column("reason_code", String(64), nullable=True),
    Column("evidence", JSONB, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

assessment = Table(
    "assessment",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("claim_id", Uuid, ForeignKey("claims.claim.id"), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("household_id", Uuid, nullable=False),
    Column("year", Integer, nullable=False),
    Column("category", String(32), nullable=False),
    Column("scheme_code", String(64), nullable=False),
    Column("scheme_version", Integer, nullable=False),
    Column("facts", JSONB, nullable=False),  # the engine's input: facts and prior, as stored
    Column("eligible", Boolean, nullable=False),
    Column("payout", MONEY, nullable=False),
    Column("rejection_code", String(64), nullable=True),
    Column("base_added", MONEY, nullable=False),
    Column("breakdown", JSONB, nullable=False),
    Column("status", String(12), nullable=False),  # active | superseded
    Column("assessed_by", Text, nullable=True),
    _created(),
    Column("superseded_at", DateTime(timezone=True), nullable=True),
    ForeignKeyConstraint(
        ["scheme_code", "scheme_version"], ["claims.scheme_version.code", "claims.scheme_version.version"]
    ),
)

ledger = Table(
    "ledger",
    metadata,
    Column("household_id", Uuid, primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("category", String(32), primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("base", MONEY, nullable=False, server_default="0"),
    Column("paid", MONEY, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

notice = Table(
    "notice",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("township_code", String(9), nullable=False),
    Column("village_code", String(12), nullable=False),
    Column("published_on", Date, nullable=False),
    Column("notice_days", Integer, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("status", String(8), nullable=False),  # open | closed
    Column("created_by", Text, nullable=True),
    _created(),
)

notice_claim = Table(
    "notice_claim",
    metadata,
    Column("notice_id", Uuid, ForeignKey("claims.notice.id"), primary_key=True),
    Column("claim_id", Uuid, ForeignKey("claims.claim.id"), primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("status", String(10), nullable=False),  # listed | approved | withdrawn
    Column("listed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

objection = Table(
    "objection",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("notice_id", Uuid, ForeignKey("claims.notice.id"), nullable=False),
    Column("claim_id", Uuid, ForeignKey("claims.claim.id"), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("objector_enc", LargeBinary, nullable=True),
    Column("objector_masked", Text, nullable=True),
    Column("reason", Text, nullable=False),
    Column("status", String(10), nullable=False),  # open | upheld | dismissed
    Column("filed_by", Text, nullable=True),
    Column("filed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("decided_by", Text, nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("decision_comment", Text, nullable=True),
)

payment_batch = Table(
    "payment_batch",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("declared_count", Integer, nullable=False),
    Column("declared_total", MONEY, nullable=False),
    Column("status", String(12), nullable=False),  # created | reconciled
    Column("created_by", Text, nullable=True),
    _created(),
)

payment = Table(
    "payment",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("claim_id", Uuid, ForeignKey("claims.claim.id"), nullable=False, unique=True),  # exactly once
    Column("batch_id", Uuid, ForeignKey("claims.payment_batch.id"), nullable=False),  # the latest attempt's
    Column("county_code", String(6), nullable=False),
    Column("household_id", Uuid, nullable=False),
    Column("category", String(32), nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("status", String(8), nullable=False),  # pending | paid | failed
    Column("attempts", Integer, nullable=False),
    Column("bank_account_enc", LargeBinary, nullable=False),
    Column("bank_account_masked", Text, nullable=False),
    Column("bank_name", Text, nullable=True),
    Column("account_holder_enc", LargeBinary, nullable=True),
    Column("failure_reason", Text, nullable=True),
    Column("bank_reference", Text, nullable=True),
    Column("paid_date", Date, nullable=True),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

payment_attempt = Table(
    "payment_attempt",
    metadata,
    Column("payment_id", Uuid, ForeignKey("claims.payment.id"), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("batch_id", Uuid, ForeignKey("claims.payment_batch.id"), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("status", String(8), nullable=False),  # pending | paid | failed
    Column("failure_reason", Text, nullable=True),
    Column("bank_reference", Text, nullable=True),
    _created(),
    Column("confirmed_at", DateTime(timezone=True), nullable=True),
)

simulation = Table(
    "simulation",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("year", Integer, nullable=False),
    Column("scheme", JSONB, nullable=False),
    Column("status", String(10), nullable=False),  # queued | running | succeeded | failed
    Column("progress_done", Integer, nullable=False, server_default="0"),
    Column("progress_total", Integer, nullable=False, server_default="0"),
    Column("errors", JSONB, nullable=False),
    Column("result", JSONB, nullable=True),
    Column("created_by", Text, nullable=True),
    _created(),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)

# Personal data at rest, re-encrypted by `fangpin rotate-pii-key` (shared/pii_rotation.py).
ENCRYPTED_COLUMNS = [
    EncryptedColumn("claims", "payment", "id", "bank_account_enc", "bank_account"),
    EncryptedColumn("claims", "payment", "id", "account_holder_enc", "account_holder"),
    EncryptedColumn("claims", "objection", "id", "objector_enc", "objector"),
]
