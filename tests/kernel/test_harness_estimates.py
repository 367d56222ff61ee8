"""The rollback database keeps the planner's estimates honest (tests/support/database.py).

Its tables are never autovacuumed, so a table filled inside a test is estimated from its pages, not
taken for empty because an autovacuum once counted the dead rows of earlier tests (CI hung on that:
a nested loop of 30,000 households × 120,000 members).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def test_every_table_of_the_rollback_database_is_left_alone_by_autovacuum(connection: AsyncConnection) -> None:
    rows = (
        await connection.execute(
            text(
                "SELECT n.nspname || '.' || c.relname AS name, coalesce(c.reloptions, '{}') AS options "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'r' AND n.nspname IN ('registry', 'screening', 'claims', 'audit', 'public')"
            )
        )
    ).all()
    assert len(rows) > 20
    assert [r.name for r in rows if "autovacuum_enabled=false" not in r.options] == []


async def test_a_table_filled_in_a_test_is_estimated_at_its_size(connection: AsyncConnection) -> None:
    await connection.execute(
        text(
            "INSERT INTO registry.household (id, county_code, township_code, village_code, household_number, "
            "status, base_status) SELECT gen_random_uuid(), '410622', '410622100', '410622100201', "
            "'EST' || lpad(i::text, 8, '0'), 'ordinary', 'ordinary' FROM generate_series(1, 20000) AS i"
        )
    )
    explain = "EXPLAIN (FORMAT JSON) SELECT * FROM registry.household"
    plan = (await connection.execute(text(explain))).scalar_one()
    estimated = plan[0]["Plan"]["Plan Rows"]
    # estimated from the pages and the row width (2,670 here: a household row is wide); a table taken
    # for empty (reltuples 0 over thousands of pages) gives 1
    assert estimated >= 1_000, f"the planner takes 20,000 households for {estimated}"
