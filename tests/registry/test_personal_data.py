"""No national ID, bank account or phone number in plain text anywhere in the database or the logs."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import uuid
from collections.abc import Iterable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine

from services.registry.demo import generate_households, household_csv_rows, seed_regions
from shared.settings import async_database_url
from tests.registry.conftest import CreateHousehold, household_body, member, new_id
from tests.support.database import migrated_database
from tests.support.processes import service_processes
from tests.support.tokens import OTHER_VILLAGE, auth, service_env

OFFICER = auth("county_officer")
ACCOUNT = "6217003810012345678"
PHONE = "13937291234"


async def find_plain(conn: AsyncConnection | AsyncSession, values: Iterable[str]) -> list[str]:
    """Every (table.column) of the registry and audit schemas whose text or bytes contain one of `values`."""
    pattern = "|".join(re.escape(v) for v in values)
    columns = (
        await conn.execute(
            text(
                "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema IN ('registry', 'audit') AND data_type IN "
                "('text', 'character varying', 'character', 'bytea', 'jsonb', 'json', 'ARRAY') "
                "AND table_name IN (SELECT table_name FROM information_schema.tables "
                "                   WHERE table_schema IN ('registry', 'audit') AND table_type = 'BASE TABLE')"
            )
        )
    ).all()
    assert len(columns) > 40  # the scan covers the whole schema, not a few columns
    found = []
    for schema, table, column, data_type in columns:
        expression = f"encode(\"{column}\", 'escape')" if data_type == "bytea" else f'"{column}"::text'
        hit = await conn.execute(
            text(f'SELECT 1 FROM "{schema}"."{table}" WHERE {expression} ~ :pattern LIMIT 1'), {"pattern": pattern}
        )
        if hit.first() is not None:
            found.append(f"{schema}.{table}.{column}")
    return found


@pytest.mark.usefixtures("demo_regions")
async def test_no_plain_personal_data_in_any_registry_table(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    created = await create_household(bank_account=ACCOUNT, phone=PHONE)
    plain = [m["national_id"] for m in created["_body"]["members"]]
    hid = created["id"]
    # every path that handles an ID or an account: update, member add/update, errors, search, reveal, idempotency,
    # benefits, monitoring, resolve, export (revealed), import (with row errors)
    added_id = new_id()
    plain.append(added_id)
    added = await registry_client.post(
        f"/v1/households/{hid}/members",
        json=member("son", national_id=added_id),
        headers={**OFFICER, "Idempotency-Key": "add-1"},
    )
    corrected = new_id()
    plain.append(corrected)
    await registry_client.patch(
        f"/v1/households/{hid}/members/{added.json()['id']}",
        json={"national_id": corrected},
        headers={**OFFICER, "If-Match": "1"},
    )
    await registry_client.patch(
        f"/v1/households/{hid}", json={"bank_account": "6217003810099990000"}, headers={**OFFICER, "If-Match": "*"}
    )
    duplicate = household_body(OTHER_VILLAGE, members=[member("head", national_id=plain[0])])
    assert (await registry_client.post("/v1/households", json=duplicate, headers=OFFICER)).status_code == 409
    keyed = household_body(bank_account="6217003810088887777", phone="13700001111")
    plain += [m["national_id"] for m in keyed["members"]]
    await registry_client.post("/v1/households", json=keyed, headers={**OFFICER, "Idempotency-Key": "k-1"})
    await registry_client.post("/v1/households:search", json={"national_id": plain[1]}, headers=OFFICER)
    await registry_client.post(
        f"/v1/members/{created['head_member_id']}:reveal", json={"purpose": "核查身份"}, headers=OFFICER
    )
    bank = await registry_client.post(
        f"/v1/households/{hid}/bank-account:reveal", json={"purpose": "理赔支付 claim 1"}, headers=auth("service", "")
    )
    assert bank.status_code == 200
    await registry_client.post("/v1/members:resolve", json={"national_ids": plain}, headers=auth("service", ""))
    await registry_client.post(
        f"/v1/households/{hid}/benefits",
        headers=auth("service", ""),
        json={
            "source": "claims",
            "source_ref": "p-1",
            "programme": "anti_poverty_insurance",
            "amount": "100.00",
            "paid_date": "2026-03-01",
            "year": 2026,
        },
    )
    await registry_client.post(
        "/v1/exports",
        params={"wait": "true"},
        json={"region": "410602", "reveal": True, "purpose": "核查"},
        headers=OFFICER,
    )
    households = list(generate_households(12, seed=777, start=777_000))
    rows = list(household_csv_rows(households))
    rows[3][10] = rows[3][10][:17] + ("0" if rows[3][10][17] != "0" else "1")  # a row error on an ID
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    plain += [p.national_id for h in households for p in h.members]
    plain += [h.bank_account for h in households if h.bank_account]
    plain += [h.phone for h in households if h.phone]
    imported = await registry_client.post(
        "/v1/imports",
        params={"mode": "valid_rows", "wait": "true"},
        content=buffer.getvalue().encode(),
        headers={**OFFICER, "Content-Type": "text/csv", "Idempotency-Key": "import-1"},
    )
    assert imported.json()["status"] == "succeeded"
    values = [*plain, ACCOUNT, PHONE, "6217003810099990000", "6217003810088887777", "13700001111"]
    assert await find_plain(session, values) == []
    # the scan itself works: the masked forms and the plain name are there
    assert await find_plain(session, [created["members"][0]["name"]]) != []


# ---------------------------------------------------------------- a real process: logs and database


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


async def _seed_regions(url: str) -> None:
    engine = create_async_engine(async_database_url(url))
    try:
        async with engine.connect() as conn:
            from sqlalchemy.ext.asyncio import AsyncSession as Session

            async with Session(bind=conn) as session:
                await seed_regions(session)
            await conn.commit()
    finally:
        await engine.dispose()


async def _scan(url: str, values: list[str]) -> list[str]:
    engine = create_async_engine(async_database_url(url))
    try:
        async with engine.connect() as conn:
            return await find_plain(conn, values)
    finally:
        await engine.dispose()


@pytest.mark.e2e
def test_a_running_registry_logs_no_personal_data(pg_server: str, tmp_path: Path) -> None:
    with migrated_database(pg_server, "registry_pii") as url:
        asyncio.run(_seed_regions(url))
        registry = service_processes(["registry"], service_env(url), tmp_path)["registry"]
        registry.env["FANGPIN_LOG_LEVEL"] = "DEBUG"
        registry.start()
        try:
            plain: list[str] = [ACCOUNT, PHONE]
            with httpx.Client(base_url=registry.url, timeout=30) as client:
                body = household_body(bank_account=ACCOUNT, phone=PHONE)
                plain += [m["national_id"] for m in body["members"]]
                created = client.post("/v1/households", json=body, headers=OFFICER).json()
                wrong = plain[2][:17] + ("0" if plain[2][17] != "0" else "1")
                bad = household_body(members=[member("head", national_id=wrong)])
                assert client.post("/v1/households", json=bad, headers=OFFICER).status_code == 422
                twice = household_body(OTHER_VILLAGE, members=[member("head", national_id=plain[3])])
                assert client.post("/v1/households", json=twice, headers=OFFICER).status_code == 409
                assert (
                    client.post("/v1/households:search", json={"national_id": plain[4]}, headers=OFFICER).status_code
                    == 200
                )
                revealed = client.post(
                    f"/v1/members/{created['head_member_id']}:reveal", json={"purpose": "核查身份"}, headers=OFFICER
                )
                assert revealed.json()["national_id"] in plain
                bank = client.post(
                    f"/v1/households/{created['id']}/bank-account:reveal",
                    json={"purpose": "理赔支付 claim 1"},
                    headers=auth("service", ""),
                )
                assert bank.json()["bank_account"] == ACCOUNT
                assert (
                    client.post(
                        "/v1/members:resolve", json={"national_ids": [*plain[2:], "12345"]}, headers=auth("service", "")
                    ).status_code
                    == 200
                )
                households = list(generate_households(8, seed=4242, start=4_242_000))
                rows = list(household_csv_rows(households))
                rows[2][10] = rows[2][10][:17] + ("0" if rows[2][10][17] != "0" else "1")
                plain += [p.national_id for h in households for p in h.members]
                plain += [h.bank_account for h in households if h.bank_account]
                job = client.post(
                    "/v1/imports",
                    params={"mode": "valid_rows", "wait": "true"},
                    content=_csv(rows),
                    headers={**OFFICER, "Content-Type": "text/csv"},
                ).json()
                assert job["status"] == "succeeded"
                assert job["error_count"] == 1
                export = client.post(
                    "/v1/exports",
                    params={"wait": "true"},
                    json={"region": "410602", "reveal": True, "purpose": "核查"},
                    headers=OFFICER,
                ).json()
                file = client.get(f"/v1/exports/{export['id']}/file", headers=OFFICER)
                assert plain[2] in file.content.decode("utf-8-sig")  # the revealed file has them; the logs must not
                client.get(f"/v1/households/{uuid.uuid4()}", headers=OFFICER)
        finally:
            registry.stop()
        logs = registry.logs()
        lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
        assert len(lines) > 10
        assert any(line.get("event") == "registry.import.succeeded" for line in lines)
        assert all("request_id" in line for line in lines if line.get("event") == "http.request")
        leaked = [value for value in plain if value in logs]
        assert leaked == [], "personal data in the logs"
        assert asyncio.run(_scan(url, plain)) == []
