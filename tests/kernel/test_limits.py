"""Issue 9, defect 1 (in-process): the token is checked and the body bounded before the body is read.

Each request is driven through the service's ASGI app with a `receive` that counts what the
app pulls, so "not read" is measured, not assumed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI

from tests.conftest import AppHarness
from tests.support.tokens import auth

MiB = 1024 * 1024


class Drive:
    """One request through an ASGI app; the body comes in `chunk`-sized messages on demand."""

    def __init__(self, total: int, chunk: int = 64 * 1024, prefix: bytes = b"{") -> None:
        self.total = total
        self.prefix = prefix
        self.chunk = chunk
        self.pulled = 0
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""

    async def __call__(
        self,
        app: FastAPI,
        method: str,
        path: str,
        headers: dict[str, str],
        *,
        declare_length: bool = True,
        query: str = "",
    ) -> Drive:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        if declare_length:
            raw.append((b"content-length", str(self.total).encode()))
        else:
            raw.append((b"transfer-encoding", b"chunked"))
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": raw,
            "client": ("127.0.0.1", 1),
            "server": ("test", 80),
            "state": {},
        }

        async def receive() -> dict[str, Any]:
            if self.pulled >= self.total:
                return {"type": "http.disconnect"}
            size = min(self.chunk, self.total - self.pulled)
            head = self.prefix if self.pulled == 0 else b""
            self.pulled += size
            body = (head + b"a" * size)[:size]
            return {"type": "http.request", "body": body, "more_body": self.pulled < self.total}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                assert self.status is None, "two responses to one request"
                self.status = message["status"]
                self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
            elif message["type"] == "http.response.body":
                self.body += message.get("body", b"")

        await app(scope, receive, send)
        return self

    def problem(self) -> dict[str, Any]:
        assert self.headers["content-type"].startswith("application/problem+json"), self.headers
        return json.loads(self.body)  # type: ignore[no-any-return]


# Authenticated routes that take a body, in each service.
WRITES = {
    "registry": ("POST", "/v1/households"),
    "screening": ("POST", "/v1/feeds/medical_insurance/batches"),
    "claims": ("POST", "/v1/claims"),
}


@pytest.fixture(params=sorted(WRITES))
async def app(request: pytest.FixtureRequest, app_harness: AppHarness) -> FastAPI:
    return await app_harness.get(request.param)


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
async def test_no_token_is_401_before_the_body_is_read(app: FastAPI, declare_length: bool) -> None:
    method, path = WRITES[app.state.settings.service_name]
    drive = await Drive(300 * MiB)(
        app, method, path, {"content-type": "application/json"}, declare_length=declare_length
    )
    assert drive.status == 401
    assert drive.problem()["code"] == "missing_token"
    assert drive.pulled == 0, "the body was read before the token was checked"


async def test_bad_token_is_401_before_the_body_is_read(app: FastAPI) -> None:
    method, path = WRITES[app.state.settings.service_name]
    drive = await Drive(300 * MiB)(app, method, path, {"authorization": "Bearer nope"})
    assert drive.status == 401
    assert drive.problem()["code"] == "invalid_token"
    assert drive.pulled == 0


async def test_declared_length_over_the_json_limit_is_413_unread(app: FastAPI) -> None:
    name = app.state.settings.service_name
    method, path = ("POST", "/v1/households") if name == "registry" else ("POST", "/v1/claims")
    if name == "screening":
        method, path = "PUT", "/v1/thresholds/410602"
    drive = await Drive(2 * MiB)(app, method, path, {**auth("admin", ""), "content-type": "application/json"})
    assert drive.status == 413
    body = drive.problem()
    assert body["code"] == "payload_too_large"
    assert str(app.state.settings.body_max_bytes) in body["detail"]
    assert drive.pulled == 0


async def test_chunked_json_body_is_cut_at_the_limit(app_harness: AppHarness) -> None:
    app = await app_harness.get("registry")
    drive = await Drive(300 * MiB)(
        app,
        "POST",
        "/v1/households",
        {**auth("county_officer"), "content-type": "application/json"},
        declare_length=False,
    )
    assert drive.status == 413
    assert drive.problem()["code"] == "payload_too_large"
    limit = app.state.settings.body_max_bytes
    assert limit < drive.pulled <= limit + drive.chunk, "the body was read past its limit"


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize("multipart", [False, True], ids=["raw", "multipart"])
async def test_import_upload_over_its_limit_is_413_without_reading_it_all(
    app_harness: AppHarness, declare_length: bool, multipart: bool
) -> None:
    app = await app_harness.get("registry")
    limit = app.state.settings.import_max_bytes
    content_type = "multipart/form-data; boundary=xyz" if multipart else "text/csv"
    part = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n'
    drive = await Drive(limit * 3, prefix=part if multipart else b"")(
        app,
        "POST",
        "/v1/imports",
        {**auth("county_officer"), "content-type": content_type},
        declare_length=declare_length,
    )
    assert drive.status == 413, drive.body
    assert drive.problem()["code"] == "payload_too_large"
    assert drive.pulled <= limit + 64 * 1024 + drive.chunk


async def test_feed_batch_over_its_limit_is_413_without_reading_it_all(app_harness: AppHarness) -> None:
    app = await app_harness.get("screening")
    limit = app.state.settings.feed_max_bytes
    drive = await Drive(limit * 3)(
        app,
        "POST",
        "/v1/feeds/medical_insurance/batches",
        {**auth("department_feeder", department="medical_insurance"), "content-type": "application/x-ndjson"},
        declare_length=False,
        query="county_code=410602&record_count=1&control_total=1",
    )
    assert drive.status == 413
    assert drive.problem()["code"] == "payload_too_large"
    assert drive.pulled <= limit + 64 * 1024 + drive.chunk


async def test_import_limit_is_larger_than_the_json_limit(app_harness: AppHarness) -> None:
    """A file between the JSON limit and the import limit is not refused by the body guard."""
    app = await app_harness.get("registry")
    assert app.state.settings.import_max_bytes > app.state.settings.body_max_bytes
    drive = await Drive(2 * MiB)(app, "POST", "/v1/imports", {**auth("county_officer"), "content-type": "text/csv"})
    assert drive.status != 413
    assert drive.pulled == 2 * MiB


async def test_open_routes_stay_open(app: FastAPI) -> None:
    for path in ("/healthz", "/openapi.json", "/metrics"):
        drive = await Drive(0)(app, "GET", path, {})
        assert drive.status == 200, path
