"""The 431 of the header limit speaks the caller's language (issue 14: it was English only).

The limit is uvicorn's protocol (shared/limits.py header_limited_protocol), before any app code runs,
so the test serves a bare app with it on a real socket and sends heads over the limit.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from shared.limits import header_limited_protocol

LIMIT = 8 * 1024


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _serve(default_language: str) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(
        _app,
        host="127.0.0.1",
        port=port,
        http=header_limited_protocol(LIMIT, default_language),
        log_config=None,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def port_en() -> Iterator[int]:
    yield from _serve("en")


@pytest.fixture(scope="module")
def port_zh() -> Iterator[int]:
    yield from _serve("zh")


def _oversized(port: int, language: str | None) -> tuple[int, dict[str, str], dict[str, Any]]:
    head = b"GET /x HTTP/1.1\r\nHost: test\r\n"
    if language is not None:
        head += f"Accept-Language: {language}\r\n".encode()
    # far over the limit: a head that arrives in one read is parsed whole before the limit is looked at
    head += b"X-Padding: " + b"a" * (1024 * 1024) + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        with contextlib.suppress(OSError):  # the server may answer and close while the rest is being sent
            conn.sendall(head)
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw.split(b"\r\n\r\n", 1)[1]) < int(
            dict(_headers(raw)).get("content-length", "1000000")
        ):
            chunk = conn.recv(65536)
            if not chunk:
                break
            raw += chunk
    status = int(raw.split(b" ", 2)[1])
    headers = dict(_headers(raw))
    body = json.loads(raw.split(b"\r\n\r\n", 1)[1][: int(headers["content-length"])])
    return status, headers, body


def _headers(raw: bytes) -> list[tuple[str, str]]:
    if b"\r\n\r\n" not in raw:
        return []
    lines = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return [(k.strip().lower(), v.strip()) for k, v in (line.split(":", 1) for line in lines)]


def test_a_head_under_the_limit_is_served(port_en: int) -> None:
    with socket.create_connection(("127.0.0.1", port_en), timeout=10) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        assert conn.recv(1000).startswith(b"HTTP/1.1 200")


def test_chinese_when_accept_language_prefers_it(port_en: int) -> None:
    status, headers, body = _oversized(port_en, "zh-CN,zh;q=0.9,en;q=0.8")
    assert status == 431
    assert headers["content-language"] == "zh"
    assert body["code"] == "header_too_large"
    assert body["title"] == "请求头过大"
    assert body["detail"] == f"请求行和请求头最多 {LIMIT} 字节"


def test_english_otherwise(port_en: int) -> None:
    for language in ("en-US,en;q=0.9", None):
        status, headers, body = _oversized(port_en, language)
        assert status == 431
        assert headers["content-language"] == "en"
        assert body["code"] == "header_too_large"
        assert body["detail"] == f"the request line and headers may have at most {LIMIT} bytes"


def test_the_service_default_language_when_none_is_asked(port_zh: int) -> None:
    _, _, body = _oversized(port_zh, None)
    assert body["title"] == "请求头过大"
    _, _, body = _oversized(port_zh, "en")
    assert body["title"] == "Request header fields too large"
