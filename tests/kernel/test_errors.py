"""problem+json for malformed input and for crashes, through a real kernel-built app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.registry.config import RegistrySettings
from shared.app import ServiceSpec, build_app
from shared.auth import CurrentPrincipal
from shared.errors import Conflict
from tests.conftest import make_settings
from tests.support.tokens import auth

router = APIRouter(prefix="/v1/probe")


class Member(BaseModel):
    name: str = Field(min_length=1)
    age: int = Field(ge=0)


class Household(BaseModel):
    number: str
    members: list[Member]


@router.post("")
async def create(body: Household, _: CurrentPrincipal) -> dict[str, int]:
    return {"members": len(body.members)}


@router.get("/boom")
async def boom(_: CurrentPrincipal) -> None:
    raise RuntimeError("SELECT national_id FROM registry.member WHERE id = 'secret-410602199001011234'")


@router.get("/conflict")
async def conflict(_: CurrentPrincipal) -> None:
    raise Conflict("already there", code="duplicate_thing", extra={"existing_id": "abc"})


@pytest.fixture
async def probe_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    spec = ServiceSpec(name="registry", title="probe", description="", routers=[router])
    app = build_app(spec, make_settings(RegistrySettings, database_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            yield client


async def test_malformed_body_names_the_field(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/v1/probe",
        json={"number": "H1", "members": [{"name": "张三", "age": 3}, {"name": "", "age": -1}]},
        headers=auth("county_officer"),
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "validation_failed"
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"members[1].name", "members[1].age"}


async def test_missing_field_and_wrong_type(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/v1/probe", json={"members": "x"}, headers=auth("county_officer"))
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"number", "members"}


async def test_invalid_json_is_422_not_500(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/v1/probe", content=b"{not json", headers={**auth("county_officer"), "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"


async def test_unhandled_exception_is_500_problem_without_internals(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get(
        "/v1/probe/boom", headers={**auth("county_officer"), "X-Request-ID": "req-boom-1"}
    )
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "internal_error"
    assert body["request_id"] == "req-boom-1"
    text = response.text
    for leak in ("SELECT", "registry.member", "Traceback", "RuntimeError", "410602199001011234"):
        assert leak not in text


async def test_service_error_carries_code_and_extra(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/v1/probe/conflict", headers=auth("county_officer"))
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_thing"
    assert response.json()["extra"] == {"existing_id": "abc"}


async def test_unknown_route_and_method_are_problems(probe_client: httpx.AsyncClient) -> None:
    missing = await probe_client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    wrong = await probe_client.delete("/v1/probe/boom", headers=auth("county_officer"))
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"


async def test_request_id_is_echoed_or_generated(probe_client: httpx.AsyncClient) -> None:
    given = await probe_client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    fresh = await probe_client.get("/healthz")
    assert len(fresh.headers["x-request-id"]) == 32
