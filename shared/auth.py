"""Bearer-JWT authentication, roles and region scope, as FastAPI dependencies.

A token carries `sub`, `roles`, `region` (the division-code prefix the caller may see; empty
for national scope), optionally `department` (feed clients), `exp` and `aud`. Keys come from
config: an HS256 shared secret for the embedded default, or a JWKS URL for a real identity
provider (RS256/ES256).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import jwt
from fastapi import Depends, Request

from shared.contracts.vocabulary import Role as Role  # re-exported: the vocabulary owns it
from shared.db import request_session
from shared.errors import Forbidden, Unauthorized
from shared.settings import ServiceSettings

T = TypeVar("T")


@dataclass(frozen=True)
class Principal:
    sub: str
    roles: frozenset[Role]
    region: str = ""
    department: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def has_any(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def can_see(self, region_code: str | None) -> bool:
        """True when a resource in `region_code` lies inside the caller's region."""
        if not self.region:
            return True
        return region_code is not None and region_code.startswith(self.region)

    @property
    def primary_role(self) -> Role:
        order = list(Role)
        return sorted(self.roles, key=order.index)[0] if self.roles else Role.AUDITOR


def mint_token(
    secret: str,
    *,
    sub: str,
    roles: Iterable[str],
    region: str = "",
    department: str | None = None,
    ttl_seconds: int = 3600,
    audience: str = "fangpin",
    issuer: str = "fangpin",
    now: float | None = None,
) -> str:
    issued = int(now if now is not None else time.time())
    payload: dict[str, Any] = {
        "sub": sub,
        "roles": [Role(r).value for r in roles],
        "region": region,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "aud": audience,
        "iss": issuer,
        "jti": uuid.uuid4().hex,
    }
    if department:
        payload["department"] = department
    return jwt.encode(payload, secret, algorithm="HS256")


# Verified tokens kept per process: a mobile app sends the same token with every request for its
# lifetime, and checking the signature and claims again each time cost more CPU than the read it
# guarded. Bounded (least recently used out first), keyed by the raw token string.
TOKEN_CACHE_SIZE = 4096


