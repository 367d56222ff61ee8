"""Tokens for tests, signed like the services expect."""

from __future__ import annotations

import base64

from shared.auth import Role, mint_token

JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
JWT_ISSUER = "fangpin"  # ServiceSettings.jwt_issuer's default: the `iss` the services check
PII_KEY = base64.b64encode(bytes(range(32))).decode()
PII_INDEX_KEY = base64.b64encode(bytes(range(32, 64))).decode()

DEMO_COUNTY = "410602"
DEMO_TOWNSHIP = "410602100"
DEMO_VILLAGE = "410602100201"
OTHER_VILLAGE = "410602101201"


def token(role: str | Role, region: str = DEMO_COUNTY, *, department: str | None = None, **kwargs: object) -> str:
    return mint_token(
        JWT_SECRET,
        sub=f"test:{Role(role).value}:{region}",
        roles=[Role(role)],
        region=region,
        department=department,
        **{"issuer": JWT_ISSUER, **kwargs},  # type: ignore[arg-type]
    )


def auth(role: str | Role, region: str = DEMO_COUNTY, *, department: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, region, department=department)}"}


def service_env(database_url: str) -> dict[str, str]:
    """Environment for a service process under test."""
    return {
        "FANGPIN_DATABASE_URL": database_url,
        "FANGPIN_JWT_SECRET": JWT_SECRET,
        "FANGPIN_PII_KEY": PII_KEY,
        "FANGPIN_PII_INDEX_KEY": PII_INDEX_KEY,
        "FANGPIN_LOG_LEVEL": "INFO",
    }
