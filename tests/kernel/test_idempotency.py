"""Idempotency-Key: the first response is stored with its effect and replayed afterwards."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.registry.db.tables import idempotency, region
from services.registry.service.regions import region_row
from shared.auth import Principal, Role
from shared.errors import Conflict, NotFound, Unprocessable
from shared.idempotency import Idempotency, IdempotencyStore, _validate_key, caller_scope, fingerprint
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
    await store.save(
        session, scope="test:regions.create", key=key, request_hash=request_hash, status_code=201, body=response
    )
    await session.commit()
    return 201, response


async def test_replay_returns_first_response_and_acts_once(session: AsyncSession) -> None:
    body = {"code": "410602100277", "name": "试点村"}
    first = await _create_once(session, "k-1", body)
    second = await _create_once(session, "k-1", body)
    assert first == second == (201, {"code": "410602100277", "created": True})
    count = (
        await session.execute(select(func.count()).select_from(region).where(region.c.code == "410602100277"))
    ).scalar_one()
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
            count = (
                await s.execute(select(func.count()).select_from(region).where(region.c.code == body["code"]))
            ).scalar_one()
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


# --- the one mechanism: caller- and route-scoped keys, checks before any replay (issue 9) -----

keys = Idempotency(idempotency)
CADRE = Principal(sub="cadre-1", roles=frozenset({Role.VILLAGE_CADRE}), region="410602100201")


def test_scopes_name_route_resource_and_caller() -> None:
    route = "POST /v1/cases/{case_id}/transitions"
    scope = caller_scope(CADRE, route, "c-1")
    assert scope == "POST /v1/cases/{case_id}/transitions|c-1|cadre-1@410602100201"
    assert caller_scope(CADRE, route, "c-2") != scope
    assert caller_scope(CADRE, "POST /v1/cases/{case_id}/measures", "c-1") != scope
    other_region = Principal(sub="cadre-1", roles=CADRE.roles, region="410602100209")
    assert caller_scope(other_region, route, "c-1") != scope
    long = caller_scope(Principal(sub="x" * 300, roles=CADRE.roles), route, "c-1")
    assert len(long) <= 200
    assert long != caller_scope(Principal(sub="x" * 299, roles=CADRE.roles), route, "c-1")


async def _act(session: AsyncSession, principal: Principal, key: str, *, visible: bool = True) -> object:
    async def authorize() -> str:
        if not visible:
            raise NotFound("no such thing")
        return "the resource"

    attempt = await keys.begin(
        session,
        principal,
        route="POST /v1/things/{id}",
        resource="t-1",
        key=key,
        payload={"a": 1},
        authorize=authorize,
    )
    if attempt.replay is not None:
        await session.rollback()
        return ("replayed", attempt.replay.body)
    assert attempt.checked == "the resource"
    await attempt.save(session, 201, {"by": principal.sub})
    await session.commit()
    return ("fresh", {"by": principal.sub})


async def test_checks_run_before_the_key_and_keys_belong_to_their_caller(session: AsyncSession) -> None:
    assert await _act(session, CADRE, "k-scope") == ("fresh", {"by": "cadre-1"})
    assert await _act(session, CADRE, "k-scope") == ("replayed", {"by": "cadre-1"})
    with pytest.raises(NotFound):  # the same caller, now outside the resource's scope: no replay
        await _act(session, CADRE, "k-scope", visible=False)
    colleague = Principal(sub="cadre-2", roles=CADRE.roles, region=CADRE.region)
    assert await _act(session, colleague, "k-scope") == ("fresh", {"by": "cadre-2"})


def test_services_use_only_the_one_mechanism() -> None:
    """No service reaches the key store around `Idempotency.begin`, nor spells its own replay header."""
    root = Path(__file__).resolve().parents[2] / "services"
    offenders = []
    for path in root.rglob("*.py"):
        text = path.read_text()
        if "IdempotencyStore" in text or ".lookup(" in text or "Idempotent-Replayed" in text:
            offenders.append(str(path.relative_to(root)))
    assert offenders == []
