"""Regions (行政区划): the division-code tree every household hangs on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from services.registry.api.deps import Admin, Reader, RegionServiceDep
from services.registry.api.schemas import Level, RegionCode, RegionImportResult, RegionRead
from shared.contracts.types import Cursor
from shared.errors import problem_responses
from shared.pagination import Page

router = APIRouter(prefix="/v1/regions", tags=["regions"])


@router.get("", summary="List regions in your scope (行政区划列表)", response_model=Page[RegionRead])
async def list_regions(
    regions: RegionServiceDep,
    principal: Reader,
    parent: Annotated[RegionCode | None, Query(description="only the children of this code")] = None,
    level: Annotated[Level | None, Query()] = None,
    cursor: Annotated[Cursor | None, Query(description="opaque cursor from next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[RegionRead]:
    """Lists the administrative divisions (行政区划列表) in your scope: all of them, the children of `parent`, or one
    `level` (province, city, county, township, village), paged by `cursor`.
    """
    return await regions.list(principal, parent=parent, level=level, cursor=cursor, limit=limit)


@router.get("/{code}", summary="One region (行政区划)", responses=problem_responses(404))
async def get_region(code: RegionCode, regions: RegionServiceDep, principal: Reader) -> RegionRead:
    """Reads one administrative division (行政区划) by its code (2 to 12 digits: 省, 市, 县, 乡镇, 村): name, level,
    parent. 404 outside your scope.
    """
    return await regions.get(principal, code)


@router.get("/{code}/children", summary="Direct children of a region (下级区划)", response_model=Page[RegionRead])
async def region_children(
    code: RegionCode,
    regions: RegionServiceDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
) -> Page[RegionRead]:
    """The direct children of a division (下级区划): a county's townships (乡镇), a township's villages (村)."""
    return await regions.children(principal, code, limit=limit)


@router.post(
    ":import",
    summary="Import regions from CSV (admin; 导入行政区划)",
    description="The county's division list: a CSV with header `code,name` (or `区划代码,名称`), and an "
    "optional `leader` (`网格长`) column. 乡镇 and 村 rows carry their 9/12-digit codes; a grid (网格) row has "
    "its village's 12 digits and 1–4 more characters, and its 网格长. Good rows are upserted; each rejected row "
    "is reported with its row number.",
    responses=problem_responses(403, 422),
)
async def import_regions(
    regions: RegionServiceDep,
    principal: Admin,
    body: Annotated[
        bytes,
        Body(
            media_type="text/csv",
            examples=["code,name,leader\n410602100,鹤壁集镇,\n4106021002010001,一组网格,王立新\n"],
        ),
    ],
) -> RegionImportResult:
    return await regions.import_csv(principal, body)
