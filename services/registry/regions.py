"""Region use cases: the 12-digit administrative division tree (行政区划)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db.regions_repository import RegionRepository
from shared import audit
from shared.auth import Principal
from shared.errors import FieldError, NotFound, Unprocessable

LEVEL_DIGITS = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}


def region_level(code12: str) -> str:
    if code12[2:] == "0" * 10:
        return "province"
    if code12[4:] == "0" * 8:
        return "city"
    if code12[6:] == "0" * 6:
        return "county"
    if code12[9:] == "000":
        return "township"
    return "village"


def normalise_code(code: str) -> str:
    """Accept 2/4/6/9/12-digit forms; return the zero-padded 12-digit code."""
    code = code.strip()
    if not code.isdigit() or len(code) not in (2, 4, 6, 9, 12):
        raise ValueError("a division code has 2, 4, 6, 9 or 12 digits")
    return code.ljust(12, "0")


def prefix_of(code12: str) -> str:
    return code12[: LEVEL_DIGITS[region_level(code12)]]


def parent_of(code12: str) -> str | None:
    level = region_level(code12)
    order = list(LEVEL_DIGITS)
    index = order.index(level)
    if index == 0:
        return None
    return code12[: LEVEL_DIGITS[order[index - 1]]].ljust(12, "0")


def region_row(code: str, name: str) -> dict[str, Any]:
    code12 = normalise_code(code)
    level = region_level(code12)
    return {
        "code": code12,
        "name": name.strip(),
        "level": level,
        "parent_code": parent_of(code12),
        "prefix": prefix_of(code12),
        "county_code": code12[:6] if level in ("county", "township", "village") else None,
    }


@dataclass(frozen=True)
class ImportReport:
    imported: int
    errors: list[FieldError]


class RegionService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = RegionRepository(session)

    async def get(self, principal: Principal, code: str) -> dict[str, Any]:
        try:
            code12 = normalise_code(code)
        except ValueError as exc:
            raise NotFound("no such region", code="region_not_found") from exc
        found = await self.repo.get(code12)
        if found is None or not (principal.can_see(found["prefix"]) or principal.region.startswith(found["prefix"])):
            raise NotFound("no such region", code="region_not_found")
        return found

    async def list(
        self, principal: Principal, *, parent: str | None, level: str | None, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
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

    async def import_csv(self, principal: Principal, data: bytes) -> ImportReport:
        """Upsert regions from `code,name` rows (header required). Bad rows are reported, good ones kept."""
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gb18030", errors="replace")
        reader = csv.reader(io.StringIO(text))
        header = [h.strip().lower() for h in next(reader, [])]
        aliases = {"code": ("code", "代码", "区划代码"), "name": ("name", "名称")}
        index: dict[str, int] = {}
        for key, names in aliases.items():
            for i, h in enumerate(header):
                if h in names:
                    index[key] = i
        if len(index) != 2:
            raise Unprocessable(
                "the CSV needs a header with columns code (区划代码) and name (名称)", code="invalid_template"
            )
        rows: dict[str, dict[str, Any]] = {}
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
        await audit.append(
            self.session, service="registry", actor=principal, action="region.import",
            resource_type="region", resource_id=None, detail={"imported": imported, "rejected": len(errors)},
        )
        await self.session.commit()
        return ImportReport(imported=imported, errors=errors)
