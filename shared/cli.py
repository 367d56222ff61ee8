"""`fangpin`: one entry point for developers, operators and containers."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer

from shared.settings import SERVICE_PORTS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

app = typer.Typer(help="Fangpin (防贫) command line", no_args_is_help=True, add_completion=False)

SERVICES = tuple(SERVICE_PORTS)
DEMO_COUNTY = "410602"


def _database_url() -> str:
    """FANGPIN_DATABASE_URL, or the embedded database that `fangpin up` is running from `.fangpin/`."""
    url = os.environ.get("FANGPIN_DATABASE_URL", "")
    if url:
        return url
    from shared.embedded_pg import EmbeddedPostgres
    from shared.local import home

    local = EmbeddedPostgres(home() / "pgdata")
    if local.state_file.exists() and local.running():
        local.port = json.loads(local.state_file.read_text())["port"]
        return local.url("fangpin")
    typer.echo("FANGPIN_DATABASE_URL is not set and no `fangpin up` database is running here", err=True)
    raise typer.Exit(2)


def _local_env() -> None:
    from shared.local import apply_local_environment

    apply_local_environment()


def _set_parent_death_signal() -> None:
    """Children die with `fangpin up`, even if it is killed with SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@app.command()
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
    module = __import__(f"services.{service}.app", fromlist=["create_app"])
    application = module.create_app()
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
        "http": header_limited_protocol(settings.header_max_bytes),
        # Used only when h11 is chosen instead (FANGPIN_HTTP=h11 is not offered; kept in step anyway).
        "h11_max_incomplete_event_size": settings.header_max_bytes,
    }


