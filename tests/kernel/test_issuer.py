"""Issue 9, defect 7: `iss` (and `aud`) are checked on shared-secret and JWKS tokens alike."""

from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from services.claims.config import ClaimsSettings
from shared.auth import TokenVerifier, mint_token
from shared.errors import Unauthorized
from tests.support.stub_server import serve_in_thread
from tests.support.tokens import JWT_ISSUER, JWT_SECRET

ENDPOINTS = {"registry": "/v1/regions", "screening": "/v1/me", "claims": "/v1/me"}


def _hs256(**claims: object) -> str:
    # minted at collection time: the expiry must outlive the whole run
    now = int(time.time())
    base: dict[str, object] = {"sub": "x", "roles": ["admin"], "region": "", "exp": now + 3600, "aud": "fangpin"}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, JWT_SECRET, "HS256")


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (mint_token(JWT_SECRET, sub="x", roles=["admin"], issuer="evil"), "invalid_issuer"),
        (_hs256(iss="evil"), "invalid_issuer"),
        (_hs256(iss=None), "invalid_token"),  # no iss at all
        (_hs256(iss=JWT_ISSUER, aud=None), "invalid_token"),  # no aud at all
        (_hs256(iss=JWT_ISSUER, aud="other"), "invalid_audience"),
    ],
    ids=["minted-evil", "evil", "no-iss", "no-aud", "other-aud"],
)
async def test_shared_secret_token_with_a_foreign_issuer_is_refused_everywhere(
    service_client: tuple[str, httpx.AsyncClient], token: str, code: str
) -> None:
    name, client = service_client
    response = await client.get(ENDPOINTS[name], headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == code


async def test_the_right_issuer_passes(service_client: tuple[str, httpx.AsyncClient]) -> None:
    name, client = service_client
    response = await client.get(ENDPOINTS[name], headers={"Authorization": f"Bearer {_hs256(iss=JWT_ISSUER)}"})
    assert response.status_code == 200, response.text


async def test_configured_issuer_is_the_one_checked() -> None:
    verifier = TokenVerifier(ClaimsSettings(jwt_secret=JWT_SECRET, jwt_issuer="https://idp.example/county"))
    ok = mint_token(JWT_SECRET, sub="x", roles=["admin"], issuer="https://idp.example/county")
    assert (await verifier.verify(ok)).sub == "x"
    with pytest.raises(Unauthorized) as refused:
        await verifier.verify(mint_token(JWT_SECRET, sub="x", roles=["admin"]))  # iss "fangpin"
    assert refused.value.code == "invalid_issuer"


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _idp() -> FastAPI:
    app = FastAPI()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})

    @app.get("/jwks")
    async def jwks() -> dict[str, object]:
        return {"keys": [jwk]}

    return app


async def test_jwks_tokens_have_their_issuer_checked() -> None:
    now = int(time.time())

    def rs256(**claims: object) -> str:
        base: dict[str, object] = {"sub": "u", "roles": ["auditor"], "exp": now + 3600, "aud": "fangpin"}
        base.update(claims)
        return jwt.encode({k: v for k, v in base.items() if v is not None}, KEY, "RS256", headers={"kid": "k1"})

    with serve_in_thread(_idp()) as base:
        verifier = TokenVerifier(
            ClaimsSettings(jwks_url=f"{base}/jwks", jwt_secret=None, jwks_issuer="https://idp.example")
        )
        assert (await verifier.verify(rs256(iss="https://idp.example"))).sub == "u"
        for bad, code in (
            (rs256(iss="evil"), "invalid_issuer"),
            (rs256(iss=None), "invalid_token"),
            (rs256(iss="https://idp.example", aud="x"), "invalid_audience"),
        ):
            with pytest.raises(Unauthorized) as refused:
                await verifier.verify(bad)
            assert refused.value.code == code
