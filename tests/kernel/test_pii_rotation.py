from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.pii import PiiCipher
from shared.pii_rotation import EncryptedColumn, rotate
from shared.settings import async_database_url
from tests.support.tokens import PII_INDEX_KEY, PII_KEY

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
    from shared.pii_rotation import service_columns

    found = set()
    for service in ("registry", "screening", "claims"):
        tables = __import__(f"services.{service}.db.tables", fromlist=["metadata"])
        for table in tables.metadata.tables.values():
            found |= {(table.schema, table.name, c.name) for c in table.columns if c.name.endswith("_enc")}
    declared = {(c.schema, c.table, c.column) for c in service_columns()}
    assert ("screening", "feed_record", "national_id_enc") in found
    assert found == declared
