"""Finding households (search) and people (bulk resolve by national ID)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.api.schemas import (
    HouseholdSearch,
    HouseholdSummary,
    ResolvedMember,
    ResolveRequest,
    ResolveResponse,
)
from services.registry.db.household_repository import HouseholdRepository
from services.registry.domain.national_id import InvalidNationalId, validate_national_id
from services.registry.service.common import SERVICE
from shared.audit import Auditor
from shared.auth import Principal
from shared.clock import BusinessClock
from shared.contracts.vocabulary import mask_national_id
from shared.errors import FieldError, Unprocessable
from shared.pagination import Page, next_cursor, read_cursor
from shared.pii import PiiCipher

NATIONAL_ID = "national_id"


class SearchService:
    def __init__(
        self, session: AsyncSession, pii: PiiCipher, principal: Principal, clock: BusinessClock | None = None
    ) -> None:
        self.clock = clock or BusinessClock()
        self.session = session
        self.repo = HouseholdRepository(session)
        self.pii = pii
        self.principal = principal

    async def search(self, query: HouseholdSearch) -> Page[HouseholdSummary]:
        index: bytes | None = None
        if query.national_id is not None:
            try:
                person = validate_national_id(query.national_id, today=self.clock.today())
            except InvalidNationalId as exc:
                raise Unprocessable(
                    exc.message,
                    code="invalid_national_id",
                    errors=[FieldError(field="national_id", message=exc.message, code=exc.code)],
                ) from None
            index = self.pii.blind_index(person.value, purpose=NATIONAL_ID)
        cursor_key = read_cursor(query.cursor, str, str, uuid.UUID)
        region = query.region
        scope = self.principal.region
        if region and scope and not (region.startswith(scope) or scope.startswith(region)):
            # Disjoint from the caller's region: nothing to see (not an error; regions are public).
            return Page[HouseholdSummary](items=[])
        rows = await self.repo.search(  # one statement, on the pool's connection (shared.db.read_connection)
            scope_prefix=scope,
            region_prefix=region,
            name_prefix=query.name_prefix,
            national_id_index=index,
            household_number=query.household_number,
            statuses=query.status,
            dibao=query.dibao,
            dibao_class=query.dibao_class.value if query.dibao_class else None,
            tekun=query.tekun,
            negative_list=query.negative_list,
            insured_year=query.insured_year,
            include_archived=query.include_archived,
            poverty_causes=[c.value for c in query.poverty_cause] if query.poverty_cause else None,
            lifted_out_year=query.lifted_out_year,
            registered_year=query.registered_year,
            grid_code=query.grid_code,
            cadre_name=query.cadre,
            cadre_on=self.clock.today() if query.cadre is not None else None,
            after=cursor_key,
            limit=query.limit + 1,
        )
        items = [
            HouseholdSummary.model_validate(
                {**vars(r), "insured_years": sorted(r.insured_years or []), "archived": r.archived_at is not None}
            )
            for r in rows[: query.limit]
        ]
        return Page[HouseholdSummary](
            items=items,
            next_cursor=next_cursor(rows, query.limit, lambda r: [r.village_code, r.household_number, str(r.id)]),
        )

    async def resolve(self, body: ResolveRequest) -> ResolveResponse:
        """National IDs → active member and household, in request order; unknown or invalid → nulls."""
        day: date = self.clock.today()
        normalised: list[str | None] = []
        for raw in body.national_ids:
            try:
                normalised.append(validate_national_id(raw, today=day).value)
            except (InvalidNationalId, TypeError):
                normalised.append(None)
        indexes = {v: self.pii.blind_index(v, purpose=NATIONAL_ID) for v in normalised if v is not None}
        found = await self.repo.resolve(list(indexes.values()), scope_prefix=self.principal.region)
        results: list[ResolvedMember] = []
        matched = 0
        for raw, value in zip(body.national_ids, normalised, strict=True):
            hit = found.get(indexes[value]) if value is not None else None
            matched += hit is not None
            results.append(
                ResolvedMember(
                    national_id_masked=mask_national_id(value) if value else "*" * min(len(raw or ""), 18),
                    member_id=hit.member_id if hit else None,
                    household_id=hit.household_id if hit else None,
                    county_code=hit.county_code if hit else None,
                )
            )
        await Auditor(self.session, SERVICE, self.principal).record(
            action="member.resolve",
            resource_type="member",
            resource_id=None,
            detail={"requested": len(body.national_ids), "matched": matched},
        )
        await self.session.commit()
        return ResolveResponse(results=results)
