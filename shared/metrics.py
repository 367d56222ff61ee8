"""Prometheus metrics: per endpoint, per job, and the outbox."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

HTTP_REQUESTS = Counter(
    "fangpin_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "fangpin_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HTTP_IN_FLIGHT = Gauge("fangpin_http_requests_in_flight", "HTTP requests being handled", ["service"])
JOB_DURATION = Histogram(
    "fangpin_job_duration_seconds",
    "Duration of long jobs (imports, feed batches, screening runs, exports)",
    ["service", "job"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
JOB_ROWS = Counter("fangpin_job_rows_total", "Rows handled by jobs", ["service", "job", "outcome"])
OUTBOX_PENDING = Gauge("fangpin_outbox_pending", "Outbox messages waiting for delivery", ["service"])
OUTBOX_DELIVERED = Counter("fangpin_outbox_delivered_total", "Outbox messages delivered", ["service", "target"])
OUTBOX_FAILURES = Counter(
    "fangpin_outbox_delivery_failures_total", "Failed outbox delivery attempts", ["service", "target"]
)


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
