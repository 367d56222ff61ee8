"""Households (农户), their members (家庭成员), incomes (收入), benefits (帮扶/理赔收入), monitoring status
(监测类型) and history (变更记录)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response
from fastapi.responses import JSONResponse

from services.registry.api.deps import (
    Archiver,
    BankRevealer,
    BenefitRecorder,
    Editor,
    FactReader,
    HouseholdReader,
    HouseholdReading,
    HouseholdServiceDep,
    IdempotencyKey,
    IfMatch,
    MonitoringSetter,
    PhoneRevealer,
    SearchReading,
    SearchServiceDep,
)
from services.registry.api.schemas import (
    ArchiveRequest,
    BankAccountReveal,
    BenefitCreate,
    BenefitList,
    BenefitRead,
    HistoryEntry,
    HouseholdCreate,
    HouseholdFacts,
    HouseholdRead,
    HouseholdSearch,
    HouseholdStatus,
    HouseholdSummary,
    HouseholdUpdate,
    IncomeList,
    IncomePut,
    IncomeRead,
    MemberAdd,
    MemberEnd,
    MemberList,
    MemberRead,
    MemberUpdate,
    MonitoringStatusChange,
    MonitoringStatusRead,
    Name,
    PhoneReveal,
    RevealRequest,
)
from services.registry.domain.model import DibaoClass, PovertyCause
from services.registry.service.common import Created
from shared.app import query_model
from shared.concurrency import etag
from shared.contracts.types import Cursor, HouseholdNumber, RegionPrefix
from shared.errors import problem_responses
from shared.idempotency import REPLAY_HEADERS
from shared.openapi import problem_example
from shared.pagination import Page

router = APIRouter(prefix="/v1/households", tags=["households"])

HouseholdId = Annotated[uuid.UUID, Path(description="household id (农户 id)")]
MemberId = Annotated[uuid.UUID, Path(description="member id (成员 id)")]
IncludeFormer = Annotated[bool, Query(description="also list members whose membership ended")]


def _json(result: Created[Any], *, location: str | None = None) -> JSONResponse:
    """201 for a created resource, else 200; its ETag when it has a version; replays marked."""
    headers: dict[str, str] = {}
    version = getattr(result.value, "version", None)
    if isinstance(version, int):
        headers["ETag"] = etag(version)
    if location:
        headers["Location"] = location
    if result.replayed:
        headers.update(REPLAY_HEADERS)
    body = result.value.model_dump(mode="json")
    return JSONResponse(body, status_code=201 if result.created else 200, headers=headers)


# ---------------------------------------------------------------- collection


@router.post(
    "",
    status_code=201,
    response_model=HouseholdRead,
    summary="Register a household with its members (建档立卡: 新增农户)",
    description="Creates the household, its members (exactly one head 户主) and optional incomes. Every ID number "
    "is checked (GB 11643 check digit, a real birth date that agrees with `birth_date` and `sex` when given); a "
    "person already active in another household gets 409 `person_in_other_household` with a masked reference. "
    "Returns the household with masked IDs and its `ETag`.",
    responses={
        **problem_responses(403, 409, 422),
        **problem_example(
            409,
            "person_in_other_household",
            "this person is an active member of another household; end that membership first",
            other_household={
                "household_number_masked": "410602********01",
                "county_code": "410602",
                "household_id": None,
            },
        ),
    },
)
async def create_household(
    body: HouseholdCreate, households: HouseholdServiceDep, _: Editor, key: IdempotencyKey
) -> JSONResponse:
    result = await households.create(body, idempotency_key=key)
    return _json(result, location=f"/v1/households/{result.value.id}")


@router.get(
    "",
    response_model=Page[HouseholdSummary],
    summary="List households in your region (农户列表)",
    description="Filters as query parameters; for a search by ID number use `POST /v1/households:search` "
    "(keeps the number out of URLs and logs).",
)
async def list_households(
    search: SearchReading,
    region: Annotated[RegionPrefix | None, Query()] = None,
    name_prefix: Annotated[Name | None, Query()] = None,
    household_number: Annotated[HouseholdNumber | None, Query()] = None,
    status: Annotated[list[HouseholdStatus] | None, Query(max_length=5)] = None,
    dibao: bool | None = None,
    dibao_class: DibaoClass | None = None,
    tekun: bool | None = None,
    negative_list: bool | None = None,
    insured_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    poverty_cause: Annotated[list[PovertyCause] | None, Query(max_length=13, description="主要致贫原因")] = None,
    lifted_out_year: Annotated[int | None, Query(ge=2000, le=2100, description="脱贫年度")] = None,
    registered_year: Annotated[int | None, Query(ge=2000, le=2100, description="识别年度")] = None,
    grid_code: Annotated[str | None, Query(pattern=r"^[0-9]{12}[0-9A-Za-z]{1,4}$", description="网格")] = None,
    cadre: Annotated[
        Name | None, Query(description="a responsible cadre 帮扶责任人 of this name is assigned today")
    ] = None,
    include_archived: bool = False,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[HouseholdSummary]:
    query = query_model(
        HouseholdSearch,
        {
            "region": region,
            "name_prefix": name_prefix,
            "household_number": household_number,
            "status": status,
            "dibao": dibao,
            "dibao_class": dibao_class,
            "tekun": tekun,
            "negative_list": negative_list,
            "insured_year": insured_year,
            "poverty_cause": poverty_cause,
            "lifted_out_year": lifted_out_year,
            "registered_year": registered_year,
            "grid_code": grid_code,
            "cadre": cadre,
            "include_archived": include_archived,
            "cursor": cursor,
            "limit": limit,
        },
    )
    return await search.search(query)


@router.post(
    ":search",
    response_model=Page[HouseholdSummary],
    summary="Search households (查询农户): name prefix, exact ID, region, status, flags, insured",
    description="Filters combine with AND and are limited to your region. Results are ordered by village code "
    "and household number; pass `next_cursor` back as `cursor` for the next page.",
    responses=problem_responses(422),
)
async def search_households(
    body: HouseholdSearch, search: SearchServiceDep, _: HouseholdReader
) -> Page[HouseholdSummary]:
    return await search.search(body)


# ---------------------------------------------------------------- one household: actions first (":verb" paths)


@router.post(
    "/{household_id}:archive",
    response_model=HouseholdRead,
    summary="Archive a household (注销): never deleted; active memberships end",
    responses=problem_responses(404, 409, 412, 428),
)
async def archive_household(
    household_id: HouseholdId,
    body: ArchiveRequest,
    households: HouseholdServiceDep,
    _: Archiver,
    if_match: IfMatch,
    response: Response,
) -> HouseholdRead:
    """Archives the household (注销, e.g. the whole family moved away or died out): it is never deleted, its active
    memberships end, its history stays and it drops out of lists, screening and claims. Send the household's ETag as
    If-Match (428 without it, 412 if it changed) and a reason (注销原因) kept in the change history. 409 when it is
    archived already.
    """
    read = await households.archive(household_id, body.reason, if_match=if_match)
    response.headers["ETag"] = etag(read.version)
    return read


@router.get(
    "/{household_id}",
    summary="One household with its members (农户详情), IDs masked",
    responses=problem_responses(404),
)
async def get_household(
    household_id: HouseholdId,
    households: HouseholdReading,
    response: Response,
    include_former_members: IncludeFormer = False,
) -> HouseholdRead:
    """Reads one household (农户详情) with its current members (and former ones with `include_former_members=true`):
    status (户类型), region codes with their names, flags, bank account and phone masked, national IDs masked
    (410602********1312). The ETag is the household's version, to send as If-Match when changing it. 404 when it does
    not exist or lies outside your region (the same answer either way).
    """
    read = await households.get(household_id, include_former=include_former_members)
    response.headers["ETag"] = etag(read.version)
    return read


@router.patch(
    "/{household_id}",
    summary="Update a household (修改农户信息); needs If-Match",
    description="Only the fields sent change. The status here is ordinary/lifted_out; monitoring types go "
    "through `/monitoring-status`. Each change is written to the history with before and after.",
    responses=problem_responses(404, 409, 412, 422, 428),
)
async def update_household(
    household_id: HouseholdId,
    body: HouseholdUpdate,
    households: HouseholdServiceDep,
    _: Editor,
    if_match: IfMatch,
    response: Response,
) -> HouseholdRead:
    read = await households.update(household_id, body, if_match=if_match)
    response.headers["ETag"] = etag(read.version)
    return read


# ---------------------------------------------------------------- members


@router.get("/{household_id}/members", summary="Members of a household (家庭成员)", responses=problem_responses(404))
async def list_members(
    household_id: HouseholdId,
    households: HouseholdServiceDep,
    _: HouseholdReader,
    include_former_members: IncludeFormer = False,
) -> MemberList:
    """The household's members (家庭成员), the head first; former members (ended memberships) too with
    `include_former_members=true`. National IDs masked.
    """
    return MemberList(items=await households.list_members(household_id, include_former=include_former_members))


@router.post(
    "/{household_id}/members",
    status_code=201,
    response_model=MemberRead,
    summary="Add a member (新增成员: 出生, 婚入, 迁入)",
    description="`If-Match` (the household's ETag) is optional here; when sent it must be current.",
    responses=problem_responses(404, 409, 412, 422),
)
async def add_member(
    household_id: HouseholdId,
    body: MemberAdd,
    households: HouseholdServiceDep,
    _: Editor,
    if_match: IfMatch,
    key: IdempotencyKey,
) -> JSONResponse:
    result = await households.add_member(household_id, body, if_match=if_match, idempotency_key=key)
    return _json(result, location=f"/v1/households/{household_id}/members/{result.value.id}")


@router.post(
    "/{household_id}/members/{member_id}:end",
    summary="End a membership (成员减少: 死亡, 婚出, 迁出); needs the member's If-Match",
    responses=problem_responses(404, 409, 412, 422, 428),
)
async def end_member(
    household_id: HouseholdId,
    member_id: MemberId,
    body: MemberEnd,
    households: HouseholdServiceDep,
    _: Editor,
    if_match: IfMatch,
    response: Response,
) -> MemberRead:
    """Ends one membership (成员减少): death (死亡), marriage out (婚出), moving out (迁出) or another reason, with the
    date. The member stays in the history and in `include_former_members` reads; the household's per-capita figures
    count only current members from that date. Send the member's ETag as If-Match. 409 `membership_ended` when it has
    ended already; 422 for an effective date in the future or before the member joined.
    """
    read = await households.end_member(household_id, member_id, body, if_match=if_match)
    response.headers["ETag"] = etag(read.version)
    return read


@router.get("/{household_id}/members/{member_id}", summary="One member (成员详情)", responses=problem_responses(404))
async def get_member(
    household_id: HouseholdId,
    member_id: MemberId,
    households: HouseholdServiceDep,
    _: HouseholdReader,
    response: Response,
) -> MemberRead:
    """Reads one member (成员详情) of a household: name, masked national ID (公民身份号码), relation to the head
    (与户主关系), health, labour ability, education and the membership's start and end. The ETag is the member's
    version, to send as If-Match on PATCH or `:end`.
    """
    read = await households.get_member(member_id, household_id=household_id)
    response.headers["ETag"] = etag(read.version)
    return read


@router.patch(
    "/{household_id}/members/{member_id}",
    summary="Update a member (修改成员信息); needs the member's If-Match",
    description="A corrected ID number is checked like a new one. The head changes on the household "
    "(`head_member_id`), not here.",
    responses=problem_responses(404, 409, 412, 422, 428),
)
async def update_member(
    household_id: HouseholdId,
    member_id: MemberId,
    body: MemberUpdate,
    households: HouseholdServiceDep,
    _: Editor,
    if_match: IfMatch,
    response: Response,
) -> MemberRead:
    read = await households.update_member(household_id, member_id, body, if_match=if_match)
    response.headers["ETag"] = etag(read.version)
    return read


# ---------------------------------------------------------------- incomes and benefits


@router.get(
    "/{household_id}/incomes",
    summary="Incomes per year (家庭收入) with per-capita net income (人均纯收入)",
    responses=problem_responses(404),
)
async def list_incomes(household_id: HouseholdId, households: HouseholdServiceDep, _: HouseholdReader) -> IncomeList:
    """The household's incomes year by year (家庭收入): wage (工资性), production and business (生产经营性), property
    (财产性) and transfer (转移性) income, production costs, and the per-capita net income (人均纯收入) the screening
    rules compare with the monitoring line.
    """
    return IncomeList(items=await households.list_incomes(household_id))


@router.put(
    "/{household_id}/incomes/{year}",
    response_model=IncomeRead,
    summary="Record a year's incomes (录入年度收入); If-Match needed to change an existing year",
    responses={201: {"model": IncomeRead}, **problem_responses(404, 409, 412, 422, 428)},
)
async def put_income(
    household_id: HouseholdId,
    year: Annotated[int, Path(ge=2000, le=2100)],
    body: IncomePut,
    households: HouseholdServiceDep,
    _: Editor,
    if_match: IfMatch,
) -> JSONResponse:
    """Records a year's incomes (录入年度收入) of the household: 201 for a new year, 200 when it replaces an existing
    year (then If-Match with the income record's ETag is required: 428 without it, 412 if it changed). The per-capita
    net income (人均纯收入) is computed from it and the members of that year; the change is in the history.
    """
    return _json(await households.put_income(household_id, year, body, if_match=if_match, reason=body.reason))


@router.get("/{household_id}/benefits", summary="Benefits received (帮扶/理赔收入)", responses=problem_responses(404))
async def list_benefits(household_id: HouseholdId, households: HouseholdServiceDep, _: HouseholdReader) -> BenefitList:
    """Benefits the household received (帮扶/理赔收入), e.g. claims' insurance payouts (防贫保险赔付) sent through the
    outbox; each counts as transfer income (转移性收入) of its year in the per-capita net income.
    """
    return BenefitList(items=await households.list_benefits(household_id))


@router.post(
    "/{household_id}/benefits",
    status_code=201,
    response_model=BenefitRead,
    summary="Record a benefit received (记录帮扶/理赔收入); counted as transfer income of its year",
    description="Idempotent twice over: by `Idempotency-Key`, and by (`source`, `source_ref`): the same payment "
    "posted again returns the first record (200); the same reference with other details is 409.",
    responses={200: {"model": BenefitRead}, **problem_responses(404, 409, 422)},
)
async def record_benefit(
    household_id: HouseholdId,
    body: Annotated[
        BenefitCreate,
        Body(
            examples=[
                {
                    "source": "claims",
                    "source_ref": "payment-7f3c2a",
                    "programme": "anti_poverty_insurance",
                    "category": "illness",
                    "amount": "16000.00",
                    "paid_date": "2026-04-18",
                    "year": 2026,
                }
            ]
        ),
    ],
    households: HouseholdServiceDep,
    _: BenefitRecorder,
    key: IdempotencyKey,
) -> JSONResponse:
    return _json(await households.record_benefit(household_id, body, idempotency_key=key))


# ---------------------------------------------------------------- monitoring status


@router.get(
    "/{household_id}/monitoring-status", summary="Monitoring status (监测类型)", responses=problem_responses(404)
)
async def get_monitoring_status(
    household_id: HouseholdId, households: HouseholdServiceDep, _: HouseholdReader
) -> MonitoringStatusRead:
    """Reads the household's monitoring status (监测类型: 脱贫不稳定户, 边缘易致贫户, 突发严重困难户, or none) as
    screening last set it, with who set it and when.
    """
    return await households.monitoring_status(household_id)


_MONITORING_DOC = (
    "`set` makes the household unstable 脱贫不稳定户 / marginal 边缘易致贫户 / sudden_hardship 突发严重困难户 under "
    "a case; `clear` (risk eliminated 风险消除) returns it to its previous status (ordinary or lifted_out). "
    "Idempotent by `Idempotency-Key` and by (case_id, action): a repeat changes nothing. Another case's command "
    "is 409 `monitored_by_other_case`. No If-Match: commands arrive from the screening service's outbox."
)
_MONITORING_EXAMPLES = [
    {
        "action": "set",
        "monitoring_type": "marginal",
        "case_id": "2b0e6a8e-3c1f-4c55-9a57-0d7c7d0c1a11",
        "reason": "county confirmed case (县级确认)",
        "effective_date": "2026-05-10",
    },
    {
        "action": "clear",
        "case_id": "2b0e6a8e-3c1f-4c55-9a57-0d7c7d0c1a11",
        "reason": "risk eliminated, assisted (帮扶消除)",
        "effective_date": "2026-12-01",
    },
]


async def _change_monitoring(
    household_id: uuid.UUID, body: MonitoringStatusChange, households: HouseholdServiceDep, key: str | None
) -> JSONResponse:
    return _json(await households.change_monitoring_status(household_id, body, idempotency_key=key))


@router.put(
    "/{household_id}/monitoring-status",
    response_model=MonitoringStatusRead,
    summary="Set or clear the monitoring status (设定/解除监测类型): service or county officer",
    description=_MONITORING_DOC,
    responses=problem_responses(404, 409, 422),
)
async def put_monitoring_status(
    household_id: HouseholdId,
    body: Annotated[MonitoringStatusChange, Body(examples=_MONITORING_EXAMPLES)],
    households: HouseholdServiceDep,
    _: MonitoringSetter,
    key: IdempotencyKey,
) -> JSONResponse:
    return await _change_monitoring(household_id, body, households, key)


@router.post(
    "/{household_id}/monitoring-status",
    response_model=MonitoringStatusRead,
    summary="Same as PUT (for clients that only POST commands)",
    description=_MONITORING_DOC,
    responses=problem_responses(404, 409, 422),
)
async def post_monitoring_status(
    household_id: HouseholdId,
    body: Annotated[MonitoringStatusChange, Body(examples=_MONITORING_EXAMPLES)],
    households: HouseholdServiceDep,
    _: MonitoringSetter,
    key: IdempotencyKey,
) -> JSONResponse:
    return await _change_monitoring(household_id, body, households, key)


# ---------------------------------------------------------------- history, facts, reveals


@router.get(
    "/{household_id}/history",
    response_model=Page[HistoryEntry],
    summary="Change history (变更记录), newest first: who, role, when, why, before/after of each field",
    responses=problem_responses(404),
)
async def household_history(
    household_id: HouseholdId,
    households: HouseholdServiceDep,
    _: HouseholdReader,
    cursor: Annotated[Cursor | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[HistoryEntry]:
    """The household's change history (变更记录), newest first: every change to the household, its members, incomes and
    status, with who (sub, role, region), when, why (变更原因) and each field's value before and after (personal data
    masked). Paged by `cursor`/`next_cursor`.
    """
    return await households.history_page(household_id, cursor=cursor, limit=limit)


@router.get(
    "/{household_id}/facts",
    summary="Household facts for claims and screening (核查用家庭信息), optionally as of a date",
    description="Members present on `as_of` (joined on or before, not yet left), the status on that day (from the "
    "history), the latest income year up to that year and the year before it. Bank account masked.",
    responses=problem_responses(404),
)
async def household_facts(
    household_id: HouseholdId,
    households: HouseholdServiceDep,
    _: FactReader,
    as_of: Annotated[date | None, Query(description="the day the facts are wanted for (e.g. an incident date)")] = None,
) -> HouseholdFacts:
    return await households.facts(household_id, as_of)


@router.post(
    "/{household_id}/bank-account:reveal",
    summary="Reveal the bank account for a payment (查看银行账号): service only, audited",
    responses=problem_responses(403, 404),
)
async def reveal_bank_account(
    household_id: HouseholdId, body: RevealRequest, households: HouseholdServiceDep, _: BankRevealer
) -> BankAccountReveal:
    """Shows the household's full bank account (银行账号), bank name and account holder for a payout (防贫保险赔付).
    Only the claims service calls it, when it builds a bank file; every reveal is written to the audit log (审计日志)
    with the purpose given.
    """
    return await households.reveal_bank_account(household_id, body.purpose)


@router.post(
    "/{household_id}/phone:reveal",
    summary="Reveal the phone number to call the household (查看联系电话): audited",
    responses=problem_responses(403, 404),
)
async def reveal_phone(
    household_id: HouseholdId, body: RevealRequest, households: HouseholdServiceDep, _: PhoneRevealer
) -> PhoneReveal:
    """Shows the household's full phone number (联系电话) so that a cadre or officer can call the family, e.g. before a
    home visit (入户核实). Every reveal is written to the audit log with the purpose given.
    """
    return await households.reveal_phone(household_id, body.purpose)
