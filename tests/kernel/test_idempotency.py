"""Idempotency-Key: the first response is stored with its effect and replayed afterwards."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.registry.db.tables import idempotency, region
from services.registry.regions import region_row
from shared.errors import Conflict, Unprocessable
from shared.idempotency import IdempotencyStore, _validate_key, fingerprint
from shared.settings import async_database_url

store = IdempotencyStore(idempotency)


async def _create_once(session: AsyncSession, key: str, body: dict[str, str]) -> tuple[int, object]:
    """What a service method does: look up, act, save, commit — in one transaction."""
    request_hash = fingerprint(body)
    stored = await store.lookup(session, scope="test:regions.create", key=key, request_hash=request_hash)
    if stored is not None:
        await session.commit()
        return stored.status_code, stored.body
    row = region_row(body["code"], body["name"])
    await session.execute(region.insert().values(**row))
    response = {"code": row["code"], "created": True}
    await store.save(session, scope="test:regions.create", key=key, request_hash=request_hash,
                     status_code=201, body=response)
    await session.commit()
    return 201, response


async def test_replay_returns_first_response_and_acts_once(session: AsyncSession) -> None:
    body = {"code": "410602100277", "name": "试点村"}
    first = await _create_once(session, "k-1", body)
    second = await _create_once(session, "k-1", body)
    assert first == second == (201, {"code": "410602100277", "created": True})
    count = (await session.execute(
        select(func.count()).select_from(region).where(region.c.code == "410602100277"))).scalar_one()
    assert count == 1


async def test_same_key_with_another_body_is_refused(session: AsyncSession) -> None:
    await _create_once(session, "k-2", {"code": "410602100278", "name": "甲"})
    with pytest.raises(Conflict) as raised:
        await _create_once(session, "k-2", {"code": "410602100279", "name": "乙"})
    assert raised.value.code == "idempotency_key_reused"


async def test_concurrent_requests_with_one_key_act_once(committed_url: str) -> None:
    engine = create_async_engine(async_database_url(committed_url), pool_size=10)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    body = {"code": "410602100280", "name": "并发村"}

    async def attempt() -> tuple[int, object]:
        async with sessionmaker() as s:
            return await _create_once(s, "k-concurrent", body)

    try:
        results = await asyncio.gather(*(attempt() for _ in range(10)))
        assert len(set(map(str, results))) == 1
        async with sessionmaker() as s:
            count = (await s.execute(
                select(func.count()).select_from(region).where(region.c.code == body["code"]))).scalar_one()
        assert count == 1
    finally:
        async with engine.begin() as conn:
            await conn.execute(region.delete().where(region.c.code == body["code"]))
            await conn.execute(idempotency.delete().where(idempotency.c.key == "k-concurrent"))
        await engine.dispose()


@pytest.mark.parametrize("bad", ["", " ", "x" * 201, "tab\there"])
def test_key_format_is_checked(bad: str) -> None:
    with pytest.raises(Unprocessable):
        _validate_key(bad)
