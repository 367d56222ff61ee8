"""Claim leads reach the claims service through the outbox: a real HTTP stub server stands in for
claims (down at first, then answering 503, then accepting), real commits, the service's own
dispatcher; each lead arrives once, with its Idempotency-Key, as a valid `ClaimLead`."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Header, Request, Response
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from services.screening.app import create_app
from services.screening.config import ScreeningSettings
from services.screening.db.tables import outbox
from shared.contracts.claims import ClaimLead
from shared.embedded_pg import free_port
from shared.settings import async_database_url
from tests.conftest import make_settings
from tests.screening.support import Clock, add_household, control_total, jsonl, medical
from tests.support.tokens import auth

COUNTY = "410698"  # a county of its own in the shared committed database
VILLAGE = COUNTY + "100201"


class ClaimsStub:
    """Accepts claim leads idempotently by key, after failing `fail_next` times with 503."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.fail_next = 0
        self.port = free_port()
        app = FastAPI()

        @app.post("/v1/claims/leads")
        async def leads(request: Request, idempotency_key: str = Header(alias="Idempotency-Key")) -> Response:
            self.keys.append(idempotency_key)
            if self.fail_next > 0:
                self.fail_next -= 1
                return Response(status_code=503)
            body = await request.json()
            ClaimLead.model_validate(body)  # the contract, or this stub answers 500
            if idempotency_key not in {b["_key"] for b in self.received}:
                self.received.append({**body, "_key": idempotency_key})
            return Response(
                content=f'{{"claim_id": "{uuid.uuid4()}", "created": true}}',
                status_code=201,
                media_type="application/json",
            )

        self.app = app
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            threading.Event().wait(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(5)


@contextmanager
def claims_stub() -> Iterator[ClaimsStub]:
    stub = ClaimsStub()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
async def engine(committed_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(async_database_url(committed_url))
    yield engine
    async with engine.begin() as conn:
        for statement in (
            "DELETE FROM screening.claim_lead WHERE county_code = :c",
            "DELETE FROM screening.outbox_message WHERE county_code = :c",
            "DELETE FROM screening.feed_record WHERE county_code = :c",
            "DELETE FROM screening.feed_batch WHERE county_code = :c",
            "DELETE FROM registry.income WHERE county_code = :c",
            "DELETE FROM registry.member WHERE county_code = :c",
            "DELETE FROM registry.household WHERE county_code = :c",
        ):
            await conn.execute(text(statement), {"c": COUNTY})
    await engine.dispose()


async def test_claim_leads_are_delivered_once_through_the_outbox(committed_url: str, engine: AsyncEngine) -> None:
    async with engine.begin() as conn, AsyncSession(bind=conn) as session:
        h = await add_household(session, village=VILLAGE, insured_years=[2026], incomes={2025: "20000.00"})
        await session.flush()

    with claims_stub() as stub:
        settings = make_settings(
            ScreeningSettings,
            committed_url,
            outbox_enabled=True,
            claims_url=stub.url,
            outbox_poll_seconds=0.05,
            outbox_max_backoff_seconds=0.2,
            background_workers=False,
            schedule_enabled=False,
        )
        app = create_app(settings)  # type: ignore[arg-type]
        async with app.router.lifespan_context(app):
            app.state.clock = Clock(datetime(2026, 4, 5, 2, tzinfo=UTC))
            records = [medical("YB-1", h.national_ids[0], "8000.00"), medical("YB-2", h.national_ids[1], "50.00")]
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://screening") as c:
                response = await c.post(
                    "/v1/feeds/medical_insurance/batches",
                    params={"county_code": COUNTY, "record_count": 2, "control_total": control_total(records)},
                    content=jsonl(records),
                    headers={
                        "Content-Type": "application/x-ndjson",
                        **auth("department_feeder", COUNTY, department="medical_insurance"),
                    },
                )
                assert response.status_code == 202, response.text
                assert response.json()["counts"]["claim_leads"] == 2

                # claims is down: the messages wait
                await asyncio.sleep(0.5)
                async with engine.connect() as conn:
                    rows = (
                        await conn.execute(
                            select(outbox.c.status, outbox.c.attempts).where(outbox.c.county_code == COUNTY)
                        )
                    ).all()
                assert [r.status for r in rows] == ["pending", "pending"]
                assert all(r.attempts >= 1 for r in rows)

                stub.fail_next = 1
                stub.start()
                for _ in range(200):
                    if len(stub.received) == 2:
                        break
                    await asyncio.sleep(0.05)
                assert sorted(r["source_record_id"] for r in stub.received) == [
                    "medical_insurance:YB-1",
                    "medical_insurance:YB-2",
                ]
                assert set(stub.keys) == {
                    f"claim-lead:{COUNTY}:medical_insurance:YB-1",
                    f"claim-lead:{COUNTY}:medical_insurance:YB-2",
                }
                lead = ClaimLead.model_validate({k: v for k, v in stub.received[0].items() if k != "_key"})
                assert lead.household_id == h.id
                assert lead.category == "illness"

                # the same records again: duplicates, no new lead
                again = await c.post(
                    "/v1/feeds/medical_insurance/batches",
                    params={"county_code": COUNTY, "record_count": 2, "control_total": control_total(records)},
                    content=jsonl(records),
                    headers={
                        "Content-Type": "application/x-ndjson",
                        **auth("department_feeder", COUNTY, department="medical_insurance"),
                    },
                )
                assert again.json()["counts"]["duplicates"] == 2
                assert again.json()["counts"]["claim_leads"] == 0
                await asyncio.sleep(0.3)
                assert len(stub.received) == 2
        async with engine.connect() as conn:
            statuses = (await conn.execute(select(outbox.c.status).where(outbox.c.county_code == COUNTY))).scalars()
            assert sorted(statuses) == ["delivered", "delivered"]
