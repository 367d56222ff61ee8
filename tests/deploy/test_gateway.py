"""deploy/nginx/fangpin.conf: routes, headers, and (where nginx is installed) a real run.

The run replaces the compose service names by three local HTTP servers and checks what they
receive: the prefix stripped, the query kept, X-Request-ID passed on or generated, the
prefix in X-Forwarded-Prefix, /metrics not reachable from outside.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.deploy.conftest import DEPLOY, SERVICE_PORTS, find_tool

CONF = DEPLOY / "nginx" / "fangpin.conf"


def conf_text() -> str:
    return CONF.read_text(encoding="utf-8")


def test_each_prefix_routes_to_its_service() -> None:
    text = conf_text()
    for name, port in SERVICE_PORTS.items():
        block = re.search(rf"location /{name}/ \{{(.*?)\}}", text, re.S)
        assert block, f"no location /{name}/"
        body = block.group(1)
        assert f"set $fangpin_upstream {name}:{port};" in body
        assert f"rewrite ^/{name}/(.*)$ /$1 break;" in body
        assert "proxy_pass http://$fangpin_upstream;" in body


def test_gateway_listens_on_8080_and_passes_request_id() -> None:
    text = conf_text()
    assert re.search(r"^\s*listen 8080;", text, re.M)
    assert "proxy_set_header X-Request-ID $fangpin_request_id;" in text
    # Nothing in a location block sets its own headers, which would drop the server-level ones.
    for block in re.findall(r"location [^{]+\{(.*?)\}", text, re.S):
        assert "proxy_set_header" not in block


def test_compose_mounts_this_file_as_the_default_server(compose: dict[str, Any]) -> None:
    assert "./nginx/fangpin.conf:/etc/nginx/conf.d/default.conf:ro" in compose["services"]["gateway"]["volumes"]


# -- nginx itself ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nginx_or_skip() -> str:
    nginx = find_tool("nginx") or (str(Path("/usr/sbin/nginx")) if Path("/usr/sbin/nginx").exists() else None)
    if not nginx:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light); config checked statically only")
    return nginx


def local_config(tmp: Path, listen_port: int, upstreams: dict[str, int] | None = None) -> Path:
    """fangpin.conf wrapped in a minimal nginx.conf that runs unprivileged in `tmp`."""
    text = conf_text().replace("listen 8080;", f"listen 127.0.0.1:{listen_port};")
    text = text.replace("/var/log/nginx/access.log", str(tmp / "access.log"))
    for name, port in (upstreams or {}).items():
        text = text.replace(
            f"set $fangpin_upstream {name}:{SERVICE_PORTS[name]};", f"set $fangpin_upstream 127.0.0.1:{port};"
        )
    (tmp / "fangpin.conf").write_text(text, encoding="utf-8")
    main = tmp / "nginx.conf"
    temp_paths = "\n".join(f"  {d}_temp_path {tmp / d};" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main.write_text(
        f"""
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} warn;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
{temp_paths}
  include {tmp / "fangpin.conf"};
}}
""",
        encoding="utf-8",
    )
    return main


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    nginx = nginx_or_skip()
    main = local_config(tmp_path, free_port())
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr


class Recorder(BaseHTTPRequestHandler):
    service = ""
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        self.seen.append({"service": self.service, "path": self.path, "headers": dict(self.headers)})
        body = json.dumps({"service": self.service, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    nginx = nginx_or_skip()
    seen: list[dict[str, Any]] = []
    servers = []
    upstreams = {}
    for name in SERVICE_PORTS:
        handler = type(f"{name}Recorder", (Recorder,), {"service": name, "seen": seen})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        upstreams[name] = server.server_address[1]
    port = free_port()
    main = local_config(tmp_path, port, upstreams)
    proc = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(main), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError as err:
                if proc.poll() is not None:
                    stderr = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"nginx exited: {stderr}") from err
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not listen within 10 s") from err
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", seen
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for server in servers:
            server.shutdown()
            server.server_close()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - http to a local test server
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_gateway_routes_strips_prefix_and_passes_headers(gateway: tuple[str, list[dict[str, Any]]]) -> None:
    base, seen = gateway
    for name in SERVICE_PORTS:
        status, body = get(f"{base}/{name}/v1/things?cursor=abc&limit=2", {"X-Request-ID": f"req-{name}"})
        assert status == 200
        assert json.loads(body) == {"service": name, "path": "/v1/things?cursor=abc&limit=2"}
        headers = seen[-1]["headers"]
        assert headers["X-Request-ID"] == f"req-{name}"
        assert headers["X-Forwarded-Prefix"] == f"/{name}"

    # No id from the caller (or an unsafe one): the gateway makes one up.
    get(f"{base}/registry/healthz")
    generated = seen[-1]["headers"]["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    get(f"{base}/registry/healthz", {"X-Request-ID": 'bad id" with quotes'})
    assert re.fullmatch(r"[0-9a-f]{32}", seen[-1]["headers"]["X-Request-ID"])


def test_gateway_hides_metrics_and_unknown_paths(gateway: tuple[str, list[dict[str, Any]]]) -> None:
    base, seen = gateway
    for name in SERVICE_PORTS:
        assert get(f"{base}/{name}/metrics")[0] == 404
    status, body = get(f"{base}/elsewhere")
    assert status == 404
    assert json.loads(body)["code"] == "not_found"
    assert get(f"{base}/gateway-health") == (200, b"ok\n")
    assert seen == []
