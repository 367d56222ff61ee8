"""`fangpin import`: households from a file through the registry API (批量导入), with progress bars;
`fangpin report`: the county report's tables (统计报表), in this process."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

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


async def report_from_cli(url: str, county: str, year: int, rounding: str = "down") -> Any:
    """The county report's figures (GET /v1/statistics's use case) read in this process."""
    from services.registry.config import RegistrySettings
    from services.registry.domain.statistics import Rounding
    from services.registry.service.statistics import StatisticsService
    from shared.auth import Principal, Role
    from shared.db import create_engine, create_sessionmaker

    settings = RegistrySettings(database_url=url, outbox_enabled=False)
    engine = create_engine(settings, application_name="fangpin-report-cli")
    principal = Principal(sub="cli:report", roles=frozenset({Role.COUNTY_OFFICER}), region=county)
    try:
        async with create_sessionmaker(engine)() as session:
            return await StatisticsService(session, principal).figures(county, year, Rounding(rounding))
    finally:
        await engine.dispose()


def _print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    from shared.spreadsheets import display_width

    def text(value: object) -> str:
        return "" if value is None else str(value)

    widths = [display_width(h) for h in header]
    for row in rows:
        widths = [max(w, display_width(text(v))) for w, v in zip(widths, row, strict=True)]

    def line(values: list[object]) -> str:
        cells = []
        for w, v in zip(widths, values, strict=True):
            t = text(v)
            pad = " " * (w - display_width(t))
            cells.append(pad + t if isinstance(v, int | Decimal) else t + pad)
        return "  ".join(cells)

    typer.echo(f"\n{title}")
    typer.echo(line(list(header)))
    typer.echo("  ".join("-" * w for w in widths))
    for row in rows:
        typer.echo(line(row))


def report(
    county: Annotated[str, typer.Option(help="county code (6 digits); a 9/12-digit township or village works too")],
    year: Annotated[int, typer.Option(help="the report's year")],
    out: Annotated[str | None, typer.Option(help="also write the workbook here (XLSX)")] = None,
    rounding: Annotated[str, typer.Option(help="down (截位, as county reports write shares) | half_up")] = "down",
) -> None:
    """The county report's tables (统计报表, rules.md §5) in the terminal, and as XLSX with --out."""
    import asyncio

    from services.cli.common import database_url
    from services.registry.service.statistics import report_xlsx
    from shared.errors import ServiceError

    if not (len(county) in (6, 9, 12) and county.isdigit()) or rounding not in ("down", "half_up"):
        typer.echo("--county must be a 6, 9 or 12-digit code; --rounding down or half_up", err=True)
        raise typer.Exit(2)
    try:
        figures = asyncio.run(report_from_cli(database_url(), county, year, rounding))
    except ServiceError as exc:
        typer.echo(f"{exc.code}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{figures.region.name or ''}（{figures.region.code}） {figures.year}年 统计报表")
    _print_table(
        "汇总",
        ["指标", "户数", "人数"],
        [
            ["农村登记", figures.rural.households, figures.rural.people],
            ["建档立卡", figures.registered.households, figures.registered.people],
            ["未脱贫", figures.remaining.households, figures.remaining.people],
            *[[f"{y.year}年脱贫", y.households, y.people] for y in figures.lifted_out_by_year],
        ],
    )
    typer.echo(f"贫困发生率: {figures.poverty_incidence if figures.poverty_incidence is not None else '-'}%")
    for title, table in (
        ("未脱贫户 主要致贫原因", figures.remaining_by_cause),
        ("监测对象 类型", figures.monitored_by_type),
        ("监测对象 风险类型", figures.monitored_by_risk),
        ("低保 / 特困", figures.dibao_tekun),
    ):
        _print_table(
            title,
            ["类别", "户数", "人数", "占比(%)"],
            [[c.label, c.households, c.people, c.share] for c in table],
        )
    if figures.by_region:
        _print_table(
            "分地区",
            ["代码", "名称", "农村人数", "建档立卡户", "未脱贫户", "未脱贫人", "贫困发生率(%)"],
            [
                [
                    r.code,
                    r.name or "",
                    r.rural.people,
                    r.registered.households,
                    r.remaining.households,
                    r.remaining.people,
                    r.poverty_incidence,
                ]
                for r in figures.by_region
            ],
        )
    if figures.assistance_paid:
        _print_table(
            "帮扶资金",
            ["措施类型", "笔数", "户数", "金额(元)"],
            [[a.label, a.payments, a.households, a.amount] for a in figures.assistance_paid],
        )
    if figures.measures_by_type:
        _print_table(
            "帮扶措施",
            ["措施类型", "措施数", "户数"],
            [[m.label, m.measures, m.households] for m in figures.measures_by_type],
        )
    if figures.care_by_group:
        _print_table(
            "兜底保障",
            ["兜底对象类别", "安置方式", "人数", "户数"],
            [[c.group_label, c.placement_label, c.people, c.households] for c in figures.care_by_group],
        )
    if figures.claims_paid:
        _print_table(
            "防贫保险赔付",
            ["类别", "件数", "户数", "金额(元)"],
            [[p.label, p.claims, p.households, p.amount] for p in figures.claims_paid],
        )
    if out:
        Path(out).write_bytes(report_xlsx(figures))
        typer.echo(f"\nwritten: {out}")
