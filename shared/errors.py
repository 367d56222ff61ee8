"""One error base for every service, rendered as RFC 9457 problem+json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field


def instance_of(scope: Mapping[str, Any]) -> str:
    """A problem's `instance`: the request path as it came, percent-encoded, bounded.

    The raw path, not the decoded one, so that a NUL or a control character a caller sent in the
    path is never echoed back (or into a log) as a character.
    """
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes | bytearray) else quote(str(scope.get("path", "")))
    return path.split("?", 1)[0][:512]


class FieldError(BaseModel):
    field: str = Field(examples=["members[0].national_id"])
    message: str = Field(examples=["check digit does not match (校验码错误)"])
    code: str | None = Field(default=None, examples=["invalid_check_digit"])


class Problem(BaseModel):
    """RFC 9457 problem details with a stable machine `code`."""

    type: str = "about:blank"
    title: str
    status: int
    code: str = Field(description="stable machine-readable error code", examples=["version_conflict"])
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None
    extra: dict[str, Any] | None = Field(default=None, description="context for the code, e.g. the existing resource")


class ServiceError(Exception):
    """A failure the client can act on. Subclasses fix the HTTP status."""

    status_code = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        if code:
            self.code = code
        self.errors = errors
        self.extra = extra
        self.headers = headers or {}

    def problem(self, *, instance: str | None = None, request_id: str | None = None) -> Problem:
        return Problem(
            title=self.title,
            status=self.status_code,
            code=self.code,
            detail=self.detail,
            instance=instance,
            request_id=request_id,
            errors=self.errors,
            extra=self.extra,
        )


class BadRequest(ServiceError):
    status_code = 400
    code = "bad_request"
    title = "Bad request"


class Unauthorized(ServiceError):
    status_code = 401
    code = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str | None = None, *, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"WWW-Authenticate": 'Bearer realm="fangpin"'})


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"
    title = "Not found"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"
    title = "Conflict"


class PreconditionFailed(ServiceError):
    status_code = 412
    code = "version_conflict"
    title = "The resource changed since you read it"


class PreconditionRequired(ServiceError):
    status_code = 428
    code = "if_match_required"
    title = "If-Match header required"


class Unprocessable(ServiceError):
    status_code = 422
    code = "validation_failed"
    title = "The request is not valid"


class PayloadTooLarge(ServiceError):
    status_code = 413
    code = "payload_too_large"
    title = "Payload too large"


class ServiceUnavailable(ServiceError):
    status_code = 503
    code = "dependency_unavailable"
    title = "A service this request needs is unavailable"


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the problems a route can return."""
    return {status: {"model": Problem, "content": {"application/problem+json": {}}} for status in statuses}
