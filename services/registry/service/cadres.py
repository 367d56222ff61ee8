"""Responsible cadres 帮扶责任人 of a household (rules.md §3): assign, correct, end, list, a cadre's households,
and the audited reveal of a cadre's phone. Each write owns its transaction: the household locked (the overlap
check of one household's assignments is serialised by it), the change, a history entry, the audit last,
one commit. Everything is scoped to the caller's region: a household outside it is 404 on every route."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.api.schemas import (
    CadreAssign,
    CadreEnd,
    CadreHousehold,
    CadrePhoneReveal,
    CadreRead,
    CadreSearch,
    CadreUpdate,
)
from services.registry.db.cadre_repository import Cadre, CadreRepository
from services.registry.db.household_repository import Household, HouseholdRepository
from services.registry.db.tables import idempotency
from services.registry.domain.cadres import Assignment, is_current, overlapping
from services.registry.domain.history import FieldChange, created, plain
from services.registry.domain.ids import uuid7
from services.registry.service.common import (
    SERVICE,
    Created,
    HistoryWriter,
    household_in_scope,
    open_household,
    replayed,
    store,
)
from shared.audit import Auditor
from shared.auth import Principal
from shared.clock import BusinessClock
from shared.concurrency import require_version
from shared.contracts.vocabulary import mask_phone
from shared.errors import Conflict, FieldError, NotFound, Unprocessable
from shared.idempotency import Idempotency
from shared.pagination import Page, next_cursor, read_cursor
from shared.pii import PiiCipher

#: the purpose bound to a cadre's phone ciphertext and its blind index (ENCRYPTED_COLUMNS)
CADRE_PHONE = "cadre_phone"
CADRE_FIELDS = ("name", "work_unit", "affiliation", "phone", "start_date", "end_date")
ASSIGN_ROUTE = "POST /v1/households/{household_id}/cadres"

keys = Idempotency(idempotency)


def cadre_not_found() -> NotFound:
    return NotFound("no such responsible cadre assignment for this household", code="cadre_not_found")


def digits(value: str) -> str:
    """A phone as stored: its digits (spaces and dashes dropped; a leading + kept), as for households."""
    return "".join(ch for ch in value if ch.isdigit() or ch == "+")


def cadre_read(row: Cadre, today: date) -> CadreRead:
    return CadreRead(
        id=row.id,
        household_id=row.household_id,
        name=row.name,
        work_unit=row.work_unit,
        affiliation=row.affiliation,
        phone_masked=row.phone_masked,
        start_date=row.start_date,
        end_date=row.end_date,
        end_reason=row.end_reason,
        current=is_current(row.start_date, row.end_date, today),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _assignment(row: Cadre) -> Assignment:
    return Assignment(
        name=row.name,
        phone_index=bytes(row.phone_index) if row.phone_index is not None else None,
        work_unit=row.work_unit,
        start_date=row.start_date,
        end_date=row.end_date,
        id=row.id,
    )


def _dates_error(message: str) -> Unprocessable:
    return Unprocessable(message, errors=[FieldError(field="end_date", message=message)])


class CadreService:
    def __init__(
        self, session: AsyncSession, pii: PiiCipher, principal: Principal, clock: BusinessClock | None = None
    ) -> None:
        self.session = session
        self.pii = pii
        self.principal = principal
        self.clock = clock or BusinessClock()
        self.households = HouseholdRepository(session)
        self.repo = CadreRepository(session)
        self.history = HistoryWriter(session, self.households, principal, self.clock)

    # ------------------------------------------------------------------ scope

    async def _household(self, household_id: uuid.UUID, *, for_update: bool = False) -> Household:
        return await household_in_scope(self.households, self.principal, household_id, for_update=for_update)

    async def _open_household(self, household_id: uuid.UUID) -> Household:
        return await open_household(self.households, self.principal, household_id)

    async def _cadre(self, household: Household, cadre_id: uuid.UUID, *, for_update: bool = False) -> Cadre:
        row = await self.repo.get(cadre_id, for_update=for_update)
        if row is None or row.household_id != household.id or row.county_code != household.county_code:
            raise cadre_not_found()
        return row

    # ------------------------------------------------------------------ reads

    async def list(self, household_id: uuid.UUID, *, current_only: bool) -> list[CadreRead]:
        household = await self._household(household_id)
        today = self.clock.today()
        reads = [cadre_read(r, today) for r in await self.repo.of_household(household.id, household.county_code)]
        return [r for r in reads if r.current] if current_only else reads

    async def get(self, household_id: uuid.UUID, cadre_id: uuid.UUID) -> CadreRead:
        household = await self._household(household_id)
        return cadre_read(await self._cadre(household, cadre_id), self.clock.today())

    async def households_of(self, query: CadreSearch) -> Page[CadreHousehold]:
        """A cadre's households (帮扶对象) in the caller's region, by name and/or phone."""
        if query.name is None and query.phone is None:
            message = "give the cadre's name or phone"
            raise Unprocessable(
                message, errors=[FieldError(field="name", message=message), FieldError(field="phone", message=message)]
            )
        phone = digits(query.phone) if query.phone is not None else None
        after = read_cursor(query.cursor, str, str, uuid.UUID)
        today = self.clock.today()
        rows = await self.repo.households_of(
            scope_prefix=self.principal.region,
            name=query.name,
            phone_index=self.pii.blind_index(phone, purpose=CADRE_PHONE) if phone else None,
            current_on=today if query.current_only else None,
            after=after,
            limit=query.limit + 1,
        )
        items = [
            CadreHousehold(
                assignment=cadre_read(r.cadre, today),
                household_number=r.household_number,
                village_code=r.village_code,
                village_name=r.village_name,
                head_name=r.head_name,
                archived=r.archived_at is not None,
            )
            for r in rows[: query.limit]
        ]
        return Page[CadreHousehold](
            items=items,
            next_cursor=next_cursor(rows, query.limit, lambda r: [r.village_code, r.household_number, str(r.cadre.id)]),
        )

    # ------------------------------------------------------------------ writes

    async def assign(
        self, household_id: uuid.UUID, body: CadreAssign, *, if_match: int | None, idempotency_key: str | None
    ) -> Created[CadreRead]:
        attempt = await keys.begin(
            self.session,
            self.principal,
            route=ASSIGN_ROUTE,
            resource=household_id,
            key=idempotency_key,
            payload=body,
            authorize=lambda: self._open_household(household_id),
        )
        if attempt.replay is not None:
            await self.session.rollback()
            return replayed(attempt.replay, CadreRead)
        household = attempt.checked
        require_version(if_match, household.version, what="household", required=False)
        if body.end_date is not None and body.end_date < body.start_date:
            raise _dates_error("end_date (帮扶结束时间) is before start_date (帮扶开始时间)")
        phone = digits(body.phone)
        phone_index = self.pii.blind_index(phone, purpose=CADRE_PHONE)
        new = Assignment(
            name=body.name,
            phone_index=phone_index,
            work_unit=body.work_unit,
            start_date=body.start_date,
            end_date=body.end_date,
        )
        existing = [_assignment(r) for r in await self.repo.of_household(household.id, household.county_code)]
        clash = overlapping(new, existing)
        if clash is not None:
            raise Conflict(
                "this cadre is already assigned to the household for overlapping dates",
                code="cadre_assignment_overlap",
                errors=[FieldError(field="start_date", message="overlaps an assignment of the same cadre")],
                extra={"cadre_id": str(clash.id)},
            )
        cadre_id = uuid7()
        values = {
            "id": cadre_id,
            "county_code": household.county_code,
            "household_id": household.id,
            "name": body.name,
            "work_unit": body.work_unit,
            "affiliation": body.affiliation,
            "phone_enc": self.pii.encrypt(phone, purpose=CADRE_PHONE),
            "phone_index": phone_index,
            "phone_masked": mask_phone(phone),
            "start_date": body.start_date,
            "end_date": body.end_date,
            "created_by": self.principal.sub,
        }
        row = await self.repo.insert(values)
        await self.households.touch_household(household.id)  # the household read shows its cadres
        view = {**values, "phone": values["phone_masked"]}
        await self.history.record(
            household_id=household.id,
            county_code=household.county_code,
            entity_type="cadre",
            entity_id=cadre_id,
            action="cadre.assign",
            changes=created(view, CADRE_FIELDS),
            reason=body.reason,
            effective_date=body.start_date,
        )
        result = Created(cadre_read(row, self.clock.today()))
        await store(attempt, self.session, result)
        await self.history.flush_audit()
        await self.session.commit()
        return result

    async def end(
        self, household_id: uuid.UUID, cadre_id: uuid.UUID, body: CadreEnd, *, if_match: int | None
    ) -> CadreRead:
        household = await self._open_household(household_id)
        row = await self._cadre(household, cadre_id, for_update=True)
        require_version(if_match, row.version, what="cadre assignment")
        today = self.clock.today()
        if row.end_date is not None and row.end_date <= today:
            raise Conflict("the assignment has already ended", code="cadre_assignment_ended")
        if body.end_date < row.start_date:
            raise _dates_error("end_date (帮扶结束时间) is before start_date (帮扶开始时间)")
        if body.end_date > today:
            raise _dates_error("end_date cannot be in the future; give a planned end when assigning")
        updated = await self.repo.end(cadre_id, end_date=body.end_date, reason=body.reason)
        await self.households.touch_household(household.id)
        await self.history.record(
            household_id=household.id,
            county_code=household.county_code,
            entity_type="cadre",
            entity_id=cadre_id,
            action="cadre.end",
            changes=[FieldChange("end_date", plain(row.end_date), plain(body.end_date))],
            reason=body.reason,
            effective_date=body.end_date,
        )
        read = cadre_read(updated, today)
        await self.history.flush_audit()
        await self.session.commit()
        return read

    async def correct(
        self, household_id: uuid.UUID, cadre_id: uuid.UUID, body: CadreUpdate, *, if_match: int | None
    ) -> CadreRead:
        """Correct an assignment's details (a mistyped phone, a renamed unit): only the fields sent change.

        The household is locked, as for `assign`, so the overlap check of its assignments is serialised;
        the corrected assignment may not overlap another of the same cadre. Nothing that differs: the
        assignment as it is, nothing written."""
        household = await self._open_household(household_id)
        row = await self._cadre(household, cadre_id, for_update=True)
        require_version(if_match, row.version, what="cadre assignment")
        sent = body.model_fields_set - {"reason"}
        for name in ("name", "work_unit", "phone", "start_date"):
            if name in sent and getattr(body, name) is None:
                raise Unprocessable(f"{name} cannot be null", errors=[FieldError(field=name, message="cannot be null")])
        new: dict[str, object] = {
            name: getattr(body, name)
            for name in ("name", "work_unit", "affiliation", "start_date")
            if name in sent and getattr(body, name) != getattr(row, name)
        }
        changes = [FieldChange(name, plain(getattr(row, name)), plain(value)) for name, value in new.items()]
        phone_index = bytes(row.phone_index) if row.phone_index is not None else None
        if body.phone is not None:
            phone = digits(body.phone)
            index = self.pii.blind_index(phone, purpose=CADRE_PHONE)
            if index != phone_index:
                phone_index = index
                new.update(
                    phone_enc=self.pii.encrypt(phone, purpose=CADRE_PHONE),
                    phone_index=index,
                    phone_masked=mask_phone(phone),
                )
                changes.append(FieldChange("phone", row.phone_masked, new["phone_masked"]))
        today = self.clock.today()
        if not changes:
            return cadre_read(row, today)
        start = body.start_date if "start_date" in new and body.start_date is not None else row.start_date
        if row.end_date is not None and row.end_date < start:
            message = "start_date (帮扶开始时间) is after the assignment's end_date (帮扶结束时间)"
            raise Unprocessable(message, errors=[FieldError(field="start_date", message=message)])
        corrected = Assignment(
            name=body.name if "name" in new and body.name is not None else row.name,
            phone_index=phone_index,
            work_unit=body.work_unit if "work_unit" in new else row.work_unit,
            start_date=start,
            end_date=row.end_date,
            id=row.id,
        )
        others = [_assignment(r) for r in await self.repo.of_household(household.id, household.county_code)]
        clash = overlapping(corrected, [a for a in others if a.id != row.id])
        if clash is not None:
            raise Conflict(
                "the corrected assignment overlaps another assignment of the same cadre",
                code="cadre_assignment_overlap",
                errors=[FieldError(field="start_date", message="overlaps an assignment of the same cadre")],
                extra={"cadre_id": str(clash.id)},
            )
        updated = await self.repo.update(cadre_id, new)
        await self.households.touch_household(household.id)  # the household read shows its cadres
        await self.history.record(
            household_id=household.id,
            county_code=household.county_code,
            entity_type="cadre",
            entity_id=cadre_id,
            action="cadre.correct",
            changes=changes,
            reason=body.reason,
        )
        read = cadre_read(updated, today)
        await self.history.flush_audit()
        await self.session.commit()
        return read

    async def reveal_phone(self, household_id: uuid.UUID, cadre_id: uuid.UUID, purpose: str) -> CadrePhoneReveal:
        household = await self._household(household_id)
        row = await self._cadre(household, cadre_id)
        value = self.pii.decrypt(bytes(row.phone_enc), purpose=CADRE_PHONE) if row.phone_enc is not None else None
        audit_id = await Auditor(self.session, SERVICE, self.principal).record(
            action="cadre.phone.reveal",
            resource_type="cadre",
            resource_id=str(cadre_id),
            detail={
                "household_id": str(household.id),
                "county_code": household.county_code,
                "purpose": purpose,
                "phone_masked": row.phone_masked,
            },
        )
        await self.session.commit()
        return CadrePhoneReveal(
            cadre_id=cadre_id, household_id=household.id, phone=value, purpose=purpose, audit_id=audit_id
        )
