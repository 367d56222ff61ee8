"""Typed client of the registry's contract (shared/contracts/registry.py)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import ValidationError

from shared.contracts.registry import BankAccountReveal, HouseholdFacts, RevealRequest
from shared.errors import ServiceUnavailable
from shared.http import PeerError, ServiceClient
from shared.logging import get_logger

log = get_logger("fangpin.claims.registry")


class HouseholdUnknown(Exception):
    """The registry does not know the household (or refuses to show it to this service)."""


class BankAccountMissing(Exception):
    """The household has no bank account on file."""


def _unavailable(detail: str) -> ServiceUnavailable:
    return ServiceUnavailable(detail, code="registry_unavailable")


class RegistryClient:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def household_facts(self, household_id: UUID, as_of: date) -> HouseholdFacts:
        """The household at `as_of`; HouseholdUnknown on 404, ServiceUnavailable when it cannot say."""
        try:
            body = await self._client.call(
                "GET", f"/v1/households/{household_id}/facts", params={"as_of": as_of.isoformat()}
            )
        except PeerError as exc:
            if exc.status_code in (403, 404):
                raise HouseholdUnknown(str(household_id)) from exc
            log.warning("claims.registry.facts_failed", status=exc.status_code, code=exc.code)
            raise _unavailable(f"the registry answered {exc.status_code} for the household's facts") from exc
        except ServiceUnavailable as exc:
            raise _unavailable("the registry is unreachable; try again shortly") from exc
        try:
            return HouseholdFacts.model_validate(body)
        except ValidationError as exc:
            log.error("claims.registry.facts_malformed", errors=exc.error_count())
            raise _unavailable("the registry sent household facts this service cannot read") from exc

    async def reveal_bank_account(self, household_id: UUID, purpose: str) -> BankAccountReveal:
        """The household's bank account, revealed for a stated purpose (the registry audits it)."""
        try:
            body = await self._client.call(
                "POST",
                f"/v1/households/{household_id}/bank-account:reveal",
                json=RevealRequest(purpose=purpose).model_dump(mode="json"),
            )
        except PeerError as exc:
            if exc.status_code in (404, 409, 422):
                raise BankAccountMissing(str(household_id)) from exc
            raise _unavailable(f"the registry answered {exc.status_code} to the bank account reveal") from exc
        except ServiceUnavailable as exc:
            raise _unavailable("the registry is unreachable; try again shortly") from exc
        try:
            return BankAccountReveal.model_validate(body)
        except ValidationError as exc:
            raise _unavailable("the registry sent a bank account this service cannot read") from exc

    async def region_name(self, code: str) -> str | None:
        """The registry's name of a division code (GET /v1/regions/{code}); None when it cannot say.

        A printed notice names its county, township and village; when the registry is down or does
        not know the code the notice still prints, with the code in place of the name.
        """
        try:
            body = await self._client.call("GET", f"/v1/regions/{code}")
        except PeerError as exc:
            log.warning("claims.registry.region_failed", status=exc.status_code, code=exc.code)
            return None
        except ServiceUnavailable:
            log.warning("claims.registry.region_unreachable")
            return None
        name = body.get("name") if isinstance(body, dict) else None
        return name if isinstance(name, str) and name.strip() else None
