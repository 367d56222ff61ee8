"""Traces: a server span per request with the request id, and `traceparent` on calls to peers."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from services.screening.config import ScreeningSettings
from shared.app import ServiceSpec, build_app
from shared.auth import CurrentPrincipal
from tests.conftest import make_settings
from tests.support.stub_server import serve_in_thread
from tests.support.tokens import auth


def _collector(spans: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/traces")
    async def traces(request: Request) -> Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.body())
        for resource_spans in message.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    spans.append(
                        {
                            "service": service,
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "attributes": {a.key: a.value.string_value for a in span.attributes},
                        }
                    )
        return Response(status_code=200)

    return app


def _peer(headers: list[str]) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/echo")
    async def echo(request: Request) -> dict[str, str]:
        headers.append(request.headers.get("traceparent", ""))
        return {"ok": "yes"}

    return app


async def test_spans_carry_request_id_and_trace_crosses_to_peer(database_url: str) -> None:
    spans: list[dict[str, Any]] = []
    peer_headers: list[str] = []
    router = APIRouter()

    @router.get("/v1/call-peer")
    async def call_peer(request: Request, _: CurrentPrincipal) -> dict[str, str]:
        return await request.app.state.clients["registry"].call("GET", "/v1/echo")

    with serve_in_thread(_collector(spans)) as collector, serve_in_thread(_peer(peer_headers)) as peer:
        settings = make_settings(
            ScreeningSettings, database_url, otel_exporter_otlp_endpoint=collector, registry_url=peer
        )
        app = build_app(
            ServiceSpec(name="screening", title="t", description="", routers=[router], peers=("registry",)), settings
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://screening") as client:
                response = await client.get(
                    "/v1/call-peer", headers={**auth("county_officer"), "X-Request-ID": "trace-me-1"}
                )
                assert response.status_code == 200, response.text
        # lifespan exit flushed the exporter
        for _ in range(50):
            if any(s["attributes"].get("fangpin.request_id") == "trace-me-1" for s in spans):
                break
            await asyncio.sleep(0.05)
    server_span = next(s for s in spans if s["attributes"].get("fangpin.request_id") == "trace-me-1")
    assert server_span["service"] == "fangpin-screening"
    assert len(peer_headers) == 1
    # W3C traceparent: 00-<trace id>-<span id>-<flags>; the peer call is in the same trace
    assert peer_headers[0].split("-")[1] == server_span["trace_id"]
