from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.pii import VERSION_AES_GCM, VERSION_SM4_GCM, PiiCipher, generate_key
from shared.pii_rotation import EncryptedColumn, RotationError, rotate
from shared.settings import async_database_url
from tests.conftest import make_settings
from tests.support.database import migrated_database
from tests.support.tokens import PII_INDEX_KEY, PII_KEY, auth

COLUMN = EncryptedColumn("public", "rotation_probe", "id", "secret", "national_id")


@pytest.fixture
async def engine(committed_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(async_database_url(committed_url))
    async with eng.begin() as conn:
        await conn.execute(text("CREATE TABLE public.rotation_probe (id int PRIMARY KEY, secret bytea)"))
    yield eng
    async with eng.begin() as conn:
        await conn.execute(text("DROP TABLE public.rotation_probe"))
    await eng.dispose()


async def test_rotation_re_encrypts_old_rows_and_is_rerunnable(engine: AsyncEngine) -> None:
    old = PiiCipher(PII_KEY, PII_INDEX_KEY)
    values = {i: f"41060219900101{i:04d}" for i in range(1, 1201)}
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO public.rotation_probe VALUES (:id, :secret)"),
            [{"id": i, "secret": old.encrypt(v, purpose="national_id")} for i, v in values.items()]
            + [{"id": 0, "secret": None}],
        )
    new_key = base64.b64encode(os.urandom(32)).decode()
    rotated = PiiCipher(new_key, PII_INDEX_KEY, [PII_KEY])
    assert await rotate(engine, rotated, [COLUMN], batch_size=500) == {"public.rotation_probe.secret": 1200}
    assert await rotate(engine, rotated, [COLUMN]) == {"public.rotation_probe.secret": 0}
    only_new = PiiCipher(new_key, PII_INDEX_KEY)  # the old key is gone: everything still reads
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, secret FROM public.rotation_probe WHERE id > 0"))).all()
    assert {r.id: only_new.decrypt(r.secret, purpose="national_id") for r in rows} == values


def test_every_encrypted_column_is_declared_for_rotation() -> None:
    """A `*_enc` column missing from ENCRYPTED_COLUMNS would keep the old key and break when it is retired."""
    from services.cli.database import encrypted_columns

    found = set()
    for service in ("registry", "screening", "claims"):
        tables = __import__(f"services.{service}.db.tables", fromlist=["metadata"])
        for table in tables.metadata.tables.values():
            found |= {(table.schema, table.name, c.name) for c in table.columns if c.name.endswith("_enc")}
    declared = {(c.schema, c.table, c.column) for c in encrypted_columns()}
    assert ("screening", "feed_record", "national_id_enc") in found
    assert found == declared


# --- between algorithms (AES-256-GCM → SM4-GCM, HMAC-SHA256 → HMAC-SM3) -------------------------

INDEXED = EncryptedColumn("public", "rotation_indexed", "id", "secret", "national_id", index_column="digest")


@pytest.fixture
async def indexed(committed_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(async_database_url(committed_url))
    async with eng.begin() as conn:
        await conn.execute(
            text("CREATE TABLE public.rotation_indexed (id int PRIMARY KEY, secret bytea, digest bytea)")
        )
    yield eng
    async with eng.begin() as conn:
        await conn.execute(text("DROP TABLE public.rotation_indexed"))
    await eng.dispose()


async def _fill(engine: AsyncEngine, cipher: PiiCipher, values: dict[int, str]) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO public.rotation_indexed VALUES (:id, :secret, :digest)"),
            [
                {
                    "id": i,
                    "secret": cipher.encrypt(v, purpose="national_id"),
                    "digest": cipher.blind_index(v, purpose="national_id"),
                }
                for i, v in values.items()
            ],
        )


async def _stored(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT id, secret, digest FROM public.rotation_indexed"))).all())


async def test_aes_to_sm4_re_encrypts_and_re_indexes_and_is_rerunnable(indexed: AsyncEngine) -> None:
    values = {i: f"41060219900101{i:04d}" for i in range(1, 702)}
    await _fill(indexed, PiiCipher(PII_KEY, PII_INDEX_KEY), values)
    sm4 = PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm="sm4")  # same key material, other suite
    result = await rotate(indexed, sm4, [INDEXED], batch_size=200)
    assert result == {"public.rotation_indexed.secret": 701, "public.rotation_indexed.digest": 701}
    rows = await _stored(indexed)
    assert {bytes(r.secret[:5]) for r in rows} == {sm4.current_head}
    assert all(bytes(r.secret[:1]) == VERSION_SM4_GCM for r in rows)
    assert {r.id: bytes(r.digest) for r in rows} == {
        i: sm4.blind_index(v, purpose="national_id") for i, v in values.items()
    }
    assert {r.id: sm4.decrypt(r.secret, purpose="national_id") for r in rows} == values
    assert await rotate(indexed, sm4, [INDEXED]) == {
        "public.rotation_indexed.secret": 0,
        "public.rotation_indexed.digest": 0,
    }
    # and back: SM4 → AES reads what SM4 wrote
    aes = PiiCipher(PII_KEY, PII_INDEX_KEY)
    assert (await rotate(indexed, aes, [INDEXED]))["public.rotation_indexed.secret"] == 701
    assert {bytes(r.secret[:1]) for r in await _stored(indexed)} == {VERSION_AES_GCM}


