"""`fangpin import`: households from a file through the registry API (批量导入), with progress bars."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import httpx
import typer

from services.cli.common import DEMO_COUNTY, dev_token

UPLOAD_CHUNK = 256 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _registry_token(region: str) -> str:
    """FANGPIN_TOKEN, else a short-lived county-officer token from the local secret (development)."""
    given = os.environ.get("FANGPIN_TOKEN")
    if given:
        return given
    from shared.auth import Role

    return dev_token(sub="cli:import", roles=[Role.COUNTY_OFFICER], region=region, ttl_seconds=3600)


def import_file(
    file: Annotated[str, typer.Argument(help="CSV (UTF-8 or GB18030) or XLSX in the registry's import template")],
    mode: Annotated[str, typer.Option(help="all_or_nothing | valid_rows")] = "all_or_nothing",
    url: Annotated[
        str | None,
        typer.Option(help="registry base URL (default FANGPIN_REGISTRY_URL, else 127.0.0.1:FANGPIN_REGISTRY_PORT)"),
    ] = None,
    region: Annotated[str, typer.Option(help="region of the development token when FANGPIN_TOKEN is unset")] = (
        DEMO_COUNTY
    ),
    key: Annotated[
        str | None, typer.Option(help="Idempotency-Key (default: the file's SHA-256, so the same file imports once)")
    ] = None,
) -> None:
    """Import households from a file through the registry API (批量导入), with progress bars."""
    if mode not in ("all_or_nothing", "valid_rows"):
        typer.echo("--mode is all_or_nothing or valid_rows", err=True)
        raise typer.Exit(2)
    path = Path(file)
    if not path.is_file():
        typer.echo(f"no such file: {file}", err=True)
        raise typer.Exit(2)
    data = path.read_bytes()
    port = os.environ.get("FANGPIN_REGISTRY_PORT") or "8001"  # as `fangpin up` reads it
    base = (url or os.environ.get("FANGPIN_REGISTRY_URL") or f"http://127.0.0.1:{port}").rstrip("/")
    headers = {
        "Authorization": f"Bearer {_registry_token(region)}",
        "Idempotency-Key": key or f"import:{mode}:{hashlib.sha256(data).hexdigest()}",
        "Content-Type": XLSX if data.startswith(b"PK\x03\x04") else "text/csv",
    }
    with httpx.Client(base_url=base, timeout=httpx.Timeout(600, connect=10)) as client:
        with typer.progressbar(length=len(data), label=f"upload {path.name}") as bar:

            def body() -> Iterator[bytes]:
                for start in range(0, len(data), UPLOAD_CHUNK):
                    piece = data[start : start + UPLOAD_CHUNK]
                    bar.update(len(piece))
                    yield piece

            try:
                response = client.post(
                    "/v1/imports",
                    params={"mode": mode, "filename": path.name},
                    content=body(),
                    headers={**headers, "Content-Length": str(len(data))},
                )
            except httpx.HTTPError as exc:
                typer.echo(f"\ncannot reach the registry at {base}: {type(exc).__name__}", err=True)
                raise typer.Exit(1) from exc
        if response.status_code >= 400:
            problem = response.json() if response.headers.get("content-type", "").endswith("json") else {}
            typer.echo(
                f"refused ({response.status_code} {problem.get('code', '')}): {problem.get('detail', '')}", err=True
            )
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
    typer.echo(
        f"job {job['id']}: {job['status']}, {result.get('imported_households', 0)} households and "
        f"{result.get('imported_members', 0)} members imported, {result.get('rejected_rows', 0)} rows rejected"
    )
    for error in job.get("errors", [])[:20]:
        typer.echo(f"  row {error['row']} {error['column'] or ''}: {error['message']} ({error['code']})")
    if job.get("error_count", 0) > 20:
        typer.echo(f"  … {job['error_count'] - 20} more at {base}/v1/imports/{job['id']}/errors")
    if job.get("failure"):
        typer.echo(job["failure"], err=True)
    raise typer.Exit(0 if job["status"] == "succeeded" else 1)
