"""401 for every kind of bad token, 403 for a role without permission, on real endpoints."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from shared.auth import mint_token
from tests.support.tokens import JWT_SECRET, auth, token

# A real, authenticated endpoint of each service.
ENDPOINTS = {
    "registry": "/v1/regions",
    "screening": "/v1/me",
    "claims": "/v1/me",
}


def _bad_tokens() -> dict[str, tuple[str, str]]:
    now = time.time()
    return {
        "none": ("", "missing_token"),
        "bad_signature": (
            mint_token("another-secret-0123456789-0123456789-0123", sub="x", roles=["county_officer"]),
            "invalid_token",
        ),
        "expired": (
            mint_token(JWT_SECRET, sub="x", roles=["county_officer"], ttl_seconds=60, now=now - 3600),
            "token_expired",
        ),
        "wrong_audience": (
            mint_token(JWT_SECRET, sub="x", roles=["county_officer"], audience="someone-else"),
            "invalid_audience",
        ),
        "garbage": ("not-a-jwt", "invalid_token"),
        "unknown_role": (
            jwt.encode({"sub": "x", "roles": ["emperor"], "exp": int(now) + 60, "aud": "fangpin"}, JWT_SECRET, "HS256"),
            "invalid_token",
        ),
        "alg_none": (
            jwt.encode({"sub": "x", "roles": ["admin"], "exp": int(now) + 60, "aud": "fangpin"}, None, "none"),
            "invalid_token",
        ),
    }


@pytest.mark.parametrize("case", sorted(_bad_tokens()))
async def test_bad_tokens_get_401_problem(service_client: tuple[str, httpx.AsyncClient], case: str) -> None:
    name, client = service_client
    value, code = _bad_tokens()[case]
    headers = {"Authorization": f"Bearer {value}"} if value else {}
    response = await client.get(ENDPOINTS[name], headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["code"] == code
    assert body["status"] == 401


async def test_valid_token_passes_on_each_service(service_client: tuple[str, httpx.AsyncClient]) -> None:
    name, client = service_client
    response = await client.get(ENDPOINTS[name], headers=auth("county_officer"))
    assert response.status_code == 200, response.text


async def test_me_reports_roles_and_region(screening_client: httpx.AsyncClient) -> None:
    response = await screening_client.get("/v1/me", headers=auth("village_cadre", "410602100201"))
    assert response.json() == {
        "sub": "test:village_cadre:410602100201",
        "roles": ["village_cadre"],
        "region": "410602100201",
        "department": None,
    }


@pytest.mark.usefixtures("demo_regions")
async def test_role_without_permission_gets_403(registry_client: httpx.AsyncClient) -> None:
    response = await registry_client.post(
        "/v1/regions:import",
        content="code,name\n410602100299,新村\n".encode(),
        headers={**auth("village_cadre", "410602100201"), "content-type": "text/csv"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"


@pytest.mark.usefixtures("demo_regions")
async def test_admin_may_import_and_bad_rows_are_reported(registry_client: httpx.AsyncClient) -> None:
    csv = "区划代码,名称\n410602100299,新村\n12345,坏代码\n410602100298,\n"
    response = await registry_client.post(
        "/v1/regions:import", content=csv.encode(), headers={**auth("admin", ""), "content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["imported"] == 1
    assert [e["field"] for e in body["errors"]] == ["row 3.code", "row 4.name"]
    created = await registry_client.get("/v1/regions/410602100299", headers=auth("admin", ""))
    assert created.json()["parent_code"] == "410602100000"
    assert created.json()["level"] == "village"


@pytest.mark.usefixtures("demo_regions")
async def test_region_scope_hides_other_villages(registry_client: httpx.AsyncClient) -> None:
    cadre = auth("village_cadre", "410602100201")
    own = await registry_client.get("/v1/regions/410602100201", headers=cadre)
    assert own.status_code == 200
    other = await registry_client.get("/v1/regions/410602101201", headers=cadre)
    assert other.status_code == 404
    listing = await registry_client.get("/v1/regions", headers=cadre)
    codes = [r["code"] for r in listing.json()["items"]]
    # its own village and the ancestors that name it, nothing beside it
    assert codes == ["410000000000", "410600000000", "410602000000", "410602100000", "410602100201"]


@pytest.mark.usefixtures("demo_regions")
async def test_region_listing_paginates_stably(registry_client: httpx.AsyncClient) -> None:
    headers = auth("county_officer")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = (await registry_client.get("/v1/regions", params=params, headers=headers)).json()
        seen += [r["code"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 17
    bad = await registry_client.get("/v1/regions", params={"cursor": "%%%"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_cursor"


def test_tokens_carry_department() -> None:
    claims = jwt.decode(
        token("department_feeder", department="medical_insurance"), JWT_SECRET, algorithms=["HS256"], audience="fangpin"
    )
    assert claims["department"] == "medical_insurance"
