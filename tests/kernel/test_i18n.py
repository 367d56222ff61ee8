"""Problem texts in Chinese when Accept-Language prefers zh (shared/i18n.py), English otherwise."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.registry.config import RegistrySettings
from shared.app import ServiceSpec, build_app
from shared.auth import CurrentPrincipal
from shared.contracts.types import Money
from shared.errors import Conflict, Problem
from shared.i18n import CATALOGUE, GENERIC_TITLES, field_message, localize, missing_codes, preferred_language
from tests.conftest import make_settings
from tests.support.tokens import auth

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


@pytest.mark.parametrize(
    ("header", "default", "expected"),
    [
        ("zh-CN", "en", "zh"),
        ("zh", "en", "zh"),
        ("zh-Hans-CN", "en", "zh"),
        ("ZH-cn;q=0.8", "en", "zh"),
        ("en-US,zh;q=0.5", "en", "en"),
        ("en;q=0.3,zh-TW;q=0.7", "en", "zh"),
        ("fr-FR,zh;q=0.2", "en", "zh"),  # the supported language ranked highest
        ("fr-FR", "zh", "zh"),  # neither: the default
        ("", "zh", "zh"),
        ("zh;q=0", "en", "en"),  # q=0 means "not this one"
        ("zh;q=abc, en", "en", "en"),
        ("*", "zh", "zh"),
        ("en, zh", "zh", "en"),  # equal q: the first listed
    ],
)
def test_preferred_language(header: str, default: str, expected: str) -> None:
    assert preferred_language(header, default) == expected


def test_every_code_raised_in_the_code_has_a_chinese_entry() -> None:
    """A grep over services/ and shared/ for the codes raised (code="…"): each has a Chinese title."""
    codes: set[str] = set()
    for root in ("services", "shared"):
        for path in (ROOT / root).rglob("*.py"):
            codes.update(re.findall(r"\bcode\s*=\s*\"([a-z][a-z0-9_]*)\"", path.read_text()))
    assert len(codes) > 80  # the grep found the codes (not an empty pass)
    assert missing_codes(sorted(codes)) == [], "add these codes to shared/i18n.py CATALOGUE"


def test_templates_fill_values_from_the_english_detail() -> None:
    problem = Problem(
        title="Conflict", status=409, code="no_active_scheme", detail="no scheme is in force for county 410602 in 2027"
    )
    zh = localize(problem, "zh")
    assert zh.title == "没有生效的保险方案"
    assert zh.detail == "县区 410602 在 2027 年没有生效的方案"
    assert zh.code == "no_active_scheme"
    assert zh.status == 409
    # an English detail the template does not know stays English, under the Chinese title
    other = localize(problem.model_copy(update={"detail": "something new"}), "zh")
    assert (other.title, other.detail) == ("没有生效的保险方案", "something new")
    # English: unchanged
    assert localize(problem, "en") == problem


def test_unknown_code_gets_the_generic_title_of_its_status() -> None:
    problem = Problem(title="Conflict", status=409, code="never_heard_of", detail="English detail")
    zh = localize(problem, "zh")
    assert (zh.title, zh.detail, zh.code) == (GENERIC_TITLES[409], "English detail", "never_heard_of")


def test_field_messages_by_pydantic_type_with_context() -> None:
    assert (
        field_message("string_too_long", "String should have at most 5 characters", {"max_length": 5})
        == "最多 5 个字符"
    )
    assert field_message("greater_than_equal", "Input should be >= 0", {"ge": 0}) == "应大于或等于 0"
    assert field_message("string_too_long", "at most 200 characters") == "最多 200 个字符"  # from the English
    assert field_message("value_error", "exactly one member must have relation head (户主)") == (
        "exactly one member must have relation head (户主)"
    )
    assert field_message("missing", "Field required", lang="en") == "Field required"
    assert all(CJK.search(e.title) for e in CATALOGUE.values())


class Body(BaseModel):
    name: str = Field(min_length=1, max_length=5)
    age: int = Field(ge=0)
    amount: Money


router = APIRouter(prefix="/v1/probe")


@router.post("")
async def create(body: Body, _: CurrentPrincipal) -> dict[str, str]:
    return {"name": body.name}


@router.get("/conflict")
async def conflict(_: CurrentPrincipal) -> None:
    raise Conflict("this claim is on no notice", code="not_in_notice")


async def _probe(database_url: str, **overrides: str) -> AsyncIterator[httpx.AsyncClient]:
    spec = ServiceSpec(name="registry", title="probe", description="", routers=[router])
    app = build_app(spec, make_settings(RegistrySettings, database_url, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            yield client


@pytest.fixture
async def probe(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _probe(database_url):
        yield client


@pytest.fixture
async def probe_zh_default(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _probe(database_url, default_language="zh"):
        yield client


async def test_validation_problem_in_chinese(probe: httpx.AsyncClient) -> None:
    body = {"name": "长长长长长长", "age": -1, "amount": 12}
    response = await probe.post("/v1/probe", json=body, headers={**auth("county_officer"), **ZH})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert problem["title"] == "请求内容不合法"
    messages = {e["field"]: (e["message"], e["code"]) for e in problem["errors"]}
    assert messages["name"] == ("最多 5 个字符", "string_too_long")
    assert messages["age"] == ("应大于或等于 0", "greater_than_equal")
    assert messages["amount"][1] == "invalid_money"
    assert CJK.search(messages["amount"][0])
    assert "name：最多 5 个字符" in problem["detail"]

    english = (await probe.post("/v1/probe", json=body, headers=auth("county_officer"))).json()
    assert english["title"] == "The request is not valid"
    assert {e["field"]: e["code"] for e in english["errors"]} == {f: c for f, (_, c) in messages.items()}
    assert not any(CJK.search(e["message"]) for e in english["errors"])


async def test_service_error_and_guard_401_in_chinese(probe: httpx.AsyncClient) -> None:
    response = await probe.get("/v1/probe/conflict", headers={**auth("county_officer"), **ZH})
    assert response.status_code == 409
    assert response.json()["title"] == "该理赔未列入任何公示"
    assert response.json()["code"] == "not_in_notice"
    missing = await probe.get("/v1/probe/conflict", headers={"Accept-Language": "zh-Hans"})  # the guard's 401
    assert missing.status_code == 401
    assert missing.json()["code"] == "missing_token"
    assert missing.json()["title"] == "缺少访问令牌"
    assert CJK.search(missing.json()["detail"])
    english = await probe.get("/v1/probe/conflict", headers={"Accept-Language": "en-GB,zh;q=0.1"})
    assert english.json()["detail"] == "send Authorization: Bearer <token>"


async def test_default_language_setting(probe_zh_default: httpx.AsyncClient) -> None:
    plain = await probe_zh_default.get("/v1/probe/conflict")
    assert plain.json()["title"] == "缺少访问令牌"
    asked = await probe_zh_default.get("/v1/probe/conflict", headers={"Accept-Language": "en"})
    assert asked.json()["title"] == "Authentication required"


FAILING = {
    "registry": ("get", "/v1/households/{id}", None),
    "screening": ("post", "/v1/runs", {"county_code": "410602", "period": "not-a-period"}),
    "claims": ("get", "/v1/claims/{id}", None),
}


async def test_each_service_answers_a_chinese_caller_in_chinese(service_client: tuple[str, httpx.AsyncClient]) -> None:
    """Acceptance 4: a failing request with Accept-Language: zh-CN gets Chinese text in each service."""
    name, client = service_client
    method, path, body = FAILING[name]
    headers = {**auth("county_officer"), "Accept-Language": "zh-CN"}
    url = path.format(id=uuid.uuid4())
    response = await client.request(method, url, json=body, headers=headers)
    assert response.status_code in (404, 422), response.text
    problem = response.json()
    assert CJK.search(problem["title"]), problem
    assert CJK.search(problem.get("detail") or "") or any(CJK.search(e["message"]) for e in problem.get("errors", []))
    english = (await client.request(method, url, json=body, headers=auth("county_officer"))).json()
    assert english["code"] == problem["code"]
    assert not CJK.search(english["title"])
    # malformed JSON too, in every service
    broken = await client.post(
        "/v1/households" if name == "registry" else "/v1/runs" if name == "screening" else "/v1/notices",
        content=b"{",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    assert broken.json()["title"] == "请求内容不合法"
    assert CJK.search(broken.json()["errors"][0]["message"])
