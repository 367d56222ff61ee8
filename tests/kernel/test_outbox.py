"""Outbox delivery against a real HTTP receiver that is down, then flaky, then up."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Header, Request, Response
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from services.registry.db.tables import outbox
from services.screening.config import ScreeningSettings
from shared.auth import ServiceTokenProvider
from shared.embedded_pg import free_port
from shared.http import ServiceClient
from shared.outbox import OutboxDispatcher, backoff_seconds, enqueue
from shared.settings import async_database_url
from tests.conftest import make_settings


class Receiver:
    """An idempotent receiver: stores each key's response and acts once per key."""

    def __init__(self) -> None:
        self.attempt_keys: list[str] = []
        self.effects: list[dict[str, Any]] = []
        self.responses: dict[str, dict[str, Any]] = {}
        self.fail_next = 0
        app = FastAPI()

        @app.post("/v1/things")
        async def things(request: Request, idempotency_key: str = Header(alias="Idempotency-Key")) -> Response:
            self.attempt_keys.append(idempotency_key)
            if self.fail_next > 0:
                self.fail_next -= 1
                return Response(status_code=503)
            if idempotency_key not in self.responses:
                body = await request.json()
                self.effects.append(body)
                self.responses[idempotency_key] = {"done": body["n"]}
            return Response(content=str(self.responses[idempotency_key]), status_code=201)

        self.app = app
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            threading.Event().wait(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            assert self._thread is not None
            self._thread.join(5)


@contextmanager
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
async def committed_engine(committed_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(async_database_url(committed_url))
    yield engine
    async with engine.begin() as conn:
        await conn.execute(delete(outbox))
    await engine.dispose()


def _dispatcher(engine: AsyncEngine, url: str, committed_url: str) -> tuple[OutboxDispatcher, ServiceClient]:
    settings = make_settings(ScreeningSettings, committed_url)
    client = ServiceClient("registry", url, token_provider=ServiceTokenProvider(settings), timeout=2, retries=0)
    dispatcher = OutboxDispatcher(
        service="test",
        sessionmaker=async_sessionmaker(engine, expire_on_commit=False),
        table=outbox,
        clients={"registry": client},
        poll_seconds=0.05,
        max_backoff_seconds=0.05,
    )
    return dispatcher, client


async def test_message_waits_for_a_down_receiver_then_is_delivered_once(
    committed_engine: AsyncEngine, committed_url: str
) -> None:
    with receiver() as rx:
        dispatcher, client = _dispatcher(committed_engine, f"http://127.0.0.1:{rx.port}", committed_url)
        sm = async_sessionmaker(committed_engine, expire_on_commit=False)
        async with sm() as session:
            message_id = await enqueue(
                session,
                outbox,
                target="registry",
                method="POST",
                path="/v1/things",
                body={"n": 1},
                idempotency_key="case-42:confirm",
            )
            await session.commit()

        # receiver down: attempts fail and are rescheduled, nothing lost
        for _ in range(3):
            assert await dispatcher.dispatch_once() == 0
            await asyncio.sleep(0.08)
        async with sm() as session:
            row = (await session.execute(select(outbox).where(outbox.c.id == message_id))).mappings().one()
        assert row["status"] == "pending"
        assert row["attempts"] >= 3
        assert row["last_error"]

        # receiver up but answering 503 twice, then fine: the background loop gets it through
        rx.fail_next = 2
        rx.start()
        dispatcher.start()
        for _ in range(100):
            await asyncio.sleep(0.05)
            if rx.effects:
                break
        await dispatcher.stop()

        async with sm() as session:
            row = (await session.execute(select(outbox).where(outbox.c.id == message_id))).mappings().one()
        assert row["status"] == "delivered"
        assert rx.effects == [{"n": 1}]
        assert len(rx.attempt_keys) == 3
        assert set(rx.attempt_keys) == {"case-42:confirm"}

        # a redelivery (e.g. a crash before the status update committed) does not act twice
        async with sm() as session:
            await session.execute(update(outbox).where(outbox.c.id == message_id).values(status="pending"))
            await session.commit()
        assert await dispatcher.dispatch_once() == 1
        assert rx.effects == [{"n": 1}]
        assert set(rx.attempt_keys) == {"case-42:confirm"}
        await client.aclose()


async def test_messages_with_one_ordering_key_keep_their_order(
    committed_engine: AsyncEngine, committed_url: str
) -> None:
    with receiver() as rx:
        rx.start()
        dispatcher, client = _dispatcher(committed_engine, f"http://127.0.0.1:{rx.port}", committed_url)
        sm = async_sessionmaker(committed_engine, expire_on_commit=False)
        async with sm() as session:
            for n in range(3):
                await enqueue(
                    session,
                    outbox,
                    target="registry",
                    method="POST",
                    path="/v1/things",
                    body={"n": n},
                    ordering_key="household-1",
                )
            await session.commit()
        rx.fail_next = 1  # the first message fails once: the two behind it must wait for it
        assert await dispatcher.dispatch_once() == 0
        assert rx.effects == []
        for _ in range(20):
            await asyncio.sleep(0.06)
            await dispatcher.dispatch_once()
            if len(rx.effects) == 3:
                break
        assert [e["n"] for e in rx.effects] == [0, 1, 2]
        await client.aclose()


async def test_permanent_refusal_is_parked_not_retried(committed_engine: AsyncEngine, committed_url: str) -> None:
    with receiver() as rx:
        rx.start()
        dispatcher, client = _dispatcher(committed_engine, f"http://127.0.0.1:{rx.port}", committed_url)
        sm = async_sessionmaker(committed_engine, expire_on_commit=False)
        async with sm() as session:
            message_id = await enqueue(
                session, outbox, target="registry", method="POST", path="/v1/things", body={"missing": "n"}
            )
            await session.commit()
        await dispatcher.dispatch_once()
        async with sm() as session:
            row = (await session.execute(select(outbox).where(outbox.c.id == message_id))).mappings().one()
        assert row["status"] in ("dead", "pending")  # the receiver crashes on the body: a 500 is retried
        assert row["response_status"] == 500
        await client.aclose()


def test_backoff_grows_and_is_capped() -> None:
    assert backoff_seconds(1, 300) <= 1.25
    assert 6 <= backoff_seconds(4, 300) <= 10
    assert backoff_seconds(30, 300) <= 300


def test_the_dispatcher_waits_until_the_next_message_is_due_and_long_when_none_is_pending() -> None:
    from datetime import UTC, datetime, timedelta

    dispatcher = OutboxDispatcher(
        service="test",
        sessionmaker=None,  # type: ignore[arg-type]  # no round is run here
        table=outbox,
        clients={},
        poll_seconds=0.5,
        idle_poll_seconds=5.0,
    )
    now = datetime(2026, 12, 7, 8, tzinfo=UTC)
    assert dispatcher._wait_seconds(now) == 5.0  # nothing pending: idle, woken by a commit of this process
    dispatcher._next_due = now + timedelta(seconds=2)
    assert dispatcher._wait_seconds(now) == pytest.approx(2.0)  # a retry due in 2 s
    dispatcher._next_due = now - timedelta(seconds=1)
    assert dispatcher._wait_seconds(now) == 0.5  # due already (blocked or locked elsewhere): the short poll
    dispatcher._next_due = now + timedelta(minutes=5)
    assert dispatcher._wait_seconds(now) == 5.0  # never longer than the idle wait
