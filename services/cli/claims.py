"""`fangpin advance-notices`: one approval round of the claims whose public notice (公示) ended."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

import typer

from services.cli.common import database_url


def advance_notices(
    today: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default: today in the county's time zone")] = None,
) -> None:
    """Approve the claims whose public notice (公示) ended without an undecided or upheld objection."""
    from services.claims.jobs import advance_from_cli

    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError as exc:
        typer.echo("--today must be YYYY-MM-DD", err=True)
        raise typer.Exit(2) from exc
    result = asyncio.run(advance_from_cli(database_url(), day))
    typer.echo(
        f"{result.today}: approved {result.approved}, waiting on objections {result.waiting_on_objections}, "
        f"notices closed {result.notices_closed}"
    )
