"""`fangpin screen --county C --period YYYY-MM`: one screening run from the command line, in
this process, through the same code path as `POST /v1/runs`."""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from typing import Any

from services.screening.config import ScreeningSettings
from services.screening.jobs import JobRunner, utc_now
from services.screening.service.common import Context
from services.screening.service.runs import create_run, execute_run
from shared.db import create_engine, create_sessionmaker
from shared.errors import ServiceError

Progress = Callable[[int, int, str], Awaitable[None]]


async def screen_from_cli(database_url: str, county: str, period: str, progress: Progress | None = None) -> Any:
    """Create and execute the run; returns the finished run row. Raises ServiceError on bad input."""
    if not (len(county) == 6 and county.isdigit()):
        raise ServiceError("--county must be a 6-digit county code", code="invalid_county")
    settings = ScreeningSettings(database_url=database_url, outbox_enabled=False)
    engine = create_engine(settings, application_name="fangpin-screen-cli")
    sessionmaker = create_sessionmaker(engine)
    ctx = Context(settings=settings, pii=None, clock=utc_now,
                  jobs=JobRunner(lambda: sessionmaker, background=False))
    try:
        async with sessionmaker() as session:
            row = await create_run(session, ctx, county_code=county, period=period, trigger="cli",
                                   created_by=f"cli:{getpass.getuser()}")
            await session.commit()
        async with sessionmaker() as session:
            return await execute_run(session, ctx, row["id"], progress=progress)
    finally:
        await engine.dispose()
