"""What every claims use case shares: runtime resources, scope checks, idempotency, errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.claims.clients.registry import RegistryClient
from services.claims.config import ClaimsSettings
from services.claims.db.tables import idempotency
from services.claims.domain.values import InvalidInput
from shared.auth import Principal
from shared.clock import BusinessClock
from shared.errors import FieldError, Unprocessable
from shared.idempotency import Attempt, no_checks
from shared.idempotency import Idempotency as KeyedRequests
from shared.pii import PiiCipher
from shared.results import STORED_CHANGED, Created, from_stored, require_cipher, stored_status

SERVICE = "claims"

M = TypeVar("M", bound=BaseModel)


@dataclass
class Runtime:
    """The app's resources a use case needs (read from `app.state`, built once per request)."""

    settings: ClaimsSettings
    registry: RegistryClient
    pii: PiiCipher | None
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: BusinessClock = field(default_factory=BusinessClock)

    @classmethod
    def from_app(cls, app: FastAPI) -> Runtime:
        return cls(
            settings=app.state.settings,
            registry=RegistryClient(app.state.clients["registry"]),
            pii=app.state.pii,
            sessionmaker=app.state.sessionmaker,
            clock=app.state.clock,
        )

    def today(self) -> date:
        """The county's business date (shared/clock.py)."""
        return self.clock.today()

    def cipher(self) -> PiiCipher:
        return require_cipher(self.pii)


def sees_county(principal: Principal, county_code: str) -> bool:
    """County-level reference data (schemes): visible to anyone whose region overlaps the county."""
    region = principal.region
    return not region or county_code.startswith(region) or region.startswith(county_code)


def field_errors(exc: InvalidInput, prefix: str = "") -> list[FieldError]:
    out = []
    for path, message in exc.errors:
        name = path if path != "(root)" else ""
        full = f"{prefix}.{name}" if prefix and name else (prefix or name or "body")
        out.append(FieldError(field=full, message=message))
    return out


def invalid(exc: InvalidInput, prefix: str, code: str, detail: str) -> Unprocessable:
    return Unprocessable(detail, code=code, errors=field_errors(exc, prefix))


KEYS = KeyedRequests(idempotency)


@dataclass(frozen=True)
class Idempotency:
    """`Idempotency-Key` for one request, on the kernel's mechanism (shared.idempotency): the key is
    the caller's (sub and region) for this `route` ("POST /v1/notices/{notice_id}/objections") and
    `resource`; `authorize` (the resource under the caller's scope, 404 outside it, and the role)
    runs before the key is looked up. Use cases that check the scope before building the guard
    pass nothing (`no_checks`)."""

    principal: Principal
    route: str
    key: str | None
    payload: Any
    resource: object | None = None
    authorize: Callable[[], Awaitable[object]] = no_checks

    async def replay(self, session: AsyncSession, model: type[M]) -> Created[M] | None:
        """The stored answer of the caller's key, after `authorize`, without acting (a use case that
        looks early, before remote reads; it runs `idempotent` afterwards, which looks again)."""
        attempt = await KEYS.begin(
            session,
            self.principal,
            route=self.route,
            resource=self.resource,
            key=self.key,
            payload=self.payload,
            authorize=self.authorize,
        )
        if attempt.replay is None:
            return None
        return from_stored(attempt.replay, model)


async def save_answer(session: AsyncSession, attempt: Attempt[Any], value: BaseModel) -> None:
    """Store the answer of a use case that changes an existing resource (no create) under its key."""
    await attempt.save(session, STORED_CHANGED, value)


async def idempotent(
    session: AsyncSession,
    guard: Idempotency,
    model: type[M],
    work: Callable[[], Awaitable[Created[M]]],
) -> Created[M]:
    """The checks, then the stored answer of the caller's key (marked `Idempotency-Replayed`), or
    `work` in the session's transaction with its answer stored and committed."""
    attempt = await KEYS.begin(
        session,
        guard.principal,
        route=guard.route,
        resource=guard.resource,
        key=guard.key,
        payload=guard.payload,
        authorize=guard.authorize,
    )
    if attempt.replay is not None:
        await session.rollback()
        return from_stored(attempt.replay, model)
    result = await work()
    await attempt.save(session, stored_status(result), result.value)
    await session.commit()
    return result
