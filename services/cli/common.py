"""What several commands share: the database URL, the local development environment, a token."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

import typer

from shared.settings import SERVICE_PORTS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from shared.auth import Role

SERVICES = tuple(SERVICE_PORTS)
DEMO_COUNTY = "410602"


def database_url() -> str:
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


def local_env() -> None:
    from shared.local import apply_local_environment

    apply_local_environment()


def dev_token(*, sub: str, roles: Sequence[Role], region: str, ttl_seconds: int, department: str | None = None) -> str:
    """A JWT signed with the configured (or locally generated) secret, for the configured audience and issuer."""
    from shared.auth import mint_token

    local_env()
    return mint_token(
        os.environ["FANGPIN_JWT_SECRET"],
        sub=sub,
        roles=list(roles),
        region=region,
        department=department,
        ttl_seconds=ttl_seconds,
        audience=os.environ.get("FANGPIN_JWT_AUDIENCE", "fangpin"),
        issuer=os.environ.get("FANGPIN_JWT_ISSUER", "fangpin"),
    )


@contextlib.asynccontextmanager
async def engine(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine for one command, disposed when it is done."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from shared.settings import async_database_url

    created = create_async_engine(async_database_url(url))
    try:
        yield created
    finally:
        await created.dispose()
