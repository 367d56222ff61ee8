"""Annotated dependency aliases for screening routes: services per request, roles per endpoint."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from services.screening.domain.adjustments import SETTLEMENT_ROLES, SettlementAction
from services.screening.service.adjustments import AdjustmentService
from services.screening.service.assistance import AssistanceService
from services.screening.service.care import CareService
from services.screening.service.cases import CaseService
from services.screening.service.common import Context, context_from_app
from services.screening.service.dibao import DibaoService
from services.screening.service.feeds import FeedService
from services.screening.service.ledger import LedgerService
from services.screening.service.public_posts import PublicPostService
from services.screening.service.runs import RunService
from services.screening.service.thresholds import ThresholdService
from services.screening.service.visits import VisitService
from shared.auth import Principal, Role, require_roles
from shared.concurrency import IfMatch as IfMatch  # the routes take it from here
from shared.db import SessionDep
from shared.idempotency import REPLAY_HEADERS, StoredResponse, idempotency_key_header


async def context(request: Request) -> Context:
    return context_from_app(request.app)


ContextDep = Annotated[Context, Depends(context)]


async def threshold_service(session: SessionDep, ctx: ContextDep) -> ThresholdService:
    return ThresholdService(session, ctx)


async def feed_service(session: SessionDep, ctx: ContextDep) -> FeedService:
    return FeedService(session, ctx)


async def run_service(session: SessionDep, ctx: ContextDep) -> RunService:
    return RunService(session, ctx)


async def case_service(session: SessionDep, ctx: ContextDep) -> CaseService:
    return CaseService(session, ctx)


async def ledger_service(session: SessionDep, ctx: ContextDep) -> LedgerService:
    return LedgerService(session, ctx)


async def assistance_service(session: SessionDep, ctx: ContextDep) -> AssistanceService:
    return AssistanceService(session, ctx)


async def visit_service(session: SessionDep, ctx: ContextDep) -> VisitService:
    return VisitService(session, ctx)


async def public_post_service(session: SessionDep, ctx: ContextDep) -> PublicPostService:
    return PublicPostService(session, ctx)


async def dibao_service(session: SessionDep, ctx: ContextDep) -> DibaoService:
    return DibaoService(session, ctx)


async def care_service(session: SessionDep, ctx: ContextDep) -> CareService:
    return CareService(session, ctx)


async def adjustment_service(session: SessionDep, ctx: ContextDep) -> AdjustmentService:
    return AdjustmentService(session, ctx)


AssistanceServiceDep = Annotated[AssistanceService, Depends(assistance_service)]
VisitServiceDep = Annotated[VisitService, Depends(visit_service)]
PublicPostServiceDep = Annotated[PublicPostService, Depends(public_post_service)]
DibaoServiceDep = Annotated[DibaoService, Depends(dibao_service)]
CareServiceDep = Annotated[CareService, Depends(care_service)]
AdjustmentServiceDep = Annotated[AdjustmentService, Depends(adjustment_service)]
ThresholdServiceDep = Annotated[ThresholdService, Depends(threshold_service)]
FeedServiceDep = Annotated[FeedService, Depends(feed_service)]
RunServiceDep = Annotated[RunService, Depends(run_service)]
CaseServiceDep = Annotated[CaseService, Depends(case_service)]
LedgerServiceDep = Annotated[LedgerService, Depends(ledger_service)]

IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]

_VC, _TO, _CO = Role.VILLAGE_CADRE, Role.TOWNSHIP_OFFICER, Role.COUNTY_OFFICER
_AU, _DF, _SV = Role.AUDITOR, Role.DEPARTMENT_FEEDER, Role.SERVICE

# admin passes every require_roles; each alias lists the roles the endpoint admits besides.
ThresholdReader = Annotated[Principal, Depends(require_roles(_CO, _TO, _VC, _AU, _SV))]
ThresholdWriter = Annotated[Principal, Depends(require_roles(_CO))]
FeedWriter = Annotated[Principal, Depends(require_roles(_DF, _SV))]
FeedReader = Annotated[Principal, Depends(require_roles(_DF, _CO, _AU, _SV))]
RunWriter = Annotated[Principal, Depends(require_roles(_CO, _SV))]
RunReader = Annotated[Principal, Depends(require_roles(_CO, _TO, _VC, _AU, _SV))]
CaseWriter = Annotated[Principal, Depends(require_roles(_VC, _TO, _CO, _SV))]
CaseReader = Annotated[Principal, Depends(require_roles(_VC, _TO, _CO, _AU, _SV))]
ObjectionResolver = Annotated[Principal, Depends(require_roles(_TO, _CO))]
AssistanceWriter = Annotated[Principal, Depends(require_roles(_VC, _TO, _CO))]
AssistanceReader = Annotated[Principal, Depends(require_roles(_VC, _TO, _CO, _AU, _SV))]
DibaoWriter = Annotated[Principal, Depends(require_roles(_CO))]
CareOfficer = Annotated[Principal, Depends(require_roles(_TO, _CO))]  # 兜底: confirmed and placed by an officer
LedgerReader = Annotated[Principal, Depends(require_roles(_CO, _TO, _AU))]
# 两类户动态调整: read in the caller's region; the village submits, the township approves or returns
AdjustmentReader = Annotated[Principal, Depends(require_roles(_VC, _TO, _CO, _AU))]
AdjustmentSubmitter = Annotated[Principal, Depends(require_roles(*SETTLEMENT_ROLES[SettlementAction.SUBMIT]))]
AdjustmentApprover = Annotated[Principal, Depends(require_roles(*SETTLEMENT_ROLES[SettlementAction.APPROVE]))]


def replay(stored: StoredResponse) -> JSONResponse:
    """The first response of an Idempotency-Key, as it was sent."""
    body: Any = stored.body
    headers = dict(REPLAY_HEADERS)
    links = body.get("links") if isinstance(body, dict) else None
    if isinstance(links, dict) and "self" in links:
        headers["Location"] = links["self"]
    if isinstance(body, dict) and "version" in body and "links" in body and stored.status_code in (200, 201):
        headers["ETag"] = f'"{body["version"]}"'
    return JSONResponse(body, status_code=stored.status_code, headers=headers)
