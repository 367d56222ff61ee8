"""Issue 9, acceptance 2: huge bodies and headers against the registry as a real process.

A 300 MB body with no token (401) and with a valid one (413, declared and chunked), three such
bodies at once, and a 100 MB header (431) each leave the service's RSS within 30 MB of where
it was, and are answered long before the whole body has been sent. The client streams from a
loop over one small buffer over a raw socket, so the test itself holds no 300 MB either.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from shared.embedded_pg import free_port
from tests.support.processes import ServiceProcess
from tests.support.tokens import auth, service_env

pytestmark = pytest.mark.e2e

MB = 1000 * 1000
RSS_SLACK = 30 * 1024 * 1024
CHUNK = b"a" * (256 * 1024)


@dataclass
class Outcome:
    status: int | None
    body: bytes
    sent: int
    seconds: float


def _read_response(sock: socket.socket, deadline: float) -> bytes:
    data = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], 0.2)
        if not ready:
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(v)
                        for k, v in (h.split(b":", 1) for h in head.split(b"\r\n")[1:] if b":" in h)
                        if k.strip().lower() == b"content-length"
                    ),
                    None,
                )
                if length is not None and len(rest) >= length:
                    return data
            continue
        try:
            piece = sock.recv(65536)
        except OSError:
            return data
        if not piece:
            return data
        data += piece
    return data


def attack(port: int, head: bytes, total: int, *, chunked: bool = False, timeout: float = 20) -> Outcome:
    """Send `head`, then up to `total` bytes of body (or of a header value), stopping at the answer."""
    started = time.monotonic()
    deadline = started + timeout
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 * 1024)
        sock.sendall(head)
        response = b""
        try:
            while sent < total and time.monotonic() < deadline:
                _, writable, _ = select.select([], [sock], [], 0.2)
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                if not writable:
                    continue
                piece = CHUNK[: min(len(CHUNK), total - sent)]
                frame = (f"{len(piece):x}\r\n".encode() + piece + b"\r\n") if chunked else piece
                sock.sendall(frame)
                sent += len(piece)
        except OSError:
            pass  # the server closed on us: whatever it answered is in our receive buffer
        response = _read_response(sock, deadline)
    status = None
    if response.startswith(b"HTTP/1.1 "):
        status = int(response[9:12])
    body = response.partition(b"\r\n\r\n")[2]
    return Outcome(status, body, sent, time.monotonic() - started)


def post_head(path: str, headers: dict[str, str], *, length: int | None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: registry", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture(scope="module")
def registry(e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    log = Path(tmp_path_factory.mktemp("memory")) / "registry.log"
    proc = ServiceProcess(
        "registry", free_port(), {**service_env(e2e_database_url), "FANGPIN_OUTBOX_ENABLED": "false"}, log
    )
    proc.start()
    try:
        for _ in range(20):  # warm up: imports, pools, first-request caches
            httpx.get(f"{proc.url}/v1/regions", headers=auth("county_officer"), timeout=5)
            httpx.post(f"{proc.url}/v1/households", json={}, headers=auth("county_officer"), timeout=5)
        yield proc
    finally:
        proc.stop()


def rss(proc: ServiceProcess) -> int:
    assert proc.proc is not None
    return int(psutil.Process(proc.proc.pid).memory_info().rss)


def problem(outcome: Outcome) -> dict[str, object]:
    return json.loads(outcome.body)  # type: ignore[no-any-return]


def test_300_mb_without_a_token_is_401_unread(registry: ServiceProcess) -> None:
    before = rss(registry)
    for length in (300 * MB, None):
        outcome = attack(
            registry.port, post_head("/v1/households", {}, length=length), 300 * MB, chunked=length is None
        )
        assert outcome.status == 401, outcome
        assert problem(outcome)["code"] == "missing_token"
        assert outcome.sent < 50 * MB, "the service read the body before answering"
    assert rss(registry) - before < RSS_SLACK


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_300_mb_with_a_valid_token_is_413_unread(registry: ServiceProcess, declared: bool) -> None:
    before = rss(registry)
    head = post_head("/v1/households", auth("county_officer"), length=300 * MB if declared else None)
    outcome = attack(registry.port, head, 300 * MB, chunked=not declared)
    assert outcome.status == 413, outcome
    assert problem(outcome)["code"] == "payload_too_large"
    assert outcome.sent < 50 * MB
    assert rss(registry) - before < RSS_SLACK


def test_three_at_once_json_and_import(registry: ServiceProcess) -> None:
    before = rss(registry)
    officer = auth("county_officer")
    heads = [
        (post_head("/v1/households", officer, length=None), True),
        (post_head("/v1/households", officer, length=96 * MB), False),
        (post_head("/v1/imports", {**officer, "Content-Type": "text/csv"}, length=None), True),
    ]
    outcomes: list[Outcome] = []

    def one(head: bytes, chunked: bool) -> None:
        outcomes.append(attack(registry.port, head, 300 * MB, chunked=chunked))

    threads = [threading.Thread(target=one, args=h) for h in heads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(o.status or 0 for o in outcomes) == [413, 413, 413], outcomes
    assert all(o.sent < 150 * MB for o in outcomes)
    assert rss(registry) - before < RSS_SLACK


def test_100_mb_header_is_431_quickly(registry: ServiceProcess) -> None:
    before = rss(registry)
    head = b"GET /v1/regions HTTP/1.1\r\nHost: registry\r\nX-Padding: "
    outcome = attack(registry.port, head, 100 * MB)
    assert outcome.status == 431, outcome
    assert problem(outcome)["code"] == "header_too_large"
    assert outcome.sent < 10 * MB
    assert outcome.seconds < 5
    assert rss(registry) - before < RSS_SLACK
    # and the service still answers
    assert httpx.get(f"{registry.url}/v1/regions", headers=auth("county_officer"), timeout=5).status_code == 200
