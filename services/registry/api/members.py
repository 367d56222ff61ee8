"""Members by id (成员), revealing an ID number (查看完整身份证号), and bulk resolve for feeds (身份比对)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from services.registry.api.deps import HouseholdReader, HouseholdServiceDep, Resolver, Revealer, SearchServiceDep
from services.registry.api.schemas import MemberRead, MemberReveal, ResolveRequest, ResolveResponse, RevealRequest
from shared.concurrency import etag
from shared.errors import problem_responses

router = APIRouter(prefix="/v1/members", tags=["members"])

MemberId = Annotated[uuid.UUID, Path(description="member id (成员 id)")]


@router.post(
    ":resolve",
    summary="Resolve ID numbers to members and households (身份比对): service, department feeders, county officers",
    description="Up to 10,000 ID numbers in, one result per number in the same order: the active member and "
    "household (inside your region), or nulls when there is none or the number is not valid. Numbers are "
    "compared by blind index and never echoed back unmasked.",
    responses=problem_responses(403, 422),
)
async def resolve_members(
    body: Annotated[ResolveRequest, Body(examples=[{"national_ids": ["410602196803151312", "410602197008022428"]}])],
    search: SearchServiceDep,
    _: Resolver,
) -> ResolveResponse:
    return await search.resolve(body)


@router.post(
    "/{member_id}:reveal",
    summary="Reveal a full ID number (查看完整身份证号): county officer, insurer adjuster or service; audited",
    description="State the purpose; the reveal is written to the hash-chained audit log with it.",
    responses=problem_responses(403, 404, 422),
)
async def reveal_member(
    member_id: MemberId,
    body: Annotated[RevealRequest, Body(examples=[{"purpose": "理赔核查: 医疗费用报销材料核对 (claim 7f3c2a)"}])],
    households: HouseholdServiceDep,
    _: Revealer,
) -> MemberReveal:
    return await households.reveal_member(member_id, body.purpose)


@router.get("/{member_id}", summary="One member by id (成员详情), ID masked", responses=problem_responses(404))
async def get_member(
    member_id: MemberId, households: HouseholdServiceDep, _: HouseholdReader, response: Response
) -> MemberRead:
    """Reads one member by id (成员详情) wherever its household is, national ID masked; 404 outside your region. The
    ETag is the member's version.
    """
    read = await households.get_member(member_id)
    response.headers["ETag"] = etag(read.version)
    return read
