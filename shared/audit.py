"""Append-only, hash-chained audit log shared by the three services (schema `audit`).

Each row's hash covers its own content and the previous row's hash, so editing or deleting a
row breaks the chain at that row; `verify_chain` names the first broken one. Appends take a
transaction-scoped advisory lock so the chain stays linear across services and replicas; call
`append` last in a transaction, just before the commit, to hold it briefly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.auth import Principal
from shared.kernel_tables import audit_log
from shared.logging import request_id_var

GENESIS = b"\x00" * 32
_AUDIT_LOCK = 7_301_160_001  # arbitrary constant: the advisory lock id that serialises appends


def _canonical(row: dict[str, Any]) -> bytes:
    fields = {
        "id": row["id"],
        "occurred_at": row["occurred_at"].astimezone(UTC).isoformat(timespec="microseconds"),
        "service": row["service"],
        "actor_sub": row["actor_sub"],
        "actor_roles": row["actor_roles"],
        "actor_region": row["actor_region"],
        "action": row["action"],
        "resource_type": row["resource_type"],
        "resource_id": row["resource_id"],
        "request_id": row["request_id"],
        "detail": row["detail"],
    }
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def chain_hash(prev_hash: bytes, row: dict[str, Any]) -> bytes:
    return hashlib.sha256(prev_hash + _canonical(row)).digest()


async def append(
    session: AsyncSession,
    *,
    service: str,
    actor: Principal | None,
    action: str,
    resource_type: str,
    resource_id: object,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one row; `resource_id` may be any id (a UUID, an int), stored as text."""
    await session.execute(select(func.pg_advisory_xact_lock(_AUDIT_LOCK)))
    prev = (
        await session.execute(select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1))
    ).scalar_one_or_none()
    new_id = (await session.execute(text("SELECT nextval('audit.audit_log_id_seq')"))).scalar_one()
    row: dict[str, Any] = {
        "id": new_id,
        "occurred_at": datetime.now(UTC),
        "service": service,
        "actor_sub": actor.sub if actor else None,
        "actor_roles": ",".join(sorted(r.value for r in actor.roles)) if actor else None,
        "actor_region": actor.region if actor else None,
        "action": action,
        "resource_type": resource_type,
        "resource_id": None if resource_id is None else str(resource_id),
        "request_id": request_id_var.get(),
        # round-trip through JSON so the hashed form equals what jsonb gives back
        "detail": json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str)),
    }
    prev_hash = prev if prev is not None else GENESIS
    row["prev_hash"] = prev_hash
    row["hash"] = chain_hash(prev_hash, row)
    await session.execute(audit_log.insert().values(**row))
    return int(new_id)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows_checked: int
    first_broken_id: int | None = None
    reason: str | None = None


async def verify_chain(conn: AsyncConnection | AsyncSession, *, batch: int = 5000) -> ChainReport:
    """Walk the chain in id order; report the first row whose link or content does not match."""
    prev_hash = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = (
            (
                await conn.execute(
                    select(audit_log).where(audit_log.c.id > last_id).order_by(audit_log.c.id).limit(batch)
                )
            )
            .mappings()
            .all()
        )
        if not rows:
            return ChainReport(ok=True, rows_checked=checked)
        for row in rows:
            if bytes(row["prev_hash"]) != prev_hash:
                return ChainReport(False, checked, row["id"], "prev_hash does not link to the row before")
            if chain_hash(prev_hash, dict(row)) != bytes(row["hash"]):
                return ChainReport(False, checked, row["id"], "content does not match its hash")
            prev_hash = bytes(row["hash"])
            checked += 1
            last_id = row["id"]


@dataclass(frozen=True)
class Auditor:
    """Who audits: the service, the session of the use case's transaction, the acting principal.

    `await Auditor(session, "claims", principal).record("claims.claim.approve", "claim", claim_id, {...})`
    appends one row to the hash chain. Call it last before the commit: it takes the chain's lock.
    """

    session: AsyncSession
    service: str
    principal: Principal | None

    async def record(
        self, action: str, resource_type: str, resource_id: object, detail: dict[str, Any] | None = None
    ) -> int:
        return await append(
            self.session,
            service=self.service,
            actor=self.principal,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            detail=detail,
        )
