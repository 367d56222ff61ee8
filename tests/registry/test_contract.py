"""The read contracts screening and claims code against, and the schema they sit on."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db.tables import metadata
from tests.registry.conftest import CreateHousehold, member
from tests.support.pii import suite_cipher
from tests.support.tokens import auth

pytestmark = pytest.mark.usefixtures("demo_regions")
OFFICER = auth("county_officer")

SNAPSHOT_V1 = [
    ("household_id", "uuid"),
    ("household_number", "text"),
    ("county_code", "text"),
    ("township_code", "text"),
    ("village_code", "text"),
    ("status", "text"),
    ("member_count", "integer"),
    ("labour_count", "integer"),
    ("income_year", "integer"),
    ("annual_net_income", "numeric"),
    ("previous_annual_net_income", "numeric"),
    ("dibao", "text"),
    ("tekun", "boolean"),
    ("negative_list", "boolean"),
    ("insured_years", "ARRAY"),
]
MEMBER_IDENTITY_V1 = [
    ("member_id", "uuid"),
    ("household_id", "uuid"),
    ("county_code", "text"),
    ("national_id_index", "bytea"),
    ("active", "boolean"),
    ("birth_date", "date"),
    ("labour_ability", "text"),
    ("education_stage", "text"),
]


async def _columns(session: AsyncSession, view: str) -> list[tuple[str, str]]:
    rows = await session.execute(
        text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'registry' AND table_name = :view ORDER BY ordinal_position"
        ),
        {"view": view},
    )
    return [(r[0], r[1]) for r in rows]


async def test_snapshot_view_columns_are_pinned(session: AsyncSession) -> None:
    assert await _columns(session, "household_snapshot_v1") == SNAPSHOT_V1
    money = (
        await session.execute(
            text(
                "SELECT numeric_precision, numeric_scale FROM information_schema.columns "
                "WHERE table_schema = 'registry' "
                "AND table_name = 'household_snapshot_v1' AND column_name = 'annual_net_income'"
            )
        )
    ).one()
    assert tuple(money) == (14, 2)


async def test_member_identity_view_columns_are_pinned(session: AsyncSession) -> None:
    assert await _columns(session, "member_identity_v1") == MEMBER_IDENTITY_V1


async def test_snapshot_rows(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    created = await create_household(
        dibao="C",
        insured_years=[2026],
        members=[
            member("head", labour_ability="weak"),
            member("spouse"),
            member("son", labour_ability="none"),
            member("daughter"),
        ],
    )
    hid = created["id"]
    await registry_client.put(f"/v1/households/{hid}/incomes/2024", json={"wage_income": "30000.00"}, headers=OFFICER)
    daughter = next(m for m in created["members"] if m["relation"] == "daughter")
    await registry_client.post(
        f"/v1/households/{hid}/members/{daughter['id']}:end",
        json={"reason": "moved_out", "effective_date": "2026-02-01"},
        headers={**OFFICER, "If-Match": "1"},
    )
    row = (
        (
            await session.execute(
                text(
                    "SELECT * FROM registry.household_snapshot_v1 WHERE county_code = '410602' AND household_id = :id"
                ),
                {"id": hid},
            )
        )
        .mappings()
        .one()
    )
    assert row["member_count"] == 3
    assert row["labour_count"] == 2
    assert row["income_year"] == 2025
    assert str(row["annual_net_income"]) == "20700.00"
    assert str(row["previous_annual_net_income"]) == "30000.00"  # 2024
    assert row["dibao"] == "C"
    assert row["insured_years"] == [2026]
    assert row["status"] == "lifted_out"
    assert row["village_code"] == "410602100201"
    assert row["township_code"] == "410602100"
    await registry_client.post(
        f"/v1/households/{hid}:archive", json={"reason": "迁出"}, headers={**OFFICER, "If-Match": "*"}
    )
    gone = await session.execute(
        text("SELECT 1 FROM registry.household_snapshot_v1 WHERE household_id = :id"), {"id": hid}
    )
    assert gone.first() is None  # archived households are not on the register


async def test_member_identity_joins_on_the_shared_blind_index(
    create_household: CreateHousehold, session: AsyncSession
) -> None:
    created = await create_household()
    plain = created["_body"]["members"][1]["national_id"]
    index = suite_cipher().blind_index(plain, purpose="national_id")  # the apps' index algorithm
    row = (
        await session.execute(
            text(
                "SELECT household_id, active FROM registry.member_identity_v1 WHERE national_id_index = :i AND active"
            ),
            {"i": index},
        )
    ).one()
    assert str(row[0]) == created["id"]
    assert row[1] is True


async def test_county_filter_reaches_every_branch_of_the_snapshot(session: AsyncSession) -> None:
    """A screening run filters by county: each aggregate must be restricted to it, not computed for all."""
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        r[0]
        for r in await session.execute(
            text("EXPLAIN SELECT * FROM registry.household_snapshot_v1 WHERE county_code = '410602'")
        )
    )
    assert "Seq Scan" not in plan, plan
    assert plan.count("410602") >= 3, plan  # household, member aggregate and latest income all filtered


async def test_the_migration_matches_the_tables_the_code_uses(session: AsyncSession) -> None:
    rows = (
        await session.execute(
            text(
                "SELECT table_name, column_name, is_nullable FROM information_schema.columns "
                "WHERE table_schema = 'registry'"
            )
        )
    ).all()
    database: dict[str, dict[str, bool]] = {}
    for table, column, nullable in rows:
        database.setdefault(table, {})[column] = nullable == "YES"
    for table in metadata.sorted_tables:
        declared = {c.name: bool(c.nullable) and not c.primary_key for c in table.columns}
        assert database.get(table.name) == declared, table.name


async def test_indexes_that_the_contracts_and_rules_rely_on(session: AsyncSession) -> None:
    indexes = dict(
        (await session.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'registry'"))).all()
    )
    assert "UNIQUE" in indexes["uq_member_active_national_id_index"]
    assert "WHERE active" in indexes["uq_member_active_national_id_index"]
    assert "county_code, household_id, year DESC" in indexes["ix_income_county_code_household_id_year"]
    assert "uq_household_county_code_household_number" in indexes


async def test_a_second_active_membership_is_refused_by_the_database_itself(
    create_household: CreateHousehold, session: AsyncSession
) -> None:
    created = await create_household()
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="uq_member_active_national_id_index"):
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO registry.member (id, household_id, county_code, name, national_id_enc,"
                    " national_id_index,"
                    " national_id_masked, sex, birth_date, relation, health, labour_ability, join_reason) "
                    "SELECT :id, household_id, county_code, name, national_id_enc, national_id_index,"
                    " national_id_masked,"
                    " sex, birth_date, 'other', health, labour_ability, join_reason"
                    " FROM registry.member WHERE id = :head"
                ),
                {"id": uuid.uuid4(), "head": created["head_member_id"]},
            )


async def test_rows_must_name_a_household_and_households_with_rows_stay(
    create_household: CreateHousehold, session: AsyncSession
) -> None:
    """The foreign keys, checked per statement (one anti-join per COPY instead of a probe per row)."""
    from sqlalchemy.exc import IntegrityError

    created = await create_household()
    stranger = uuid.uuid4()
    for statement in (
        "INSERT INTO registry.income (household_id, year, county_code) VALUES (:h, 2024, '410602')",
        "UPDATE registry.member SET household_id = :h WHERE id = :head",
        "INSERT INTO registry.benefit (id, household_id, county_code, source, source_ref, programme, amount, "
        "paid_date, year) VALUES (gen_random_uuid(), :h, '410602', 's', 'r', 'p', 1, '2026-01-01', 2026)",
    ):
        with pytest.raises(IntegrityError, match="must name a household"):
            async with session.begin_nested():
                await session.execute(text(statement), {"h": stranger, "head": created["head_member_id"]})
    with pytest.raises(IntegrityError, match="cannot be deleted"):
        async with session.begin_nested():
            await session.execute(text("DELETE FROM registry.household WHERE id = :id"), {"id": created["id"]})
    with pytest.raises(IntegrityError, match="cannot be deleted"):
        async with session.begin_nested():
            await session.execute(
                text("UPDATE registry.household SET id = :new WHERE id = :id"), {"new": stranger, "id": created["id"]}
            )
    async with session.begin_nested():  # an ordinary update passes, and so does deleting a bare household
        await session.execute(text("UPDATE registry.household SET address = 'x' WHERE id = :id"), {"id": created["id"]})
        for table in ("household_history", "income", "member"):
            await session.execute(text(f"DELETE FROM registry.{table} WHERE household_id = :id"), {"id": created["id"]})
        await session.execute(text("DELETE FROM registry.household WHERE id = :id"), {"id": created["id"]})
