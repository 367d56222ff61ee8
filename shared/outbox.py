"""Transactional outbox: commands to other services that must not be lost.

`enqueue` writes the message in the caller's transaction, beside the change that causes it.
The dispatcher (started in the service lifespan) delivers pending messages over HTTP with the
message's `Idempotency-Key`, retrying with capped exponential backoff; the receiver replays its
stored response on a redelivery, so each command takes effect once. Messages sharing an
`ordering_key` (e.g. one household) are delivered in the order they were written.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.errors import ServiceUnavailable
from shared.http import ServiceClient
from shared.logging import get_logger, log_failure, request_id_var
from shared.metrics import OUTBOX_DELIVERED, OUTBOX_FAILURES, OUTBOX_PENDING

log = get_logger("fangpin.outbox")

# The receiver understood and refused the message: redelivering the same bytes cannot help.
_PERMANENT_STATUSES = {400, 409, 410, 413, 422}


async def enqueue(
    session: AsyncSession,
    table: Table,
    *,
    target: str,
    method: str,
    path: str,
    body: Any = None,
    idempotency_key: str | None = None,
    ordering_key: str | None = None,
    county_code: str | None = None,
) -> uuid.UUID:
    message_id = uuid.uuid4()
    await session.execute(
        table.insert().values(
            id=message_id,
            target=target,
            method=method.upper(),
            path=path,
            body=body,
            idempotency_key=idempotency_key or f"outbox:{table.schema}:{message_id}",
            ordering_key=ordering_key,
            county_code=county_code,
            request_id=request_id_var.get(),
        )
    )
    return message_id


def backoff_seconds(attempts: int, cap: float) -> float:
    """Capped exponential backoff with jitter: ~1, 2, 4, 8 … seconds, never above `cap`."""
    base = min(cap, 2.0 ** max(attempts - 1, 0))
    return float(min(cap, base * (0.75 + random.random() / 2)))


class OutboxDispatcher:
    def __init__(
        self,
        *,
        service: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        table: Table,
        clients: dict[str, ServiceClient],
        poll_seconds: float = 0.5,
        idle_poll_seconds: float = 5.0,
        batch_size: int = 50,
        max_backoff_seconds: float = 300.0,
    ) -> None:
        self.service = service
        self._sessionmaker = sessionmaker
        self._table = table
        self._clients = clients
        self._poll = poll_seconds
        self._idle_poll = max(idle_poll_seconds, poll_seconds)
        self._batch = batch_size
        self._max_backoff = max_backoff_seconds
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # When the next pending message is due (None: none is pending), from the last round.
        self._next_due: datetime | None = None
        # A round's statements, made once: building them cost more CPU than running them, and a round
        # blocks the process's event loop while it builds (issue 15: 9 ms every half second).
        t = table
        older = t.alias("older")
        blocked_by_older = (
            select(older.c.id)
            .where(
                older.c.status == "pending",
                older.c.ordering_key == t.c.ordering_key,
                older.c.seq < t.c.seq,
            )
            .exists()
        )
        self._due_statement = (
            select(t)
            .where(
                t.c.status == "pending",
                t.c.next_attempt_at <= func.now(),
                ~and_(t.c.ordering_key.is_not(None), blocked_by_older),
            )
            .order_by(t.c.seq)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        self._pending_statement = select(func.count(), func.min(t.c.next_attempt_at)).where(t.c.status == "pending")

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-outbox")

    def wake(self) -> None:
        """Ask for a delivery round now (after a commit that enqueued something)."""
        self._wake.set()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish the round in progress, then stop; undelivered messages stay pending."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, grace_seconds)
            except TimeoutError:
                self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                delivered = await self.dispatch_once()
            except Exception as exc:
                log_failure(log, "outbox.round.failed", exc, service=self.service)
                delivered = 0
            if delivered >= self._batch:
                continue  # more may be waiting
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._wait_seconds(datetime.now(UTC)))

    def _wait_seconds(self, now: datetime) -> float:
        """How long to wait for a wake-up before the next round: until the next pending message is
        due (at least `poll_seconds`), or `idle_poll_seconds` when none is pending. A commit in this
        process that enqueues a message wakes the dispatcher at once (`wake`); the idle wait only
        bounds how late a message enqueued by another process (with no dispatcher of its own) goes."""
        if self._next_due is None:
            return self._idle_poll
        return min(self._idle_poll, max(self._poll, (self._next_due - now).total_seconds()))

    async def dispatch_once(self) -> int:
        """One delivery round. Returns how many messages it delivered."""
        delivered = 0
        async with self._sessionmaker() as session, session.begin():
            rows = (await session.execute(self._due_statement)).mappings().all()
            failed_keys: set[str] = set()
            for row in rows:
                if row["ordering_key"] is not None and row["ordering_key"] in failed_keys:
                    continue
                ok = await self._deliver(session, row)
                if ok:
                    delivered += 1
                elif row["ordering_key"] is not None:
                    failed_keys.add(row["ordering_key"])
            pending, next_due = (await session.execute(self._pending_statement)).one()
            OUTBOX_PENDING.labels(self.service).set(pending)
            self._next_due = next_due if pending else None
        return delivered

    async def _deliver(self, session: AsyncSession, row: Any) -> bool:
        t = self._table
        target = row["target"]
        client = self._clients.get(target)
        status_code: int | None = None
        error: str | None = None
        token = request_id_var.set(row["request_id"])
        try:
            if client is None:
                error = f"no client for target {target!r}"
            else:
                response = await client.request(
                    row["method"],
                    row["path"],
                    json=row["body"],
                    idempotency_key=row["idempotency_key"],
                    retries=0,
                )
                status_code = response.status_code
                if status_code >= 400:
                    error = response.text[:500]
        except ServiceUnavailable as exc:
            error = str(exc)
        finally:
            request_id_var.reset(token)

        now = datetime.now(UTC)
        attempts = row["attempts"] + 1
        if status_code is not None and status_code < 400:
            await session.execute(
                update(t)
                .where(t.c.id == row["id"])
                .values(
                    status="delivered",
                    attempts=attempts,
                    delivered_at=now,
                    response_status=status_code,
                    last_error=None,
                )
            )
            OUTBOX_DELIVERED.labels(self.service, target).inc()
            log.info("outbox.delivered", message_id=str(row["id"]), target=target, path=row["path"])
            return True

        OUTBOX_FAILURES.labels(self.service, target).inc()
        if status_code in _PERMANENT_STATUSES:
            await session.execute(
                update(t)
                .where(t.c.id == row["id"])
                .values(
                    status="dead",
                    attempts=attempts,
                    response_status=status_code,
                    last_error=error,
                )
            )
            log.error("outbox.dead", message_id=str(row["id"]), target=target, status=status_code)
            return False
        delay = backoff_seconds(attempts, self._max_backoff)
        await session.execute(
            update(t)
            .where(t.c.id == row["id"])
            .values(
                attempts=attempts,
                response_status=status_code,
                last_error=error,
                next_attempt_at=now + timedelta(seconds=delay),
            )
        )
        log.warning(
            "outbox.retry_scheduled",
            message_id=str(row["id"]),
            target=target,
            status=status_code,
            attempts=attempts,
            delay_seconds=round(delay, 2),
        )
        return False
