"""Claims tests: a fake registry speaking the contract, scheme/household helpers.

The claims app reads household facts and bank accounts from the registry over HTTP; here its
registry client is pointed at `FakeRegistry` (an ASGI app implementing the contract of
shared/contracts/registry.py), which can also be taken down to test outages.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from services.claims.domain.reference import reference_scheme_data
from shared.clock import pinned_today
from shared.contracts.registry import BenefitCreate, HouseholdFacts, MemberFacts
from shared.http import ServiceClient
from tests.conftest import AppHarness
from tests.support.tokens import DEMO_COUNTY, DEMO_TOWNSHIP, DEMO_VILLAGE, OTHER_VILLAGE, auth

OTHER_TOWNSHIP_NAME = "姬家山乡"
OTHER_VILLAGE_NAME = "西顶村"

# The scheduler is a background loop; tests drive notices and facts by hand.
os.environ.setdefault("FANGPIN_CLAIMS_SCHEDULER_ENABLED", "false")

__all__ = ["DEMO_COUNTY", "DEMO_TOWNSHIP", "DEMO_VILLAGE", "OTHER_VILLAGE", "auth"]


class FakeRegistry:
    """The registry's contract, in memory: facts, bank-account reveal, benefits (idempotent)."""

    def __init__(self) -> None:
        self.households: dict[uuid.UUID, HouseholdFacts] = {}
        self.accounts: dict[uuid.UUID, dict[str, str]] = {}
        self.benefits: dict[str, dict[str, Any]] = {}  # by source_ref
        self.reveals: list[tuple[uuid.UUID, str]] = []
        self.fact_calls = 0
        self.down = False
        self.regions: dict[str, str] = {
            DEMO_COUNTY: "鹤山区",
            DEMO_TOWNSHIP: "鹤壁集镇",
            DEMO_VILLAGE: "鹤壁集村",
            OTHER_VILLAGE[:9]: OTHER_TOWNSHIP_NAME,
            OTHER_VILLAGE: OTHER_VILLAGE_NAME,
        }
        app = FastAPI()

        @app.get("/v1/regions/{code}")
        async def region(code: str) -> Any:
            name = self.regions.get(code)
            if name is None:
                return JSONResponse({"code": "region_not_found", "status": 404, "title": "No region"}, status_code=404)
            return {"code": code, "name": name}

        @app.get("/v1/households/{household_id}/facts")
        async def facts(household_id: uuid.UUID, as_of: date | None = None) -> Any:
            self.fact_calls += 1
            found = self.households.get(household_id)
            if found is None:
                return JSONResponse({"code": "not_found", "status": 404, "title": "Not found"}, status_code=404)
            return found.model_dump(mode="json")

        @app.post("/v1/households/{household_id}/bank-account:reveal")
        async def reveal(household_id: uuid.UUID, request: Request) -> Any:
            body = await request.json()
            account = self.accounts.get(household_id)
            if account is None:
                return JSONResponse({"code": "no_bank_account", "status": 404, "title": "No account"}, status_code=404)
            self.reveals.append((household_id, body["purpose"]))
            return {"household_id": str(household_id), **account}

        @app.post("/v1/households/{household_id}/benefits", status_code=201)
        async def benefits(
            household_id: uuid.UUID, body: BenefitCreate, idempotency_key: str | None = Header(None)
        ) -> Any:
            record = self.benefits.setdefault(
                body.source_ref,
                {"id": str(uuid.uuid4()), "household_id": str(household_id), **body.model_dump(mode="json")},
            )
            return record

        self.app = app

    def add_household(
        self,
        *,
        village: str = DEMO_VILLAGE,
        status: str = "unstable",
        members: int = 4,
        income: str | None = "30000.00",
        previous: str | None = "36000.00",
        negative_list: bool = False,
        insured_years: list[int] | None = None,
        bank_account: str | None = "6222021234567890123",
    ) -> HouseholdFacts:
        household_id = uuid.uuid4()
        names = ["张三丰", "李四", "王小明", "赵六", "钱七", "孙八"]
        people = [
            MemberFacts(
                member_id=uuid.uuid4(),
                name=names[i % len(names)],
                national_id_masked="410602********1234",
                relation="head" if i == 0 else "child",
                labour_ability="normal",
                active=True,
            )
            for i in range(members)
        ]
        facts = HouseholdFacts(
            household_id=household_id,
            household_number=f"HH{household_id.hex[:8]}",
            county_code=village[:6],
            village_code=village,
            status=status,
            member_count=members,
            labour_count=max(members - 1, 0),  # type: ignore[arg-type]
            income_year=2025,
            annual_net_income=Decimal(income) if income is not None else None,
            previous_annual_net_income=Decimal(previous) if previous is not None else None,
            negative_list=negative_list,
            insured_years=insured_years or [],
            has_bank_account=bank_account is not None,
            bank_account_masked=None if bank_account is None else "*" * 15 + bank_account[-4:],
            members=people,
        )
        self.households[household_id] = facts
        if bank_account is not None:
            self.accounts[household_id] = {
                "bank_account": bank_account,
                "bank_name": "中国农业银行鹤壁分行",
                "account_holder": people[0].name,
            }
        return facts


