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


# --- region scope of writes and Idempotency-Key replays (issue 9, defects 4 and 8) -----------


def _caller(role: Role, region: str, sub: str | None = None) -> dict[str, str]:
    """A token; `sub` gives a second person with the same role and region."""
    from shared.auth import mint_token
    from tests.support.tokens import JWT_SECRET

    if sub is None:
        return auth(role, region)
    return {"Authorization": f"Bearer {mint_token(JWT_SECRET, sub=sub, roles=[role], region=region)}"}


OUTSIDERS = {
    "officer of another county": _caller(_C, "410603"),
    "cadre of another village": _caller(_V, VILLAGE[:-1] + "9"),
    "cadre of another township": _caller(_V, "410602101201"),
}
VISIT = {"home_visit_findings": "户主住院", "visit_date": "2026-04-04", "signed_consent": True}


async def _step(
    client: httpx.AsyncClient, case_id: str, action: str, headers: dict[str, str], evidence: Any = None
) -> httpx.Response:
    body = {"action": action, "evidence": evidence or {}, "comment": action}
    return await client.post(f"/v1/cases/{case_id}/transitions", json=body, headers=headers)


def _no_leak(response: httpx.Response, case_id: str) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"
    problem = response.json()
    assert not {"state", "version", "household_id", "village_code", "links"} & set(problem), problem
    assert VILLAGE not in response.text, problem
    assert "state" not in problem["detail"], problem
    assert "Idempotency-Replayed" not in response.headers


async def test_writes_outside_the_region_are_404_and_keys_belong_to_their_caller(
    session: Any, screening_client: httpx.AsyncClient, clock: Any
) -> None:
    from datetime import date

    from tests.screening.support import add_household

    cadre = auth(_V, VILLAGE)
    household = await add_household(session, incomes={2025: "60000.00"})
    opened = await screening_client.post(
        "/v1/cases",
        json={"source": "cadre_visit", "household_id": str(household.id), "evidence": VISIT},
        headers=cadre,
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]

    # out of region, without a key: 404 like a GET, never wrong_order / wrong_region naming the case
    for name, outsider in OUTSIDERS.items():
        for action in ("start_verification", "confirm", "village_review"):
            _no_leak(await _step(screening_client, case_id, action, outsider), case_id)
        assert (await screening_client.get(f"/v1/cases/{case_id}", headers=outsider)).status_code == 404, name

    key = {"Idempotency-Key": "same-key"}
    first = await _step(screening_client, case_id, "start_verification", {**cadre, **key})
    assert first.status_code == 200, first.text
    assert "Idempotency-Replayed" not in first.headers
    for outsider in OUTSIDERS.values():  # the same key and body from outside: 404, nothing of the case
        _no_leak(await _step(screening_client, case_id, "start_verification", {**outsider, **key}), case_id)
    again = await _step(screening_client, case_id, "start_verification", {**cadre, **key})
    assert again.status_code == 200
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()
    # a second cadre of the village with the same key string acts for itself: the step is done already
    colleague = _caller(_V, VILLAGE, sub="test:second-cadre")
    own = await _step(screening_client, case_id, "start_verification", {**colleague, **key})
    assert own.status_code == 409, own.text
    assert own.json()["code"] == "wrong_order"
    assert "Idempotency-Replayed" not in own.headers

    # measures: the same, on a confirmed case
    assert (await _step(screening_client, case_id, "verify", cadre, VISIT)).status_code == 200
    vote = {"vote_result": {"approve": 7, "oppose": 1, "abstain": 1}}
    assert (await _step(screening_client, case_id, "village_review", cadre, vote)).status_code == 200
    notice = {"notice_start_date": "2026-04-05", "notice_days": 5}
    assert (await _step(screening_client, case_id, "publish_notice", cadre, notice)).status_code == 200
    clock.to_date(date(2026, 4, 10))
    township = auth(_T, TOWNSHIP)
    assert (await _step(screening_client, case_id, "township_review", township, {"objection_count": 0})).is_success
    county = auth(_C, COUNTY)
    assert (await _step(screening_client, case_id, "confirm", county, {"monitoring_type": "marginal"})).is_success
    url = f"/v1/cases/{case_id}/measures"
    measure = {"measure_type": "employment", "description": "公益性岗位", "start_date": "2026-04-10"}
    made = await screening_client.post(url, json=measure, headers={**cadre, **key})
    assert made.status_code == 201, made.text
    for outsider in OUTSIDERS.values():
        _no_leak(await screening_client.post(url, json=measure, headers={**outsider, **key}), case_id)
    replayed = await screening_client.post(url, json=measure, headers={**cadre, **key})
    assert replayed.status_code == 201
    assert replayed.headers["Idempotency-Replayed"] == "true"
    assert replayed.json()["id"] == made.json()["id"]
    fresh = await screening_client.post(url, json=measure, headers={**colleague, **key})
    assert fresh.status_code == 201, fresh.text
    assert "Idempotency-Replayed" not in fresh.headers
    assert fresh.json()["id"] != made.json()["id"]
    listed = (await screening_client.get(url, headers=cadre)).json()
    assert sorted(m["id"] for m in listed) == sorted([made.json()["id"], fresh.json()["id"]])