@app.command()
def migrate(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply database migrations (Alembic `upgrade head`)."""
    from shared.migrate import upgrade

    upgrade(_database_url(), revision)
    typer.echo(f"migrated to {revision}")


@app.command()
def token(
    role: Annotated[list[str], typer.Option("--role", help="role; repeat for several")],
    region: Annotated[str, typer.Option(help="division-code prefix the token may see; empty = all")] = "",
    department: Annotated[str | None, typer.Option(help="feed department (department_feeder)")] = None,
    ttl: Annotated[int, typer.Option(help="lifetime in seconds")] = 8 * 3600,
    sub: Annotated[str | None, typer.Option(help="subject; defaults to dev:<role>")] = None,
) -> None:
    """Print a JWT signed with the configured (or locally generated) secret."""
    from shared.auth import Role, mint_token

    _local_env()
    try:
        roles = [Role(r) for r in role]
    except ValueError as exc:
        typer.echo(f"unknown role; choose from {', '.join(r.value for r in Role)}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        mint_token(
            os.environ["FANGPIN_JWT_SECRET"],
            sub=sub or f"dev:{roles[0].value}",
            roles=roles,
            region=region,
            department=department,
            ttl_seconds=ttl,
            audience=os.environ.get("FANGPIN_JWT_AUDIENCE", "fangpin"),
            issuer=os.environ.get("FANGPIN_JWT_ISSUER", "fangpin"),
        )
    )


@contextlib.asynccontextmanager
async def _engine(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine for one command, disposed when it is done."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from shared.settings import async_database_url

    engine = create_async_engine(async_database_url(url))
    try:
        yield engine
    finally:
        await engine.dispose()


async def _verify_audit(url: str) -> Any:
    from shared.audit import verify_chain

    async with _engine(url) as engine, engine.connect() as conn:
        return await verify_chain(conn)


@app.command("verify-audit")
def verify_audit() -> None:
    """Check the audit log's hash chain; exit 1 naming the first broken row."""
    report = asyncio.run(_verify_audit(_database_url()))
    if report.ok:
        typer.echo(f"audit chain intact: {report.rows_checked} rows")
        return
    typer.echo(f"audit chain BROKEN at row {report.first_broken_id}: {report.reason}", err=True)
    raise typer.Exit(1)


async def _seed(url: str, households: int) -> dict[str, int]:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from services.claims.demo import seed_schemes
    from services.registry import demo

    result: dict[str, int] = {}
    async with _engine(url) as engine:
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        async with sessionmaker() as session:
            result["regions"] = await demo.seed_regions(session)
        async with sessionmaker() as session:
            result["schemes"] = await seed_schemes(session)  # the reference insurance scheme (rules.md §2.1)
        if households:
            async with sessionmaker() as session:
                result["households"] = await demo.seed_households(session, households)
    return result


@app.command()
def seed(households: Annotated[int, typer.Option(help="demo households to generate")] = 0) -> None:
    """Load demo regions (and households) into the demo county 鹤山区 (410602)."""
    _local_env()
    typer.echo(f"seeded {asyncio.run(_seed(_database_url(), households))}")


def _registry_token(region: str) -> str:
    """FANGPIN_TOKEN, else a short-lived county-officer token from the local secret (development)."""
    given = os.environ.get("FANGPIN_TOKEN")
    if given:
        return given
    from shared.auth import Role, mint_token

    _local_env()
    return mint_token(
        os.environ["FANGPIN_JWT_SECRET"], sub="cli:import", roles=[Role.COUNTY_OFFICER], region=region,
        ttl_seconds=3600, audience=os.environ.get("FANGPIN_JWT_AUDIENCE", "fangpin"),
        issuer=os.environ.get("FANGPIN_JWT_ISSUER", "fangpin"),
    )


@app.command("import")
def import_file(
    file: Annotated[str, typer.Argument(help="CSV (UTF-8 or GB18030) or XLSX in the registry's import template")],
    mode: Annotated[str, typer.Option(help="all_or_nothing | valid_rows")] = "all_or_nothing",
    url: Annotated[str | None, typer.Option(help="registry base URL (default FANGPIN_REGISTRY_URL)")] = None,
    region: Annotated[str, typer.Option(help="region of the development token when FANGPIN_TOKEN is unset")] = (
        DEMO_COUNTY
    ),
    key: Annotated[
        str | None, typer.Option(help="Idempotency-Key (default: the file's SHA-256, so the same file imports once)")
    ] = None,
) -> None:
    """Import households from a file through the registry API (批量导入), with progress bars."""
    import hashlib
    from pathlib import Path

    if mode not in ("all_or_nothing", "valid_rows"):
        typer.echo("--mode is all_or_nothing or valid_rows", err=True)
        raise typer.Exit(2)
    path = Path(file)
    if not path.is_file():
        typer.echo(f"no such file: {file}", err=True)
        raise typer.Exit(2)
    data = path.read_bytes()
    base = (url or os.environ.get("FANGPIN_REGISTRY_URL") or "http://127.0.0.1:8001").rstrip("/")
    headers = {
        "Authorization": f"Bearer {_registry_token(region)}",
        "Idempotency-Key": key or f"import:{mode}:{hashlib.sha256(data).hexdigest()}",
        "Content-Type": "text/csv" if not data.startswith(b"PK\x03\x04") else
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    chunk = 256 * 1024
    with httpx.Client(base_url=base, timeout=httpx.Timeout(600, connect=10)) as client:
        with typer.progressbar(length=len(data), label=f"upload {path.name}") as bar:

            def body() -> Any:
                for start in range(0, len(data), chunk):
                    piece = data[start:start + chunk]
                    bar.update(len(piece))
                    yield piece

            try:
                response = client.post(
                    "/v1/imports", params={"mode": mode, "filename": path.name}, content=body(),
                    headers={**headers, "Content-Length": str(len(data))},
                )
            except httpx.HTTPError as exc:
                typer.echo(f"\ncannot reach the registry at {base}: {type(exc).__name__}", err=True)
                raise typer.Exit(1) from exc
        if response.status_code >= 400:
            problem = response.json() if response.headers.get("content-type", "").endswith("json") else {}
            typer.echo(f"refused ({response.status_code} {problem.get('code', '')}): {problem.get('detail', '')}",
                       err=True)
            raise typer.Exit(1)
        job = response.json()
        if response.headers.get("idempotency-replayed"):
            typer.echo(f"this file was already submitted (job {job['id']}): nothing is imported twice")
        done = 0
        with typer.progressbar(length=max(job["progress"]["total"] or 1, 1), label="import") as bar:
            while job["status"] in ("queued", "running"):
                time.sleep(0.5)
                job = client.get(f"/v1/imports/{job['id']}", headers=headers).json()
                progress = job["progress"]
                if progress["total"] and progress["total"] != bar.length:
                    bar.length = progress["total"]
                bar.update(max(progress["done"] - done, 0))
                done = max(done, progress["done"])
            bar.update(max((job["progress"]["total"] or 0) - done, 0))
    result = job.get("result") or {}
    typer.echo(f"job {job['id']}: {job['status']}, {result.get('imported_households', 0)} households and "
               f"{result.get('imported_members', 0)} members imported, {result.get('rejected_rows', 0)} rows rejected")
    for error in job.get("errors", [])[:20]:
        typer.echo(f"  row {error['row']} {error['column'] or ''}: {error['message']} ({error['code']})")
    if job.get("error_count", 0) > 20:
        typer.echo(f"  … {job['error_count'] - 20} more at {base}/v1/imports/{job['id']}/errors")
    if job.get("failure"):
        typer.echo(job["failure"], err=True)
    raise typer.Exit(0 if job["status"] == "succeeded" else 1)


@app.command("advance-notices")
def advance_notices(
    today: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default: today in the county's time zone")] = None,
) -> None:
    """Approve the claims whose public notice (公示) ended without an undecided or upheld objection."""
    import datetime as dt

    from services.claims.scheduler import advance_from_cli

    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError as exc:
        typer.echo("--today must be YYYY-MM-DD", err=True)
        raise typer.Exit(2) from exc
    result = asyncio.run(advance_from_cli(_database_url(), day))
    typer.echo(
        f"{result.today}: approved {result.approved}, waiting on objections {result.waiting_on_objections}, "
        f"notices closed {result.notices_closed}"
    )


@app.command()
def screen(
    county: Annotated[str, typer.Option(help="county code (6 digits)")],
    period: Annotated[str, typer.Option(help="the month to screen, YYYY-MM")],
) -> None:
    """Run the monthly screening (防返贫监测) of one county now, with a progress bar."""
    from services.screening.cli import screen_from_cli
    from shared.errors import ServiceError

    with typer.progressbar(length=6, label=f"screening {county} {period}") as bar:

        async def progress(done: int, total: int, step: str) -> None:
            bar.update(done - bar.pos)

        try:
            run = asyncio.run(screen_from_cli(_database_url(), county, period, progress))
        except ServiceError as exc:
            typer.echo(f"\n{exc.detail or exc}", err=True)
            raise typer.Exit(2) from exc
        except Exception as exc:
            typer.echo(f"\nthe run failed ({type(exc).__name__}); see the run's errors and the log", err=True)
            raise typer.Exit(1) from exc
    result = run["result"] or {}
    typer.echo(
        f"run {run['id']} (version {run['version']}): {result.get('households', 0)} households, "
        f"{result.get('leads', 0)} leads, {result.get('case_evidence', 0)} to open cases, "
        f"{result.get('seconds', {}).get('total', '?')} s"
    )
    for township, count in sorted((result.get("leads_by_township") or {}).items()):
        typer.echo(f"  {township}: {count}")


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


@app.command()
def up(
    households: Annotated[int, typer.Option(help="demo households to seed on first start")] = 3000,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="skip demo data")] = False,
) -> None:
    """Start everything: embedded PostgreSQL (unless FANGPIN_DATABASE_URL), migrate, seed, three services."""
    from shared.embedded_pg import EmbeddedPostgres
    from shared.local import home
    from shared.migrate import upgrade

    _local_env()
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
            typer.echo(f"demo data: {asyncio.run(_seed(url, households))}")
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
                [sys.executable, "-m", "shared.cli", "serve", name],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_set_parent_death_signal,
            )
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        _wait_ready(urls, procs, timeout=60)
        from shared.auth import Role, mint_token

        officer = mint_token(
            os.environ["FANGPIN_JWT_SECRET"], sub="dev:county_officer", roles=[Role.COUNTY_OFFICER],
            region=DEMO_COUNTY, ttl_seconds=12 * 3600,
            audience=os.environ.get("FANGPIN_JWT_AUDIENCE", "fangpin"),
            issuer=os.environ.get("FANGPIN_JWT_ISSUER", "fangpin"),
        )
        typer.echo("")
        for name, base in urls.items():
            typer.echo(f"  {name:<10} {base}   docs: {base}/docs")
        typer.echo(f"  logs       {log_dir}")
        typer.echo(f"\n  county officer token (鹤山区 {DEMO_COUNTY}, 12 h):\n  {officer}\n")
        typer.echo(
            "  export TOKEN=<the token above>\n"
            f"  curl -H \"Authorization: Bearer $TOKEN\" {urls['registry']}/v1/regions"
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


async def _rotate_pii(reindex: bool | None) -> dict[str, int]:
    from shared.pii_rotation import RotationError, rotate, service_columns
    from shared.settings import ServiceSettings

    cipher = ServiceSettings().pii_cipher()
    if cipher is None:
        typer.echo("FANGPIN_PII_KEY and FANGPIN_PII_INDEX_KEY must be set", err=True)
        raise typer.Exit(2)
    typer.echo(f"rotating to {cipher.algorithm} (blind index {cipher.index_algorithm})")
    async with _engine(_database_url()) as engine:
        try:
            return await rotate(
                engine, cipher, service_columns(), reindex=reindex,
                progress=lambda col, n: typer.echo(f"  {col.schema}.{col.table}.{col.column}: {n}"),
            )
        except RotationError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc


@app.command("rotate-pii-key")
def rotate_pii_key(
    reindex: bool | None = typer.Option(
        None, "--reindex/--no-reindex",
        help="recompute every blind index (default: when a sample shows the index key or algorithm changed)",
    ),
) -> None:
    """Re-encrypt every stored personal-data column under FANGPIN_PII_KEY and FANGPIN_PII_ALGORITHM (re-runnable).

    Blind indexes are recomputed with FANGPIN_PII_INDEX_KEY and the index algorithm where they differ;
    a change of the index is an offline step (docs/operations.md).
    """
    _local_env()
    result = asyncio.run(_rotate_pii(reindex))
    typer.echo(f"re-encrypted: {result}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
