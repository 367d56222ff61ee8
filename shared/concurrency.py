"""Optimistic concurrency: the one `If-Match` dependency and the one version check.

A resource's ETag is its version, `"3"`. A route takes `if_match: IfMatch` (the parsed header,
`None` when absent); the service calls `require_version(if_match, current, what=...)`, or with
`required=False` where the header is optional (sent: it must be current; absent: no check).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from shared.errors import PreconditionFailed, PreconditionRequired

#: `If-Match: *`: any current version (RFC 9110), for clients that do not track versions.
ANY_VERSION = -1

_MAX_DIGITS = 9


def parse_if_match(header: str | None) -> int | None:
    """`"3"`, `W/"3"` or `3` → 3; `*` → ANY_VERSION; absent → None; anything else 412 `invalid_if_match`."""
    if header is None:
        return None
    value = header.strip()
    if value == "*":
        return ANY_VERSION
    value = value.removeprefix("W/").strip().strip('"')
    if not value.isascii() or not value.isdigit() or len(value) > _MAX_DIGITS:
        raise PreconditionFailed('If-Match must be an ETag this API issued, e.g. "3"', code="invalid_if_match")
    return int(value)


def etag(version: int) -> str:
    """The ETag of a version: `"3"`."""
    return f'"{version}"'


def require_version(if_match: int | None, current: int, *, what: str = "resource", required: bool = True) -> None:
    """428 `if_match_required` when required and absent; 412 `version_conflict` when not `current`."""
    if if_match is None:
        if required:
            raise PreconditionRequired(
                f"send If-Match with the {what}'s current ETag (version) to change it", code="if_match_required"
            )
        return
    if if_match != ANY_VERSION and if_match != current:
        raise PreconditionFailed(
            f"the {what} is at version {current}, not {if_match}: read it again",
            code="version_conflict",
            extra={"current_version": current},
        )


async def if_match_header(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="the ETag (version) you read (乐观锁): 412 if it changed since; 428 if missing where required",
        ),
    ] = None,
) -> int | None:
    return parse_if_match(if_match)


#: The parsed `If-Match` header of a request (None when absent).
IfMatch = Annotated[int | None, Depends(if_match_header)]
