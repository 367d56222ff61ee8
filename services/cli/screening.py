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


async def case_step_from_cli(
    url: str, case_id: str, action: str, evidence: dict[str, Any], *, role: str, region: str, day: Any
) -> Any:
    """Take one step of a monitoring case in this process, the business date pinned to `day`."""
    import uuid
    from datetime import datetime

    from services.screening.config import ScreeningSettings
    from services.screening.jobs import job_runner_for
    from services.screening.service.cases import CaseService
    from services.screening.service.common import Context
    from shared.auth import Principal, Role
    from shared.clock import BusinessClock, pinned_today
    from shared.db import create_engine, create_sessionmaker

    settings = ScreeningSettings(database_url=url, outbox_enabled=False)
    engine = create_engine(settings, application_name="fangpin-case-step-cli")
    sessionmaker = create_sessionmaker(engine)
    runner = job_runner_for(lambda: sessionmaker, background=False, context=lambda: ctx)
    clock = BusinessClock.from_settings(settings)
    if day is not None:  # the step happens on `day`, at this time of day in the county
        local = clock.now().astimezone(clock.zone)
        clock.set(datetime.combine(day, local.timetz()))
    ctx = Context(settings=settings, pii=None, clock=clock, jobs=runner)
    principal = Principal(sub=f"cli:{getpass.getuser()}", roles=frozenset({Role(role)}), region=region)
    try:
        with pinned_today(day):
            async with sessionmaker() as session:
                return await CaseService(session, ctx).transition(
                    principal,
                    uuid.UUID(case_id),
                    action=action,
                    evidence=evidence,
                    comment="fangpin case-step",
                    if_match=None,
                    idempotency_key=None,
                )
    finally:
        await engine.dispose()


CASE_STEP_EXAMPLE = """Example (the township review, once the 5-day notice published on 2026-12-02 has ended):

    fangpin case-step $CASE township_review --today 2026-12-07 \\
        --role township_officer --region 410602100 --evidence '{"objection_count": 0}'
"""


def case_step(
    case_id: Annotated[str, typer.Argument(help="the case id (uuid)")],
    action: Annotated[str, typer.Argument(help="the step, e.g. township_review, confirm")],
    today: Annotated[str | None, typer.Option(help="YYYY-MM-DD: the business date of the step; default: today")] = None,
    evidence: Annotated[str, typer.Option(help="the step's evidence, a JSON object")] = "{}",
    role: Annotated[str, typer.Option(help="the role taking the step")] = "township_officer",
    region: Annotated[str, typer.Option(help="the region of that role (a division code)")] = "410602",
) -> None:
    """Take one step of a monitoring case (监测对象认定) as ROLE on the business date --today.

    Like `advance-notices` for claims: the same use case as POST /v1/cases/{id}/transitions, run in
    this process with the date pinned, so a rehearsal need not wait out a notice (公示) period.
    The step is recorded and audited as cli:<user>. Prints the case's new state.
    """
    import datetime as dt
    import json

    from shared.errors import ServiceError

    try:
        day = dt.date.fromisoformat(today) if today else None
        body = json.loads(evidence)
        if not isinstance(body, dict):
            raise ValueError("--evidence is a JSON object")
    except ValueError as exc:
        typer.echo(f"--today is YYYY-MM-DD and --evidence a JSON object ({exc})", err=True)
        raise typer.Exit(2) from exc
    try:
        case = asyncio.run(case_step_from_cli(database_url(), case_id, action, body, role=role, region=region, day=day))
    except ServiceError as exc:
        typer.echo(f"{exc.status_code} {exc.code}: {exc.detail or exc.title}", err=True)
        raise typer.Exit(1) from exc
    except ValueError as exc:  # a case id or role that is not one
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"case {case.id}: {case.state} (version {case.version})")
