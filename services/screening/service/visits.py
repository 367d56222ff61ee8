"""Home visits (入户走访, rules.md §4): date, who, structured findings and photos (attachments kept in
screening's schema through shared/attachments.py); a visit can open a `cadre_visit` case; the
coverage list of households not visited within the county's interval."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.screening.api.schemas import (
    AttachmentRead,
    CoverageRead,
    UncoveredRead,
    VisitCreate,
    VisitRead,
)
from services.screening.db.assistance_repository import AssistanceRepository, Visit
from services.screening.db.cases_repository import CaseRepository
from services.screening.db.tables import attachment, attachment_chunk
from services.screening.domain import cases as wf
from services.screening.domain.risk import RiskCode
from services.screening.service.cases import CaseService, OpenCase
from services.screening.service.common import SERVICE, Context, require_county_read
from shared.attachments import IMAGES, Attachment, AttachmentStore, stream, visible
from shared.audit import Auditor
from shared.auth import Principal
from shared.errors import Conflict, FieldError, NotFound, Unprocessable
from shared.limits import Upload

OWNER_VISIT = "visit"
MAX_PHOTOS = 20


def attachment_read(row: Attachment) -> AttachmentRead:
    return AttachmentRead(
        id=row.id,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256_hex,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _summary(body: VisitCreate) -> str:
    f = body.findings
    parts = [f"living={f.living}", f"income_change={f.income_change}"]
    if f.risks:
        parts.append("risks=" + ",".join(r.value for r in f.risks))
    if f.needs:
        parts.append(f"needs={f.needs}")
    return "; ".join(parts)


class VisitService:
    def __init__(self, session: AsyncSession, ctx: Context) -> None:
        self.session = session
        self.ctx = ctx
        self.repo = AssistanceRepository(session)
        self.cases = CaseRepository(session)
        self.files = AttachmentStore(session, attachment, attachment_chunk)

    async def _visit(self, principal: Principal, visit_id: uuid.UUID) -> Visit:
        row = await self.repo.visit(visit_id)
        if row is None or not principal.can_see(row.village_code):
            raise NotFound("no such visit", code="visit_not_found")
        return row

    async def _read(self, row: Visit) -> VisitRead:
        return VisitRead(
            id=row.id,
            household_id=row.household_id,
            county_code=row.county_code,
            village_code=row.village_code,
            visit_date=row.visit_date,
            visitors=list(row.visitors),
            findings=row.findings,
            case_id=row.case_id,
            photos=[attachment_read(a) for a in await self.files.of_owner(OWNER_VISIT, row.id)],
            created_by=row.created_by,
            created_at=row.created_at,
        )

    async def get(self, principal: Principal, visit_id: uuid.UUID) -> VisitRead:
        return await self._read(await self._visit(principal, visit_id))

    async def of_household(self, principal: Principal, household_id: uuid.UUID) -> list[VisitRead]:
        household = await self.cases.household(household_id)
        if household is None or not principal.can_see(household.village_code):
            raise NotFound("no such household in your region", code="household_not_found")
        return [await self._read(v) for v in await self.repo.visits_of(household_id)]

    async def create(self, principal: Principal, body: VisitCreate) -> VisitRead:
        household = await self.cases.household(body.household_id)
        if household is None or not principal.can_see(household.village_code):
            raise NotFound("no such household in your region", code="household_not_found")
        if body.visit_date > self.ctx.today():
            raise Unprocessable(
                "a visit is recorded once made",
                errors=[FieldError(field="visit_date", message=f"{body.visit_date} is in the future")],
            )
        row = await self.repo.insert_visit(
            {
                "id": uuid.uuid4(),
                "county_code": household.county_code,
                "township_code": household.township_code,
                "village_code": household.village_code,
                "household_id": household.household_id,
                "visit_date": body.visit_date,
                "visitors": list(body.visitors),
                "findings": body.findings.model_dump(mode="json", exclude_none=True),
                "created_by": principal.sub,
                "created_at": self.ctx.now(),
            }
        )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.visit.recorded", "visit", row.id, {"household_id": str(row.household_id)}
        )
        await self.session.commit()
        if body.open_case:
            outcome = await CaseService(self.session, self.ctx).open(
                principal,
                OpenCase(
                    source=wf.CaseSource.CADRE_VISIT,
                    lead_id=None,
                    household_id=household.household_id,
                    evidence={
                        "home_visit_findings": _summary(body),
                        "visit_date": body.visit_date.isoformat(),
                        "visit_id": str(row.id),
                    },
                    risk_codes=tuple(RiskCode(r) for r in body.findings.risks),
                    comment=None,
                ),
                idempotency_key=None,
            )
            case_id = getattr(outcome, "id", None)
            if case_id is not None:
                row = await self.repo.set_visit_case(row.id, case_id)
                await self.session.commit()
        return await self._read(row)

    # --- photos ----------------------------------------------------------------------------

    async def add_photo(self, principal: Principal, visit_id: uuid.UUID, upload: Upload) -> AttachmentRead:
        row = await self._visit(principal, visit_id)
        if await self.files.count_of(OWNER_VISIT, row.id) >= MAX_PHOTOS:
            raise Conflict(f"a visit keeps at most {MAX_PHOTOS} photos", code="too_many_attachments")
        saved = await self.files.save(
            upload,
            county_code=row.county_code,
            village_code=row.village_code,
            owner_type=OWNER_VISIT,
            owner_id=row.id,
            created_by=principal.sub,
            accept=IMAGES,
        )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.attachment.stored",
            "attachment",
            saved.id,
            {"owner_type": OWNER_VISIT, "owner_id": str(row.id), "size_bytes": saved.size_bytes},
        )
        read = attachment_read(saved)
        await self.session.commit()
        return read

    async def photo(self, principal: Principal, visit_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment:
        row = await self._visit(principal, visit_id)
        found = visible(principal, await self.files.get(attachment_id))
        if found.owner_type != OWNER_VISIT or found.owner_id != row.id:
            raise NotFound("no such attachment", code="attachment_not_found")
        return found

    @staticmethod
    def content(sessionmaker: async_sessionmaker[AsyncSession], row: Attachment) -> AsyncIterator[bytes]:
        return stream(sessionmaker, attachment_chunk, row)

    # --- coverage --------------------------------------------------------------------------

    async def coverage(self, principal: Principal, county_code: str, limit: int) -> CoverageRead:
        """Households of the county in the caller's region with no visit within the interval (走访覆盖)."""
        require_county_read(principal, county_code, "county")
        interval = self.ctx.settings.visit_interval_days
        since = self.ctx.today() - timedelta(days=interval - 1)
        region = principal.region if principal.region.startswith(county_code) else county_code
        rows = await self.repo.uncovered(region, county_code, since, limit)
        return CoverageRead(
            county_code=county_code,
            interval_days=interval,
            since=since,
            items=[
                UncoveredRead(
                    household_id=r.household_id,
                    household_number=r.household_number,
                    township_code=r.township_code,
                    village_code=r.village_code,
                    last_visit_date=r.last_visit_date,
                )
                for r in rows
            ],
        )
