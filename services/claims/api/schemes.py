"""Schemes (方案), enrolments (参保) and the assessment calculator (试算)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Path, Query, Request, Response

from services.claims.api.deps import (
    AnyCaller,
    ClaimReader,
    CountyOfficer,
    EnrolmentServiceDep,
    IdempotencyKey,
    IfMatch,
    SchemeServiceDep,
    scheme_service,
)
from services.claims.api.schemas import (
    EnrolmentCreate,
    EnrolmentRead,
    EnrolmentResult,
    EnrolmentSummary,
    PreviewRequest,
    PreviewResponse,
    SchemeRead,
    SchemeSummary,
    SchemeVersionSummary,
)
from services.claims.domain.reference import REFERENCE_SCHEME
from services.claims.service.schemes import preview_inline
from shared.contracts.types import Code, CountyCode, Cursor, Document
from shared.errors import problem_responses
from shared.openapi import problem_example
from shared.pagination import Page

router = APIRouter(tags=["schemes"])

#: A scheme's code in a path: the same rule as the `code` of a scheme document.
SchemeCode = Annotated[Code, Path(description="the scheme's code", examples=["reference-2026"])]

SchemeBody = Annotated[
    Document,
    Body(
        description="A scheme as in rules.md §2.1; `status` (active | draft) may ride along. Versions are "
        "assigned by the server.",
        examples=[{**REFERENCE_SCHEME, "status": "active"}],
    ),
]


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


@router.post(
    "/v1/schemes",
    status_code=201,
    summary="Create a scheme (新建方案; county officer)",
    responses={
        200: {
            "model": SchemeRead,
            "description": "the earlier request's answer again (Idempotency-Key), or the resource that existed already",
        },
        **problem_responses(403, 409, 422),
        **problem_example(
            409, "scheme_exists", "scheme reference-2026 exists; PUT /v1/schemes/reference-2026 makes a new version"
        ),
    },
)
async def create_scheme(
    body: SchemeBody, schemes: SchemeServiceDep, principal: CountyOfficer, key: IdempotencyKey, response: Response
) -> SchemeRead:
    """Creates an insurance scheme (防贫保险方案) of a county and year as its version 1: categories with their
    deductibles (起付线), ratios and caps, the premium per person and the pool mode (enrolled households or all rural
    households). The scheme document is validated (rules.md §2.1); 422 names each wrong field. 201 with the scheme,
    200 when the `Idempotency-Key` replays one; 409 when the code exists.
    """
    result = await schemes.create(principal, body, key)
    scheme = result.value
    response.status_code = 201 if result.created else 200
    response.headers["Location"] = f"/v1/schemes/{scheme.code}"
    _etag(response, scheme.version)
    return scheme


@router.put(
    "/v1/schemes/{code}",
    summary="Edit a scheme: a new version (新版本; If-Match required)",
    description="Every edit makes a new version; a version an assessment used never changes.",
    responses=problem_responses(404, 409, 412, 422, 428),
)
async def edit_scheme(
    code: SchemeCode,
    body: SchemeBody,
    schemes: SchemeServiceDep,
    principal: CountyOfficer,
    response: Response,
    if_match: IfMatch = None,
) -> SchemeRead:
    scheme = await schemes.new_version(principal, code, body, if_match)
    _etag(response, scheme.version)
    return scheme


@router.get("/v1/schemes", summary="List schemes in your scope (方案列表)", response_model=Page[SchemeSummary])
async def list_schemes(
    schemes: SchemeServiceDep,
    principal: AnyCaller,
    county_code: Annotated[CountyCode | None, Query()] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    status: Annotated[Literal["active", "draft"] | None, Query()] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[SchemeSummary]:
    """Lists the insurance schemes (方案列表) in your scope, filtered by county, year or status, paged by `cursor`."""
    return await schemes.search(
        principal, county_code=county_code, year=year, status=status, cursor=cursor, limit=limit
    )


@router.get("/v1/schemes/{code}", summary="A scheme's latest version (方案)", responses=problem_responses(404))
async def get_scheme(
    code: SchemeCode, schemes: SchemeServiceDep, principal: AnyCaller, response: Response
) -> SchemeRead:
    """A scheme's latest version (防贫保险方案): status (draft, active), county, year and the scheme document. The ETag
    is the version, to send as If-Match when editing it.
    """
    scheme = await schemes.get(principal, code)
    _etag(response, scheme.version)
    return scheme


@router.get("/v1/schemes/{code}/versions", summary="A scheme's versions", responses=problem_responses(404))
async def scheme_versions(
    code: SchemeCode, schemes: SchemeServiceDep, principal: AnyCaller
) -> list[SchemeVersionSummary]:
    """The versions of a scheme (方案版本), oldest first, with whether an assessment used each."""
    return await schemes.versions(principal, code)


@router.get(
    "/v1/schemes/{code}/versions/{version}", summary="One version of a scheme", responses=problem_responses(404)
)
async def get_scheme_version(
    code: SchemeCode,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    schemes: SchemeServiceDep,
    principal: AnyCaller,
    response: Response,
) -> SchemeRead:
    """One version of a scheme (方案版本) as it was written; a version an assessment used never changes."""
    scheme = await schemes.get(principal, code, version)
    _etag(response, scheme.version)
    return scheme


@router.post(
    "/v1/assessments:preview",
    summary="Compute a payout without storing anything (试算)",
    description="The calculator of rules.md §2.2: a scheme inline (or `scheme_code` [+ `scheme_version`]) and the "
    "facts, with the household's year-to-date `prior`. Answers eligibility, payout, rejection code and the full "
    "breakdown. Nothing is stored.",
    responses=problem_responses(404, 422),
    tags=["assessments"],
)
async def preview(body: PreviewRequest, request: Request, principal: AnyCaller) -> PreviewResponse:
    if body.scheme_code is None:
        return preview_inline(body)  # an inline scheme (or none: refused) needs no database session
    async with scheme_service(request) as schemes:
        return await schemes.preview(principal, body)


@router.post(
    "/v1/enrolments",
    status_code=201,
    summary="Enrol households for a scheme year (参保登记; bulk, idempotent)",
    description="Households already enrolled for the year are left as they are. For an `all_rural` scheme, `pool` "
    "records the notional insured population per township (the premium pool). Who is insured in a year is the "
    "registry's record (the household's `insured_years`, 参保年度): the enrolment summary and simulations bring the "
    "registry's insured households in first (their active members are the insured people), so this call is for "
    "a household the registry does not list yet; record it in the registry too.",
    responses={
        200: {
            "model": EnrolmentResult,
            "description": "the earlier request's answer again (Idempotency-Key), or the resource that existed already",
        },
        **problem_responses(404, 422),
    },
    tags=["enrolments"],
)
async def enrol(
    body: EnrolmentCreate,
    enrolments: EnrolmentServiceDep,
    principal: CountyOfficer,
    key: IdempotencyKey,
    response: Response,
) -> EnrolmentResult:
    created = await enrolments.enrol(principal, body, key)
    result = created.value
    response.status_code = 201 if created.created else 200
    return result


@router.get(
    "/v1/enrolments", summary="Enrolments in your scope", response_model=Page[EnrolmentRead], tags=["enrolments"]
)
async def list_enrolments(
    enrolments: EnrolmentServiceDep,
    principal: ClaimReader,
    scheme_code: Annotated[Code | None, Query()] = None,
    household_id: Annotated[UUID | None, Query()] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[EnrolmentRead]:
    """Lists the enrolments (参保登记) in your region, optionally one scheme's or one household's, paged by `cursor`:
    household, village, people insured and premium.
    """
    return await enrolments.search(
        principal, scheme_code=scheme_code, household_id=household_id, cursor=cursor, limit=limit
    )


@router.get(
    "/v1/enrolments/summary",
    summary="Premium totals per township (保费汇总)",
    tags=["enrolments"],
    responses=problem_responses(404),
)
async def enrolment_summary(
    enrolments: EnrolmentServiceDep, principal: ClaimReader, scheme_code: Annotated[Code, Query()]
) -> EnrolmentSummary:
    """Premium totals of a scheme per township (保费汇总): households and people insured and the premium (保费) owed,
    with the county's total. For an `enrolled` scheme the year's insured households are the registry's (one truth:
    `insured_years` contains the scheme year; insured people = their active members), brought in before counting,
    so the summary, assessments (未参保 not_insured) and simulations (loss ratio) count the same households.
    """
    return await enrolments.summary(principal, scheme_code)
