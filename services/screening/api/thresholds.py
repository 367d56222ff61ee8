"""Thresholds (监测参数) per county and year, versioned."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.screening.api.deps import IfMatch, ThresholdReader, ThresholdServiceDep, ThresholdWriter
from services.screening.api.schemas import ThresholdRead, ThresholdWrite
from shared.concurrency import etag
from shared.errors import problem_responses

router = APIRouter(prefix="/v1/thresholds", tags=["thresholds"])

County = Annotated[str, Path(pattern=r"^[0-9]{6}$", description="county code (县级区划代码)", examples=["410602"])]
Year = Annotated[int, Path(ge=2000, le=2100, examples=[2026])]
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1, examples=[1])]


@router.get("/{county_code}", summary="The current thresholds of each year of a county (各年度监测参数)")
async def list_county(
    county_code: County, thresholds: ThresholdServiceDep, principal: ThresholdReader
) -> list[ThresholdRead]:
    """The current monitoring parameters (监测参数) of a county, one entry per year: the monitoring line (监测范围), the
    thresholds of each risk rule and the notice and time limits.
    """
    return await thresholds.list_county(principal, county_code)


@router.get(
    "/{county_code}/{year}",
    summary="The current thresholds of a county and year (当前监测参数)",
    description="The demo defaults of rules.md §1.1 become version 1 the first time a county-year is used.",
    responses=problem_responses(404),
)
async def current(
    county_code: County, year: Year, thresholds: ThresholdServiceDep, principal: ThresholdReader, response: Response
) -> ThresholdRead:
    read = await thresholds.current(principal, county_code, year)
    response.headers["ETag"] = etag(read.version)
    return read


@router.put(
    "/{county_code}/{year}",
    summary="Set thresholds: a new version (调整监测参数)",
    description="Unnamed values are kept from the current version; every value set or changed needs a source "
    "note. Send `If-Match` with the current ETag (not needed for the first version). Runs and cases keep the "
    "version they used.",
    responses={
        201: {"model": ThresholdRead, "description": "the county-year's first version (there was none)"},
        **problem_responses(403, 409, 412, 422, 428),
    },
)
async def replace(
    county_code: County,
    year: Year,
    body: ThresholdWrite,
    thresholds: ThresholdServiceDep,
    principal: ThresholdWriter,
    response: Response,
    if_match: IfMatch = None,
) -> ThresholdRead:
    result = await thresholds.replace(
        principal, county_code, year, values=body.values, sources=body.sources, note=body.note, if_match=if_match
    )
    response.status_code = 201 if result.created else 200
    response.headers["ETag"] = etag(result.value.version)
    return result.value


@router.get("/{county_code}/{year}/versions", summary="Every version of a county-year (历史版本)")
async def versions(
    county_code: County, year: Year, thresholds: ThresholdServiceDep, principal: ThresholdReader
) -> list[ThresholdRead]:
    """Every version of a county-year's parameters (历史版本), oldest first; runs and cases record the version they
    used.
    """
    return await thresholds.versions(principal, county_code, year)


@router.get("/{county_code}/{year}/versions/{version}", summary="One version", responses=problem_responses(404))
async def version(
    county_code: County,
    year: Year,
    version: VersionNumber,
    thresholds: ThresholdServiceDep,
    principal: ThresholdReader,
    response: Response,
) -> ThresholdRead:
    """One version of a county-year's parameters (历史版本); the ETag is its version number."""
    read = await thresholds.version(principal, county_code, year, version)
    response.headers["ETag"] = etag(read.version)
    return read


@router.delete(
    "/{county_code}/{year}/versions/{version}",
    status_code=204,
    summary="Withdraw the latest version if no run or case used it (撤回)",
    responses=problem_responses(403, 404, 409, 412, 428),
)
async def withdraw(
    county_code: County,
    year: Year,
    version: VersionNumber,
    thresholds: ThresholdServiceDep,
    principal: ThresholdWriter,
    if_match: IfMatch = None,
) -> Response:
    """Withdraws the latest version of a county-year's parameters (撤回) when no run or case used it; the one before
    becomes current again. If-Match with the version is required. 409 `threshold_version_in_use` when a run or case used
    it, `not_latest_version` for an older one.
    """
    await thresholds.delete_version(principal, county_code, year, version, if_match)
    return Response(status_code=204)
