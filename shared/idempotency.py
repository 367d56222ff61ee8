"""`Idempotency-Key` support: the first response is stored with the effect it describes.

The key row is written in the same transaction as the change, under an advisory lock on the
key, so two concurrent requests with one key serialise and the second replays the first's
response; a crash before the commit leaves neither the change nor the key.

One mechanism for the three services (`Idempotency`):

- a key belongs to its caller and its route: the stored scope is the route (method and path
  template), the resource id where the route has one, and the caller (token `sub` and region).
  Another caller sending the same key string gets its own fresh effect, never the first
  caller's response;
- a stored response is only looked up after the caller's checks: `Idempotency.begin` takes the
  `authorize` callable (load the resource under the caller's scope — 404 outside it — then the
  role check) and runs it before it touches the key, so a replay can never answer a caller a
  GET would answer 404 or 403. Order: authenticate (the route's dependency) → `authorize` →
  look up / replay → act → `Attempt.save` (same transaction) → commit;
- a replayed answer carries `Idempotency-Replayed: true` (`REPLAY_HEADER`) in every service.

`IdempotencyStore` is the storage underneath; services do not call it directly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Header, Response
from pydantic import BaseModel
from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.errors import Conflict, Unprocessable

REPLAY_HEADER = "Idempotency-Replayed"
REPLAY_HEADERS = {REPLAY_HEADER: "true"}
SCOPE_MAX = 200  # the scope column's length

T = TypeVar("T")

# The route's response (set by the header dependency): a replay marks it with REPLAY_HEADER, so
# routes that return a model carry the header without plumbing a flag through every use case.
_route_response: ContextVar[Response | None] = ContextVar("idempotency_route_response", default=None)


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


def validate_idempotency_key(value: str | None) -> str | None:
    """The `Idempotency-Key` header's value, checked (for a route that reads its headers itself)."""
    return _validate_key(value)


async def idempotency_key_header(
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="幂等键: retrying a POST with the same key returns the first response instead of acting twice",
        ),
    ] = None,
) -> str | None:
    _route_response.set(response)
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

    async def lookup(self, session: AsyncSession, *, scope: str, key: str, request_hash: str) -> StoredResponse | None:
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


def caller_scope(principal: Principal, route: str, resource: object | None = None) -> str:
    """The stored scope of a key: route (`"POST /v1/cases/{case_id}/transitions"`), resource id, caller.

    The caller is the token's `sub` and region, so a key never answers another caller, nor the
    same subject acting with another region. Long scopes keep a readable head and a digest.
    """
    parts = [route, "" if resource is None else str(resource), f"{principal.sub}@{principal.region}"]
    scope = "|".join(parts)
    if len(scope) > SCOPE_MAX:
        digest = hashlib.sha256(scope.encode()).hexdigest()
        scope = f"{scope[: SCOPE_MAX - len(digest) - 1]}#{digest}"
    return scope


@dataclass
class Attempt(Generic[T]):
    """One request under an Idempotency-Key, after its checks: `checked` is what `authorize` returned;
    `replay` is the stored first response (answer it as it is) or None (act, then `save`)."""

    checked: T
    replay: StoredResponse | None
    _store: IdempotencyStore = field(repr=False)
    _scope: str = field(repr=False)
    _key: str | None = field(repr=False)
    _request_hash: str = field(repr=False)

    @property
    def replayed(self) -> bool:
        return self.replay is not None

    async def save(self, session: AsyncSession, status_code: int, body: Any) -> None:
        """Store this response with the effect (same transaction); nothing without a key."""
        if self._key is None or self.replay is not None:
            return
        await self._store.save(
            session,
            scope=self._scope,
            key=self._key,
            request_hash=self._request_hash,
            status_code=status_code,
            body=body,
        )


class Idempotency:
    """The one way a service route honours `Idempotency-Key` (see the module docstring)."""

    def __init__(self, table: Table) -> None:
        self.store = IdempotencyStore(table)

    async def begin(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        route: str,
        key: str | None,
        payload: Any,
        authorize: Callable[[], Awaitable[T]],
        resource: object | None = None,
    ) -> Attempt[T]:
        """Run the caller's checks, then (only then) look the key up under the caller's scope.

        `authorize` loads the resource under the caller's scope (404 outside it) and checks the
        role; whatever it raises is answered before any stored response is considered. On a
        replay the transaction is still open (the key's lock is held): end it (commit or roll back).
        """
        checked = await authorize()
        scope = caller_scope(principal, route, resource)
        request_hash = fingerprint(payload)
        stored = None
        if key is not None:
            stored = await self.store.lookup(session, scope=scope, key=key, request_hash=request_hash)
        if stored is not None and (response := _route_response.get()) is not None:
            response.headers.update(REPLAY_HEADERS)
        return Attempt(checked, stored, self.store, scope, key, request_hash)


async def no_checks() -> None:
    """`authorize` for a route whose dependency already did every check (nothing to load)."""
    return None
