"""`fangpin token`: a development (or operator) JWT."""

from __future__ import annotations

from typing import Annotated

import typer

from services.cli.common import dev_token


def token(
    role: Annotated[list[str], typer.Option("--role", help="role; repeat for several")],
    region: Annotated[str, typer.Option(help="division-code prefix the token may see; empty = all")] = "",
    department: Annotated[str | None, typer.Option(help="feed department (department_feeder)")] = None,
    ttl: Annotated[int, typer.Option(help="lifetime in seconds")] = 8 * 3600,
    sub: Annotated[str | None, typer.Option(help="subject; defaults to dev:<role>")] = None,
) -> None:
    """Print a JWT signed with the configured (or locally generated) secret."""
    from shared.auth import Role

    try:
        roles = [Role(r) for r in role]
    except ValueError as exc:
        typer.echo(f"unknown role; choose from {', '.join(r.value for r in Role)}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        dev_token(
            sub=sub or f"dev:{roles[0].value}", roles=roles, region=region, department=department, ttl_seconds=ttl
        )
    )
