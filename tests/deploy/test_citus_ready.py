"""The migrated schema is ready for Citus with `county_code` as the distribution column (docs/scale.md).

Read from the catalog of a database migrated to head, not from the SQLAlchemy declarations:
- every table is classified: distributed (by which column), reference, or local to the coordinator;
- a distributed table's distribution column is NOT NULL and is part of its primary key and of
  every unique constraint and unique index (Citus can only enforce uniqueness within a shard);
- a foreign key between distributed tables joins co-located tables (same distribution column) and
  maps the referencing table's distribution column onto the referenced one's, so the check runs on
  one node; a distributed table may reference a reference table; a reference table references only
  reference tables; a local table references only local or reference tables; nothing references a
  local table from outside.

The classification below is the distribution plan; `create_distributed_table` /
`create_reference_table` calls are generated from it (`citus_statements`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

COUNTY = "county_code"

# Distributed tables: name -> distribution column. All `county_code` tables are co-located with
# registry.household (the rows of one county on one node); registry.person_claim is the one table
# hashed by another key, the person's blind index, because the rule it enforces (one active household
# per person, nationwide) crosses counties.
DISTRIBUTED: dict[str, str] = {
    **{
        f"registry.{t}": COUNTY
        for t in (
            "household",
            "member",
            "income",
            "income_history",
            "household_history",
            "benefit",
            "assistance_income",
            "household_cadre",
        )
    },
    **{
        f"screening.{t}": COUNTY
        for t in (
            "run",
            "lead",
            "lead_evidence",
            "run_data_quality",
            "monitoring_case",
            "case_transition",
            "measure",
            "objection",
            "feed_batch",
            "feed_record",
            "claim_lead",
            "attachment",
            "attachment_chunk",
            "assistance_measure",
            "assistance_measure_history",
            "assistance_payment",
            "visit",
            "public_post",
            "public_post_assignment",
            "public_post_attendance",
            "dibao_standard",
            "care_institution",
            "care_subject",
            "care_visit",
            "adjustment_settlement",
        )
    },
    **{
        f"claims.{t}": COUNTY
        for t in (
            "claim",
            "claim_transition",
            "assessment",
            "enrolment",
            "ledger",
            "notice",
            "notice_claim",
            "objection",
            "payment_batch",
            "payment",
            "payment_attempt",
            "simulation",
        )
    },
    "registry.person_claim": "national_id_index",
}

# Reference tables: a full copy on every node (small, read by every county's joins, rarely written).
REFERENCE: dict[str, str] = {
    "registry.region": "the region tree: every scope check and every county's joins read it; ~700k rows at most",
    "registry.grid": "the grids (网格) of the villages with their 网格长, read beside every household; "
    "tens of thousands of rows",
    "screening.threshold_version": "per-county thresholds, a few rows a year; runs, cases and transitions "
    "reference them by foreign key",
    "claims.scheme": "schemes and their rules, a few per county and year; enrolments reference them",
    "claims.scheme_version": "published scheme versions (no county_code); assessments reference them",
}

# Local tables: stay on the coordinator only (plain PostgreSQL tables there).
LOCAL: dict[str, str] = {
    "audit.audit_log": "one hash chain in one order; appended by every service, read by auditors",
    "registry.idempotency_key": "keyed by (caller scope, key); short-lived; no county in the key",
    "screening.idempotency_key": "keyed by (caller scope, key); short-lived; no county in the key",
    "claims.idempotency_key": "keyed by (caller scope, key); short-lived; no county in the key",
    "registry.outbox_message": "relayed in one global `seq` order; county_code is a nullable attribute, "
    "not a key (a province-level event has none); drained within seconds, so small",
    "screening.outbox_message": "as registry.outbox_message",
    "claims.outbox_message": "as registry.outbox_message",
    "registry.import_job": "one upload spans many counties; a few rows a day",
    "registry.import_job_error": "belongs to registry.import_job",
    "registry.export_job": "a province export has no county (county_code nullable); a few rows a day",
}

SCHEMAS = ("audit", "registry", "screening", "claims")


@dataclass(frozen=True)
class Unique:
    table: str
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ForeignKey:
    table: str
    name: str
    columns: tuple[str, ...]
    referenced: str
    referenced_columns: tuple[str, ...]


async def _tables(session: AsyncSession) -> set[str]:
    rows = await session.execute(
        text(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(:schemas) AND NOT c.relispartition"
        ),
        {"schemas": list(SCHEMAS)},
    )
    return {r[0] for r in rows}


async def _not_null(session: AsyncSession, table: str, column: str) -> bool | None:
    schema, name = table.split(".")
    row = (
        await session.execute(
            text(
                "SELECT is_nullable FROM information_schema.columns "
                "WHERE table_schema = :s AND table_name = :t AND column_name = :c"
            ),
            {"s": schema, "t": name, "c": column},
        )
    ).first()
    return None if row is None else row[0] == "NO"


async def _uniques(session: AsyncSession) -> list[Unique]:
    """Primary keys, unique constraints and unique indexes (partial or not): every one is an index."""
    rows = await session.execute(
        text(
            "SELECT n.nspname || '.' || t.relname, i.relname, "
            "       array(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(attnum, ord) "
            "             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord), "
            "       x.indnkeyatts, x.indexprs IS NOT NULL "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE x.indisunique AND n.nspname = ANY(:schemas) AND t.relkind IN ('r', 'p')"
        ),
        {"schemas": list(SCHEMAS)},
    )
    out = []
    for table, name, columns, key_count, has_expressions in rows:
        # an expression column (attnum 0) names no attribute: it can never be the plain distribution column
        key = tuple(columns[:key_count]) + (("<expression>",) if has_expressions else ())
        out.append(Unique(table, name, key))
    return out


async def _foreign_keys(session: AsyncSession) -> list[ForeignKey]:
    rows = await session.execute(
        text(
            "SELECT n.nspname || '.' || t.relname, c.conname, "
            "       array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord) "
            "             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord), "
            "       rn.nspname || '.' || r.relname, "
            "       array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord) "
            "             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord) "
            "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "JOIN pg_class r ON r.oid = c.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace "
            "WHERE c.contype = 'f' AND n.nspname = ANY(:schemas)"
        ),
        {"schemas": list(SCHEMAS)},
    )
    return [ForeignKey(t, n, tuple(c), r, tuple(rc)) for t, n, c, r, rc in rows]


def kind(table: str) -> str:
    if table in DISTRIBUTED:
        return "distributed"
    if table in REFERENCE:
        return "reference"
    if table in LOCAL:
        return "local"
    return "unclassified"


def foreign_key_problem(fk: ForeignKey) -> str | None:
    """Why Citus would refuse this foreign key, or None."""
    source, target = kind(fk.table), kind(fk.referenced)
    if source == "distributed" and target == "distributed":
        column, referenced_column = DISTRIBUTED[fk.table], DISTRIBUTED[fk.referenced]
        if column != COUNTY or referenced_column != COUNTY:
            return "not co-located (different distribution columns)"
        pairs = set(zip(fk.columns, fk.referenced_columns, strict=True))
        if (column, referenced_column) not in pairs:
            return f"does not map {fk.table}.{column} onto {fk.referenced}.{referenced_column}"
        return None
    allowed = {
        "distributed": {"reference"},
        "reference": {"reference"},
        "local": {"local", "reference"},
    }
    if target not in allowed.get(source, set()):
        return f"a {source} table may not reference a {target} table"
    return None


def citus_statements() -> list[str]:
    """The calls a Citus migration would make, in an order Citus accepts (references first)."""
    statements = [f"SELECT create_reference_table('{t}');" for t in sorted(REFERENCE)]
    statements.append("SELECT create_distributed_table('registry.household', 'county_code');")
    for table, column in sorted(DISTRIBUTED.items()):
        if table == "registry.household":
            continue
        if column == COUNTY:
            statements.append(
                f"SELECT create_distributed_table('{table}', '{column}', colocate_with => 'registry.household');"
            )
        else:
            statements.append(f"SELECT create_distributed_table('{table}', '{column}', colocate_with => 'none');")
    return statements


async def test_every_table_is_classified_once(session: AsyncSession) -> None:
    tables = await _tables(session)
    classes = [set(DISTRIBUTED), set(REFERENCE), set(LOCAL)]
    assert not classes[0] & classes[1]
    assert not classes[0] & classes[2]
    assert not classes[1] & classes[2]
    unclassified = sorted(t for t in tables if kind(t) == "unclassified")
    assert unclassified == [], "classify these tables in DISTRIBUTED, REFERENCE or LOCAL"
    stale = sorted((classes[0] | classes[1] | classes[2]) - tables)
    assert stale == [], "classified but not in the schema"


async def test_a_table_with_county_code_is_distributed_by_it_or_declared(session: AsyncSession) -> None:
    for table in sorted(await _tables(session)):
        if await _not_null(session, table, COUNTY) is not None and table not in DISTRIBUTED:
            assert table in REFERENCE or table in LOCAL, f"{table} carries county_code: distribute it or declare it"


async def test_distribution_columns_are_not_null(session: AsyncSession) -> None:
    for table, column in sorted(DISTRIBUTED.items()):
        assert await _not_null(session, table, column) is True, f"{table}.{column} must exist and be NOT NULL"


async def test_every_unique_key_of_a_distributed_table_contains_its_distribution_column(
    session: AsyncSession,
) -> None:
    uniques = await _uniques(session)
    offending = sorted(
        f"{u.table}: {u.name} {u.columns}"
        for u in uniques
        if u.table in DISTRIBUTED and DISTRIBUTED[u.table] not in u.columns
    )
    assert offending == []
    # and the distributed tables that have a primary key have the column in it
    keyed = {u.table for u in uniques if u.name.endswith("_pkey") or u.name.startswith("pk_")}
    assert "registry.member" in keyed
    assert "registry.person_claim" in keyed


async def test_foreign_keys_are_co_located_or_point_at_reference_tables(session: AsyncSession) -> None:
    fks = await _foreign_keys(session)
    assert fks, "the catalog query found no foreign keys at all"
    problems = sorted(f"{fk.table}.{fk.name} -> {fk.referenced}: {p}" for fk in fks if (p := foreign_key_problem(fk)))
    assert problems == []


def test_the_foreign_key_rule_itself() -> None:
    """The rule rejects what Citus rejects (so a passing schema check means something)."""
    good = ForeignKey("claims.payment", "x", ("county_code", "claim_id"), "claims.claim", ("county_code", "id"))
    assert foreign_key_problem(good) is None
    unkeyed = ForeignKey("claims.payment", "x", ("claim_id",), "claims.claim", ("id",))
    assert foreign_key_problem(unkeyed) is not None
    crossed = ForeignKey("claims.payment", "x", ("county_code", "claim_id"), "claims.claim", ("id", "county_code"))
    assert foreign_key_problem(crossed) is not None
    other_key = ForeignKey(
        "registry.member", "x", ("national_id_index",), "registry.person_claim", ("national_id_index",)
    )
    assert foreign_key_problem(other_key) is not None
    to_reference = ForeignKey("claims.enrolment", "x", ("scheme_code",), "claims.scheme", ("code",))
    assert foreign_key_problem(to_reference) is None
    reference_to_distributed = ForeignKey("claims.scheme", "x", ("county_code",), "registry.household", ("id",))
    assert foreign_key_problem(reference_to_distributed) is not None
    to_local = ForeignKey("registry.member", "x", ("id",), "registry.import_job", ("id",))
    assert foreign_key_problem(to_local) is not None


def test_the_plan_gives_citus_statements_references_first() -> None:
    statements = citus_statements()
    first_distributed = next(i for i, s in enumerate(statements) if "create_distributed_table" in s)
    assert all("create_reference_table" in s for s in statements[:first_distributed])
    assert statements[first_distributed] == "SELECT create_distributed_table('registry.household', 'county_code');"
    assert (
        "SELECT create_distributed_table('registry.person_claim', 'national_id_index', colocate_with => 'none');"
        in statements
    )
    assert len(statements) == len(DISTRIBUTED) + len(REFERENCE)
