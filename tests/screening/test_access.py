"""Every screening endpoint: authenticated, the role matrix, and no 500 for malformed input."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from shared.auth import Role
from tests.screening.support import COUNTY, TOWNSHIP, VILLAGE
from tests.support.tokens import auth

pytestmark = pytest.mark.usefixtures("clock")

SOME_ID = str(uuid.uuid4())
PATH_VALUES = {"county_code": COUNTY, "year": "2026", "version": "1", "department": "medical_insurance"}
REGION_OF = {Role.VILLAGE_CADRE: VILLAGE, Role.TOWNSHIP_OFFICER: TOWNSHIP, Role.SERVICE: "", Role.ADMIN: ""}

_V, _T, _C, _D, _A, _S = (
    Role.VILLAGE_CADRE,
    Role.TOWNSHIP_OFFICER,
    Role.COUNTY_OFFICER,
    Role.DEPARTMENT_FEEDER,
    Role.AUDITOR,
    Role.SERVICE,
)
# (method, path, body, the roles admitted besides admin)
MATRIX: list[tuple[str, str, Any, set[Role]]] = [
    ("GET", f"/v1/thresholds/{COUNTY}/2026", None, {_C, _T, _V, _A, _S}),
    ("PUT", f"/v1/thresholds/{COUNTY}/2026", {"values": {}}, {_C}),
    ("GET", f"/v1/thresholds/{COUNTY}/2026/versions", None, {_C, _T, _V, _A, _S}),
    ("DELETE", f"/v1/thresholds/{COUNTY}/2026/versions/1", None, {_C}),
    ("POST", "/v1/feeds/medical_insurance/batches", b"", {_D, _S}),
    ("GET", "/v1/feeds/medical_insurance/batches", None, {_D, _C, _A, _S}),
    ("GET", f"/v1/feeds/medical_insurance/batches/{SOME_ID}", None, {_D, _C, _A, _S}),
    ("POST", "/v1/runs", {"county_code": COUNTY, "period": "2026-13"}, {_C, _S}),
    ("GET", "/v1/runs", None, {_C, _T, _V, _A, _S}),
    ("GET", f"/v1/runs/{SOME_ID}/leads", None, {_C, _T, _V, _A, _S}),
    ("POST", "/v1/cases", {"source": "cadre_visit"}, {_V, _T, _C, _S}),
    ("GET", "/v1/cases", None, {_V, _T, _C, _A, _S}),
    ("GET", f"/v1/cases/{SOME_ID}", None, {_V, _T, _C, _A, _S}),
    ("POST", f"/v1/cases/{SOME_ID}/transitions", {"action": "verify"}, {_V, _T, _C, _S}),
    (
        "POST",
        f"/v1/cases/{SOME_ID}/measures",
        {"measure_type": "health", "description": "x", "start_date": "2026-01-01"},
        {_V, _T, _C, _S},
    ),
    ("PATCH", f"/v1/cases/{SOME_ID}/objections/{SOME_ID}", {"status": "upheld", "resolution": "x"}, {_T, _C}),
    ("GET", "/v1/ledger", {"county_code": COUNTY, "period": "2026-03"}, {_C, _T, _A}),
    ("GET", "/v1/ledger/export", {"county_code": COUNTY, "period": "2026-03", "format": "csv"}, {_C, _T, _A}),
]


async def _call(
    client: httpx.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    if method == "GET":
        return await client.get(path, params=body, headers=headers)
    if isinstance(body, bytes):
        return await client.request(
            method, path, content=body, headers={**headers, "Content-Type": "application/x-ndjson"}
        )
    return await client.request(method, path, json=body, headers=headers)


async def test_every_operation_needs_a_token(screening_client: httpx.AsyncClient) -> None:
    spec = (await screening_client.get("/openapi.json")).json()
    operations = [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if p.startswith("/v1/")]
    assert len(operations) >= 25
    for method, template in operations:
        path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), SOME_ID), template)
        response = await screening_client.request(method, path)
        assert response.status_code == 401, (method, template, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(("method", "path", "body", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
async def test_the_role_matrix(
    screening_client: httpx.AsyncClient, method: str, path: str, body: Any, allowed: set[Role]
) -> None:
    for role in Role:
        headers = auth(role, REGION_OF.get(role, COUNTY), department="medical_insurance")
        response = await _call(screening_client, method, path, body, headers)
        assert response.status_code < 500, (role, response.text)
        if role in allowed or role is Role.ADMIN:
            assert response.status_code != 403 or response.json()["code"] != "role_not_allowed", (role, response.text)
        else:
            assert response.status_code == 403, (role, response.status_code, response.text)
            assert response.json()["code"] == "role_not_allowed"


@pytest.mark.parametrize(
    "payload",
    [
        b"{",
        b"[]",
        b"null",
        b'{"values": 5}',
        b'{"county_code": 410602, "period": ["x"]}',
        b'{"source": "cadre_visit", "household_id": "not-a-uuid", "evidence": []}',
        b'{"action": "verify", "evidence": {"visit_date": {"$gt": 1}}}',
        '{"content": "\u0000"}'.encode(),
        b'{"measure_type": "health", "description": "x", "start_date": "2026-02-30"}',
        b'{"status": "maybe", "resolution": 1}',
        b"\xff\xfe",
    ],
)
async def test_malformed_bodies_are_4xx_never_500(screening_client: httpx.AsyncClient, payload: bytes) -> None:
    admin = {**auth("admin", ""), "Content-Type": "application/json"}
    targets = [
        ("PUT", f"/v1/thresholds/{COUNTY}/2026"),
        ("POST", "/v1/runs"),
        ("POST", "/v1/cases"),
        ("POST", f"/v1/cases/{SOME_ID}/transitions"),
        ("POST", f"/v1/cases/{SOME_ID}/measures"),
        ("PATCH", f"/v1/cases/{SOME_ID}/measures/{SOME_ID}"),
        ("POST", f"/v1/cases/{SOME_ID}/objections"),
        ("PATCH", f"/v1/cases/{SOME_ID}/objections/{SOME_ID}"),
    ]
    for method, path in targets:
        response = await screening_client.request(method, path, content=payload, headers=admin)
        assert 400 <= response.status_code < 500, (method, path, payload, response.text)


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "%%%"},
        {"cursor": "WzFd"},
        {"limit": "0"},
        {"limit": "100000"},
        {"county_code": "x"},
        {"state": "flying"},
        {"household_id": "1"},
        {"overdue": "perhaps"},
    ],
)
async def test_malformed_queries_are_422(screening_client: httpx.AsyncClient, params: dict[str, str]) -> None:
    for path in ("/v1/cases", "/v1/runs", "/v1/feeds/medical_insurance/batches"):
        response = await screening_client.get(path, params=params, headers=auth("admin", ""))
        assert response.status_code in (200, 422), (path, params, response.text)
    response = await screening_client.get("/v1/cases", params=params, headers=auth("admin", ""))
    assert response.status_code == 422