class TokenVerifier:
    """Checks signature, `exp`, `aud` and `iss` of every token, shared-secret and JWKS alike.

    A token that passed is remembered (its principal, until its `exp`) in a bounded LRU keyed by
    the raw token: the same token is not decoded again while it is valid, and is checked in full
    again (401 `token_expired`) once `exp` has passed. Failures are never cached.
    """

    def __init__(self, settings: ServiceSettings, *, cache_size: int = TOKEN_CACHE_SIZE) -> None:
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._cache_size = cache_size
        self._audience = settings.jwt_audience
        self._issuer = settings.jwt_issuer
        self._jwks_issuer = settings.jwks_issuer or settings.jwt_issuer
        self._secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None
        if not self._secret and not self._jwks:
            raise RuntimeError("set FANGPIN_JWT_SECRET or FANGPIN_JWKS_URL")

    async def verify(self, token: str) -> Principal:
        cached = self._cache.get(token)
        if cached is not None:
            if time.time() < cached[0]:
                self._cache.move_to_end(token)
                return cached[1]
            del self._cache[token]  # expired: the full check below answers token_expired
        principal = await self._verify(token)
        expires = principal.claims.get("exp")
        if isinstance(expires, int | float) and self._cache_size > 0:
            self._cache[token] = (float(expires), principal)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> Principal:
        try:
            if self._jwks is not None and jwt.get_unverified_header(token).get("alg", "").upper() != "HS256":
                # PyJWKClient fetches over blocking urllib; keep it off the event loop.
                signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                claims = jwt.decode(
                    token,
                    signing_key.key,
                    algorithms=["RS256", "ES256", "PS256"],
                    audience=self._audience,
                    issuer=self._jwks_issuer,
                    options={"require": ["exp", "sub", "aud", "iss"]},
                )
            elif self._secret is not None:
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=["HS256"],
                    audience=self._audience,
                    issuer=self._issuer,
                    options={"require": ["exp", "sub", "aud", "iss"]},
                )
            else:
                raise Unauthorized("token algorithm not accepted", code="invalid_token")
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token has expired", code="token_expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("token audience is not accepted", code="invalid_audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthorized("token issuer is not accepted", code="invalid_issuer") from exc
        except (jwt.PyJWTError, jwt.PyJWKClientError, ValueError) as exc:
            raise Unauthorized("token is not valid", code="invalid_token") from exc
        try:
            roles = frozenset(Role(r) for r in claims.get("roles", []))
        except ValueError as exc:
            raise Unauthorized("token names an unknown role", code="invalid_token") from exc
        region = str(claims.get("region", ""))
        if region and not region.isdigit():
            raise Unauthorized("token region must be a division code prefix", code="invalid_token")
        return Principal(
            sub=str(claims["sub"]),
            roles=roles,
            region=region,
            department=claims.get("department"),
            claims=claims,
        )


async def verify_header(verifier: TokenVerifier, header: str) -> Principal:
    """The principal of an `Authorization: Bearer <token>` header value (401 problems otherwise)."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>", code="missing_token")
    return await verifier.verify(token.strip())


async def authenticate(request: Request) -> Principal:
    # The request guard (shared.limits) verifies the token before the body is read and leaves
    # the principal here; verified again only where the guard did not run (e.g. a bare router).
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        principal = await verify_header(request.app.state.verifier, request.headers.get("authorization", ""))
        request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def _check_roles(principal: Principal, allowed: frozenset[Role], roles: tuple[Role, ...]) -> None:
    if not principal.roles.intersection(allowed):
        raise Forbidden(
            f"this action needs one of the roles: {', '.join(sorted(r.value for r in roles))}",
            code="role_not_allowed",
        )


def require_roles(*roles: Role) -> Callable[..., Any]:
    """Dependency that admits only callers holding one of `roles` (admin always passes)."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def dependency(principal: CurrentPrincipal) -> Principal:
        _check_roles(principal, allowed, roles)
        return principal

    dependency.__name__ = "require_" + "_or_".join(r.value for r in roles)
    return dependency


def require_roles_for(build: Callable[[Any, Request, Principal], T], *roles: Role) -> Callable[..., Any]:
    """For the hottest reads: `require_roles(*roles)` and the service `build` makes of the request's
    session, the request and the caller, in one dependency. FastAPI solves every dependency of a
    route on every request (≈ 35 µs of CPU each); a read that took the service, the session under
    it, the role check and the token as four took a tenth of its CPU doing so (issue 15). The session
    is the request's (shared.db.request_session), closed after the response. The name and the `roles`
    it closes over are `require_roles`' (the OpenAPI text of who may call reads them)."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def dependency(request: Request, principal: CurrentPrincipal) -> T:
        _check_roles(principal, allowed, roles)
        return build(request_session(request), request, principal)

    dependency.__name__ = "require_" + "_or_".join(r.value for r in roles)
    return dependency


class ServiceTokenProvider:
    """The token a service presents to its peers: configured, or minted from the shared secret."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._static = settings.service_token.get_secret_value() if settings.service_token else None
        self._secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        self._audience = settings.jwt_audience
        self._issuer = settings.jwt_issuer
        self._sub = f"service:{settings.service_name or 'cli'}"
        self._cached: tuple[str, float] | None = None

    def __call__(self) -> str:
        if self._static:
            return self._static
        if not self._secret:
            raise RuntimeError("no FANGPIN_SERVICE_TOKEN and no FANGPIN_JWT_SECRET to mint one")
        now = time.time()
        if self._cached is None or self._cached[1] - now < 60:
            token = mint_token(
                self._secret,
                sub=self._sub,
                roles=[Role.SERVICE],
                region="",
                ttl_seconds=900,
                audience=self._audience,
                issuer=self._issuer,
                now=now,
            )
            self._cached = (token, now + 900)
        return self._cached[0]