async def test_a_change_of_index_algorithm_alone_is_found_and_finished_after_an_interruption(
    indexed: AsyncEngine,
) -> None:
    values = {i: f"41060219900101{i:04d}" for i in range(1, 301)}
    # phase 1 of a two-step migration: cipher SM4 already, index still HMAC-SHA256
    await _fill(indexed, PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm="sm4", index_algorithm="hmac-sha256"), values)
    sm4 = PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm="sm4")
    # an interrupted earlier run: the lower half already re-indexed
    async with indexed.begin() as conn:
        await conn.execute(
            text("UPDATE public.rotation_indexed SET digest = :d WHERE id = :id"),
            [{"id": i, "d": sm4.blind_index(values[i], purpose="national_id")} for i in range(1, 151)],
        )
    assert await rotate(indexed, sm4, [INDEXED], reindex=False) == {
        "public.rotation_indexed.secret": 0,
        "public.rotation_indexed.digest": 0,
    }
    assert await rotate(indexed, sm4, [INDEXED], batch_size=64) == {
        "public.rotation_indexed.secret": 0,  # the ciphertext was current: not rewritten
        "public.rotation_indexed.digest": 150,
    }
    rows = await _stored(indexed)
    assert {r.id: bytes(r.digest) for r in rows} == {
        i: sm4.blind_index(v, purpose="national_id") for i, v in values.items()
    }
    assert (await rotate(indexed, sm4, [INDEXED], reindex=True))["public.rotation_indexed.digest"] == 0


async def test_a_row_under_a_key_no_longer_held_is_named(indexed: AsyncEngine) -> None:
    await _fill(indexed, PiiCipher(generate_key(), PII_INDEX_KEY), {7: "410602199001010007"})
    with pytest.raises(RotationError, match=r"public\.rotation_indexed\.secret row 7.*FANGPIN_PII_OLD_KEYS"):
        await rotate(indexed, PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm="sm4"), [INDEXED])


# --- every declared column of the three services, and the lookups after --------------------------


@pytest.fixture
def rotation_url(pg_server: str) -> Iterator[str]:
    with migrated_database(pg_server, "rotation") as url:
        yield url


