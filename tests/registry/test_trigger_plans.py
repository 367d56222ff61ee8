"""The statement triggers' checks are planned for each statement, not once per connection (0010).

A pooled connection lives for hours. Under 0002's static PL/pgSQL check, a connection whose first
member insert was planned as a nested loop over a sequential scan of household kept that plan,
and a later bulk insert on the same connection checked every new member against every household
(CI hung on the seed-004 statistics fixture: 120,000 members × 30,000 households). Here a fresh
connection is made to plan the check that way on a tiny insert, then inserts 30,000 members at
once: with the check planned per statement it takes about a second; with the kept plan it is
9 × 10^8 comparisons and runs into the statement timeout (measured before 0010: 20,000 members took
18 s, against 1 s after).
"""

from __future__ import annotations

import asyncpg
import pytest

HOUSEHOLDS = """
INSERT INTO registry.household (id, county_code, township_code, village_code, household_number, status, base_status)
SELECT gen_random_uuid(), '410622', '410622100', '410622100201', $1 || lpad(i::text, 8, '0'), 'ordinary', 'ordinary'
  FROM generate_series(1, $2::int) AS i
"""
MEMBERS = """
INSERT INTO registry.member (id, household_id, county_code, name, national_id_enc, national_id_index,
                             national_id_masked, sex, birth_date, relation, health, labour_ability, join_reason)
SELECT gen_random_uuid(), h.id, h.county_code, '测试', '\\x00'::bytea, sha256(h.id::text::bytea),
       '410622********0000', 'male', date '1970-01-01', 'head', 'healthy', 'normal', 'registration'
  FROM registry.household h
 WHERE h.county_code = '410622' AND h.household_number LIKE $1 || '%'
"""
# every plan but a nested loop over a sequential scan is switched off while the check is first planned
BAD_PLAN = ("enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan", "enable_hashjoin", "enable_mergejoin")


async def test_a_kept_small_plan_does_not_slow_a_bulk_insert(database_url: str) -> None:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            for name in BAD_PLAN:
                await conn.execute(f"SET LOCAL {name} = off")
            await conn.execute(HOUSEHOLDS, "TPW", 1)
            await conn.execute(MEMBERS, "TPW")
            for name in BAD_PLAN:
                await conn.execute(f"SET LOCAL {name} = on")
            await conn.execute(HOUSEHOLDS, "TPB", 30_000)
            await conn.execute("SET LOCAL statement_timeout = '20s'")
            try:
                await conn.execute(MEMBERS, "TPB")
            except asyncpg.QueryCanceledError:
                pytest.fail("the member check kept the plan made for one row: 30,000 members ran past 20 s")
            count = await conn.fetchval("SELECT count(*) FROM registry.member WHERE name = '测试'")
            assert count >= 30_001
            # the check still refuses a member of no household, with its constraint name
            with pytest.raises(asyncpg.ForeignKeyViolationError) as refused:
                await conn.execute(
                    "INSERT INTO registry.member (id, household_id, county_code, name, national_id_enc, "
                    "national_id_index, national_id_masked, sex, birth_date, relation, health, labour_ability, "
                    "join_reason) VALUES (gen_random_uuid(), gen_random_uuid(), '410622', '无户', '\\x00', "
                    "sha256('无户'), '410622********0000', 'male', date '1970-01-01', 'head', 'healthy', 'normal', "
                    "'registration')"
                )
            assert refused.value.constraint_name == "member_household_id_fkey"
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
