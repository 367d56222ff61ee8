"""Annotated dependency aliases for registry routes."""

from typing import Annotated

from fastapi import Depends

from services.registry.regions import RegionService
from shared.auth import Principal, Role, require_roles
from shared.db import SessionDep


def region_service(session: SessionDep) -> RegionService:
    return RegionService(session)


RegionServiceDep = Annotated[RegionService, Depends(region_service)]

# Anyone with a valid token may read regions in scope; only admins change the tree.
Reader = Annotated[Principal, Depends(require_roles(*Role))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
