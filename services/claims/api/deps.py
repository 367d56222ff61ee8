"""Annotated dependency aliases for the claims routes: services, callers by role, headers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.claims.service.claims import ClaimService
from services.claims.service.common import Runtime
from services.claims.service.notices import NoticeService
from services.claims.service.payments import PaymentService
from services.claims.service.schemes import EnrolmentService, SchemeService
from services.claims.service.simulations import SimulationService
from shared.auth import Principal, Role, require_roles
from shared.concurrency import IfMatch as IfMatch  # the routes take it from here
from shared.db import SessionDep
from shared.idempotency import idempotency_key_header
from shared.jobs import JobRunner


async def runtime(request: Request) -> Runtime:
    return Runtime.from_app(request.app)


RuntimeDep = Annotated[Runtime, Depends(runtime)]


async def _jobs(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


JobsDep = Annotated[JobRunner, Depends(_jobs)]  # the kernel's job runner (services/claims/jobs.py)


async def _schemes(session: SessionDep, rt: RuntimeDep) -> SchemeService:
    return SchemeService(session, rt)


@asynccontextmanager
async def scheme_service(request: Request) -> AsyncIterator[SchemeService]:
    """A SchemeService on its own session, opened only when a route needs it (the preview of an
    inline scheme never touches the database); closed as SessionDep's is."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        yield SchemeService(session, Runtime.from_app(request.app))


async def _enrolments(session: SessionDep, rt: RuntimeDep) -> EnrolmentService:
    return EnrolmentService(session, rt)


async def _claims(session: SessionDep, rt: RuntimeDep) -> ClaimService:
    return ClaimService(session, rt)


async def _notices(session: SessionDep, rt: RuntimeDep) -> NoticeService:
    return NoticeService(session, rt)


async def _payments(session: SessionDep, rt: RuntimeDep) -> PaymentService:
    return PaymentService(session, rt)


async def _simulations(session: SessionDep, rt: RuntimeDep) -> SimulationService:
    return SimulationService(session, rt)


SchemeServiceDep = Annotated[SchemeService, Depends(_schemes)]
EnrolmentServiceDep = Annotated[EnrolmentService, Depends(_enrolments)]
ClaimServiceDep = Annotated[ClaimService, Depends(_claims)]
NoticeServiceDep = Annotated[NoticeService, Depends(_notices)]
PaymentServiceDep = Annotated[PaymentService, Depends(_payments)]
SimulationServiceDep = Annotated[SimulationService, Depends(_simulations)]

IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]

R = Role
# Anyone signed in may read schemes and use the calculator.
AnyCaller = Annotated[Principal, Depends(require_roles(*Role))]
CountyOfficer = Annotated[Principal, Depends(require_roles(R.COUNTY_OFFICER))]
ClaimReader = Annotated[
    Principal,
    Depends(
        require_roles(R.VILLAGE_CADRE, R.TOWNSHIP_OFFICER, R.COUNTY_OFFICER, R.INSURER_ADJUSTER, R.AUDITOR, R.SERVICE)
    ),
]
Cadre = Annotated[Principal, Depends(require_roles(R.VILLAGE_CADRE, R.TOWNSHIP_OFFICER, R.COUNTY_OFFICER))]
ServiceCaller = Annotated[Principal, Depends(require_roles(R.SERVICE))]
WorkflowActor = Annotated[
    Principal,
    Depends(require_roles(R.VILLAGE_CADRE, R.TOWNSHIP_OFFICER, R.COUNTY_OFFICER, R.INSURER_ADJUSTER, R.SERVICE)),
]
NoticePublisher = Annotated[Principal, Depends(require_roles(R.COUNTY_OFFICER, R.SERVICE))]
PaymentOfficer = Annotated[Principal, Depends(require_roles(R.COUNTY_OFFICER, R.SERVICE))]
PaymentReader = Annotated[
    Principal, Depends(require_roles(R.COUNTY_OFFICER, R.TOWNSHIP_OFFICER, R.INSURER_ADJUSTER, R.AUDITOR, R.SERVICE))
]
Actuary = Annotated[Principal, Depends(require_roles(R.COUNTY_OFFICER, R.INSURER_ADJUSTER))]
ActuaryReader = Annotated[Principal, Depends(require_roles(R.COUNTY_OFFICER, R.INSURER_ADJUSTER, R.AUDITOR))]
