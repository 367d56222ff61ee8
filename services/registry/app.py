"""Registry service (建档立卡): households, members, incomes, benefits, monitoring status."""

from fastapi import FastAPI

from services.registry.api.assistance import router as assistance_router
from services.registry.api.cadres import router as cadres_router
from services.registry.api.exports import router as exports_router
from services.registry.api.households import router as households_router
from services.registry.api.imports import router as imports_router
from services.registry.api.members import router as members_router
from services.registry.api.regions import router as regions_router
from services.registry.api.statistics import router as statistics_router
from services.registry.config import RegistrySettings
from services.registry.db.tables import outbox
from services.registry.jobs import registry_lifespan
from shared.app import ServiceSpec, build_app

DESCRIPTION = """
The registry (建档立卡) is the single source of truth for who lives where, what they earn and
which monitoring status (监测类型) each household has. Screening and claims read it; only the
registry writes it.

All calls need `Authorization: Bearer <JWT>`; every query is limited to the caller's region
(a household outside it answers 404). Errors are `application/problem+json` with a stable `code`.
Updates need `If-Match` with the `ETag` you read (stale: 412, missing: 428); creating `POST`s
take `Idempotency-Key`. ID numbers, bank accounts and phones are stored encrypted and shown
masked (`410602********1312`); revealing one needs a role that may, a purpose, and is audited.

Read contracts for set-based reads: the views `registry.household_snapshot_v1` and
`registry.member_identity_v1` (see `shared/contracts/registry.py`).
"""


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    spec = ServiceSpec(
        name="registry",
        title="Fangpin Registry (建档立卡)",
        description=DESCRIPTION,
        routers=[
            regions_router,
            households_router,
            members_router,
            cadres_router,
            imports_router,
            exports_router,
            statistics_router,
            assistance_router,
        ],
        outbox=outbox,
        peers=(),
        hooks=(registry_lifespan,),
        openapi_tags=[
            {"name": "regions", "description": "行政区划: division codes, 12 digits"},
            {"name": "households", "description": "农户: households, members, incomes, benefits, status, history"},
            {"name": "members", "description": "家庭成员: by id, reveal (audited), bulk resolve by ID number"},
            {"name": "cadres", "description": "帮扶责任人: a household's responsible cadres and a cadre's households"},
            {"name": "imports", "description": "批量导入: CSV/XLSX jobs written with COPY"},
            {"name": "exports", "description": "导出: CSV/XLSX of a region, masked unless revealed (audited)"},
            {"name": "statistics", "description": "统计报表: the county report's figures, JSON or XLSX"},
        ],
    )
    return build_app(spec, settings or RegistrySettings())
