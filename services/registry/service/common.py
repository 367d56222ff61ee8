"""What every registry use case shares: the clock, region scope, history entries, versions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db.household_repository import Household, HouseholdRepository
from services.registry.domain.history import FieldChange
from shared.audit import Auditor
from shared.auth import Principal, Role
from shared.clock import BusinessClock
from shared.errors import Conflict, NotFound
from shared.idempotency import Attempt, StoredResponse
from shared.logging import request_id_var
from shared.pii import PiiCipher
from shared.results import Created as Created
from shared.results import from_stored, require_cipher, stored_status

SERVICE = "registry"

# Who may do what (admin always may; see shared.auth.require_roles).
READERS = (
    Role.VILLAGE_CADRE,
    Role.TOWNSHIP_OFFICER,
    Role.COUNTY_OFFICER,
    Role.AUDITOR,
    Role.INSURER_ADJUSTER,
    Role.SERVICE,
)
EDITORS = (Role.VILLAGE_CADRE, Role.TOWNSHIP_OFFICER, Role.COUNTY_OFFICER)
ARCHIVERS = (Role.TOWNSHIP_OFFICER, Role.COUNTY_OFFICER)
MONITORING_SETTERS = (Role.SERVICE, Role.COUNTY_OFFICER)
BENEFIT_RECORDERS = (Role.SERVICE, Role.COUNTY_OFFICER)
REVEALERS = (Role.COUNTY_OFFICER, Role.INSURER_ADJUSTER, Role.SERVICE)
BANK_REVEALERS = (Role.SERVICE,)
FACT_READERS = (
    Role.SERVICE,
    Role.INSURER_ADJUSTER,
    Role.COUNTY_OFFICER,
    Role.TOWNSHIP_OFFICER,
    Role.VILLAGE_CADRE,
)
RESOLVERS = (Role.SERVICE, Role.DEPARTMENT_FEEDER, Role.COUNTY_OFFICER)
IMPORTERS = (Role.VILLAGE_CADRE, Role.TOWNSHIP_OFFICER, Role.COUNTY_OFFICER)
EXPORTERS = (Role.VILLAGE_CADRE, Role.TOWNSHIP_OFFICER, Role.COUNTY_OFFICER, Role.AUDITOR)
EXPORT_REVEALERS = (Role.COUNTY_OFFICER,)


M = TypeVar("M", bound=BaseModel)


def replayed(stored: StoredResponse, model: type[M]) -> Created[M]:
    """The first answer of a repeated request, from the key store."""
    return from_stored(stored, model)


async def store(attempt: Attempt[Any], session: AsyncSession, result: Created[Any]) -> None:
    """Keep `result` as the answer to the attempt's key."""
    await attempt.save(session, stored_status(result), result.value.model_dump(mode="json"))


def may(principal: Principal, roles: Sequence[Role]) -> bool:
    return principal.has_any(Role.ADMIN, *roles)


def household_not_found() -> NotFound:
    return NotFound("no such household", code="household_not_found")


def member_not_found() -> NotFound:
    return NotFound("no such member", code="member_not_found")


async def household_in_scope(
    repo: HouseholdRepository, principal: Principal, household_id: uuid.UUID, *, for_update: bool = False
) -> Household:
    """The household, if the caller's region covers it; else 404, as if it did not exist (scope first)."""
    row = await repo.get_household(household_id, for_update=for_update)
    if row is None or not principal.can_see(row.village_code):
        raise household_not_found()
    return row


async def open_household(repo: HouseholdRepository, principal: Principal, household_id: uuid.UUID) -> Household:
    """The household in scope, locked for a change; 409 `household_archived` once it is archived (已注销)."""
    row = await household_in_scope(repo, principal, household_id, for_update=True)
    if row.archived_at is not None:
        raise Conflict("the household is archived (已注销); it can no longer change", code="household_archived")
    return row


class HistoryWriter:
    """Writes one history entry per change, and the matching audit record (no plain personal data)."""

    def __init__(
        self, session: AsyncSession, repo: HouseholdRepository, principal: Principal, clock: BusinessClock
    ) -> None:
        self.session = session
        self.repo = repo
        self.principal = principal
        self.clock = clock
        self._audits: list[dict[str, Any]] = []

    async def record(
        self,
        *,
        household_id: uuid.UUID,
        county_code: str,
        entity_type: str,
        entity_id: uuid.UUID | None,
        action: str,
        changes: Sequence[FieldChange],
        reason: str | None = None,
        effective_date: date | None = None,
    ) -> int:
        history_id = await self.repo.insert_history(
            {
                "household_id": household_id,
                "county_code": county_code,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "action": action,
                "changes": [c.as_dict() for c in changes],
                "reason": reason,
                "effective_date": effective_date or self.clock.today(),
                "actor_sub": self.principal.sub,
                "actor_role": self.principal.primary_role.value,
                "actor_region": self.principal.region,
                "request_id": request_id_var.get(),
            }
        )
        self._audits.append(
            {
                "action": action,
                "resource_type": entity_type,
                "resource_id": str(entity_id or household_id),
                "detail": {
                    "household_id": str(household_id),
                    "county_code": county_code,
                    "history_id": history_id,
                    "fields": [c.field for c in changes],
                    **({"reason": reason} if reason else {}),
                },
            }
        )
        return history_id

    async def flush_audit(self) -> None:
        """Append the audit records: last in the transaction, to hold the audit lock briefly."""
        for entry in self._audits:
            await Auditor(self.session, SERVICE, self.principal).record(**entry)
        self._audits.clear()


def cipher_of(pii: PiiCipher | None) -> PiiCipher:
    return require_cipher(pii)
