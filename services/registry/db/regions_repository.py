"""Every query on `registry.region`."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db.tables import grid, region


@dataclass(frozen=True)
class Region:
    """A row of `registry.region`: one division of the 12-digit tree."""

    code: str
    name: str
    level: str
    parent_code: str | None
    prefix: str
    county_code: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Grid:
    """A row of `registry.grid`: a grid 网格 of a village with its 网格长."""

    code: str
    village_code: str
    county_code: str
    name: str
    leader_name: str | None
    created_at: datetime
    updated_at: datetime


def _region(row: RowMapping) -> Region:
    return Region(**row)


class RegionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, code: str) -> Region | None:
        row = (await self.session.execute(select(region).where(region.c.code == code))).mappings().one_or_none()
        return _region(row) if row else None

    async def list(
        self,
        *,
        scope_prefix: str,
        parent_code: str | None,
        level: str | None,
        after_code: str | None,
        limit: int,
    ) -> list[Region]:
        query = select(region)
        if scope_prefix:
            # inside the caller's region, or one of its ancestors (so a cadre can name its county)
            query = query.where(
                or_(region.c.prefix.startswith(scope_prefix), func.strpos(scope_prefix, region.c.prefix) == 1)
            )
        if parent_code is not None:
            query = query.where(region.c.parent_code == parent_code)
        if level is not None:
            query = query.where(region.c.level == level)
        if after_code is not None:
            query = query.where(region.c.code > after_code)
        rows = (await self.session.execute(query.order_by(region.c.code).limit(limit))).mappings().all()
        return [_region(r) for r in rows]

    async def names(self, codes: Sequence[str]) -> dict[str, str]:
        """The names of these 12-digit region codes (those in the tree), by code; one round trip."""
        if not codes:
            return {}
        rows = await self.session.execute(select(region.c.code, region.c.name).where(region.c.code.in_(list(codes))))
        return {r[0]: r[1] for r in rows}

    async def grid(self, code: str) -> Grid | None:
        row = (await self.session.execute(select(grid).where(grid.c.code == code))).mappings().one_or_none()
        return Grid(**row) if row else None

    async def grids(self, *, village_prefix: str, limit: int = 1000) -> builtins.list[Grid]:
        query = select(grid).where(grid.c.village_code.startswith(village_prefix)).order_by(grid.c.code).limit(limit)
        return [Grid(**r) for r in (await self.session.execute(query)).mappings()]

    async def existing_grids(self, codes: Sequence[str]) -> set[str]:
        if not codes:
            return set()
        rows = await self.session.execute(select(grid.c.code).where(grid.c.code.in_(list(codes))))
        return {r[0] for r in rows}

    async def upsert_grids(self, rows: Sequence[dict[str, Any]]) -> int:
        if not rows:
            return 0
        stmt = insert(grid).values(list(rows))
        stmt = stmt.on_conflict_do_update(
            index_elements=[grid.c.code],
            set_={
                "name": stmt.excluded.name,
                "leader_name": stmt.excluded.leader_name,
                "village_code": stmt.excluded.village_code,
                "county_code": stmt.excluded.county_code,
                "updated_at": func.now(),
            },
        )
        await self.session.execute(stmt)
        return len(rows)

    async def village(self, code12: str) -> Region | None:
        row = (
            (await self.session.execute(select(region).where(region.c.code == code12, region.c.level == "village")))
            .mappings()
            .one_or_none()
        )
        return _region(row) if row else None

    async def existing_villages(self, codes: Sequence[str]) -> set[str]:
        if not codes:
            return set()
        rows = await self.session.execute(
            select(region.c.code).where(region.c.level == "village", region.c.code.in_(list(codes)))
        )
        return {r[0] for r in rows}

    async def villages_with_townships(self, prefix: str) -> builtins.list[tuple[str, str, str | None]]:
        """(code, name, township name) of every village under the region prefix, by code (a county: a few
        hundred); the import's villages by name."""
        township = region.alias("village_township")
        query = (
            select(region.c.code, region.c.name, township.c.name)
            .outerjoin(township, township.c.code == region.c.parent_code)
            .where(region.c.level == "village", region.c.prefix.startswith(prefix))
            .order_by(region.c.code)
        )
        return [(r[0], r[1], r[2]) for r in await self.session.execute(query)]

    async def upsert_many(self, rows: Sequence[dict[str, Any]]) -> int:
        if not rows:
            return 0
        stmt = insert(region).values(list(rows))
        stmt = stmt.on_conflict_do_update(
            index_elements=[region.c.code],
            set_={"name": stmt.excluded.name, "parent_code": stmt.excluded.parent_code, "updated_at": func.now()},
        )
        await self.session.execute(stmt)
        return len(rows)
