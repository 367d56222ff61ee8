from __future__ import annotations

import httpx


async def test_health_ready_metrics_docs(service_client: tuple[str, httpx.AsyncClient]) -> None:
    service, client = service_client
    assert (await client.get("/healthz")).json() == {"status": "ok", "service": service}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    await client.get("/v1/me")  # one 401 so the counters have a sample
    metrics = (await client.get("/metrics")).text
    assert f'fangpin_http_requests_total{{method="GET",route="/v1/me",service="{service}",status="401"}}' in metrics
    assert "fangpin_http_request_duration_seconds_bucket" in metrics
    openapi = (await client.get("/openapi.json")).json()
    assert openapi["info"]["title"].startswith("Fangpin")
    assert (await client.get("/docs")).status_code == 200
