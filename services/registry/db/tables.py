"""Tables of schema `registry`.

Mirrors migration 0002_registry (which is the DDL of record; a test compares the two). Every
large table carries `county_code`: access scoping, partitioning and the distribution column.
Personal data: national IDs, bank accounts and phone numbers are stored only as AES-GCM
ciphertext (`*_enc`), with a keyed blind index (`national_id_index`) for exact lookup and the
masked form (`*_masked`) that every response shows, so reads never need to decrypt.
"""

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db import make_metadata
from shared.kernel_tables import idempotency_table, outbox_table
from shared.pii_rotation import EncryptedColumn

metadata = make_metadata("registry")

outbox = outbox_table(metadata)
idempotency = idempotency_table(metadata)

MONEY = Numeric(14, 2)

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

household = Table(
    "household",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), primary_key=True),  # in the key: the distribution column (0007)
    Column("township_code", String(9), nullable=False),
    Column("village_code", String(12), nullable=False),
    Column("household_number", String(64), nullable=False),
    Column("address", Text, nullable=True),
    Column("phone_enc", LargeBinary, nullable=True),
    Column("phone_masked", String(24), nullable=True),
    # `status` is what the household is now; `base_status` (ordinary / lifted_out) is what it
    # returns to when monitoring ends.
    Column("status", String(20), nullable=False),
    Column("base_status", String(20), nullable=False),
    Column("monitoring_case_id", Uuid, nullable=True),
    Column("monitoring_since", Date, nullable=True),
    Column("dibao", String(1), nullable=True),
    Column("tekun", Boolean, nullable=False, server_default=text("false")),
    Column("negative_list", Boolean, nullable=False, server_default=text("false")),
    Column("negative_list_reason", Text, nullable=True),
    Column("bank_account_enc", LargeBinary, nullable=True),
    Column("bank_account_masked", String(40), nullable=True),
    Column("bank_name", Text, nullable=True),
    Column("account_holder", Text, nullable=True),
    Column("insured_years", ARRAY(Integer), nullable=False, server_default=text("'{}'::integer[]")),
    Column("head_member_id", Uuid, nullable=True),
    Column("archived_at", DateTime(timezone=True), nullable=True),
    Column("archive_reason", Text, nullable=True),
    Column("import_job_id", Uuid, nullable=True),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # the register's fields (rules.md §3, migration 0008)
    Column("poverty_cause", String(24), nullable=True),
    Column("other_causes", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("registered_year", SmallInteger, nullable=True),
    Column("lifted_out_year", SmallInteger, nullable=True),
    Column("risk_types", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("relocated", Boolean, nullable=False, server_default=text("false")),
    Column("resettlement_site", Text, nullable=True),
    Column("grid_code", String(16), nullable=True),
    # `migration`: monitored as brought over from the national system, no case here yet (0008)
    Column("monitoring_origin", String(12), nullable=True),
    UniqueConstraint("county_code", "household_number", name="uq_household_county_code_household_number"),
    Index("ix_household_village_code_household_number", "village_code", "household_number", "id"),
    Index("ix_household_county_code_poverty_cause", "county_code", "poverty_cause"),
    Index(
        "ix_household_county_code_lifted_out_year",
        "county_code",
        "lifted_out_year",
        postgresql_where=text("lifted_out_year IS NOT NULL"),
    ),
    Index("ix_household_grid_code", "grid_code"),
)

member = Table(
    "member",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("household_id", Uuid, nullable=False),  # -> household.id, checked per statement (migration 0002)
    Column("county_code", String(6), primary_key=True),  # in the key: the distribution column (0007)
    Column("name", Text, nullable=False),
    Column("national_id_enc", LargeBinary, nullable=False),
    Column("national_id_index", LargeBinary, nullable=False),
    Column("national_id_masked", String(18), nullable=False),
    Column("sex", String(6), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("relation", String(20), nullable=False),
    Column("health", String(20), nullable=False),
    Column("disability_grade", SmallInteger, nullable=True),
    Column("labour_ability", String(10), nullable=False),
    Column("education_stage", String(24), nullable=True),
    Column("school", Text, nullable=True),
    Column("join_reason", String(16), nullable=False),
    Column("joined_on", Date, nullable=True),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("left_on", Date, nullable=True),
    Column("leave_reason", String(16), nullable=True),
    Column("leave_note", Text, nullable=True),
    Column("import_job_id", Uuid, nullable=True),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # the register's fields (rules.md §3, migration 0008)
    Column("education_level", String(20), nullable=True),
    Column("employment", String(20), nullable=True),
    Column("months_worked", SmallInteger, nullable=True),
    Column("medical_insured_years", ARRAY(Integer), nullable=False, server_default=text("'{}'::integer[]")),
    Column("pension_insured_years", ARRAY(Integer), nullable=False, server_default=text("'{}'::integer[]")),
    CheckConstraint("months_worked IS NULL OR months_worked BETWEEN 0 AND 12", name="months_worked"),
    # A person is active in at most one household: nationwide by registry.person_claim; this index is the
    # per-county guard (a unique index of a table sharded by county must contain the county).
    Index(
        "uq_member_active_national_id_index",
        "national_id_index",
        "county_code",
        unique=True,
        postgresql_where=text("active"),
    ),
    Index("ix_member_household_id", "household_id"),
    Index("ix_member_name_prefix", text("name text_pattern_ops"), postgresql_where=text("active")),
)

# The grids 网格 of a village with their 网格长 (migration 0008): an admin import of the county's division list.
grid = Table(
    "grid",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("village_code", String(12), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("name", Text, nullable=False),
    Column("leader_name", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_grid_village_code", "village_code"),
)

# One row per person active in a household, keyed by the national-ID blind index (migration 0007): the
# nationwide one-household rule, which a unique index on `member` cannot keep once members are sharded by
# county. Written in the transaction that starts or ends the membership (HouseholdRepository); on Citus it
# is distributed by `national_id_index`, not co-located with the households.
person_claim = Table(
    "person_claim",
    metadata,
    Column("national_id_index", LargeBinary, primary_key=True),
    Column("member_id", Uuid, nullable=False),
    Column("household_id", Uuid, nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

income = Table(
    "income",
    metadata,
    Column("household_id", Uuid, primary_key=True),  # -> household.id, checked per statement
    Column("year", Integer, primary_key=True),
    Column("county_code", String(6), primary_key=True),  # in the key: the distribution column (0007)
    Column("wage_income", MONEY, nullable=False, server_default=text("0")),
    Column("business_income", MONEY, nullable=False, server_default=text("0")),
    Column("property_income", MONEY, nullable=False, server_default=text("0")),
    Column("transfer_income", MONEY, nullable=False, server_default=text("0")),
    # the sum of the benefits recorded through /benefits for this year (转移性收入, recorded)
    Column("benefit_income", MONEY, nullable=False, server_default=text("0")),
    Column("production_costs", MONEY, nullable=False, server_default=text("0")),
    Column(
        "net_income",
        MONEY,
        Computed(
            "wage_income + business_income + property_income + transfer_income + benefit_income - production_costs",
            persisted=True,
        ),
    ),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_income_county_code_household_id_year", "county_code", "household_id", text("year DESC")),
)

benefit = Table(
    "benefit",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("household_id", Uuid, nullable=False),  # -> household.id, checked per statement (migration 0002)
    Column("county_code", String(6), primary_key=True),  # in the key: the distribution column (0007)
    Column("source", String(64), nullable=False),
    Column("source_ref", String(200), nullable=False),
    Column("programme", String(100), nullable=False),
    Column("category", String(64), nullable=True),
    Column("amount", MONEY, nullable=False),
    Column("paid_date", Date, nullable=False),
    Column("year", Integer, nullable=False),
    Column("recorded_by", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("county_code", "source", "source_ref", name="uq_benefit_county_code_source_source_ref"),
    Index("ix_benefit_household_id_year", "household_id", "year"),
)

assistance_income = Table(
    "assistance_income",
    metadata,
    # screening's assistance payments taken as income (shared/contracts/assistance.py; migration 0009)
    Column("payment_id", Uuid, primary_key=True),
    Column("county_code", String(6), primary_key=True),
    Column("household_id", Uuid, nullable=False),
    Column("benefit_id", Uuid, nullable=True),  # the benefit carrying the amount; null once reversed
    Column("measure_id", Uuid, nullable=False),
    Column("measure_type", String(32), nullable=False),
    Column("income_type", String(16), nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("year", Integer, nullable=False),
    Column("paid_date", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reversal_id", Uuid, nullable=True),
    Column("recorded_by", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("reversed_at", DateTime(timezone=True), nullable=True),
)

# Responsible cadres 帮扶责任人 (migration 0011): one row per assignment to a household, with from/to dates.
# The phone is personal data like the household's: ciphertext, a blind index (a cadre's households by
# phone) and the masked form responses show.
household_cadre = Table(
    "household_cadre",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("county_code", String(6), primary_key=True),  # the distribution column
    Column("household_id", Uuid, nullable=False),
    Column("name", Text, nullable=False),
    Column("work_unit", Text, nullable=True),
    Column("affiliation", Text, nullable=True),
    Column("phone_enc", LargeBinary, nullable=True),
    Column("phone_index", LargeBinary, nullable=True),
    Column("phone_masked", String(24), nullable=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=True),
    Column("end_reason", Text, nullable=True),
    Column("created_by", Text, nullable=True),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ForeignKeyConstraint(
        ["household_id", "county_code"],
        ["registry.household.id", "registry.household.county_code"],
        name="fk_household_cadre_household",
    ),
    CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates"),
    Index("ix_household_cadre_household", "county_code", "household_id"),
    Index("ix_household_cadre_name", "name"),
    Index("ix_household_cadre_phone_index", "phone_index", postgresql_where=text("phone_index IS NOT NULL")),
)

household_history = Table(
    "household_history",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("household_id", Uuid, nullable=False),
    Column("county_code", String(6), primary_key=True),  # in the key: the distribution column (0007)
    Column("entity_type", String(16), nullable=False),
    Column("entity_id", Uuid, nullable=True),
    Column("action", String(40), nullable=False),
    # [{"field": ..., "before": ..., "after": ...}]; personal data only in masked form
    Column("changes", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("reason", Text, nullable=True),
    Column("effective_date", Date, nullable=True),
    Column("actor_sub", Text, nullable=True),
    Column("actor_role", String(32), nullable=True),
    Column("actor_region", String(12), nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_household_history_household_id_id", "household_id", "id"),
)

import_job = Table(
    "import_job",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("status", String(12), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("format", String(8), nullable=False),
    Column("filename", Text, nullable=True),
    Column("file_sha256", String(64), nullable=False),
    Column("file_bytes", BigInteger, nullable=False),
    Column("scope_region", String(12), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("phase", String(16), nullable=True),
    Column("total_rows", Integer, nullable=True),
    Column("processed_rows", Integer, nullable=False, server_default=text("0")),
    Column("error_count", Integer, nullable=False, server_default=text("0")),
    Column("imported_households", Integer, nullable=False, server_default=text("0")),
    Column("imported_members", Integer, nullable=False, server_default=text("0")),
    Column("result", JSONB, nullable=True),
    Column("failure", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_import_job_created_at", "created_at"),
)

import_job_error = Table(
    "import_job_error",
    metadata,
    Column("job_id", Uuid, ForeignKey("registry.import_job.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("row_number", Integer, nullable=False),
    Column("column_key", String(32), nullable=True),
    Column("message", Text, nullable=False),
    Column("code", String(40), nullable=False),
)

export_job = Table(
    "export_job",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("status", String(12), nullable=False),
    Column("format", String(8), nullable=False),
    Column("region", String(12), nullable=False),
    Column("county_code", String(6), nullable=True),
    Column("reveal", Boolean, nullable=False, server_default=text("false")),
    Column("purpose", Text, nullable=True),
    Column("include_former_members", Boolean, nullable=False, server_default=text("false")),
    Column("created_by", Text, nullable=False),
    Column("scope_region", String(12), nullable=False),
    Column("row_count", Integer, nullable=True),
    Column("filename", Text, nullable=True),
    Column("content_type", Text, nullable=True),
    # the file, zlib-compressed and AES-GCM encrypted (it may hold revealed ID numbers)
    Column("content_enc", LargeBinary, nullable=True),
    Column("failure", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# What `fangpin rotate-pii-key` re-encrypts under a new key or algorithm, and the blind index it recomputes.
ENCRYPTED_COLUMNS = [
    EncryptedColumn("registry", "member", "id", "national_id_enc", "national_id", index_column="national_id_index"),
    EncryptedColumn("registry", "household", "id", "bank_account_enc", "bank_account"),
    EncryptedColumn("registry", "household", "id", "phone_enc", "phone"),
    EncryptedColumn("registry", "household_cadre", "id", "phone_enc", "cadre_phone", index_column="phone_index"),
    EncryptedColumn("registry", "export_job", "id", "content_enc", "export"),
]
