"""OpenTelemetry traces across the three services: on when an OTLP endpoint is configured.

Inbound requests get a server span (FastAPI instrumentation), outbound calls between services
carry `traceparent` (httpx instrumentation), and every span has the request id as
`fangpin.request_id`, so a trace and a log line find each other.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI


def setup_tracing(app: FastAPI, service: str, endpoint: str | None) -> Callable[[], None] | None:
    """Instrument `app` and outbound httpx; return a shutdown callable (None when tracing is off)."""
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"fangpin-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")))
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls="healthz,readyz,metrics")
    httpx_instrumentor = HTTPXClientInstrumentor()
    owns_httpx = not httpx_instrumentor.is_instrumented_by_opentelemetry
    if owns_httpx:
        httpx_instrumentor.instrument(tracer_provider=provider)

    def shutdown() -> None:
        provider.force_flush()
        provider.shutdown()
        if owns_httpx:
            httpx_instrumentor.uninstrument()

    return shutdown
