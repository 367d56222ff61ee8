"""Issue 15: a verified token is remembered for its lifetime (bounded LRU keyed by the raw token);
an expired one is checked again and refused; failures are never remembered."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest

from services.registry.config import RegistrySettings
from shared.auth import TokenVerifier
from shared.errors import Unauthorized
from tests.conftest import make_settings
from tests.support.tokens import token


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token jwt.decode is asked to verify."""
    seen: list[str] = []
    real = jwt.decode

    def counting(value: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(value)
        return real(value, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return seen


def _verifier(**kwargs: Any) -> TokenVerifier:
    return TokenVerifier(make_settings(RegistrySettings, "postgresql://nowhere/none"), **kwargs)


def test_the_same_token_is_decoded_once(decodes: list[str]) -> None:
    verifier = _verifier()
    raw = token("county_officer")
    first = asyncio.run(verifier.verify(raw))
    second = asyncio.run(verifier.verify(raw))
    assert second is first
    assert decodes == [raw]
    other = token("village_cadre", "410602100201")
    assert asyncio.run(verifier.verify(other)).region == "410602100201"
    assert decodes == [raw, other]


def test_the_cache_is_bounded_least_recently_used_out_first(decodes: list[str]) -> None:
    verifier = _verifier(cache_size=2)
    a, b, c = (token("county_officer", region) for region in ("410602", "410603", "410604"))
    for raw in (a, b, a, c):  # a was used again after b: b goes when c comes
        asyncio.run(verifier.verify(raw))
    assert decodes == [a, b, c]
    asyncio.run(verifier.verify(a))
    assert decodes == [a, b, c]
    asyncio.run(verifier.verify(b))
    assert decodes == [a, b, c, b]


def test_an_expired_token_is_refused_although_it_was_verified(decodes: list[str]) -> None:
    verifier = _verifier()
    raw = token("county_officer", ttl_seconds=1)
    asyncio.run(verifier.verify(raw))
    time.sleep(2.1)  # past exp (pyjwt compares whole seconds)
    with pytest.raises(Unauthorized) as refused:
        asyncio.run(verifier.verify(raw))
    assert refused.value.code == "token_expired"
    assert decodes == [raw, raw]


def test_a_bad_token_is_checked_every_time(decodes: list[str]) -> None:
    verifier = _verifier()
    forged = jwt.encode(
        {"sub": "x", "roles": ["admin"], "aud": "fangpin", "iss": "fangpin", "exp": 2**31},
        "a-wrong-secret-of-enough-length-0123456789",
    )
    for _ in range(2):
        with pytest.raises(Unauthorized):
            asyncio.run(verifier.verify(forged))
    assert decodes == [forged, forged]