class _SwitchableTransport(httpx.AsyncBaseTransport):
    def __init__(self, registry: FakeRegistry) -> None:
        self.registry = registry
        self.inner = httpx.ASGITransport(app=registry.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.registry.down:
            raise httpx.ConnectError("registry is down (test)", request=request)
        return await self.inner.handle_async_request(request)


def registry_client_for(registry: FakeRegistry) -> ServiceClient:
    return ServiceClient(
        "registry",
        "http://registry.test",
        token_provider=lambda: "test",
        timeout=5,
        retries=0,
        transport=_SwitchableTransport(registry),
    )


@pytest.fixture
async def registry(app_harness: AppHarness) -> AsyncIterator[FakeRegistry]:
    """A fake registry wired into the claims app for one test."""
    fake = FakeRegistry()
    app = await app_harness.get("claims")
    original = app.state.clients["registry"]
    app.state.clients["registry"] = registry_client_for(fake)
    try:
        yield fake
    finally:
        await app.state.clients["registry"].aclose()
        app.state.clients["registry"] = original


@pytest.fixture
def today() -> Iterator[Any]:
    """Set the claims service's calendar: `today.set(date)` pins the business clock (shared/clock.py)."""

    class Clock:
        value: date | None = None

        def set(self, value: date) -> None:
            self.value = value
            stack.enter_context(pinned_today(value))

    with contextlib.ExitStack() as stack:
        yield Clock()


# ---------------------------------------------------------------- API helpers

COUNTY = auth("county_officer", DEMO_COUNTY)
INSURER = auth("insurer_adjuster", DEMO_COUNTY)
VILLAGE = auth("village_cadre", DEMO_VILLAGE)
TOWNSHIP = auth("township_officer", DEMO_TOWNSHIP)
SERVICE = auth("service", "")


async def create_reference_scheme(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    body = reference_scheme_data()
    body.update(changes)
    response = await client.post("/v1/schemes", json=body, headers=COUNTY)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def enrol(client: httpx.AsyncClient, *households: HouseholdFacts, scheme: str = "reference-2026") -> None:
    response = await client.post(
        "/v1/enrolments",
        json={
            "scheme_code": scheme,
            "households": [
                {"household_id": str(h.household_id), "village_code": h.village_code, "insured_people": h.member_count}
                for h in households
            ],
        },
        headers=COUNTY,
    )
    assert response.status_code == 201, response.text


async def apply(
    client: httpx.AsyncClient,
    household: HouseholdFacts,
    category: str = "illness",
    *,
    incident: str = "2026-03-05",
    reported: str | None = None,
    member: int | None = 0,
    headers: dict[str, str] | None = None,
    **expense: Any,
) -> httpx.Response:
    body: dict[str, Any] = {
        "household_id": str(household.household_id),
        "category": category,
        "incident_date": incident,
        "reported_date": reported or (date.fromisoformat(incident) + timedelta(days=15)).isoformat(),
        "expense": expense,
    }
    if member is not None:
        body["member_id"] = str(household.members[member].member_id)
    return await client.post("/v1/claims", json=body, headers=headers or VILLAGE)


E1_EXPENSE = {
    "total_cost": "120000.00",
    "non_compliant_cost": "5000.00",
    "basic_insurance_paid": "60000.00",
    "critical_illness_paid": "15000.00",
    "medical_assistance_paid": "5000.00",
}


def review_steps(village: str = DEMO_VILLAGE) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """The review steps up to `filed`, each with its actor (of the claim's village) and evidence."""
    return [
        ("start_investigation", INSURER, {}),
        ("complete_investigation", INSURER, {"findings": "入户核查属实"}),
        ("village_review", auth("village_cadre", village), {"vote_result": "7/7 同意"}),
        ("township_review", auth("township_officer", village[:9]), {}),
        ("file", COUNTY, {}),
    ]


REVIEW_STEPS = review_steps()


async def step(
    client: httpx.AsyncClient, claim_id: str, action: str, headers: dict[str, str], expect: int = 200, **body: Any
) -> dict[str, Any]:
    response = await client.post(f"/v1/claims/{claim_id}/transitions", json={"action": action, **body}, headers=headers)
    assert response.status_code == expect, response.text
    return dict(response.json())


async def to_filed(client: httpx.AsyncClient, claim_id: str, village: str = DEMO_VILLAGE) -> None:
    for action, headers, evidence in review_steps(village):
        await step(client, claim_id, action, headers, evidence=evidence)


async def to_assessed(client: httpx.AsyncClient, claim_id: str, village: str = DEMO_VILLAGE) -> dict[str, Any]:
    await to_filed(client, claim_id, village)
    return await step(client, claim_id, "assess", INSURER)
