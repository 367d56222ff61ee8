"""低保 (rules.md §4): the county's standard by class per year (versioned), and the month's payments
generated for the households of every class (sent to the registry as transfer income)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.screening.api.deps import AssistanceReader, DibaoServiceDep, DibaoWriter, IfMatch
from services.screening.api.schemas import DibaoPaymentResult, DibaoPaymentRun, DibaoStandardRead, DibaoStandardWrite
from shared.concurrency import etag
from shared.errors import problem_responses

router = APIRouter(prefix="/v1", tags=["dibao"])

County = Annotated[str, Path(pattern=r"^[0-9]{6}$", description="county code (县级区划代码)", examples=["410602"])]
Year = Annotated[int, Path(ge=2000, le=2100, examples=[2026])]


@router.get(
    "/dibao-standards/{county_code}/{year}",
    response_model=DibaoStandardRead,
    summary="The county's current 低保 standard of a year (低保标准)",
    responses=problem_responses(404),
)
async def current_standard(
    county_code: County, year: Year, service: DibaoServiceDep, principal: AssistanceReader, response: Response
) -> DibaoStandardRead:
    """The monthly amount per person of each 低保 class (A/B/C 类, 每人每月) the county pays in the year. Seed 004's
    462 / 354 / 200 yuan become version 1 the first time a county-year is used (demo data). 404 outside your region.
    """
    read = await service.current(principal, county_code, year)
    response.headers["ETag"] = etag(read.version)
    return read


@router.put(
    "/dibao-standards/{county_code}/{year}",
    response_model=DibaoStandardRead,
    summary="Set the 低保 standard: a new version (调整低保标准)",
    responses={201: {"model": DibaoStandardRead}, **problem_responses(403, 409, 412, 422, 428)},
)
async def replace_standard(
    county_code: County,
    year: Year,
    body: DibaoStandardWrite,
    service: DibaoServiceDep,
    principal: DibaoWriter,
    response: Response,
    if_match: IfMatch = None,
) -> DibaoStandardRead:
    """A new version of the county-year's standard with its source (来源); unnamed classes keep their amount. If-Match
    with the current ETag (not needed for the first version: 201). Payments already made keep the version they used;
    409 `no_change` when nothing differs. County officers of the county only (403 otherwise).
    """
    result = await service.replace(principal, county_code, year, body, if_match=if_match)
    response.status_code = 201 if result.created else 200
    response.headers["ETag"] = etag(result.value.version)
    return result.value


@router.get(
    "/dibao-standards/{county_code}/{year}/versions",
    response_model=list[DibaoStandardRead],
    summary="Every version of a county-year's 低保 standard (历史版本)",
    responses=problem_responses(404),
)
async def standard_versions(
    county_code: County, year: Year, service: DibaoServiceDep, principal: AssistanceReader
) -> list[DibaoStandardRead]:
    """Every version, oldest first; each generated payment names the version it used in its details."""
    return await service.versions(principal, county_code, year)


@router.post(
    "/dibao-payments",
    response_model=DibaoPaymentResult,
    summary="Pay a month of 低保 to every household in a class (低保按月发放)",
    responses=problem_responses(403, 404, 422),
)
async def generate_payments(
    body: DibaoPaymentRun, service: DibaoServiceDep, principal: DibaoWriter
) -> DibaoPaymentResult:
    """For every `dibao` measure of the county in progress in the month (class A/B/C, persons covered): a payment of
    persons × the class's amount of the period's year (the current standard), once per measure and month, sent to the
    registry as transfer income (转移性收入) through the outbox. Calling it again pays only the measures not yet paid
    for the month (`paid_before` counts the others). County officers of the county only (403 otherwise).
    """
    return await service.generate(principal, body)
