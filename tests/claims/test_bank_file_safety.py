"""Issue 9 (2): the bank file neutralises formula-leading names; producing it is a reveal (payment roles, audited)."""

from __future__ import annotations

import csv
import io

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.kernel_tables import audit_log
from tests.claims.conftest import COUNTY, INSURER, FakeRegistry
from tests.claims.test_payments import approved, batch  # noqa: F401  (the fixture)
from tests.support.tokens import auth

LINK = '=HYPERLINK("http://x","y")'


async def test_bank_file_neutralises_formulas_and_is_an_audited_reveal(
    claims_client: httpx.AsyncClient,
    registry: FakeRegistry,
    approved: list[str],  # noqa: F811
    session: AsyncSession,
) -> None:
    for account in registry.accounts.values():
        account["account_holder"] = LINK
        account["bank_name"] = "@农业银行"
    created = await batch(claims_client, approved)
    assert created.status_code == 201, created.text
    batch_id = created.json()["id"]

    for headers in (INSURER, auth("auditor", "410602"), auth("village_cadre", "410602100201")):
        refused = await claims_client.get(f"/v1/payments/batches/{batch_id}/bank-file", headers=headers)
        assert refused.status_code in (403, 404), refused.text
        assert "6222021234567890123" not in refused.text

    before = (
        (await session.execute(select(audit_log.c.id).where(audit_log.c.action == "claims.bank_file.exported")))
        .scalars()
        .all()
    )
    assert before == []  # the refused attempts revealed nothing and recorded no export

    bank = await claims_client.get(f"/v1/payments/batches/{batch_id}/bank-file", headers=COUNTY)
    assert bank.status_code == 200
    assert bank.headers["cache-control"] == "no-store"
    assert bank.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(bank.content.decode("utf-8-sig"), newline="")))
    assert [r["account_holder"] for r in rows] == ["'" + LINK] * 2
    assert {r["bank_name"] for r in rows} == {"'@农业银行"}
    assert [r["bank_account"] for r in rows] == ["6222021234567890123"] * 2  # the bank pays to them
    assert {r["amount"] for r in rows} == {"16000.00"}

    exported = (
        await session.execute(
            select(audit_log.c.actor_sub, audit_log.c.resource_id, audit_log.c.detail).where(
                audit_log.c.action == "claims.bank_file.exported"
            )
        )
    ).all()
    assert len(exported) == 1
    assert exported[0].resource_id == batch_id
    assert exported[0].detail["lines"] == 2
