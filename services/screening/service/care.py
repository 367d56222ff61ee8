"""兜底保障 (rules.md §4): the suggested list from the register, the officer's confirmation, the
placement (a care home within its carer ratio, a hospital, or at home with a guardian and a signed
agreement), the monthly visits of home placements and the overdue list. The rules are in
domain/care.py; every refusal of a placement is a named 409."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.api.schemas import (
    CareInstitutionCreate,
    CareInstitutionRead,
    CarePlacementCreate,
    CareSubjectCreate,
    CareSubjectRead,
    CareSuggestionPage,
    CareSuggestionRead,
    CareVisitCreate,
    CareVisitRead,
    OverdueVisitList,
    OverdueVisitRead,
)
from services.screening.db.care_repository import CareMember, CareRepository, Institution, Subject
from services.screening.db.cases_repository import CaseRepository
from services.screening.domain import care as rules
from services.screening.domain.public_posts import level_of
from services.screening.service.common import SERVICE, Context
from shared.audit import Auditor
from shared.auth import Principal
from shared.errors import Conflict, FieldError, NotFound, Unprocessable
from shared.pagination import encode_cursor, read_cursor


def _age(member: CareMember, today: date) -> int:
    b = member.birth_date
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


def institution_read(row: Institution, residents: int) -> CareInstitutionRead:
    return CareInstitutionRead(
        id=row.id,
        county_code=row.county_code,
        region_code=row.region_code,
        name=row.name,
        kind="hospital" if row.kind == "hospital" else "care_home",
        carers=row.carers,
        residents=residents,
        version=row.version,
        created_at=row.created_at,
    )


class CareService:
    def __init__(self, session: AsyncSession, ctx: Context) -> None:
        self.session = session
        self.ctx = ctx
        self.repo = CareRepository(session)
        self.cases = CaseRepository(session)

    @staticmethod
    def _region(principal: Principal, county_code: str) -> str:
        if principal.region.startswith(county_code):
            return principal.region
        if county_code.startswith(principal.region):
            return county_code
        raise NotFound("no such county in your region", code="not_found")

    async def _subject(self, principal: Principal, subject_id: uuid.UUID, *, for_update: bool = False) -> Subject:
        row = await self.repo.subject(subject_id, for_update=for_update)
        if row is None or not principal.can_see(row.village_code):
            raise NotFound("no such care subject in your region", code="care_subject_not_found")
        return row

    async def _read(self, row: Subject) -> CareSubjectRead:
        visits = await self.repo.visits_of(row.county_code, row.id)
        home = row.status == "placed" and row.placement == rules.Placement.HOME and row.placed_on is not None
        last = visits[-1].visit_date if visits else None
        due = rules.next_visit_due(row.placed_on, last) if home and row.placed_on else None
        group = rules.CareGroup(row.care_group)
        return CareSubjectRead(
            id=row.id,
            county_code=row.county_code,
            village_code=row.village_code,
            household_id=row.household_id,
            member_id=row.member_id,
            care_group=group.value,
            care_group_label=rules.GROUP_LABELS[group],
            status="placed" if row.status == "placed" else "ended" if row.status == "ended" else "confirmed",
            placement=rules.Placement(row.placement).value if row.placement else None,
            institution_id=row.institution_id,
            guardian_name=row.guardian_name,
            agreement_ref=row.agreement_ref,
            agreement_signed_on=row.agreement_signed_on,
            placed_on=row.placed_on,
            note=row.note,
            visits=[
                CareVisitRead(
                    id=v.id,
                    visit_date=v.visit_date,
                    visitor=v.visitor,
                    findings=v.findings,
                    created_by=v.created_by,
                    created_at=v.created_at,
                )
                for v in visits
            ],
            next_visit_due=due,
            visit_overdue=due is not None and due < self.ctx.today(),
            version=row.version,
            created_by=row.created_by,
            created_at=row.created_at,
        )

    # --- the suggested list ----------------------------------------------------------------

    async def suggestions(
        self, principal: Principal, county_code: str, cursor: str | None, limit: int
    ) -> CareSuggestionPage:
        region = self._region(principal, county_code)
        today = self.ctx.today()
        after = read_cursor(cursor, str, uuid.UUID)
        rows = await self.repo.suggestions(
            county_code, region, rules.born_by(today), (after[0], after[1]) if after else None, limit + 1
        )
        items = []
        for m in rows[:limit]:
            groups = rules.groups_of(
                household_status=m.household_status,
                birth_date=m.birth_date,
                health=m.health,
                disability_grade=m.disability_grade,
                labour_ability=m.labour_ability,
                today=today,
            )
            items.append(
                CareSuggestionRead(
                    member_id=m.member_id,
                    household_id=m.household_id,
                    township_code=m.township_code,
                    village_code=m.village_code,
                    household_status=m.household_status,
                    age=_age(m, today),
                    groups=[g.value for g in groups],
                    group_labels=[rules.GROUP_LABELS[g] for g in groups],
                )
            )
        last = rows[limit - 1] if len(rows) > limit else None
        return CareSuggestionPage(
            items=items, next_cursor=encode_cursor([last.village_code, str(last.member_id)]) if last else None
        )

    # --- confirmation ----------------------------------------------------------------------

    async def confirm(self, principal: Principal, body: CareSubjectCreate) -> CareSubjectRead:
        """The officer confirms a member in one of the groups the register gives (认定兜底对象)."""
        household = await self.cases.household(body.household_id)
        member = await self.repo.member(household.county_code, body.member_id) if household is not None else None
        if member is None or member.household_id != body.household_id or not principal.can_see(member.village_code):
            raise NotFound("no such member of the household in your region", code="household_not_found")
        today = self.ctx.today()
        groups = rules.groups_of(
            household_status=member.household_status,
            birth_date=member.birth_date,
            health=member.health,
            disability_grade=member.disability_grade,
            labour_ability=member.labour_ability,
            today=today,
        )
        if body.care_group not in groups:
            raise Unprocessable(
                "the register does not put the member in that group",
                code="care_group_not_met",
                errors=[FieldError(field="care_group", message=f"the register gives {[g.value for g in groups]}")],
            )
        existing = await self.repo.open_subject_of(member.county_code, member.member_id)
        if existing is not None:
            raise Conflict(
                "the member is already a care subject",
                code="care_subject_exists",
                extra={"subject_id": str(existing.id)},
            )
        now = self.ctx.now()
        row = await self.repo.insert_subject(
            {
                "id": uuid.uuid4(),
                "county_code": member.county_code,
                "township_code": member.township_code,
                "village_code": member.village_code,
                "household_id": member.household_id,
                "member_id": member.member_id,
                "care_group": body.care_group,
                "status": "confirmed",
                "note": body.note,
                "version": 1,
                "created_by": principal.sub,
                "created_at": now,
                "updated_at": now,
            }
        )
        if row is None:
            await self.session.rollback()
            raise Conflict("the member is already a care subject", code="care_subject_exists")
        await Auditor(self.session, SERVICE, principal).record(
            "screening.care_subject.confirmed",
            "care_subject",
            row.id,
            {"member_id": str(row.member_id), "care_group": row.care_group},
        )
        read = await self._read(row)
        await self.session.commit()
        return read

    async def get(self, principal: Principal, subject_id: uuid.UUID) -> CareSubjectRead:
        return await self._read(await self._subject(principal, subject_id))

    # --- institutions ----------------------------------------------------------------------

    async def create_institution(self, principal: Principal, body: CareInstitutionCreate) -> CareInstitutionRead:
        if level_of(body.region_code) is None or not principal.can_see(body.region_code):
            raise NotFound("no such region in your scope", code="region_not_found")
        now = self.ctx.now()
        row = await self.repo.insert_institution(
            {
                "id": uuid.uuid4(),
                "county_code": body.region_code[:6],
                "region_code": body.region_code,
                "name": body.name.strip(),
                "kind": body.kind,
                "carers": body.carers,
                "version": 1,
                "created_by": principal.sub,
                "created_at": now,
                "updated_at": now,
            }
        )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.care_institution.created",
            "care_institution",
            row.id,
            {"name": row.name, "kind": row.kind, "carers": row.carers},
        )
        read = institution_read(row, 0)
        await self.session.commit()
        return read

    async def institution(self, principal: Principal, institution_id: uuid.UUID) -> CareInstitutionRead:
        row = await self.repo.institution(institution_id)
        if row is None or not principal.can_see(row.region_code):
            raise NotFound("no such care institution in your region", code="care_institution_not_found")
        return institution_read(row, await self.repo.residents(row.county_code, row.id))

    # --- placement -------------------------------------------------------------------------

    async def place(self, principal: Principal, subject_id: uuid.UUID, body: CarePlacementCreate) -> CareSubjectRead:
        """Places a confirmed subject; each rule refuses with its own 409 (domain/care.py)."""
        row = await self._subject(principal, subject_id, for_update=True)
        if row.status != "confirmed":
            raise Conflict("the subject is already placed", code="care_already_placed", extra={"status": row.status})
        if body.placed_on > self.ctx.today():
            raise Unprocessable(
                "a placement is recorded once made",
                errors=[FieldError(field="placed_on", message=f"{body.placed_on} is in the future")],
            )
        placement = rules.Placement(body.placement)
        values: dict[str, object] = {"placement": placement.value, "placed_on": body.placed_on}
        if placement is rules.Placement.HOME:
            if body.institution_id is not None:
                raise Unprocessable(
                    "a home placement names no institution",
                    errors=[FieldError(field="institution_id", message="not for a home placement")],
                )
            if not (body.guardian_name and body.agreement_ref and body.agreement_signed_on):
                raise Conflict(
                    "a home placement needs a guardian and a signed agreement",
                    code="guardian_agreement_required",
                    extra={
                        "missing": [
                            name
                            for name in ("guardian_name", "agreement_ref", "agreement_signed_on")
                            if not getattr(body, name)
                        ]
                    },
                )
            if body.agreement_signed_on > body.placed_on:
                raise Conflict(
                    "the agreement is signed after the placement",
                    code="guardian_agreement_required",
                    extra={"missing": ["agreement_signed_on"]},
                )
            values |= {
                "guardian_name": body.guardian_name,
                "agreement_ref": body.agreement_ref,
                "agreement_signed_on": body.agreement_signed_on,
            }
        else:
            if body.institution_id is None:
                raise Unprocessable(
                    "an institutional or treatment placement names its institution",
                    errors=[FieldError(field="institution_id", message="required")],
                )
            institution = await self.repo.institution(body.institution_id, for_update=True)  # placements queue here
            if institution is None or not principal.can_see(institution.region_code):
                raise NotFound("no such care institution in your region", code="care_institution_not_found")
            if institution.county_code != row.county_code:
                raise NotFound("no such care institution in your region", code="care_institution_not_found")
            residents = await self.repo.residents(institution.county_code, institution.id)
            refusal = rules.institution_refusal(placement, institution.kind, residents, institution.carers)
            if refusal == "institution_kind_mismatch":
                raise Conflict(
                    f"a {placement.value} placement needs a {rules.INSTITUTION_KIND[placement]}",
                    code="institution_kind_mismatch",
                    extra={"kind": institution.kind},
                )
            if refusal == "carer_ratio_exceeded":
                raise Conflict(
                    "the care home would have more than 5 residents per carer",
                    code="carer_ratio_exceeded",
                    extra={"residents": residents, "carers": institution.carers},
                )
            values["institution_id"] = institution.id
        now = self.ctx.now()
        fresh = await self.repo.update_subject(
            row.id, {**values, "status": "placed", "version": row.version + 1, "updated_at": now}
        )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.care_subject.placed",
            "care_subject",
            row.id,
            {
                "placement": placement.value,
                "institution_id": str(fresh.institution_id) if fresh.institution_id else None,
                "placed_on": body.placed_on.isoformat(),
            },
        )
        read = await self._read(fresh)
        await self.session.commit()
        return read

    # --- visits ----------------------------------------------------------------------------

    async def record_visit(self, principal: Principal, subject_id: uuid.UUID, body: CareVisitCreate) -> CareSubjectRead:
        row = await self._subject(principal, subject_id, for_update=True)
        if row.status != "placed" or row.placement != rules.Placement.HOME or row.placed_on is None:
            raise Conflict("monthly visits are for home placements", code="visit_not_home_placement")
        if body.visit_date > self.ctx.today() or body.visit_date < row.placed_on:
            raise Unprocessable(
                "a visit is dated between the placement and today",
                errors=[FieldError(field="visit_date", message="before the placement or in the future")],
            )
        visit = await self.repo.insert_visit(
            {
                "id": uuid.uuid4(),
                "county_code": row.county_code,
                "subject_id": row.id,
                "visit_date": body.visit_date,
                "visitor": body.visitor,
                "findings": body.findings,
                "created_by": principal.sub,
                "created_at": self.ctx.now(),
            }
        )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.care_visit.recorded",
            "care_subject",
            row.id,
            {"visit_id": str(visit.id), "visit_date": body.visit_date.isoformat()},
        )
        read = await self._read(row)
        await self.session.commit()
        return read

    async def overdue(self, principal: Principal, county_code: str) -> OverdueVisitList:
        """Home placements whose monthly visit is overdue (the next one was due before today)."""
        region = self._region(principal, county_code)
        today = self.ctx.today()
        items = []
        for h in await self.repo.home_placements(county_code, region):
            placed_on = h.subject.placed_on
            if placed_on is None or not rules.visit_overdue(placed_on, h.last_visit, today):
                continue
            items.append(
                OverdueVisitRead(
                    subject_id=h.subject.id,
                    household_id=h.subject.household_id,
                    member_id=h.subject.member_id,
                    village_code=h.subject.village_code,
                    guardian_name=h.subject.guardian_name,
                    placed_on=placed_on,
                    last_visit=h.last_visit,
                    next_visit_due=rules.next_visit_due(placed_on, h.last_visit),
                )
            )
        return OverdueVisitList(county_code=county_code, today=today, items=items)
