"""What every use case needs: the request's session and the app's resources, scope checks,
error mapping from the domain, the audit call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from fastapi import FastAPI
from pydantic import BaseModel

from services.screening.config import ScreeningSettings
from services.screening.domain.errors import ThresholdsInvalid, TransitionRefused
from shared.app import wake_outbox
from shared.auth import Principal
from shared.clock import BusinessClock
from shared.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from shared.idempotency import StoredResponse
from shared.jobs import JobRunner
from shared.pii import PiiCipher
from shared.results import STORED_CHANGED as STORED_CHANGED
from shared.results import STORED_CREATED as STORED_CREATED
from shared.results import STORED_JOB_ACCEPTED as STORED_JOB_ACCEPTED
from shared.results import Created as Created
from shared.results import require_cipher

SERVICE = "screening"

M = TypeVar("M", bound=BaseModel)


# --- what use cases answer (the route turns it into a status code and headers) ---------------


@dataclass(frozen=True)
class Replayed:
    """The stored first answer of a repeated `Idempotency-Key`, to be sent again as it was."""

    stored: StoredResponse


@dataclass
class Context:
    """Resources of one request (or one job, or one CLI call)."""

    settings: ScreeningSettings
    pii: PiiCipher | None
    clock: BusinessClock
    jobs: JobRunner
    app: FastAPI | None = None

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        """The county's business date (shared/clock.py)."""
        return self.clock.today()

    def cipher(self) -> PiiCipher:
        return require_cipher(self.pii)

    def wake_outbox(self) -> None:
        if self.app is not None:
            wake_outbox(self.app)


def context_from_app(app: FastAPI) -> Context:
    return Context(
        settings=app.state.settings,
        pii=app.state.pii,
        clock=app.state.clock,
        jobs=app.state.jobs,
        app=app,
    )


# --- scope ----------------------------------------------------------------------------------


def sees_county(principal: Principal, county_code: str) -> bool:
    """The caller's region and the county overlap: it covers the county or lies inside it."""
    return county_code.startswith(principal.region) or principal.region.startswith(county_code)


def require_county_read(principal: Principal, county_code: str, what: str = "resource") -> None:
    if not sees_county(principal, county_code):
        raise NotFound(f"no such {what} in your region", code="not_found")


def require_county_write(principal: Principal, county_code: str) -> None:
    """Writes to a county-wide resource need a region covering the whole county."""
    if not principal.can_see(county_code):
        raise Forbidden(
            f"county {county_code} is outside your region {principal.region or '(all)'}", code="out_of_scope"
        )


# --- errors ---------------------------------------------------------------------------------


def thresholds_invalid(exc: ThresholdsInvalid, prefix: str = "values") -> Unprocessable:
    return Unprocessable(
        "the thresholds are not valid",
        code="invalid_thresholds",
        errors=[FieldError(field=f"{prefix}.{e.field}", message=e.message) for e in exc.errors],
    )


def transition_refused(exc: TransitionRefused) -> Conflict:
    return Conflict(
        exc.message,
        code=exc.code,
        errors=[FieldError(field=f"evidence.{f}", message=exc.message, code=exc.code) for f in exc.fields] or None,
    )
