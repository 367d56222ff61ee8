"""Thresholds per county and year (rules.md §1.1): versioned, a source note per value."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.api.schemas import ThresholdRead
from services.screening.db.thresholds_repository import ThresholdRepository, ThresholdVersion
from services.screening.domain.errors import ThresholdsInvalid
from services.screening.domain.thresholds import DEMO_SOURCES, DEMO_THRESHOLDS, Thresholds, parse_thresholds
from services.screening.service.common import (
    SERVICE,
    Context,
    Created,
    require_county_read,
    require_county_write,
    thresholds_invalid,
)
from shared.audit import Auditor
from shared.auth import Principal
from shared.concurrency import require_version
from shared.errors import Conflict, FieldError, NotFound, PreconditionFailed, Unprocessable

FIELD_NAMES = tuple(f.name for f in fields(Thresholds))
DEMO_NOTE = "demo defaults of rules.md §1.1 (演示默认值); replace with the county's published values"


def thresholds_of(row: ThresholdVersion) -> Thresholds:
    return parse_thresholds(row.values)


def threshold_read(row: ThresholdVersion) -> ThresholdRead:
    return ThresholdRead.model_validate(row, from_attributes=True)


async def ensure_current(session: AsyncSession, county_code: str, year: int, *, actor: str | None) -> ThresholdVersion:
    """The county-year's current version; the demo defaults become version 1 on first use."""
    repo = ThresholdRepository(session)
    row = await repo.current(county_code, year)
    if row is not None:
        return row
    await repo.lock(county_code, year)
    row = await repo.current(county_code, year)
    if row is not None:
        return row
    return await repo.insert(
        {
            "id": uuid.uuid4(),
            "county_code": county_code,
            "year": year,
            "version": 1,
            "values": DEMO_THRESHOLDS.as_dict(),
            "sources": dict(DEMO_SOURCES),
            "note": DEMO_NOTE,
            "created_by": actor or "system:first-use",
        }
    )


class ThresholdService:
    def __init__(self, session: AsyncSession, ctx: Context) -> None:
        self.session = session
        self.ctx = ctx
        self.repo = ThresholdRepository(session)

    async def current(self, principal: Principal, county_code: str, year: int) -> ThresholdRead:
        require_county_read(principal, county_code, "thresholds")
        row = await ensure_current(self.session, county_code, year, actor=None)
        await self.session.commit()
        return threshold_read(row)

    async def list_county(self, principal: Principal, county_code: str) -> list[ThresholdRead]:
        require_county_read(principal, county_code, "thresholds")
        return [threshold_read(r) for r in await self.repo.currents_of_county(county_code)]

    async def versions(self, principal: Principal, county_code: str, year: int) -> list[ThresholdRead]:
        require_county_read(principal, county_code, "thresholds")
        return [threshold_read(r) for r in await self.repo.versions(county_code, year)]

    async def version(self, principal: Principal, county_code: str, year: int, version: int) -> ThresholdRead:
        require_county_read(principal, county_code, "thresholds")
        row = await self.repo.get(county_code, year, version)
        if row is None:
            raise NotFound(f"thresholds {county_code}/{year} have no version {version}")
        return threshold_read(row)

    async def replace(
        self,
        principal: Principal,
        county_code: str,
        year: int,
        *,
        values: Mapping[str, Any],
        sources: Mapping[str, str],
        note: str | None,
        if_match: int | None,
    ) -> Created[ThresholdRead]:
        """A new version from the current one (If-Match) or the first one (`created`)."""
        require_county_write(principal, county_code)
        expected = if_match
        await self.repo.lock(county_code, year)
        current = await self.repo.current(county_code, year)
        if current is not None:
            require_version(expected, current.version, what=f"thresholds {county_code}/{year}")
        elif expected not in (None, 0):
            raise PreconditionFailed(f"thresholds {county_code}/{year} do not exist yet", code="version_conflict")

        base = thresholds_of(current) if current is not None else None
        try:
            new = parse_thresholds(values, base=base)
        except ThresholdsInvalid as exc:
            raise thresholds_invalid(exc) from exc
        unknown_sources = sorted(set(sources) - set(FIELD_NAMES))
        if unknown_sources:
            raise Unprocessable(
                "sources name unknown fields",
                code="invalid_thresholds",
                errors=[FieldError(field=f"sources.{k}", message="unknown field") for k in unknown_sources],
            )
        old_sources: dict[str, str] = dict(current.sources) if current is not None else {}
        new_values = new.as_dict()
        old_values = base.as_dict() if base is not None else {}
        merged: dict[str, str] = {}
        missing: list[str] = []
        for name in FIELD_NAMES:
            changed = name not in old_values or old_values[name] != new_values[name]
            if name in sources and sources[name].strip():
                merged[name] = sources[name].strip()
            elif not changed and name in old_sources:
                merged[name] = old_sources[name]
            elif new_values[name] == DEMO_THRESHOLDS.as_dict()[name] and name not in values:
                merged[name] = DEMO_SOURCES[name]
            else:
                missing.append(name)
        if missing:
            raise Unprocessable(
                "every value needs a source note (来源); give one for each value you set or change",
                code="source_required",
                errors=[FieldError(field=f"sources.{m}", message="source note required") for m in missing],
            )
        if current is not None and new_values == old_values and merged == old_sources and note == current.note:
            raise Conflict("nothing changed: the body equals the current version", code="no_change")
        row = await self.repo.insert(
            {
                "id": uuid.uuid4(),
                "county_code": county_code,
                "year": year,
                "version": (current.version + 1) if current is not None else 1,
                "values": new_values,
                "sources": merged,
                "note": note,
                "created_by": principal.sub,
            }
        )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.thresholds.versioned",
            "threshold_version",
            row.id,
            {
                "county_code": county_code,
                "year": year,
                "version": row.version,
                "changed": sorted(k for k in FIELD_NAMES if old_values.get(k) != new_values[k]),
            },
        )
        await self.session.commit()
        return Created(threshold_read(row), created=current is None)

    async def delete_version(
        self, principal: Principal, county_code: str, year: int, version: int, if_match: int | None
    ) -> None:
        """Withdraw the latest version, if no run or case used it (a decision keeps its version)."""
        require_county_write(principal, county_code)
        await self.repo.lock(county_code, year)
        current = await self.repo.current(county_code, year)
        if current is None or current.version < version:
            raise NotFound(f"thresholds {county_code}/{year} have no version {version}")
        if current.version != version:
            raise Conflict("only the latest version can be withdrawn", code="not_latest_version")
        require_version(if_match, version, what=f"thresholds {county_code}/{year}")
        if await self.repo.in_use(current.id):
            raise Conflict(
                f"version {version} was used by a screening run or a case and is kept",
                code="threshold_version_in_use",
            )
        await self.repo.delete(current.id)
        await Auditor(self.session, SERVICE, principal).record(
            "screening.thresholds.withdrawn",
            "threshold_version",
            current.id,
            {"county_code": county_code, "year": year, "version": version},
        )
        await self.session.commit()
