"""Every query on simulation jobs (测算), and the year's current payout they compare against."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import assessment, simulation

ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class SimulationRow:
    """One simulation job (table simulation); scheme, errors and result stay jsonb documents."""

    id: uuid.UUID
    county_code: str
    year: int
    scheme: dict[str, Any]
    status: str
    progress_done: int
    progress_total: int
    errors: list[Any]
    result: dict[str, Any] | None
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: RowMapping) -> SimulationRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


class SimulationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(
        self, *, job_id: uuid.UUID, county_code: str, year: int, scheme: dict[str, Any], created_by: str
    ) -> SimulationRow:
        result = await self.session.execute(
            simulation.insert()
            .values(
                id=job_id,
                county_code=county_code,
                year=year,
                scheme=scheme,
                status="queued",
                errors=[],
                created_by=created_by,
            )
            .returning(*simulation.c)
        )
        return SimulationRow.of(result.mappings().one())

    async def get(self, job_id: uuid.UUID) -> SimulationRow | None:
        row = (await self.session.execute(select(simulation).where(simulation.c.id == job_id))).mappings().one_or_none()
        return None if row is None else SimulationRow.of(row)

    async def claim_queued(self, job_id: uuid.UUID) -> SimulationRow | None:
        """Move a queued job to running; None when it is not queued (already taken or finished)."""
        result = await self.session.execute(
            update(simulation)
            .where(simulation.c.id == job_id, simulation.c.status == "queued")
            .values(status="running", started_at=func.now())
            .returning(*simulation.c)
        )
        row = result.mappings().one_or_none()
        return None if row is None else SimulationRow.of(row)

    async def set_progress(self, job_id: uuid.UUID, *, done: int | None = None, total: int | None = None) -> None:
        values: dict[str, int] = {}
        if done is not None:
            values["progress_done"] = done
        if total is not None:
            values["progress_total"] = total
        if values:
            await self.session.execute(update(simulation).where(simulation.c.id == job_id).values(**values))

    async def succeed(self, job_id: uuid.UUID, result: dict[str, Any]) -> None:
        await self.session.execute(
            update(simulation)
            .where(simulation.c.id == job_id)
            .values(status="succeeded", result=result, finished_at=func.now())
        )

    async def fail(self, job_id: uuid.UUID, errors: list[str]) -> None:
        await self.session.execute(
            update(simulation)
            .where(simulation.c.id == job_id)
            .values(status="failed", errors=errors, finished_at=func.now())
        )

    async def current_payout(self, county_code: str, year: int) -> Decimal:
        """What the year's active assessments pay today (the simulation's comparison figure)."""
        value = (
            await self.session.execute(
                select(func.coalesce(func.sum(assessment.c.payout), ZERO)).where(
                    assessment.c.county_code == county_code,
                    assessment.c.year == year,
                    assessment.c.status == "active",
                )
            )
        ).scalar_one()
        return Decimal(value)
