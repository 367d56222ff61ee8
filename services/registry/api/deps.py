"""Annotated dependency aliases for registry routes."""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.service.cadres import CadreService
from services.registry.service.common import (
    ARCHIVERS,
    BANK_REVEALERS,
    BENEFIT_RECORDERS,
    EDITORS,
    EXPORTERS,
    FACT_READERS,
    IMPORTERS,
    MONITORING_SETTERS,
    READERS,
    RESOLVERS,
    REVEALERS,
    cipher_of,
)
from services.registry.service.exports import ExportService
from services.registry.service.households import HouseholdService
from services.registry.service.imports import ImportService, import_limits
from services.registry.service.regions import RegionService
from services.registry.service.search import SearchService
from services.registry.service.statistics import StatisticsService
from shared.auth import CurrentPrincipal, Principal, Role, require_roles, require_roles_for
from shared.concurrency import IfMatch as IfMatch  # the routes take it from here
from shared.db import SessionDep
from shared.idempotency import idempotency_key_header
from shared.jobs import JobRunner


async def region_service(session: SessionDep) -> RegionService:
    return RegionService(session)


RegionServiceDep = Annotated[RegionService, Depends(region_service)]

# Anyone with a valid token may read regions in scope; only admins change the tree.
Reader = Annotated[Principal, Depends(require_roles(*Role))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]

HouseholdReader = Annotated[Principal, Depends(require_roles(*READERS))]
Editor = Annotated[Principal, Depends(require_roles(*EDITORS))]
Archiver = Annotated[Principal, Depends(require_roles(*ARCHIVERS))]
MonitoringSetter = Annotated[Principal, Depends(require_roles(*MONITORING_SETTERS))]
BenefitRecorder = Annotated[Principal, Depends(require_roles(*BENEFIT_RECORDERS))]
Revealer = Annotated[Principal, Depends(require_roles(*REVEALERS))]
BankRevealer = Annotated[Principal, Depends(require_roles(*BANK_REVEALERS))]
PhoneRevealer = Annotated[Principal, Depends(require_roles(*EDITORS, *REVEALERS))]
FactReader = Annotated[Principal, Depends(require_roles(*FACT_READERS))]
Resolver = Annotated[Principal, Depends(require_roles(*RESOLVERS))]
Importer = Annotated[Principal, Depends(require_roles(*IMPORTERS))]
Exporter = Annotated[Principal, Depends(require_roles(*EXPORTERS))]
StatisticsReader = Annotated[Principal, Depends(require_roles(*READERS))]

IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]


def _household_service(session: AsyncSession, request: Request, principal: Principal) -> HouseholdService:
    return HouseholdService(session, cipher_of(request.app.state.pii), principal, request.app.state.clock)


def _search_service(session: AsyncSession, request: Request, principal: Principal) -> SearchService:
    return SearchService(session, cipher_of(request.app.state.pii), principal, request.app.state.clock)


async def household_service(session: SessionDep, request: Request, principal: CurrentPrincipal) -> HouseholdService:
    return _household_service(session, request, principal)


async def search_service(session: SessionDep, request: Request, principal: CurrentPrincipal) -> SearchService:
    return _search_service(session, request, principal)


# The hottest reads (a household, a list page): the service with the readers' role check, one dependency.
HouseholdReading = Annotated[HouseholdService, Depends(require_roles_for(_household_service, *READERS))]
SearchReading = Annotated[SearchService, Depends(require_roles_for(_search_service, *READERS))]


async def cadre_service(session: SessionDep, request: Request, principal: CurrentPrincipal) -> CadreService:
    return CadreService(session, cipher_of(request.app.state.pii), principal, request.app.state.clock)


async def import_service(session: SessionDep, request: Request, principal: CurrentPrincipal) -> ImportService:
    return ImportService(
        session,
        request.app.state.sessionmaker,
        cipher_of(request.app.state.pii),
        principal,
        limits=import_limits(request.app.state.settings),
        clock=request.app.state.clock,
        parse_pool=request.app.state.parse_pool,
        parallel_min_bytes=request.app.state.settings.import_parallel_min_bytes,
    )


async def export_service(session: SessionDep, request: Request, principal: CurrentPrincipal) -> ExportService:
    return ExportService(session, request.app.state.sessionmaker, cipher_of(request.app.state.pii), principal)


async def statistics_service(session: SessionDep, principal: CurrentPrincipal) -> StatisticsService:
    return StatisticsService(session, principal)


async def job_runner(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


HouseholdServiceDep = Annotated[HouseholdService, Depends(household_service)]
SearchServiceDep = Annotated[SearchService, Depends(search_service)]
CadreServiceDep = Annotated[CadreService, Depends(cadre_service)]
ImportServiceDep = Annotated[ImportService, Depends(import_service)]
ExportServiceDep = Annotated[ExportService, Depends(export_service)]
JobRunnerDep = Annotated[JobRunner, Depends(job_runner)]
StatisticsServiceDep = Annotated[StatisticsService, Depends(statistics_service)]
