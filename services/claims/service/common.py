"""What every claims use case shares: runtime resources, scope checks, idempotency, errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.claims.clients.registry import RegistryClient
from services.claims.config import ClaimsSettings
from services.claims.db.tables import idempotency
from services.claims.domain.values import InvalidInput
from shared import audit
from shared.auth import Principal
from shared.errors import FieldError, ServiceUnavailable, Unprocessable
from shared.idempotency import IdempotencyStore, fingerprint
from shared.pii import PiiCipher

SERVICE = "claims"

M = TypeVar("M", bound=BaseModel)


@dataclass
class Runtime:
    """The app's resources a use case needs (read from `app.state`, built once per request)."""

    settings: ClaimsSettings
    registry: RegistryClient
    pii: PiiCipher | None
    sessionmaker: async_sessionmaker[AsyncSession]

    @classmethod
    def from_app(cls, app: FastAPI) -> Runtime:
        return cls(
            settings=app.state.settings,
            registry=RegistryClient(app.state.clients["registry"]),
            pii=app.state.pii,
            sessionmaker=app.state.sessionmaker,
        )

    def today(self) -> date:
        return self.settings.today()

    def cipher(self) -> PiiCipher:
        if self.pii is None:
            raise ServiceUnavailable(
                "personal-data keys are not configured (FANGPIN_PII_KEY, FANGPIN_PII_INDEX_KEY)",
                code="pii_not_configured",
            )
        return self.pii


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


async def write_audit(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    resource_type: str,
    resource_id: object,
    detail: dict[str, Any] | None = None,
) -> None:
    await audit.append(
        session,
        service=SERVICE,
        actor=principal,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        detail=detail,
    )


class Idempotency:
    """`Idempotency-Key` for one request: replay a stored response, or store this one (same transaction)."""

    store = IdempotencyStore(idempotency)

    def __init__(self, principal: Principal, operation: str, key: str | None, payload: Any) -> None:
        self.key = key
        self.scope = f"{principal.sub}:{operation}"
        self.request_hash = fingerprint(payload)

    async def replay(self, session: AsyncSession, model: type[M]) -> tuple[int, M] | None:
        if self.key is None:
            return None
        stored = await self.store.lookup(session, scope=self.scope, key=self.key, request_hash=self.request_hash)
        if stored is None:
            return None
        return stored.status_code, model.model_validate(stored.body)

    async def save(self, session: AsyncSession, status_code: int, body: BaseModel) -> None:
        if self.key is not None:
            await self.store.save(
                session,
                scope=self.scope,
                key=self.key,
                request_hash=self.request_hash,
                status_code=status_code,
                body=body,
            )


async def idempotent(
    session: AsyncSession,
    guard: Idempotency,
    model: type[M],
    work: Callable[[], Awaitable[tuple[int, M]]],
) -> tuple[int, M]:
    """Run `work` in the session's transaction unless the key replays; store and commit its answer."""
    replayed = await guard.replay(session, model)
    if replayed is not None:
        await session.rollback()
        return replayed
    status_code, body = await work()
    await guard.save(session, status_code, body)
    await session.commit()
    return status_code, body
