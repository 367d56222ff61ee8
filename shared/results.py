"""What a write use case answers, in every service; the route turns it into a status and headers.

A use case returns `Created(value, created, replayed)`: the read model; whether this call created
the resource (False: it existed already, or the call changed an existing one); whether it is the
stored first answer of an earlier identical request (`Idempotency-Key`). Use cases never choose
HTTP codes, but the kernel's key store (shared/idempotency.py) keeps each first answer with the
status it was sent with, so that a replay is sent as it was: the three it stores are named here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.errors import ServiceUnavailable
from shared.idempotency import StoredResponse
from shared.pii import PiiCipher

M = TypeVar("M", bound=BaseModel)

STORED_JOB_ACCEPTED, STORED_CREATED, STORED_CHANGED = 202, 201, 200


@dataclass(frozen=True)
class Created(Generic[M]):
    value: M
    created: bool = True
    replayed: bool = False


def stored_status(result: Created[Any]) -> int:
    """The status the key store keeps for `result` (rows stored before this type read back alike)."""
    return STORED_CREATED if result.created else STORED_CHANGED


def from_stored(stored: StoredResponse, model: type[M]) -> Created[M]:
    """The first answer of a repeated request, read back into its read model."""
    return Created(model.model_validate(stored.body), created=stored.status_code != STORED_CHANGED, replayed=True)


def require_cipher(pii: PiiCipher | None) -> PiiCipher:
    """The personal-data cipher, or 503 when the service runs without its keys."""
    if pii is None:
        raise ServiceUnavailable(
            "personal-data keys are not configured (FANGPIN_PII_KEY, FANGPIN_PII_INDEX_KEY)",
            code="pii_not_configured",
        )
    return pii