@asynccontextmanager
async def _registry(url: str, **settings: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    from services.registry.app import create_app
    from services.registry.config import RegistrySettings

    app = create_app(make_settings(RegistrySettings, url, **settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
            yield app, client


async def _search(client: httpx.AsyncClient, national_id: str) -> list[str]:
    response = await client.post(
        "/v1/households:search", json={"national_id": national_id}, headers=auth("county_officer")
    )
    assert response.status_code == 200, response.text
    return [h["household_number"] for h in response.json()["items"]]


async def test_aes_to_sm4_over_every_declared_column_keeps_the_lookups(rotation_url: str) -> None:
    from services.cli.database import encrypted_columns
    from services.registry.demo import seed_regions
    from services.screening.db.feeds_repository import FeedRepository
    from tests.registry.conftest import household_body, member, new_id

    aes = PiiCipher(PII_KEY, PII_INDEX_KEY)
    new_key = generate_key()
    sm4 = PiiCipher(new_key, PII_INDEX_KEY, [PII_KEY], algorithm="sm4")
    head_id = new_id()
    async with _registry(rotation_url, pii_algorithm="aes", pii_index_algorithm=None) as (app, client):
        async with app.state.sessionmaker() as session:
            await seed_regions(session)
        body = household_body(members=[member("head", name="王守田", national_id=head_id)])
        created = await client.post("/v1/households", json=body, headers=auth("county_officer"))
        assert created.status_code == 201, created.text
        household_id = created.json()["id"]
        assert await _search(client, head_id) == [body["household_number"]]
        cadre = {"name": "王志刚", "work_unit": "鹤山区农业农村局", "phone": "13912345678", "start_date": "2026-01-05"}
        assigned = await client.post(
            f"/v1/households/{household_id}/cadres", json=cadre, headers=auth("county_officer")
        )
        assert assigned.status_code == 201, assigned.text  # a responsible cadre's phone (indexed) too

    engine = create_async_engine(async_database_url(rotation_url))
    try:
        async with engine.begin() as conn:
            # The other declared columns, written as the services write them (AES, SHA-256 index); foreign
            # keys are not checked here: rotation reads one column of one row at a time.
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            feed_batch, feed_record = uuid.uuid4(), uuid.uuid4()
            await conn.execute(
                text(
                    "INSERT INTO screening.feed_batch (id, county_code, department, format, declared_record_count,"
                    " declared_control_total, status, content_sha256) VALUES (:id, '410602', 'civil_affairs', 'jsonl',"
                    " 1, 0, 'succeeded', repeat('0', 64))"
                ),
                {"id": feed_batch},
            )
            await conn.execute(
                text(
                    "INSERT INTO screening.feed_record (id, county_code, batch_id, department, source_record_id,"
                    " line_no, kind, event_date, national_id_enc, national_id_index, amount)"
                    " VALUES (:id, '410602', :batch, 'civil_affairs', 'r-1', 1, 'medical_expense', DATE '2026-03-01',"
                    " :enc, :idx, 100)"
                ),
                {
                    "id": feed_record,
                    "batch": feed_batch,
                    "enc": aes.encrypt(head_id, purpose="national_id"),
                    "idx": aes.blind_index(head_id, purpose="national_id"),
                },
            )
            await conn.execute(
                text(
                    "INSERT INTO registry.export_job (id, status, format, region, created_by, scope_region,"
                    " content_enc)"
                    " VALUES (:id, 'succeeded', 'csv', '410602', 'test', '410602', :enc)"
                ),
                {"id": uuid.uuid4(), "enc": aes.encrypt("eJzLSM3JyQcABiwCFQ==", purpose="export")},
            )
            await conn.execute(
                text(
                    "INSERT INTO claims.payment (id, claim_id, batch_id, county_code, household_id, category, amount,"
                    " status, attempts, bank_account_enc, bank_account_masked, account_holder_enc)"
                    " VALUES (:id, :id, :id, '410602', :hh, 'medical', 100, 'pending', 0, :bank, '****0123', :holder)"
                ),
                {
                    "id": uuid.uuid4(),
                    "hh": uuid.UUID(household_id),
                    "bank": aes.encrypt("6222021234567890123", purpose="bank_account"),
                    "holder": aes.encrypt("王守田", purpose="account_holder"),
                },
            )
            await conn.execute(
                text(
                    "INSERT INTO claims.objection (id, notice_id, claim_id, county_code, reason, status, objector_enc)"
                    " VALUES (:id, :id, :id, '410602', '名单有误', 'open', :enc)"
                ),
                {"id": uuid.uuid4(), "enc": aes.encrypt("李四", purpose="objector")},
            )

        columns = encrypted_columns()
        async with engine.connect() as conn:
            for col in columns:  # a row in every declared column, all under AES-256-GCM
                heads = (
                    (
                        await conn.execute(
                            text(
                                f'SELECT DISTINCT substring("{col.column}" FROM 1 FOR 1) FROM {col.qualified}'
                                f' WHERE "{col.column}" IS NOT NULL'
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
                assert [bytes(h) for h in heads] == [VERSION_AES_GCM], col.label

        result = await rotate(engine, sm4, columns)
        assert result == {col.label: 1 for col in columns} | {
            "registry.member.national_id_index": 1,
            "screening.feed_record.national_id_index": 1,
            "registry.household_cadre.phone_index": 1,
        }
        again = await rotate(engine, sm4, columns)
        assert again == dict.fromkeys(result, 0)

        only_new = PiiCipher(new_key, PII_INDEX_KEY, algorithm="sm4")  # the AES key retired
        async with engine.connect() as conn:
            for col in columns:
                rows = (
                    await conn.execute(
                        text(f'SELECT "{col.column}" AS v FROM {col.qualified} WHERE "{col.column}" IS NOT NULL')
                    )
                ).all()
                assert rows, col.label
                for row in rows:
                    assert bytes(row.v[:1]) == VERSION_SM4_GCM, col.label
                    assert bytes(row.v[:5]) == only_new.current_head, col.label
                    only_new.decrypt(row.v, purpose=col.purpose)
            digest = (
                await conn.execute(
                    text("SELECT national_id_index FROM screening.feed_record WHERE id = :id"), {"id": feed_record}
                )
            ).scalar_one()
            assert bytes(digest) == only_new.blind_index(head_id, purpose="national_id")
    finally:
        await engine.dispose()

    # registry lookups by national ID under the new suite (HMAC-SM3 index) find the person
    async with _registry(rotation_url, pii_key=new_key, pii_algorithm="sm4") as (app, client):
        assert await _search(client, head_id) == [body["household_number"]]
        again = await client.post(
            "/v1/households",
            json=household_body(members=[member("head", national_id=head_id)]),
            headers=auth("county_officer"),
        )
        assert again.status_code == 409, again.text  # the duplicate check by blind index still sees them
        cadres = await client.get("/v1/cadres", params={"phone": "13912345678"}, headers=auth("county_officer"))
        assert [h["household_number"] for h in cadres.json()["items"]] == [body["household_number"]]
        # screening's feed matching joins its records' index to the registry's: it matches the person
        async with app.state.sessionmaker() as session:
            assert await FeedRepository(session).rematch_county("410602", datetime.now(UTC)) == 1
            matched = (
                await session.execute(
                    text("SELECT household_id FROM screening.feed_record WHERE id = :id"), {"id": feed_record}
                )
            ).scalar_one()
            await session.commit()
        assert str(matched).replace("-", "") == household_id.replace("-", "")
