"""Region use cases: the 12-digit administrative division tree (行政区划)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.api.schemas import RegionImportResult, RegionRead
from services.registry.db.regions_repository import Region, RegionRepository
from services.registry.domain.regions import parent_code, parse_region_code
from shared.audit import Auditor
from shared.auth import Principal
from shared.errors import FieldError, NotFound, Unprocessable
from shared.pagination import Page, next_cursor, read_cursor


def normalise_code(code: str) -> str:
    """Accept 2/4/6/9/12-digit forms; return the zero-padded 12-digit code (ValueError otherwise)."""
    return parse_region_code(code).code12


def region_read(region: Region) -> RegionRead:
    return RegionRead.model_validate(region, from_attributes=True)


def region_row(code: str, name: str) -> dict[str, Any]:
    """The values of a new region row (what `RegionRepository.upsert_many` writes)."""
    region = parse_region_code(code)
    return {
        "code": region.code12,
        "name": name.strip(),
        "level": region.level.value,
        "parent_code": parent_code(region.code12),
        "prefix": region.prefix,
        "county_code": region.county_code,
    }


GRID_CODE = re.compile(r"[0-9]{12}[0-9A-Za-z]{1,4}")


def grid_row(code: str, name: str, leader: str | None) -> dict[str, Any]:
    """The values of a grid row (网格): its village is the code's first 12 digits."""
    code = code.strip()
    return {
        "code": code,
        "village_code": code[:12],
        "county_code": code[:6],
        "name": name.strip(),
        "leader_name": (leader or "").strip() or None,
    }


class RegionService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = RegionRepository(session)

    async def _get(self, principal: Principal, code: str) -> Region:
        try:
            code12 = normalise_code(code)
        except ValueError as exc:
            raise NotFound("no such region", code="region_not_found") from exc
        found = await self.repo.get(code12)
        if found is None or not (principal.can_see(found.prefix) or principal.region.startswith(found.prefix)):
            raise NotFound("no such region", code="region_not_found")
        return found

    async def get(self, principal: Principal, code: str) -> RegionRead:
        return region_read(await self._get(principal, code))

    async def list(
        self, principal: Principal, *, parent: str | None, level: str | None, cursor: str | None, limit: int
    ) -> Page[RegionRead]:
        """Regions in (or above) the caller's region, by code; the cursor is the last code of a page."""
        after = read_cursor(cursor, str)
        rows = await self._list(
            principal, parent=parent, level=level, after=after[0] if after else None, limit=limit + 1
        )
        return Page[RegionRead](
            items=[region_read(r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit, lambda r: [r.code])
        )

    async def children(self, principal: Principal, code: str, *, limit: int) -> Page[RegionRead]:
        """The direct children of a visible region (one page of at most `limit`)."""
        parent = await self._get(principal, code)
        rows = await self._list(principal, parent=parent.code, level=None, after=None, limit=limit)
        return Page[RegionRead](items=[region_read(r) for r in rows])

    async def _list(
        self, principal: Principal, *, parent: str | None, level: str | None, after: str | None, limit: int
    ) -> Sequence[Region]:
        parent12 = None
        if parent is not None:
            try:
                parent12 = normalise_code(parent)
            except ValueError as exc:
                raise Unprocessable(
                    "parent must be a division code", errors=[FieldError(field="query.parent", message=str(exc))]
                ) from exc
        return await self.repo.list(
            scope_prefix=principal.region, parent_code=parent12, level=level, after_code=after, limit=limit
        )

    async def import_csv(self, principal: Principal, data: bytes) -> RegionImportResult:
        """Upsert regions from `code,name` rows (header required). Bad rows are reported, good ones kept."""
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gb18030", errors="replace")
        reader = csv.reader(io.StringIO(text))
        header = [h.strip().lower() for h in next(reader, [])]
        aliases = {
            "code": ("code", "代码", "区划代码", "网格编码"),
            "name": ("name", "名称"),
            "leader": ("leader", "leader_name", "网格长"),
        }
        index: dict[str, int] = {}
        for key, names in aliases.items():
            for i, h in enumerate(header):
                if h in names:
                    index[key] = i
        if "code" not in index or "name" not in index:
            raise Unprocessable(
                "the CSV needs a header with columns code (区划代码) and name (名称)", code="invalid_template"
            )
        rows: dict[str, dict[str, Any]] = {}
        grids: dict[str, tuple[int, dict[str, Any]]] = {}
        errors: list[FieldError] = []
        for row_number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            try:
                code = row[index["code"]]
                name = row[index["name"]]
            except IndexError:
                errors.append(FieldError(field=f"row {row_number}", message="missing columns", code="missing_column"))
                continue
            if GRID_CODE.fullmatch(code.strip()):
                # a grid 网格 under a village: the village's 12 digits and 1–4 more characters, with its 网格长
                leader = row[index["leader"]].strip() if "leader" in index and index["leader"] < len(row) else ""
                grid = grid_row(code, name, leader)
                if not grid["name"]:
                    errors.append(
                        FieldError(field=f"row {row_number}.name", message="name is empty", code="missing_name")
                    )
                elif not principal.can_see(grid["village_code"]):
                    errors.append(
                        FieldError(field=f"row {row_number}.code", message="outside your region", code="out_of_scope")
                    )
                else:
                    grids[grid["code"]] = (row_number, grid)
                continue
            try:
                parsed = region_row(code, name)
            except ValueError as exc:
                errors.append(FieldError(field=f"row {row_number}.code", message=str(exc), code="invalid_code"))
                continue
            if not parsed["name"]:
                errors.append(FieldError(field=f"row {row_number}.name", message="name is empty", code="missing_name"))
                continue
            if not principal.can_see(parsed["prefix"]):
                errors.append(
                    FieldError(field=f"row {row_number}.code", message="outside your region", code="out_of_scope")
                )
                continue
            rows[parsed["code"]] = parsed
        imported = await self.repo.upsert_many(list(rows.values()))
        known = await self.repo.existing_villages(sorted({g["village_code"] for _, g in grids.values()}))
        good_grids = []
        for row_number, grid in grids.values():
            if grid["village_code"] in known:
                good_grids.append(grid)
            else:
                message = "the grid's village is not in the region tree (list the village first)"
                errors.append(FieldError(field=f"row {row_number}.code", message=message, code="unknown_village"))
        imported_grids = await self.repo.upsert_grids(good_grids)
        await Auditor(self.session, "registry", principal).record(
            action="region.import",
            resource_type="region",
            resource_id=None,
            detail={"imported": imported, "grids": imported_grids, "rejected": len(errors)},
        )
        await self.session.commit()
        errors.sort(key=lambda e: int(e.field.split(" ", 1)[1].split(".", 1)[0]) if " " in e.field else 0)
        return RegionImportResult(imported=imported, grids=imported_grids, errors=errors)
