"""No input makes a 500: fuzzed bodies on every write endpoint answer a problem (4xx) or succeed."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.claims.conftest import (
    COUNTY,
    E1_EXPENSE,
    INSURER,
    SERVICE,
    VILLAGE,
    FakeRegistry,
    apply,
    create_reference_scheme,
    enrol,
    step,
    to_assessed,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)

FIELDS = {
    "/v1/claims": ["household_id", "member_id", "category", "incident_date", "reported_date", "expense", "comment"],
    "/v1/claims/leads": [
        "source",
        "source_record_id",
        "household_id",
        "member_id",
        "county_code",
        "village_code",
        "category",
        "incident_date",
        "reported_date",
        "expense",
        "evidence",
    ],
    "/v1/enrolments": ["scheme_code", "households", "pool"],
    "/v1/schemes": ["code", "year", "categories", "status", "premium_per_person"],
    "/v1/notices": ["village_code"],
    "/v1/payments/batches": ["claim_ids", "declared_count", "declared_total"],
    "/v1/simulations": ["county_code", "year", "scheme", "scheme_code", "scheme_version"],
    "transitions": ["action", "comment", "reason_code", "evidence"],
}
HEADERS = {
    "/v1/claims": VILLAGE,
    "/v1/claims/leads": SERVICE,
    "/v1/enrolments": COUNTY,
    "/v1/schemes": COUNTY,
    "/v1/notices": COUNTY,
    "/v1/payments/batches": COUNTY,
    "/v1/simulations": COUNTY,
    "transitions": INSURER,
}


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, Any]:
    endpoint = draw(st.sampled_from(sorted(FIELDS)))
    if draw(st.booleans()):
        body = draw(json_values)
    else:
        body = {key: draw(json_values) for key in draw(st.lists(st.sampled_from(FIELDS[endpoint]), max_size=6))}
    return endpoint, body


@pytest.fixture
async def claim_id(claims_client: httpx.AsyncClient, registry: FakeRegistry) -> str:
    return str((await apply(claims_client, registry.add_household(), **E1_EXPENSE)).json()["id"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
async def test_fuzzed_writes_never_500(
    claims_client: httpx.AsyncClient, claim_id: str, request: tuple[str, Any]
) -> None:
    endpoint, body = request
    path = f"/v1/claims/{claim_id}/transitions" if endpoint == "transitions" else endpoint
    response = await claims_client.post(
        path, content=json.dumps(body), headers={**HEADERS[endpoint], "Content-Type": "application/json"}
    )
    assert response.status_code < 500, (endpoint, body, response.text)


@pytest.fixture
async def batch_id(claims_client: httpx.AsyncClient, registry: FakeRegistry, today: Any) -> str:
    await create_reference_scheme(claims_client)
    today.set(date(2026, 4, 1))
    household = registry.add_household()
    await enrol(claims_client, household)
    claim = (await apply(claims_client, household, **E1_EXPENSE)).json()["id"]
    await to_assessed(claims_client, claim)
    await step(claims_client, claim, "publish_notice", COUNTY)
    today.set(date(2026, 4, 11))
    await step(claims_client, claim, "approve_override", COUNTY)
    created = await claims_client.post(
        "/v1/payments/batches",
        json={"claim_ids": [claim], "declared_count": 1, "declared_total": "16000.00"},
        headers=COUNTY,
    )
    return str(created.json()["id"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
async def test_fuzzed_confirmation_files_never_500(
    claims_client: httpx.AsyncClient, batch_id: str, content: bytes
) -> None:
    for prefix in (b"", b"payment_id,status,reason,bank_reference,paid_date\n"):
        response = await claims_client.post(
            f"/v1/payments/batches/{batch_id}/confirmations",
            content=prefix + content,
            headers={**COUNTY, "Content-Type": "text/csv"},
        )
        assert response.status_code in (200, 422), response.text


async def test_a_nul_byte_in_the_confirmation_file_is_422(claims_client: httpx.AsyncClient, batch_id: str) -> None:
    response = await claims_client.post(
        f"/v1/payments/batches/{batch_id}/confirmations",
        content=b"payment_id,status\n\x00abc,paid\n",
        headers={**COUNTY, "Content-Type": "text/csv"},
    )
    assert response.status_code in (200, 422)
