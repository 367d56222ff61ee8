"""JWKS verification against a stub identity provider; the service client against a stub peer."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request, Response

from services.claims.config import ClaimsSettings
from shared.auth import Role, TokenVerifier
from shared.errors import ServiceUnavailable, Unauthorized
from shared.http import PeerError, ServiceClient
from shared.logging import request_id_var
from tests.support.stub_server import serve_in_thread

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _idp() -> FastAPI:
    app = FastAPI()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, object]:
        return {"keys": [jwk]}

    return app


def _rs256(claims: dict[str, object], kid: str = "k1") -> str:
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": kid})


async def test_tokens_from_a_real_identity_provider_verify_through_jwks() -> None:
    with serve_in_thread(_idp()) as base:
        verifier = TokenVerifier(ClaimsSettings(jwks_url=f"{base}/.well-known/jwks.json", jwt_secret=None))
        now = int(time.time())
        good = _rs256(
            {
                "sub": "u1",
                "roles": ["insurer_adjuster"],
                "region": "410602",
                "exp": now + 60,
                "aud": "fangpin",
                "iss": "fangpin",
            }
        )
        principal = await verifier.verify(good)
        assert principal.roles == frozenset({Role.INSURER_ADJUSTER})
        assert principal.region == "410602"
        with pytest.raises(Unauthorized) as expired:
            await verifier.verify(
                _rs256({"sub": "u1", "roles": [], "exp": now - 10, "aud": "fangpin", "iss": "fangpin"})
            )
        assert expired.value.code == "token_expired"
        with pytest.raises(Unauthorized):
            await verifier.verify(_rs256({"sub": "u1", "roles": [], "exp": now + 60, "aud": "fangpin"}, kid="nope"))
        # without a shared secret configured, an HS256 token is not accepted at all
        forged = jwt.encode(
            {"sub": "x", "roles": ["admin"], "exp": now + 60, "aud": "fangpin"},
            "guess-0123456789-0123456789-0123456789",
            "HS256",
        )
        with pytest.raises(Unauthorized):
            await verifier.verify(forged)


def _peer(calls: list[dict[str, object]], fail_first: int) -> FastAPI:
    app = FastAPI()
    state = {"failures": fail_first}

    @app.api_route("/v1/thing", methods=["GET", "POST"])
    async def thing(request: Request) -> Response:
        calls.append(
            {
                "method": request.method,
                "auth": request.headers.get("authorization", ""),
                "request_id": request.headers.get("x-request-id"),
                "key": request.headers.get("idempotency-key"),
            }
        )
        if state["failures"] > 0:
            state["failures"] -= 1
            return Response(status_code=503)
        if request.method == "POST" and request.headers.get("idempotency-key") is None:
            return Response(json.dumps({"code": "needs_key"}), status_code=409, media_type="application/json")
        return Response(json.dumps({"ok": True}), media_type="application/json")

    return app


async def test_client_retries_idempotent_calls_and_propagates_ids() -> None:
    calls: list[dict[str, object]] = []
    with serve_in_thread(_peer(calls, fail_first=2)) as base:
        client = ServiceClient("registry", base, token_provider=lambda: "tok", timeout=2, retries=2)
        token = request_id_var.set("rid-7")
        try:
            assert await client.call("GET", "/v1/thing") == {"ok": True}
        finally:
            request_id_var.reset(token)
        await client.aclose()
    assert [c["method"] for c in calls] == ["GET", "GET", "GET"]
    assert {c["auth"] for c in calls} == {"Bearer tok"}
    assert {c["request_id"] for c in calls} == {"rid-7"}


async def test_client_does_not_retry_unkeyed_posts_and_raises_peer_errors() -> None:
    calls: list[dict[str, object]] = []
    with serve_in_thread(_peer(calls, fail_first=1)) as base:
        client = ServiceClient("registry", base, token_provider=lambda: "tok", timeout=2, retries=3)
        with pytest.raises(PeerError) as raised:
            await client.call("POST", "/v1/thing", json={})
        assert raised.value.status_code == 503
        assert len(calls) == 1
        keyed = await client.call("POST", "/v1/thing", json={}, idempotency_key="k1")
        assert keyed == {"ok": True}
        with pytest.raises(PeerError) as conflict:
            await client.call("POST", "/v1/thing", json={}, retries=0)
        assert conflict.value.code == "needs_key"
        await client.aclose()


async def test_unreachable_peer_is_service_unavailable() -> None:
    from shared.embedded_pg import free_port

    client = ServiceClient(
        "registry", f"http://127.0.0.1:{free_port()}", token_provider=lambda: "t", timeout=1, retries=1
    )
    with pytest.raises(ServiceUnavailable) as raised:
        await client.call("GET", "/v1/thing")
    assert raised.value.code == "registry_unavailable"
    await client.aclose()
