"""Registry service (建档立卡): households, members, incomes, benefits, monitoring status."""

from fastapi import FastAPI

from services.registry.api.regions import router as regions_router
from services.registry.config import RegistrySettings
from services.registry.db.tables import outbox
from shared.app import ServiceSpec, build_app

DESCRIPTION = """
The registry (建档立卡) is the single source of truth for who lives where, what they earn and
which monitoring status (监测类型) each household has. Screening and claims read it; only the
registry writes it.

All calls need `Authorization: Bearer <JWT>`; every query is limited to the caller's region.
Errors are `application/problem+json` with a stable `code`.
"""


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    spec = ServiceSpec(
        name="registry",
        title="Fangpin Registry (建档立卡)",
        description=DESCRIPTION,
        routers=[regions_router],
        outbox=outbox,
        peers=(),
        openapi_tags=[{"name": "regions", "description": "行政区划: division codes, 12 digits"}],
    )
    return build_app(spec, settings or RegistrySettings())
