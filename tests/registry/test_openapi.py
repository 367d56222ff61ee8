"""The registry's OpenAPI document: every documented path, with examples and problem responses."""

from __future__ import annotations

import httpx

EXPECTED = {
    ("post", "/v1/households"),
    ("get", "/v1/households"),
    ("post", "/v1/households:search"),
    ("get", "/v1/households/{household_id}"),
    ("patch", "/v1/households/{household_id}"),
    ("post", "/v1/households/{household_id}:archive"),
    ("get", "/v1/households/{household_id}/members"),
    ("post", "/v1/households/{household_id}/members"),
    ("patch", "/v1/households/{household_id}/members/{member_id}"),
    ("post", "/v1/households/{household_id}/members/{member_id}:end"),
    ("get", "/v1/households/{household_id}/incomes"),
    ("put", "/v1/households/{household_id}/incomes/{year}"),
    ("get", "/v1/households/{household_id}/benefits"),
    ("post", "/v1/households/{household_id}/benefits"),
    ("get", "/v1/households/{household_id}/monitoring-status"),
    ("put", "/v1/households/{household_id}/monitoring-status"),
    ("get", "/v1/households/{household_id}/history"),
    ("get", "/v1/households/{household_id}/facts"),
    ("post", "/v1/households/{household_id}/bank-account:reveal"),
    ("post", "/v1/members/{member_id}:reveal"),
    ("post", "/v1/members:resolve"),
    ("get", "/v1/members/{member_id}"),
    ("post", "/v1/imports"),
    ("get", "/v1/imports/{job_id}"),
    ("get", "/v1/imports/{job_id}/errors"),
    ("get", "/v1/imports/template"),
    ("post", "/v1/exports"),
    ("get", "/v1/exports/{job_id}"),
    ("get", "/v1/exports/{job_id}/file"),
    ("get", "/v1/regions"),
}


async def test_openapi_documents_the_registry(registry_client: httpx.AsyncClient) -> None:
    spec = (await registry_client.get("/openapi.json")).json()
    present = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert present >= EXPECTED, EXPECTED - present
    create = spec["paths"]["/v1/households"]["post"]
    assert {"201", "409", "422"} <= set(create["responses"])
    schema = spec["components"]["schemas"]["HouseholdCreate"]
    assert schema["examples"][0]["members"][0]["relation"] == "head"
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"]}
    patch = spec["paths"]["/v1/households/{household_id}"]["patch"]
    assert {"412", "428"} <= set(patch["responses"])
    assert "If-Match" in {p["name"] for p in patch["parameters"]}
    imports = spec["paths"]["/v1/imports"]["post"]
    assert {"multipart/form-data", "text/csv"} <= set(imports["requestBody"]["content"])
    assert "户编号" in imports["description"]
    money = spec["components"]["schemas"]["IncomeRead"]["properties"]["net_income"]
    assert money["type"] == "string"
