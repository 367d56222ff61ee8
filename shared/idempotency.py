"""`Idempotency-Key` support: the first response is stored with the effect it describes.

The key row is written in the same transaction as the change, under an advisory lock on the
key, so two concurrent requests with one key serialise and the second replays the first's
response; a crash before the commit leaves neither the change nor the key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel
from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict, Unprocessable


def _validate_key(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > 200 or not value.isprintable():
        raise Unprocessable(
            "Idempotency-Key must be 1–200 printable characters",
            code="invalid_idempotency_key",
        )
    return value


async def idempotency_key_header(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="幂等键: retrying a POST with the same key returns the first response instead of acting twice",
        ),
    ] = None,
) -> str | None:
    return _validate_key(idempotency_key)


def fingerprint(payload: Any) -> str:
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode()).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


class IdempotencyStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    async def lookup(
        self, session: AsyncSession, *, scope: str, key: str, request_hash: str
    ) -> StoredResponse | None:
        """Lock the key for this transaction and return the stored response, if any."""
        await session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"{self.table.schema}:{scope}:{key}", 0)))
        )
        row = (
            await session.execute(
                select(self.table.c.request_hash, self.table.c.status_code, self.table.c.response).where(
                    self.table.c.scope == scope, self.table.c.key == key
                )
            )
        ).one_or_none()
        if row is None:
            return None
        if row.request_hash != request_hash:
            raise Conflict(
                "this Idempotency-Key was already used with a different request body",
                code="idempotency_key_reused",
            )
        return StoredResponse(row.status_code, row.response)

    async def save(
        self,
        session: AsyncSession,
        *,
        scope: str,
        key: str,
        request_hash: str,
        status_code: int,
        body: Any,
    ) -> None:
        if isinstance(body, BaseModel):
            body = body.model_dump(mode="json")
        await session.execute(
            insert(self.table)
            .values(scope=scope, key=key, request_hash=request_hash, status_code=status_code, response=body)
            .on_conflict_do_nothing()
        )
