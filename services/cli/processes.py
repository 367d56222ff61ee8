"""`fangpin serve` (what a container runs) and `fangpin up` (everything on one machine)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib
import os
import signal
import subprocess
import sys
import time
from typing import Annotated, Any

import httpx
import typer

from services.cli.common import DEMO_COUNTY, SERVICES, dev_token, local_env
from services.cli.database import seed_demo
from shared.settings import SERVICE_PORTS


def serve(
    service: Annotated[str, typer.Argument(help="registry | screening | claims")],
    host: Annotated[str | None, typer.Option(help="bind address (FANGPIN_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (FANGPIN_PORT)")] = None,
) -> None:
    """Run one service (what the container runs)."""
    import uvicorn

    if service not in SERVICES:
        typer.echo(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}", err=True)
        raise typer.Exit(2)
    application = importlib.import_module(f"services.{service}.app").create_app()
    settings = application.state.settings
    uvicorn.run(application, **uvicorn_options(settings, host=host, port=port))


def uvicorn_options(settings: Any, *, host: str | None = None, port: int | None = None) -> dict[str, Any]:
    """How every service process runs uvicorn (containers, `fangpin up`, e2e tests: all `fangpin serve`).

    The HTTP protocol bounds the request line and headers (431 above FANGPIN_HEADER_MAX_BYTES);
    body limits are the kernel's (shared/limits.py), per route.
    """
    from shared.limits import header_limited_protocol

    return {
        "host": host or settings.host,
        "port": port or settings.port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": 20,
        "proxy_headers": True,
        "http": header_limited_protocol(settings.header_max_bytes, settings.default_language),
        # Used only when h11 is chosen instead (FANGPIN_HTTP=h11 is not offered; kept in step anyway).
        "h11_max_incomplete_event_size": settings.header_max_bytes,
    }


def _set_parent_death_signal() -> None:
    """Children die with `fangpin up`, even if it is killed with SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_ready(urls: dict[str, str], procs: dict[str, subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(urls)
    with httpx.Client(timeout=2.0) as client:
        while pending:
            for name, url in list(pending.items()):
                if procs[name].poll() is not None:
                    raise RuntimeError(f"{name} exited with code {procs[name].returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{url}/readyz").status_code == 200:
                        pending.pop(name)
            if pending:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not ready in {timeout:.0f}s: {', '.join(pending)}")
                time.sleep(0.2)


def up(
    households: Annotated[int, typer.Option(help="demo households to seed on first start")] = 3000,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="skip demo data")] = False,
) -> None:
    """Start everything: embedded PostgreSQL (unless FANGPIN_DATABASE_URL), migrate, seed, three services."""
    from shared.auth import Role
    from shared.embedded_pg import EmbeddedPostgres
    from shared.local import home
    from shared.migrate import upgrade

    local_env()
    state = home()
    database: EmbeddedPostgres | None = None
    stopping = False

    def request_stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    procs: dict[str, subprocess.Popen[bytes]] = {}
    exit_code = 0
    try:
        url = os.environ.get("FANGPIN_DATABASE_URL", "")
        if not url:
            database = EmbeddedPostgres(state / "pgdata")
            url = database.start("fangpin")
            os.environ["FANGPIN_DATABASE_URL"] = url
            typer.echo(f"embedded PostgreSQL: {url} (data in {state / 'pgdata'})")
        upgrade(url)
        marker = state / "seeded"
        if not no_seed and not marker.exists():
            typer.echo(f"demo data: {asyncio.run(seed_demo(url, households))}")
            marker.touch()
        env = dict(os.environ)
        env.setdefault("FANGPIN_LOG_JSON", "true")
        ports = {
            name: int(os.environ.get(f"FANGPIN_{name.upper()}_PORT", port)) for name, port in SERVICE_PORTS.items()
        }
        for name, port in ports.items():
            env.setdefault(f"FANGPIN_{name.upper()}_URL", f"http://127.0.0.1:{port}")
        log_dir = state / "logs"
        log_dir.mkdir(exist_ok=True)
        for name in SERVICES:
            log_file = (log_dir / f"{name}.log").open("ab")
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", name],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_set_parent_death_signal,
            )
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        _wait_ready(urls, procs, timeout=60)
        officer = dev_token(
            sub="dev:county_officer", roles=[Role.COUNTY_OFFICER], region=DEMO_COUNTY, ttl_seconds=12 * 3600
        )
        typer.echo("")
        for name, base in urls.items():
            typer.echo(f"  {name:<10} {base}   docs: {base}/docs")
        typer.echo(f"  logs       {log_dir}")
        typer.echo(f"\n  county officer token (鹤山区 {DEMO_COUNTY}, 12 h):\n  {officer}\n")
        typer.echo(
            f'  export TOKEN=<the token above>\n  curl -H "Authorization: Bearer $TOKEN" {urls["registry"]}/v1/regions'
        )
        typer.echo("\nFangpin is up. Ctrl-C stops everything.", err=False)
        sys.stdout.flush()
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    typer.echo(f"{name} exited with code {proc.returncode}; stopping", err=True)
                    stopping = True
                    exit_code = 1
            time.sleep(0.2)
    except Exception as exc:
        typer.echo(f"fangpin up failed: {exc}", err=True)
        exit_code = 1
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if database is not None:
            database.stop()
        typer.echo("stopped")
    raise typer.Exit(exit_code)
