"""Errors raised by the screening domain.

The domain knows nothing about HTTP: each error carries a stable machine ``code`` and the
service layer maps it to a status (``ThresholdsInvalid`` → 422, ``TransitionRefused`` → 409).
"""

from __future__ import annotations

from dataclasses import dataclass


class ScreeningDomainError(Exception):
    """Base of every error the screening domain raises on purpose."""

    code: str = "screening_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class FieldError:
    """One validation failure, rendered as ``{field, message}`` in a problem+json body."""

    field: str
    message: str


class ThresholdsInvalid(ScreeningDomainError):
    code = "invalid_thresholds"

    def __init__(self, errors: list[FieldError] | tuple[FieldError, ...]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        summary = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        super().__init__(f"invalid thresholds: {summary}")


class TransitionRefused(ScreeningDomainError):
    """A case transition that the workflow does not allow (rendered as 409).

    ``code`` is one of :data:`services.screening.domain.cases.REFUSAL_CODES`; ``fields`` names
    the evidence keys that were missing or invalid, when that is the reason.
    """

    def __init__(self, code: str, message: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.fields = fields

    def __repr__(self) -> str:
        return f"TransitionRefused({self.code!r}, {self.message!r})"
