from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.auth import Principal, Role

ACTOR = Principal(sub="u1", roles=frozenset({Role.COUNTY_OFFICER}), region="410602")


async def _append(session: AsyncSession, n: int) -> list[int]:
    return [
        await audit.append(
            session,
            service="registry",
            actor=ACTOR,
            action="household.update",
            resource_type="household",
            resource_id=f"h{i}",
            detail={"field": "phone", "i": i, "名称": "鹤山区"},
        )
        for i in range(n)
    ]


async def test_chain_verifies_when_untouched(session: AsyncSession) -> None:
    ids = await _append(session, 5)
    report = await audit.verify_chain(session)
    assert report.ok
    assert report.rows_checked >= 5
    assert ids == sorted(ids)


async def test_altered_row_is_named(session: AsyncSession) -> None:
    ids = await _append(session, 6)
    # tamper as a superuser would: bypass the append-only trigger, then edit one row's content
    await session.execute(text("SET LOCAL session_replication_role = replica"))
    await session.execute(
        text("UPDATE audit.audit_log SET detail = jsonb_set(detail, '{field}', '\"bank_account\"') WHERE id = :id"),
        {"id": ids[3]},
    )
    report = await audit.verify_chain(session)
    assert not report.ok
    assert report.first_broken_id == ids[3]
    assert "hash" in (report.reason or "")


async def test_deleted_row_breaks_the_link_of_the_next(session: AsyncSession) -> None:
    ids = await _append(session, 4)
    await session.execute(text("SET LOCAL session_replication_role = replica"))
    await session.execute(text("DELETE FROM audit.audit_log WHERE id = :id"), {"id": ids[1]})
    report = await audit.verify_chain(session)
    assert report.first_broken_id == ids[2]
    assert "prev_hash" in (report.reason or "")


async def test_log_is_append_only_for_ordinary_writes(session: AsyncSession) -> None:
    ids = await _append(session, 1)
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("UPDATE audit.audit_log SET action = 'x' WHERE id = :id"), {"id": ids[0]})


async def test_the_auditor_records_who_did_what_on_the_chain(session: AsyncSession) -> None:
    auditor = audit.Auditor(session, "claims", ACTOR)
    first = await auditor.record("claims.claim.approve", "claim", 42, {"today": "2026-04-05"})
    second = await audit.Auditor(session, "claims", None).record("claims.claim.close", "claim", "c-1")
    rows = (
        await session.execute(
            text(
                "SELECT service, actor_sub, actor_roles, actor_region, action, resource_type, resource_id, detail"
                " FROM audit.audit_log WHERE id IN (:a, :b) ORDER BY id"
            ),
            {"a": first, "b": second},
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("claims", "u1", "county_officer", "410602", "claims.claim.approve", "claim", "42", {"today": "2026-04-05"}),
        ("claims", None, None, None, "claims.claim.close", "claim", "c-1", {}),
    ]
    assert (await audit.verify_chain(session)).ok
