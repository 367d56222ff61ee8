"""Payments: batches that add up, revealed bank accounts (audited), bank file out, confirmation file in,
exactly one payment per claim (a database constraint), failure → paying again, the benefit through the outbox."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import outbox, payment, payment_attempt
from services.claims.service.common import Runtime
from services.claims.service.payments import MAX_CONFIRMATION_BYTES, PaymentService
from shared.auth import Principal, Role
from shared.errors import PayloadTooLarge
from shared.kernel_tables import audit_log
from tests.claims.conftest import (
    COUNTY,
    E1_EXPENSE,
    SERVICE,
    VILLAGE,
    FakeRegistry,
    apply,
    create_reference_scheme,
    enrol,
    step,
    to_assessed,
)
from tests.conftest import AppHarness
from tests.support.tokens import DEMO_COUNTY, auth


@pytest.fixture
async def approved(claims_client: httpx.AsyncClient, registry: FakeRegistry, today: Any) -> list[str]:
    """Two approved claims of two households (16000.00 each)."""
    await create_reference_scheme(claims_client)
    today.set(date(2026, 4, 1))
    ids = []
    for _ in range(2):
        household = registry.add_household()
        await enrol(claims_client, household)
        claim_id = (await apply(claims_client, household, **E1_EXPENSE)).json()["id"]
        await to_assessed(claims_client, claim_id)
        await step(claims_client, claim_id, "publish_notice", COUNTY)
        ids.append(claim_id)
    today.set(date(2026, 4, 11))
    for claim_id in ids:
        await step(claims_client, claim_id, "approve_override", COUNTY)
    return ids


async def batch(
    client: httpx.AsyncClient,
    ids: list[str],
    count: int | None = None,
    total: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        "/v1/payments/batches",
        json={
            "claim_ids": ids,
            "declared_count": len(ids) if count is None else count,
            "declared_total": total or f"{16000 * len(ids)}.00",
        },
        headers=headers or COUNTY,
    )


async def test_a_batch_must_add_up(claims_client: httpx.AsyncClient, approved: list[str]) -> None:
    wrong_total = await batch(claims_client, approved, total="31999.99")
    assert wrong_total.status_code == 422
    assert wrong_total.json()["code"] == "batch_totals_mismatch"
    assert wrong_total.json()["extra"] == {"count": 2, "total": "32000.00"}
    wrong_count = await batch(claims_client, approved, count=3)
    assert wrong_count.status_code == 422
    twice = await batch(claims_client, [approved[0], approved[0]], total="16000.00")
    assert twice.status_code == 422
    assert twice.json()["errors"][0]["field"] == "claim_ids[1]"
    unknown = await batch(claims_client, [str(uuid.uuid4())], total="16000.00")
    assert unknown.status_code == 422
    assert (await batch(claims_client, approved, headers=VILLAGE)).status_code == 403


async def test_only_approved_claims_are_paid(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, approved: list[str]
) -> None:
    household = registry.add_household()
    reported = (await apply(claims_client, household, **E1_EXPENSE)).json()["id"]
    response = await batch(claims_client, [approved[0], reported], total="32000.00")
    assert response.status_code == 409
    assert response.json()["code"] == "claim_not_payable"
    assert response.json()["extra"]["claim_ids"] == [reported]


async def test_batch_bank_file_and_confirmation_file(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, approved: list[str], session: AsyncSession
) -> None:
    created = await batch(claims_client, approved)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["declared_count"], body["declared_total"], body["status"]) == (2, "32000.00", "created")
    assert [p["bank_account"] for p in body["payments"]] == ["***************0123"] * 2
    assert len(registry.reveals) == 2
    assert all("claim payment" in purpose for _, purpose in registry.reveals)
    for claim_id in approved:
        assert (await claims_client.get(f"/v1/claims/{claim_id}", headers=COUNTY)).json()["state"] == "paying"

    bank = await claims_client.get(f"/v1/payments/batches/{body['id']}/bank-file", headers=COUNTY)
    assert bank.status_code == 200
    assert bank.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(bank.content.decode("utf-8-sig"))))
    assert [r["bank_account"] for r in rows] == ["6222021234567890123"] * 2
    assert {r["amount"] for r in rows} == {"16000.00"}
    assert rows[0]["account_holder"] == "张三丰"
    actions = (await session.execute(select(audit_log.c.action).where(audit_log.c.service == "claims"))).scalars().all()
    assert {"claims.bank_account.revealed", "claims.bank_file.exported", "claims.payment_batch.created"} <= set(actions)

    paid_id, failed_id = rows[0]["payment_id"], rows[1]["payment_id"]
    confirmation = (
        "payment_id,status,reason,bank_reference,paid_date\n"
        f"{paid_id},paid,,BK-001,2026-04-15\n"
        f"{failed_id},failed,账户已销户 account closed,,\n"
        f"{uuid.uuid4()},paid,,,2026-04-15\n"
        "not-a-uuid,paid,,,\n"
        f"{paid_id},paid,,BK-001,2026-04-15\n"
    )
    report = await claims_client.post(
        f"/v1/payments/batches/{body['id']}/confirmations",
        content=confirmation.encode(),
        headers={**COUNTY, "Content-Type": "text/csv"},
    )
    assert report.status_code == 200, report.text
    result = report.json()
    assert (result["rows"], result["paid"], result["failed"], result["unchanged"]) == (5, 1, 1, 1)
    assert [e["field"] for e in result["errors"]] == ["line 4", "line 5"]
    assert result["batch_status"] == "reconciled"

    paid = (await claims_client.get(f"/v1/payments/{paid_id}", headers=COUNTY)).json()
    assert (paid["status"], paid["paid_date"], paid["bank_reference"]) == ("paid", "2026-04-15", "BK-001")
    failed = (await claims_client.get(f"/v1/payments/{failed_id}", headers=COUNTY)).json()
    assert (failed["status"], failed["failure_reason"]) == ("failed", "账户已销户 account closed")
    messages = (await session.execute(select(outbox))).mappings().all()
    assert len(messages) == 1
    assert messages[0]["path"].endswith("/benefits")
    assert messages[0]["idempotency_key"] == f"claims:benefit:{paid_id}"
    assert messages[0]["body"] == {
        "source": "claims",
        "source_ref": paid_id,
        "programme": "anti_poverty_insurance",
        "category": "illness",
        "amount": "16000.00",
        "paid_date": "2026-04-15",
        "year": 2026,
    }


async def test_a_failed_payment_is_sent_again_never_twice(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, approved: list[str], session: AsyncSession
) -> None:
    claim_id = approved[0]
    first = (await batch(claims_client, [claim_id])).json()
    payment_id = first["payments"][0]["id"]
    failed = await claims_client.post(
        f"/v1/payments/{payment_id}/confirmation",
        json={"status": "failed", "reason": "户名不符 name mismatch"},
        headers=COUNTY,
    )
    assert failed.json()["changed"] is True
    claim = (await claims_client.get(f"/v1/claims/{claim_id}", headers=COUNTY)).json()
    assert claim["state"] == "payment_failed"
    registry.accounts[uuid.UUID(claim["household_id"])]["bank_account"] = "6228480000000009999"

    second = await batch(claims_client, [claim_id])
    assert second.status_code == 201, second.text
    again = second.json()["payments"][0]
    assert again["id"] == payment_id  # the same payment, a second attempt
    assert (again["attempts"], again["status"], again["bank_account"]) == (2, "pending", "***************9999")
    paid = await claims_client.post(
        f"/v1/payments/{payment_id}/confirmation", json={"status": "paid", "paid_date": "2026-04-20"}, headers=COUNTY
    )
    assert paid.json()["payment"]["status"] == "paid"
    assert (
        await session.execute(select(func.count()).select_from(payment).where(payment.c.claim_id == claim_id))
    ).scalar_one() == 1
    attempts = (
        await session.execute(
            select(payment_attempt.c.attempt, payment_attempt.c.status)
            .where(payment_attempt.c.payment_id == payment_id)
            .order_by(payment_attempt.c.attempt)
        )
    ).all()
    assert [tuple(a) for a in attempts] == [(1, "failed"), (2, "paid")]
    history = [
        t["action"] for t in (await claims_client.get(f"/v1/claims/{claim_id}/transitions", headers=COUNTY)).json()
    ]
    assert history[-4:] == ["start_payment", "fail_payment", "retry_payment", "confirm_payment"]
    # paid is final: no third batch, no contrary confirmation
    assert (await batch(claims_client, [claim_id])).status_code == 409
    contrary = await claims_client.post(
        f"/v1/payments/{payment_id}/confirmation", json={"status": "failed", "reason": "x"}, headers=COUNTY
    )
    assert contrary.status_code == 409
    assert contrary.json()["code"] == "payment_already_paid"


async def test_the_database_refuses_a_second_payment(
    claims_client: httpx.AsyncClient, approved: list[str], session: AsyncSession
) -> None:
    created = (await batch(claims_client, [approved[0]])).json()
    row = (await session.execute(select(payment).where(payment.c.claim_id == approved[0]))).mappings().one()
    duplicate = {**dict(row), "id": uuid.uuid4(), "status": "pending"}
    with pytest.raises(IntegrityError, match="uq_payment_claim_id"):
        async with session.begin_nested():
            await session.execute(payment.insert().values(**duplicate))
    assert created["payments"][0]["id"] == str(row["id"])


async def test_confirmations_validate_and_scope(claims_client: httpx.AsyncClient, approved: list[str]) -> None:
    payment_id = (await batch(claims_client, [approved[0]])).json()["payments"][0]["id"]
    no_date = await claims_client.post(
        f"/v1/payments/{payment_id}/confirmation", json={"status": "paid"}, headers=COUNTY
    )
    assert no_date.status_code == 422
    no_reason = await claims_client.post(
        f"/v1/payments/{payment_id}/confirmation", json={"status": "failed"}, headers=COUNTY
    )
    assert no_reason.status_code == 422
    elsewhere = await claims_client.post(
        f"/v1/payments/{payment_id}/confirmation",
        json={"status": "paid", "paid_date": "2026-04-15"},
        headers=auth("county_officer", "110101"),
    )
    assert elsewhere.status_code == 404
    as_service = await claims_client.post(
        f"/v1/payments/{payment_id}/confirmation", json={"status": "paid", "paid_date": "2026-04-15"}, headers=SERVICE
    )
    assert as_service.status_code == 200
    listed = await claims_client.get("/v1/payments?status=paid", headers=auth("auditor"))
    assert [p["id"] for p in listed.json()["items"]] == [payment_id]
    bad_file = await claims_client.post(
        f"/v1/payments/batches/{listed.json()['items'][0]['batch_id']}/confirmations",
        content=b"a,b\n1,2\n",
        headers={**COUNTY, "Content-Type": "text/csv"},
    )
    assert bad_file.status_code == 422


async def test_households_without_an_account_hold_the_batch(
    claims_client: httpx.AsyncClient, registry: FakeRegistry, approved: list[str]
) -> None:
    claim = (await claims_client.get(f"/v1/claims/{approved[1]}", headers=COUNTY)).json()
    registry.accounts.pop(uuid.UUID(claim["household_id"]))
    response = await batch(claims_client, approved)
    assert response.status_code == 409
    assert response.json()["code"] == "bank_account_missing"
    assert response.json()["extra"]["claim_ids"] == [approved[1]]
    state = (await claims_client.get(f"/v1/claims/{approved[0]}", headers=COUNTY)).json()["state"]
    assert state == "approved"  # nothing was paid


async def test_batch_with_an_idempotency_key_replays(claims_client: httpx.AsyncClient, approved: list[str]) -> None:
    headers = {**COUNTY, "Idempotency-Key": "batch-2026-04"}
    first = await batch(claims_client, approved, headers=headers)
    second = await batch(claims_client, approved, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]


async def test_an_oversized_confirmation_file_is_refused_by_the_service(
    claims_client: httpx.AsyncClient, approved: list[str], app_harness: AppHarness
) -> None:
    """The size limit is the use case's (any caller, not only the route): 413 before anything is read."""
    batch_id = uuid.UUID((await batch(claims_client, [approved[0]])).json()["id"])
    too_big = b"payment_id,status\n" + b"x" * MAX_CONFIRMATION_BYTES
    app = await app_harness.get("claims")
    officer = Principal(sub="county-officer", roles=frozenset({Role.COUNTY_OFFICER}), region=DEMO_COUNTY)
    async with app.state.sessionmaker() as session:
        with pytest.raises(PayloadTooLarge):
            await PaymentService(session, Runtime.from_app(app)).reconcile(officer, batch_id, too_big)
        # an unknown batch is refused for its size too: the check comes first
        with pytest.raises(PayloadTooLarge):
            await PaymentService(session, Runtime.from_app(app)).reconcile(officer, uuid.uuid4(), too_big)
    over_http = await claims_client.post(
        f"/v1/payments/batches/{batch_id}/confirmations",
        content=too_big,
        headers={**COUNTY, "Content-Type": "text/csv"},
    )
    assert over_http.status_code == 413
    assert over_http.json()["code"] == "payload_too_large"
