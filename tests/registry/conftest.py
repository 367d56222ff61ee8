"""Registry test helpers: valid people and households, made up but realistic."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from services.registry.domain.national_id import make_national_id
from tests.support.tokens import DEMO_VILLAGE, auth

_serial = itertools.count(1)
_rng = random.Random(20261122)
_used: set[str] = set()


def new_id(born: date | None = None, *, male: bool | None = None, region: str = "410602") -> str:
    """A valid, unused ID number (GB 11643)."""
    while True:
        birth = born or date(1950, 1, 1) + timedelta(days=_rng.randrange(60 * 365))
        sequence = _rng.randrange(500) * 2 + (1 if (male if male is not None else _rng.random() < 0.5) else 0)
        value = make_national_id(region, birth, sequence)
        if value not in _used:
            _used.add(value)
            return value


def new_number(village: str = DEMO_VILLAGE) -> str:
    return f"{village}{next(_serial):06d}{_rng.randrange(100):02d}"


def member(relation: str = "head", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": fields.pop("name", "张建国"),
        "national_id": fields.pop("national_id", None) or new_id(),
        "relation": relation,
    }
    body.update(fields)
    return body


def household_body(
    village: str = DEMO_VILLAGE, *, members: list[dict[str, Any]] | None = None, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "household_number": new_number(village),
        "village_code": village,
        "address": "鹤壁集镇鹤壁集村三组12号",
        "phone": "13812345678",
        "status": "lifted_out",
        "bank_account": "6222021234567890123",
        "members": members
        or [
            member("head", name="张建国"),
            member("spouse", name="李秀英"),
            member("son", name="张小明", labour_ability="none", education_stage="junior"),
        ],
        "incomes": [
            {
                "year": 2025,
                "wage_income": "18000.00",
                "business_income": "3500.00",
                "transfer_income": "1200.00",
                "production_costs": "2000.00",
            }
        ],
    }
    body.update(fields)
    return body


CreateHousehold = Callable[..., Any]


@pytest.fixture
def create_household(registry_client: httpx.AsyncClient, demo_regions: None) -> CreateHousehold:
    async def create(role: str = "county_officer", region: str = "410602", **kwargs: Any) -> dict[str, Any]:
        body = household_body(**kwargs)
        response = await registry_client.post("/v1/households", json=body, headers=auth(role, region))
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        data["_body"] = body
        return data

    return create


@pytest.fixture
async def committed_registry(committed_url: str) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    from services.registry.app import create_app
    from services.registry.config import RegistrySettings
    from services.registry.demo import seed_regions
    from tests.conftest import make_settings

    app = create_app(make_settings(RegistrySettings, committed_url))  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as session:
            await seed_regions(session)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
            yield app, client
