"""Every query on import jobs (`registry.import_job`, `registry.import_job_error`). Flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db.household_repository import copy_records
from services.registry.db.tables import import_job, import_job_error

Row = dict[str, Any]  # the values of a new or changed row (what the use cases write)


@dataclass(frozen=True)
class ImportJob:
    """A row of `registry.import_job`."""

    id: uuid.UUID
    status: str
    mode: str
    format: str
    filename: str | None
    file_sha256: str
    file_bytes: int
    scope_region: str
    created_by: str
    phase: str | None
    total_rows: int | None
    processed_rows: int
    error_count: int
    imported_households: int
    imported_members: int
    result: dict[str, Any] | None  # the ImportResult document (jsonb)
    failure: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime


@dataclass(frozen=True)
class ImportJobError:
    """A row of `registry.import_job_error`: one rejected row of a file."""

    job_id: uuid.UUID
    seq: int
    row_number: int
    column_key: str | None
    message: str
    code: str


ERROR_COLUMNS = ("job_id", "seq", "row_number", "column_key", "message", "code")


class ImportJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_import_job(self, values: Row) -> ImportJob:
        row = (await self.session.execute(import_job.insert().values(**values).returning(import_job))).mappings()
        return ImportJob(**row.one())

    async def get_import_job(self, job_id: uuid.UUID) -> ImportJob | None:
        row = (await self.session.execute(select(import_job).where(import_job.c.id == job_id))).mappings()
        found = row.one_or_none()
        return ImportJob(**found) if found else None

    async def update_import_job(self, job_id: uuid.UUID, values: Row) -> None:
        await self.session.execute(
            update(import_job).where(import_job.c.id == job_id).values(**values, heartbeat_at=func.now())
        )

    async def list_import_jobs(self, *, scope_prefix: str, before: datetime | None, limit: int) -> list[ImportJob]:
        query = select(import_job)
        if scope_prefix:
            query = query.where(import_job.c.scope_region.startswith(scope_prefix))
        if before is not None:
            query = query.where(import_job.c.created_at < before)
        query = query.order_by(import_job.c.created_at.desc()).limit(limit)
        return [ImportJob(**r) for r in (await self.session.execute(query)).mappings()]

    async def import_errors(self, job_id: uuid.UUID, *, after_seq: int, limit: int) -> list[ImportJobError]:
        query = (
            select(import_job_error)
            .where(import_job_error.c.job_id == job_id, import_job_error.c.seq > after_seq)
            .order_by(import_job_error.c.seq)
            .limit(limit)
        )
        return [ImportJobError(**r) for r in (await self.session.execute(query)).mappings()]

    async def insert_errors(self, records: Sequence[tuple[Any, ...]]) -> int:
        """COPY row errors (`ERROR_COLUMNS` order)."""
        return await copy_records(self.session, "import_job_error", ERROR_COLUMNS, records)
