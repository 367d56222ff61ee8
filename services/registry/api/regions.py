"""Regions (行政区划): the division-code tree every household hangs on."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from services.registry.api.deps import Admin, Reader, RegionServiceDep
from shared.contracts.types import Cursor
from shared.errors import FieldError, problem_responses
from shared.pagination import Page, decode_cursor, encode_cursor

#: A division code as a path or query value (normalised by the service; 2–12 digits).
RegionCode = Annotated[str, Field(pattern=r"^[0-9]{2,12}$", examples=["410602100201"])]

router = APIRouter(prefix="/v1/regions", tags=["regions"])

Level = Literal["province", "city", "county", "township", "village"]


class RegionRead(BaseModel):
    code: str = Field(description="12-digit division code (行政区划代码)", examples=["410602001001"])
    name: str = Field(examples=["鹤壁集村"])
    level: Level = Field(description="province 省 / city 市 / county 县 / township 乡镇 / village 村")
    parent_code: str | None = Field(examples=["410602001000"])
    prefix: str = Field(description="the significant digits: the scope prefix a token's `region` uses")
    county_code: str | None
    updated_at: datetime


class RegionImportResult(BaseModel):
    imported: int
    errors: list[FieldError] = Field(description="rejected rows, each with its row number")


@router.get("", summary="List regions in your scope (行政区划列表)", response_model=Page[RegionRead])
async def list_regions(
    regions: RegionServiceDep,
    principal: Reader,
    parent: Annotated[RegionCode | None, Query(description="only the children of this code")] = None,
    level: Annotated[Level | None, Query()] = None,
    cursor: Annotated[Cursor | None, Query(description="opaque cursor from next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[RegionRead]:
    after = decode_cursor(cursor, 1)
    rows = await regions.list(
        principal, parent=parent, level=level, after=after[0] if after else None, limit=limit + 1
    )
    items = [RegionRead.model_validate(r) for r in rows[:limit]]
    next_cursor = encode_cursor([items[-1].code]) if len(rows) > limit else None
    return Page[RegionRead](items=items, next_cursor=next_cursor)


@router.get("/{code}", summary="One region (行政区划)", responses=problem_responses(404))
async def get_region(code: RegionCode, regions: RegionServiceDep, principal: Reader) -> RegionRead:
    return RegionRead.model_validate(await regions.get(principal, code))


@router.get("/{code}/children", summary="Direct children of a region (下级区划)", response_model=Page[RegionRead])
async def region_children(
    code: RegionCode,
    regions: RegionServiceDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
) -> Page[RegionRead]:
    parent = await regions.get(principal, code)
    rows = await regions.list(principal, parent=parent["code"], level=None, after=None, limit=limit)
    return Page[RegionRead](items=[RegionRead.model_validate(r) for r in rows])


@router.post(
    ":import",
    summary="Import regions from CSV (admin; 导入行政区划)",
    description="A CSV with header `code,name` (or `区划代码,名称`). Good rows are upserted; "
    "each rejected row is reported with its row number.",
    responses=problem_responses(403, 422),
)
async def import_regions(
    regions: RegionServiceDep,
    principal: Admin,
    body: Annotated[bytes, Body(media_type="text/csv", examples=["code,name\n410602001000,鹤壁集镇\n"])],
) -> RegionImportResult:
    report = await regions.import_csv(principal, body)
    return RegionImportResult(imported=report.imported, errors=report.errors)
