"""`fangpin screen --county C --period YYYY-MM`: one screening run from the command line, in
this process, through the same code path as `POST /v1/runs`."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer

from services.cli.common import database_url

Progress = Callable[[int, int, str], Awaitable[None]]


async def screen_from_cli(url: str, county: str, period: str, progress: Progress | None = None) -> Any:
    """Create and execute the run; returns the finished run row. Raises ServiceError on bad input."""
    from services.screening.config import ScreeningSettings
    from services.screening.jobs import job_runner_for
    from services.screening.service.common import Context
    from services.screening.service.runs import create_run, run_now
    from shared.clock import BusinessClock
    from shared.db import create_engine, create_sessionmaker
    from shared.errors import ServiceError

    if not (len(county) == 6 and county.isdigit()):
        raise ServiceError("--county must be a 6-digit county code", code="invalid_county")
    settings = ScreeningSettings(database_url=url, outbox_enabled=False)
    engine = create_engine(settings, application_name="fangpin-screen-cli")
    sessionmaker = create_sessionmaker(engine)
    clock = BusinessClock.from_settings(settings)
    runner = job_runner_for(lambda: sessionmaker, background=False, context=lambda: ctx)
    ctx = Context(settings=settings, pii=None, clock=clock, jobs=runner)
    try:
        async with sessionmaker() as session:
            row = await create_run(
                session, ctx, county_code=county, period=period, trigger="cli", created_by=f"cli:{getpass.getuser()}"
            )
            await session.commit()
        return await run_now(ctx, row.id, progress=progress)
    finally:
        await engine.dispose()


def screen(
    county: Annotated[str, typer.Option(help="county code (6 digits)")],
    period: Annotated[str, typer.Option(help="the month to screen, YYYY-MM")],
) -> None:
    """Run the monthly screening (防返贫监测) of one county now, with a progress bar."""
    from shared.errors import ServiceError

    with typer.progressbar(length=6, label=f"screening {county} {period}") as bar:

        async def progress(done: int, total: int, step: str) -> None:
            bar.update(done - bar.pos)

        try:
            run = asyncio.run(screen_from_cli(database_url(), county, period, progress))
        except ServiceError as exc:
            typer.echo(f"\n{exc.detail or exc}", err=True)
            raise typer.Exit(2) from exc
        except Exception as exc:
            typer.echo(f"\nthe run failed ({type(exc).__name__}); see the run's errors and the log", err=True)
            raise typer.Exit(1) from exc
    result = run.result or {}
    typer.echo(
        f"run {run.id} (version {run.version}): {result.get('households', 0)} households, "
        f"{result.get('leads', 0)} leads, {result.get('case_evidence', 0)} to open cases, "
        f"{result.get('seconds', {}).get('total', '?')} s"
    )
    for township, count in sorted((result.get("leads_by_township") or {}).items()):
        typer.echo(f"  {township}: {count}")
