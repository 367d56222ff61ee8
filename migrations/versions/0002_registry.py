"""Registry: households, members, incomes, benefits, history, import/export jobs, read contracts.

Revision ID: 0002_registry
Revises: 0001_kernel
Create Date: 2026-11-22

Read contracts (see shared/contracts/registry.py): `registry.household_snapshot_v1` and
`registry.member_identity_v1`. They are versioned: a change that removes or changes a column
makes a `_v2` beside the old view, never an edit of `_v1`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_registry"
down_revision = "0001_kernel"
branch_labels = None
depends_on = None

S = "registry"
MONEY = sa.Numeric(14, 2)

STATUSES = "'ordinary', 'lifted_out', 'unstable', 'marginal', 'sudden_hardship'"


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


def upgrade() -> None:
    op.create_table(
        "household",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("township_code", sa.String(9), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("household_number", sa.String(64), nullable=False),
        sa.Column("address", sa.Text, nullable=True),
        sa.Column("phone_enc", sa.LargeBinary, nullable=True),
        sa.Column("phone_masked", sa.String(24), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("base_status", sa.String(20), nullable=False),
        sa.Column("monitoring_case_id", sa.Uuid, nullable=True),
        sa.Column("monitoring_since", sa.Date, nullable=True),
        sa.Column("dibao", sa.String(1), nullable=True),
        sa.Column("tekun", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("negative_list", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("negative_list_reason", sa.Text, nullable=True),
        sa.Column("bank_account_enc", sa.LargeBinary, nullable=True),
        sa.Column("bank_account_masked", sa.String(40), nullable=True),
        sa.Column("bank_name", sa.Text, nullable=True),
        sa.Column("account_holder", sa.Text, nullable=True),
        sa.Column(
            "insured_years", postgresql.ARRAY(sa.Integer), nullable=False, server_default=sa.text("'{}'::integer[]")
        ),
        sa.Column("head_member_id", sa.Uuid, nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archive_reason", sa.Text, nullable=True),
        sa.Column("import_job_id", sa.Uuid, nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        *_timestamps(),
        sa.UniqueConstraint("county_code", "household_number", name="uq_household_county_code_household_number"),
        sa.CheckConstraint(f"status in ({STATUSES})", name="ck_household_status"),
        sa.CheckConstraint("base_status in ('ordinary', 'lifted_out')", name="ck_household_base_status"),
        sa.CheckConstraint("dibao in ('A', 'B', 'C')", name="ck_household_dibao"),
        sa.CheckConstraint(
            "village_code ~ '^[0-9]{12}$' and township_code = left(village_code, 9) "
            "and county_code = left(village_code, 6)",
            name="ck_household_region_codes",
        ),
        sa.CheckConstraint(
            "(status in ('unstable', 'marginal', 'sudden_hardship')) = (monitoring_case_id is not null)",
            name="ck_household_monitoring_case",
        ),
        schema=S,
    )
    # Listing and search: region prefix as a range over village_code, stable order by number.
    op.create_index(
        "ix_household_village_code_household_number",
        "household",
        ["village_code", "household_number", "id"],
        schema=S,
    )

    op.create_table(
        "member",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("household_id", sa.Uuid, nullable=False),  # -> household.id (statement trigger below)
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("national_id_enc", sa.LargeBinary, nullable=False),
        sa.Column("national_id_index", sa.LargeBinary, nullable=False),
        sa.Column("national_id_masked", sa.String(18), nullable=False),
        sa.Column("sex", sa.String(6), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("relation", sa.String(20), nullable=False),
        sa.Column("health", sa.String(20), nullable=False),
        sa.Column("disability_grade", sa.SmallInteger, nullable=True),
        sa.Column("labour_ability", sa.String(10), nullable=False),
        sa.Column("education_stage", sa.String(24), nullable=True),
        sa.Column("school", sa.Text, nullable=True),
        sa.Column("join_reason", sa.String(16), nullable=False),
        sa.Column("joined_on", sa.Date, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("left_on", sa.Date, nullable=True),
        sa.Column("leave_reason", sa.String(16), nullable=True),
        sa.Column("leave_note", sa.Text, nullable=True),
        sa.Column("import_job_id", sa.Uuid, nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        *_timestamps(),
        sa.CheckConstraint("sex in ('male', 'female')", name="ck_member_sex"),
        sa.CheckConstraint("disability_grade between 1 and 4", name="ck_member_disability_grade"),
        sa.CheckConstraint("labour_ability in ('normal', 'weak', 'none')", name="ck_member_labour_ability"),
        sa.CheckConstraint("octet_length(national_id_index) = 32", name="ck_member_national_id_index"),
        sa.CheckConstraint("active = (left_on is null)", name="ck_member_active_left_on"),
        schema=S,
    )
    # The rule "a person is active in at most one household", enforced by the database.
    op.create_index(
        "uq_member_active_national_id_index",
        "member",
        ["national_id_index"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("active"),
    )
    op.create_index("ix_member_household_id", "member", ["household_id"], schema=S)
    op.create_index(
        "ix_member_name_prefix",
        "member",
        [sa.text("name text_pattern_ops")],
        schema=S,
        postgresql_where=sa.text("active"),
    )

    op.create_table(
        "income",
        sa.Column("household_id", sa.Uuid, primary_key=True),  # -> household.id (statement trigger below)
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("wage_income", MONEY, nullable=False, server_default=sa.text("0")),
        sa.Column("business_income", MONEY, nullable=False, server_default=sa.text("0")),
        sa.Column("property_income", MONEY, nullable=False, server_default=sa.text("0")),
        sa.Column("transfer_income", MONEY, nullable=False, server_default=sa.text("0")),
        sa.Column("benefit_income", MONEY, nullable=False, server_default=sa.text("0")),
        sa.Column("production_costs", MONEY, nullable=False, server_default=sa.text("0")),
        sa.Column(
            "net_income",
            MONEY,
            sa.Computed(
                "wage_income + business_income + property_income + transfer_income + benefit_income - production_costs",
                persisted=True,
            ),
        ),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        *_timestamps(),
        sa.CheckConstraint(
            "wage_income >= 0 and business_income >= 0 and property_income >= 0 and transfer_income >= 0 "
            "and benefit_income >= 0 and production_costs >= 0",
            name="ck_income_non_negative",
        ),
        sa.CheckConstraint("year between 2000 and 2100", name="ck_income_year"),
        schema=S,
    )
    # The snapshot view's "latest year per household" inside one county.
    op.create_index(
        "ix_income_county_code_household_id_year",
        "income",
        ["county_code", "household_id", sa.text("year DESC")],
        schema=S,
    )

    op.create_table(
        "benefit",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("household_id", sa.Uuid, nullable=False),  # -> household.id (statement trigger below)
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("source_ref", sa.String(200), nullable=False),
        sa.Column("programme", sa.String(100), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid_date", sa.Date, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("county_code", "source", "source_ref", name="uq_benefit_county_code_source_source_ref"),
        sa.CheckConstraint("amount > 0", name="ck_benefit_amount"),
        schema=S,
    )
    op.create_index("ix_benefit_household_id_year", "benefit", ["household_id", "year"], schema=S)

    op.create_table(
        "household_history",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("household_id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("entity_type", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.Uuid, nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("changes", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("effective_date", sa.Date, nullable=True),
        sa.Column("actor_sub", sa.Text, nullable=True),
        sa.Column("actor_role", sa.String(32), nullable=True),
        sa.Column("actor_region", sa.String(12), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_index("ix_household_history_household_id_id", "household_history", ["household_id", "id"], schema=S)

    op.create_table(
        "import_job",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("filename", sa.Text, nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file_bytes", sa.BigInteger, nullable=False),
        sa.Column("scope_region", sa.String(12), nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("phase", sa.String(16), nullable=True),
        sa.Column("total_rows", sa.Integer, nullable=True),
        sa.Column("processed_rows", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("error_count", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("imported_households", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("imported_members", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("result", postgresql.JSONB, nullable=True),
        sa.Column("failure", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status in ('queued', 'running', 'succeeded', 'failed')", name="ck_import_job_status"),
        sa.CheckConstraint("mode in ('all_or_nothing', 'valid_rows')", name="ck_import_job_mode"),
        schema=S,
    )
    op.create_index("ix_import_job_created_at", "import_job", ["created_at"], schema=S)
    op.create_table(
        "import_job_error",
        sa.Column("job_id", sa.Uuid, sa.ForeignKey(f"{S}.import_job.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("row_number", sa.Integer, nullable=False),
        sa.Column("column_key", sa.String(32), nullable=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        schema=S,
    )

    op.create_table(
        "export_job",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("region", sa.String(12), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=True),
        sa.Column("reveal", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("purpose", sa.Text, nullable=True),
        sa.Column("include_former_members", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("scope_region", sa.String(12), nullable=False),
        sa.Column("row_count", sa.Integer, nullable=True),
        sa.Column("filename", sa.Text, nullable=True),
        sa.Column("content_type", sa.Text, nullable=True),
        sa.Column("content_enc", sa.LargeBinary, nullable=True),
        sa.Column("failure", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status in ('queued', 'running', 'succeeded', 'failed')", name="ck_export_job_status"),
        sa.CheckConstraint("format in ('csv', 'xlsx')", name="ck_export_job_format"),
        schema=S,
    )

    # ------------------------------------------------------------------ referential integrity
    # member, income and benefit rows must name a household, and a household with any of them cannot
    # be deleted (the service never deletes one: it archives). Checked per statement against the
    # statement's transition table, not per row: a per-row FOREIGN KEY check (an index probe and a
    # lock on the household row for every member) was 40% of the database's work in a bulk import;
    # one anti-join per COPY gives the same guarantee for a fraction of it.
    op.execute(
        f"""
        CREATE FUNCTION {S}.require_household() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM new_rows n
                        WHERE NOT EXISTS (SELECT 1 FROM {S}.household h WHERE h.id = n.household_id)) THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'foreign_key_violation',
                    CONSTRAINT = TG_TABLE_NAME || '_household_id_fkey',
                    MESSAGE = format('{S}.%s.household_id must name a household', TG_TABLE_NAME);
            END IF;
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION {S}.keep_referenced_household() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            referenced boolean;
        BEGIN
            -- the households that are gone: deleted, or (an UPDATE) whose id changed
            IF TG_OP = 'UPDATE' THEN
                SELECT EXISTS (
                    SELECT 1 FROM old_rows o
                     WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id)
                       AND (EXISTS (SELECT 1 FROM {S}.member m WHERE m.household_id = o.id)
                            OR EXISTS (SELECT 1 FROM {S}.income i WHERE i.household_id = o.id)
                            OR EXISTS (SELECT 1 FROM {S}.benefit b WHERE b.household_id = o.id)))
                  INTO referenced;
            ELSE
                SELECT EXISTS (
                    SELECT 1 FROM old_rows o
                     WHERE EXISTS (SELECT 1 FROM {S}.member m WHERE m.household_id = o.id)
                        OR EXISTS (SELECT 1 FROM {S}.income i WHERE i.household_id = o.id)
                        OR EXISTS (SELECT 1 FROM {S}.benefit b WHERE b.household_id = o.id))
                  INTO referenced;
            END IF;
            IF referenced THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'foreign_key_violation',
                    CONSTRAINT = 'household_referenced',
                    MESSAGE = 'a household with members, incomes or benefits cannot be deleted (archive it)';
            END IF;
            RETURN NULL;
        END $$;
        """
    )
    for table in ("member", "income", "benefit"):
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {table}_household_on_{event.lower()} AFTER {event} ON {S}.{table} "
                f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {S}.require_household()"
            )
    op.execute(
        f"CREATE TRIGGER household_referenced_on_delete AFTER DELETE ON {S}.household "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {S}.keep_referenced_household()"
    )
    op.execute(
        f"CREATE TRIGGER household_referenced_on_update AFTER UPDATE ON {S}.household "
        f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {S}.keep_referenced_household()"
    )

    # ------------------------------------------------------------------ read contracts
    # Aggregates are grouped by (county_code, household_id) and joined on both, so a filter
    # `WHERE county_code = $1` on the view is pushed into every branch (one county's index
    # ranges, no full scans), and a whole-province run is a few hash joins.
    op.execute(
        f"""
        CREATE VIEW {S}.household_snapshot_v1 AS
        SELECT h.id                               AS household_id,
               h.household_number::text           AS household_number,
               h.county_code::text                AS county_code,
               h.township_code::text              AS township_code,
               h.village_code::text               AS village_code,
               h.status::text                     AS status,
               coalesce(m.member_count, 0)::int   AS member_count,
               coalesce(m.labour_count, 0)::int   AS labour_count,
               cur.year                           AS income_year,
               cur.net_income                     AS annual_net_income,
               prev.net_income                    AS previous_annual_net_income,
               h.dibao::text                      AS dibao,
               h.tekun                            AS tekun,
               h.negative_list                    AS negative_list,
               h.insured_years                    AS insured_years
          FROM {S}.household h
          LEFT JOIN (
                SELECT county_code, household_id,
                       count(*) AS member_count,
                       count(*) FILTER (WHERE labour_ability IN ('normal', 'weak')) AS labour_count
                  FROM {S}.member
                 WHERE active
                 GROUP BY county_code, household_id
               ) m ON m.county_code = h.county_code AND m.household_id = h.id
          LEFT JOIN (
                SELECT DISTINCT ON (county_code, household_id) county_code, household_id, year, net_income
                  FROM {S}.income
                 ORDER BY county_code, household_id, year DESC
               ) cur ON cur.county_code = h.county_code AND cur.household_id = h.id
          LEFT JOIN {S}.income prev
                 ON prev.county_code = h.county_code AND prev.household_id = h.id AND prev.year = cur.year - 1
         WHERE h.archived_at IS NULL
        """
    )
    op.execute(
        f"""
        COMMENT ON VIEW {S}.household_snapshot_v1 IS
        'Read contract v1 (owner: registry). One row per non-archived household. member_count: active '
        'members; labour_count: active members with labour_ability normal or weak; income_year: latest '
        'year with an income record; annual_net_income: that year''s wage + business + property + transfer '
        '+ recorded benefits - production costs; previous_annual_net_income: the year before income_year. '
        'Filter by county_code. See shared/contracts/registry.py.'
        """
    )
    op.execute(
        f"""
        CREATE VIEW {S}.member_identity_v1 AS
        SELECT m.id                    AS member_id,
               m.household_id          AS household_id,
               m.county_code::text     AS county_code,
               m.national_id_index     AS national_id_index,
               m.active                AS active,
               m.birth_date            AS birth_date,
               m.labour_ability::text  AS labour_ability,
               m.education_stage::text AS education_stage
          FROM {S}.member m
        """
    )
    op.execute(
        f"""
        COMMENT ON VIEW {S}.member_identity_v1 IS
        'Read contract v1 (owner: registry). One row per membership. national_id_index = '
        'PiiCipher.blind_index(national_id, purpose=''national_id'') with the shared index key; '
        'join on it with active = true (unique among active memberships). See shared/contracts/registry.py.'
        """
    )


def downgrade() -> None:
    op.execute(f"DROP VIEW IF EXISTS {S}.member_identity_v1")
    op.execute(f"DROP VIEW IF EXISTS {S}.household_snapshot_v1")
    for table in (
        "export_job",
        "import_job_error",
        "import_job",
        "household_history",
        "benefit",
        "income",
        "member",
        "household",
    ):
        op.drop_table(table, schema=S)
    op.execute(f"DROP FUNCTION IF EXISTS {S}.require_household()")
    op.execute(f"DROP FUNCTION IF EXISTS {S}.keep_referenced_household()")
