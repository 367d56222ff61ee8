"""Household, member, income, benefit and monitoring-status use cases. Each one owns its transaction:
checks, writes, a history entry per change, the audit records last, one commit."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.api.schemas import (
    BankAccountReveal,
    BenefitCreate,
    BenefitRead,
    HistoryEntry,
    HouseholdCreate,
    HouseholdFacts,
    HouseholdRead,
    HouseholdUpdate,
    IncomeAmounts,
    IncomeRead,
    MemberAdd,
    MemberEnd,
    MemberFacts,
    MemberFields,
    MemberRead,
    MemberReveal,
    MemberUpdate,
    MonitoringInfo,
    MonitoringStatusChange,
    MonitoringStatusRead,
    PhoneReveal,
)
from services.registry.db.cadre_repository import CadreRepository
from services.registry.db.household_repository import (
    Benefit,
    HistoryRecord,
    Household,
    HouseholdAggregate,
    HouseholdRepository,
    Income,
    Member,
    Row,
    StatusChange,
)
from services.registry.db.regions_repository import RegionRepository
from services.registry.db.tables import idempotency
from services.registry.domain.cadres import is_current
from services.registry.domain.history import FieldChange, created, diff, plain
from services.registry.domain.ids import uuid7
from services.registry.domain.model import MONITORING_TYPES, HouseholdStatus, Relation, Sex, per_capita_net_income
from services.registry.domain.monitoring import MonitoringRefused, MonitoringState, change_monitoring
from services.registry.domain.national_id import InvalidNationalId, NationalId, validate_national_id
from services.registry.domain.regions import InvalidRegionCode, parse_region_code
from services.registry.service.cadres import cadre_read
from services.registry.service.common import (
    SERVICE,
    Created,
    HistoryWriter,
    household_in_scope,
    household_not_found,
    member_not_found,
    open_household,
    replayed,
    store,
)
from shared.audit import Auditor
from shared.auth import Principal
from shared.clock import BusinessClock
from shared.concurrency import ANY_VERSION, require_version
from shared.contracts.vocabulary import mask_bank_account, mask_household_number, mask_phone
from shared.errors import Conflict, FieldError, Forbidden, NotFound, PreconditionFailed, Unprocessable
from shared.idempotency import Attempt, Idempotency
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.pii import PiiCipher

NATIONAL_ID = "national_id"
BANK_ACCOUNT = "bank_account"
PHONE = "phone"
LABOUR = ("normal", "weak")

HOUSEHOLD_FIELDS = (
    "household_number",
    "village_code",
    "address",
    "phone",
    "status",
    "dibao",
    "tekun",
    "negative_list",
    "negative_list_reason",
    "bank_account",
    "bank_name",
    "account_holder",
    "insured_years",
    "head_member_id",
    "poverty_cause",
    "other_causes",
    "registered_year",
    "lifted_out_year",
    "risk_types",
    "relocated",
    "resettlement_site",
    "grid_code",
)
MEMBER_FIELDS = (
    "name",
    "national_id",
    "sex",
    "birth_date",
    "relation",
    "health",
    "disability_grade",
    "labour_ability",
    "education_stage",
    "school",
    "join_reason",
    "joined_on",
    "education_level",
    "employment",
    "months_worked",
    "medical_insured_years",
    "pension_insured_years",
)
INCOME_FIELDS = ("wage_income", "business_income", "property_income", "transfer_income", "production_costs")

keys = Idempotency(idempotency)
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def _constraint(exc: IntegrityError) -> str:
    cause = getattr(exc.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None) or getattr(exc.orig, "constraint_name", None)
    return str(name or exc.orig)


def member_read(row: Member) -> MemberRead:
    return MemberRead.model_validate(row, from_attributes=True)


def income_read(row: Income, member_count: int) -> IncomeRead:
    per_capita = per_capita_net_income(
        row.wage_income,
        row.business_income,
        row.property_income,
        row.transfer_income + row.benefit_income,
        row.production_costs,
        member_count,
    )
    return IncomeRead(
        household_id=row.household_id,
        year=row.year,
        wage_income=row.wage_income,
        business_income=row.business_income,
        property_income=row.property_income,
        transfer_income=row.transfer_income,
        benefit_income=row.benefit_income,
        transfer_total=row.transfer_income + row.benefit_income,
        production_costs=row.production_costs,
        net_income=row.net_income,
        member_count=member_count,
        per_capita_net_income=per_capita,
        version=row.version,
        updated_at=row.updated_at,
    )


def benefit_read(row: Benefit) -> BenefitRead:
    return BenefitRead(
        id=row.id,
        household_id=row.household_id,
        source=row.source,
        source_ref=row.source_ref,
        programme=row.programme,
        category=row.category,
        amount=row.amount,
        paid_date=row.paid_date,
        year=row.year,
    )


def history_entry(row: HistoryRecord) -> HistoryEntry:
    return HistoryEntry.model_validate(
        {
            **asdict(row),
            "actor": {"sub": row.actor_sub, "role": row.actor_role, "region": row.actor_region},
        }
    )


def status_as_of(changes: Sequence[StatusChange], as_of: date, current: str) -> str:
    """The status on `as_of`, from the history's status changes (oldest first)."""
    status: str | None = None
    first: str | None = None
    for entry in changes:
        change = next((c for c in entry.changes if c.get("field") == "status"), None)
        if change is None:
            continue
        if first is None:
            first = change.get("before") or change.get("after")
        effective = entry.effective_date or entry.occurred_at.date()
        if effective <= as_of:
            status = change.get("after")
    return status or first or current


class HouseholdService:
    def __init__(
        self, session: AsyncSession, pii: PiiCipher, principal: Principal, clock: BusinessClock | None = None
    ) -> None:
        self.session = session
        self.repo = HouseholdRepository(session)
        self.pii = pii
        self.principal = principal
        self.clock = clock or BusinessClock()
        self.history = HistoryWriter(session, self.repo, principal, self.clock)

    # ================================================================ helpers

    async def _household(self, household_id: uuid.UUID, *, for_update: bool = False) -> Household:
        return await household_in_scope(self.repo, self.principal, household_id, for_update=for_update)

    async def _open_household(self, household_id: uuid.UUID) -> Household:
        return await open_household(self.repo, self.principal, household_id)

    async def _village(self, code: str, field: str) -> str:
        try:
            parsed = parse_region_code(code)
        except InvalidRegionCode as exc:
            raise Unprocessable(
                str(exc), code="unknown_village", errors=[FieldError(field=field, message=str(exc))]
            ) from None
        if await RegionRepository(self.session).village(parsed.code12) is None:
            message = "no such village in the region tree (行政区划)"
            raise Unprocessable(message, code="unknown_village", errors=[FieldError(field=field, message=message)])
        if not self.principal.can_see(parsed.code12):
            raise Forbidden("the village is outside your region", code="out_of_scope")
        return parsed.code12

    def _national_id(
        self, raw: str, *, birth_date: date | None, sex: Sex | None, prefix: str
    ) -> NationalId | FieldError:
        try:
            return validate_national_id(raw, birth_date=birth_date, sex=sex, today=self.clock.today())
        except InvalidNationalId as exc:
            field = {"birth_date_mismatch": "birth_date", "sex_mismatch": "sex"}.get(exc.code, "national_id")
            return FieldError(field=f"{prefix}{field}", message=exc.message, code=exc.code)

    @staticmethod
    def _raise_id_errors(errors: list[FieldError]) -> None:
        if not errors:
            return
        first = errors[0].code or ""
        code = first if first in ("birth_date_mismatch", "sex_mismatch") else "invalid_national_id"
        raise Unprocessable("; ".join(f"{e.field}: {e.message}" for e in errors[:5]), code=code, errors=errors)

    async def _person_free(self, index: bytes, *, field: str, household_id: uuid.UUID | None) -> None:
        """Refuse a person already active in a household (this one or another), with a masked reference."""
        found = await self.repo.active_membership(index)
        if found is None:
            return
        if household_id is not None and found.household_id == household_id:
            raise Conflict(
                "this person is already an active member of the household",
                code="person_already_member",
                errors=[FieldError(field=field, message="already a member of this household")],
                extra={"member_id": str(found.member_id)},
            )
        visible = self.principal.can_see(found.village_code)
        raise Conflict(
            "this person is an active member of another household; end that membership first",
            code="person_in_other_household",
            errors=[FieldError(field=field, message="active in another household")],
            extra={
                "other_household": {
                    "household_number_masked": mask_household_number(found.household_number),
                    "county_code": found.county_code,
                    "household_id": str(found.household_id) if visible else None,
                }
            },
        )

    def _member_values(self, body: MemberFields, person: NationalId, household_id: uuid.UUID, county_code: str) -> Row:
        return {
            "household_id": household_id,
            "county_code": county_code,
            "name": body.name,
            "national_id_enc": self.pii.encrypt(person.value, purpose=NATIONAL_ID),
            "national_id_index": self.pii.blind_index(person.value, purpose=NATIONAL_ID),
            "national_id_masked": person.masked(),
            "sex": person.sex.value,
            "birth_date": person.birth_date,
            "relation": body.relation.value,
            "health": body.health.value,
            "disability_grade": body.disability_grade,
            "labour_ability": body.labour_ability.value,
            "education_stage": body.education_stage.value if body.education_stage else None,
            "school": body.school,
            "join_reason": body.join_reason.value,
            "joined_on": body.joined_on,
            "education_level": body.education_level.value if body.education_level else None,
            "employment": body.employment.value if body.employment else None,
            "months_worked": body.months_worked,
            "medical_insured_years": sorted(set(body.medical_insured_years)),
            "pension_insured_years": sorted(set(body.pension_insured_years)),
        }

    @staticmethod
    def _member_view(values: Mapping[str, Any]) -> Row:
        """A member as history shows it: the masked ID in place of the secret columns."""
        view = {k: v for k, v in values.items() if k in MEMBER_FIELDS}
        view["national_id"] = values.get("national_id_masked")
        return view

    @staticmethod
    def _household_view(values: Mapping[str, Any]) -> Row:
        view = {k: v for k, v in values.items() if k in HOUSEHOLD_FIELDS}
        view["phone"] = values.get("phone_masked")
        view["bank_account"] = values.get("bank_account_masked")
        return view

    async def _grid(self, code: str, village: str) -> str:
        """A grid of the household's village (网格), or 422 unknown_grid."""
        grid = await RegionRepository(self.session).grid(code)
        if grid is None or grid.village_code != village:
            message = "no such grid (网格) in the household's village; import the county's division list first"
            raise Unprocessable(message, code="unknown_grid", errors=[FieldError(field="grid_code", message=message)])
        return grid.code

    async def _register_changes(self, row: Household, body: HouseholdUpdate, sent: set[str], village: str) -> Row:
        """The §3 register fields of a PATCH (causes, years, risk types, relocation, grid), checked."""
        new: Row = {}
        if "poverty_cause" in sent:
            new["poverty_cause"] = body.poverty_cause.value if body.poverty_cause else None
        if "other_causes" in sent:
            new["other_causes"] = [c.value for c in body.other_causes or []]
        main = new.get("poverty_cause", row.poverty_cause)
        others = new.get("other_causes", list(row.other_causes or []))
        if len(others) != len(set(others)) or (main is not None and main in others):
            message = "other_causes: each cause once, and not the main cause (poverty_cause)"
            raise Unprocessable(message, errors=[FieldError(field="other_causes", message=message)])
        for name in ("registered_year", "lifted_out_year"):
            if name in sent:
                new[name] = getattr(body, name)
        if "risk_types" in sent:
            if row.status not in MONITORING_TYPES and body.risk_types:
                raise Conflict(
                    "risk types (风险类型) are recorded only for a monitored household",
                    code="household_not_monitored",
                    errors=[FieldError(field="risk_types", message="the household is not monitored")],
                )
            new["risk_types"] = list(dict.fromkeys(r.value for r in body.risk_types or []))
        if "relocated" in sent:
            if body.relocated is None:
                raise Unprocessable(
                    "relocated cannot be null", errors=[FieldError(field="relocated", message="cannot be null")]
                )
            new["relocated"] = body.relocated
        if "resettlement_site" in sent:
            new["resettlement_site"] = body.resettlement_site
        if not new.get("relocated", row.relocated):
            if new.get("resettlement_site"):
                message = "resettlement_site is recorded only when relocated is true"
                raise Unprocessable(message, errors=[FieldError(field="resettlement_site", message=message)])
            if row.resettlement_site is not None:
                new["resettlement_site"] = None
        if "grid_code" in sent:
            new["grid_code"] = await self._grid(body.grid_code, village) if body.grid_code else None
        elif row.grid_code is not None and village != row.village_code:
            new["grid_code"] = None  # the household moved out of its grid's village
        return new

    async def _read(self, row: Household, *, include_former: bool = False) -> HouseholdRead:
        """`row` as it is now in this transaction, with its members, latest income, names and grid."""
        aggregate = await self.repo.household_aggregate(row.id, include_former=include_former)
        if aggregate is None:
            raise household_not_found()
        return self._compose(row, aggregate, self.clock.today())

    @staticmethod
    def _compose(row: Household, aggregate: HouseholdAggregate, today: date) -> HouseholdRead:
        members = aggregate.members
        active = [m for m in members if m.active]
        latest = income_read(aggregate.latest_income, len(active)) if aggregate.latest_income else None
        grid = aggregate.grid
        return HouseholdRead(
            id=row.id,
            household_number=row.household_number,
            county_code=row.county_code,
            township_code=row.township_code,
            village_code=row.village_code,
            county_name=aggregate.county_name,
            township_name=aggregate.township_name,
            village_name=aggregate.village_name,
            grid_code=row.grid_code,
            grid_name=grid.name if grid else None,
            grid_leader=grid.leader_name if grid else None,
            poverty_cause=row.poverty_cause,
            other_causes=list(row.other_causes or []),
            registered_year=row.registered_year,
            lifted_out_year=row.lifted_out_year,
            risk_types=list(row.risk_types or []),
            relocated=row.relocated,
            resettlement_site=row.resettlement_site,
            address=row.address,
            phone_masked=row.phone_masked,
            status=row.status,
            base_status=row.base_status,
            monitoring=MonitoringInfo(
                case_id=row.monitoring_case_id, since=row.monitoring_since, origin=row.monitoring_origin or "case"
            )
            if row.monitoring_case_id or row.monitoring_origin
            else None,
            dibao=row.dibao,
            tekun=row.tekun,
            negative_list=row.negative_list,
            negative_list_reason=row.negative_list_reason,
            has_bank_account=row.bank_account_enc is not None,
            bank_account_masked=row.bank_account_masked,
            bank_name=row.bank_name,
            account_holder=row.account_holder,
            insured_years=sorted(row.insured_years or []),
            head_member_id=row.head_member_id,
            member_count=len(active),
            labour_count=sum(1 for m in active if m.labour_ability in LABOUR),
            members=[member_read(m) for m in members],
            cadres=[
                cadre_read(c, today)
                for c in aggregate.cadres
                if row.archived_at is None and is_current(c.start_date, c.end_date, today)
            ],
            latest_income=latest,
            archived_at=row.archived_at,
            archive_reason=row.archive_reason,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    async def _begin(
        self,
        route: str,
        key: str | None,
        body: Any,
        authorize: Callable[[], Awaitable[T]],
        model: type[M],
        resource: object | None = None,
    ) -> tuple[Attempt[T], Created[M] | None]:
        """The caller's checks (`authorize`: the resource under the caller's scope, 404 outside), then
        the key under this caller and route: (attempt, the stored first answer or None)."""
        attempt = await keys.begin(
            self.session, self.principal, route=route, resource=resource, key=key, payload=body, authorize=authorize
        )
        if attempt.replay is None:
            return attempt, None
        await self.session.rollback()
        return attempt, replayed(attempt.replay, model)

    async def _finish(self, result: Created[M], *, attempt: Attempt[Any] | None = None) -> Created[M]:
        if attempt is not None:
            await store(attempt, self.session, result)
        await self.history.flush_audit()
        await self.session.commit()
        return result

    async def _commit(self) -> None:
        await self.history.flush_audit()
        await self.session.commit()

    async def _integrity(self, exc: IntegrityError) -> Conflict:
        await self.session.rollback()
        name = _constraint(exc)
        # person_claim_pkey: the nationwide claim (another county's household, or a race the check before lost);
        # uq_member_active_national_id_index: the per-county guard under it
        if "person_claim_pkey" in name or "uq_member_active_national_id_index" in name:
            return Conflict(
                "this person became active in another household meanwhile", code="person_in_other_household"
            )
        if "uq_household_county_code_household_number" in name:
            return Conflict("the household number is already registered in the county", code="household_number_taken")
        if "uq_benefit" in name:
            return Conflict("this benefit was recorded meanwhile; retry to read it", code="benefit_reference_conflict")
        return Conflict("the change conflicts with the current data; read it again", code="conflict")

    # ================================================================ households

    async def get(self, household_id: uuid.UUID, *, include_former: bool = False) -> HouseholdRead:
        """One statement: the household, its members, latest income, region names and grid (issue 15)."""
        aggregate = await self.repo.household_aggregate(household_id, include_former=include_former)
        if aggregate is None or not self.principal.can_see(aggregate.household.village_code):
            raise household_not_found()
        return self._compose(aggregate.household, aggregate, self.clock.today())

    async def create(self, body: HouseholdCreate, *, idempotency_key: str | None) -> Created[HouseholdRead]:
        attempt, replay = await self._begin(
            "POST /v1/households",
            idempotency_key,
            body,
            lambda: self._village(body.village_code, "village_code"),
            HouseholdRead,
        )
        if replay is not None:
            return replay
        village = attempt.checked

        people: list[NationalId] = []
        errors: list[FieldError] = []
        for i, m in enumerate(body.members):
            result = self._national_id(m.national_id, birth_date=m.birth_date, sex=m.sex, prefix=f"members[{i}].")
            if isinstance(result, FieldError):
                errors.append(result)
            else:
                people.append(result)
        self._raise_id_errors(errors)
        seen: dict[str, int] = {}
        for i, person in enumerate(people):
            if person.value in seen:
                raise Unprocessable(
                    f"members[{i}] has the same ID number as members[{seen[person.value]}]",
                    code="duplicate_national_id",
                    errors=[FieldError(field=f"members[{i}].national_id", message="the same ID appears twice")],
                )
            seen[person.value] = i

        county = village[:6]
        if await self.repo.household_number_taken(county, body.household_number):
            raise Conflict(
                "the household number is already registered in the county",
                code="household_number_taken",
                errors=[FieldError(field="household_number", message="already registered")],
            )
        indexes = [self.pii.blind_index(p.value, purpose=NATIONAL_ID) for p in people]
        for i, index in enumerate(indexes):
            await self._person_free(index, field=f"members[{i}].national_id", household_id=None)

        household_id = uuid7()
        member_ids = [uuid7() for _ in people]
        head_id = next(mid for mid, m in zip(member_ids, body.members, strict=True) if m.relation is Relation.head)
        values: Row = {
            "id": household_id,
            "county_code": county,
            "township_code": village[:9],
            "village_code": village,
            "household_number": body.household_number,
            "address": body.address,
            "phone_enc": self.pii.encrypt(_digits(body.phone), purpose=PHONE) if body.phone else None,
            "phone_masked": mask_phone(_digits(body.phone)) if body.phone else None,
            "status": body.status,
            "base_status": body.status,
            "dibao": body.dibao.value if body.dibao else None,
            "tekun": body.tekun,
            "negative_list": body.negative_list,
            "negative_list_reason": body.negative_list_reason if body.negative_list else None,
            "bank_account_enc": self.pii.encrypt(_digits(body.bank_account), purpose=BANK_ACCOUNT)
            if body.bank_account
            else None,
            "bank_account_masked": mask_bank_account(_digits(body.bank_account)) if body.bank_account else None,
            "bank_name": body.bank_name,
            "account_holder": body.account_holder,
            "insured_years": sorted(set(body.insured_years)),
            "head_member_id": head_id,
            "poverty_cause": body.poverty_cause.value if body.poverty_cause else None,
            "other_causes": [c.value for c in body.other_causes],
            "registered_year": body.registered_year,
            "lifted_out_year": body.lifted_out_year,
            "relocated": body.relocated,
            "resettlement_site": body.resettlement_site if body.relocated else None,
            "grid_code": await self._grid(body.grid_code, village) if body.grid_code else None,
        }
        try:
            await self.repo.insert_household(values)
            await self.history.record(
                household_id=household_id,
                county_code=county,
                entity_type="household",
                entity_id=None,
                action="household.create",
                changes=created(self._household_view(values), HOUSEHOLD_FIELDS),
            )
            for member_id, m, person in zip(member_ids, body.members, people, strict=True):
                member_values = {"id": member_id, **self._member_values(m, person, household_id, county)}
                await self.repo.insert_member(member_values)
                await self.history.record(
                    household_id=household_id,
                    county_code=county,
                    entity_type="member",
                    entity_id=member_id,
                    action="member.add",
                    changes=created(self._member_view(member_values), MEMBER_FIELDS),
                )
            for entry in body.incomes:
                amounts = {f: getattr(entry, f) for f in INCOME_FIELDS}
                await self.repo.insert_income(
                    {"household_id": household_id, "year": entry.year, "county_code": county, **amounts}
                )
                await self.history.record(
                    household_id=household_id,
                    county_code=county,
                    entity_type="income",
                    entity_id=None,
                    action="income.create",
                    changes=created(
                        {f"incomes.{entry.year}.{k}": v for k, v in amounts.items()},
                        [f"incomes.{entry.year}.{f}" for f in INCOME_FIELDS],
                    ),
                )
            row = await self._household(household_id)
            read = await self._read(row)
            return await self._finish(Created(read), attempt=attempt)
        except IntegrityError as exc:
            raise await self._integrity(exc) from None

    async def update(self, household_id: uuid.UUID, body: HouseholdUpdate, *, if_match: int | None) -> HouseholdRead:
        row = await self._open_household(household_id)
        require_version(if_match, row.version, what="household")
        sent = body.model_fields_set - {"reason"}
        new: Row = {}
        changes: list[FieldChange] = []
        for name in sent:
            value = getattr(body, name)
            if name in ("tekun", "negative_list", "status") and value is None:
                raise Unprocessable(f"{name} cannot be null", errors=[FieldError(field=name, message="cannot be null")])
        if "village_code" in sent:
            if body.village_code is None:
                raise Unprocessable(
                    "village_code cannot be null", errors=[FieldError(field="village_code", message="cannot be null")]
                )
            village = await self._village(body.village_code, "village_code")
            if village[:6] != row.county_code:
                raise Unprocessable(
                    "a household moves only within its county (the household number is unique per county)",
                    code="county_change_not_allowed",
                    errors=[FieldError(field="village_code", message="another county")],
                )
            new.update(village_code=village, township_code=village[:9])
        for name in ("address", "bank_name", "account_holder", "negative_list_reason", "tekun", "negative_list"):
            if name in sent:
                new[name] = getattr(body, name)
        if "dibao" in sent:
            new["dibao"] = body.dibao.value if body.dibao else None
        if "insured_years" in sent:
            new["insured_years"] = sorted(set(body.insured_years or []))
        new.update(await self._register_changes(row, body, sent, new.get("village_code", row.village_code)))
        if "status" in sent and body.status != row.status:
            if row.status in MONITORING_TYPES:
                raise Conflict(
                    "the household is monitored; its status changes through /monitoring-status",
                    code="household_monitored",
                )
            new.update(status=body.status, base_status=body.status)
        negative = new.get("negative_list", row.negative_list)
        reason_after = new.get("negative_list_reason", row.negative_list_reason)
        if negative and not reason_after:
            raise Unprocessable(
                "negative_list_reason is required when negative_list is true",
                errors=[FieldError(field="negative_list_reason", message="required when negative_list is true")],
            )
        if not negative and "negative_list" in sent:
            new["negative_list_reason"] = None
        if new.get("base_status", row.base_status) != "lifted_out" and new.get("lifted_out_year", row.lifted_out_year):
            if "lifted_out_year" in sent:
                raise Unprocessable(
                    "lifted_out_year (脱贫年度) is recorded only for lifted_out households",
                    code="lifted_out_year_not_allowed",
                    errors=[FieldError(field="lifted_out_year", message="only for lifted_out households")],
                )
            new["lifted_out_year"] = None  # back to 一般农户: no 脱贫年度
        for name, purpose, masker in ((PHONE, PHONE, mask_phone), ("bank_account", BANK_ACCOUNT, mask_bank_account)):
            if name not in sent:
                continue
            value = _digits(getattr(body, name)) if getattr(body, name) else None
            old_blob = getattr(row, f"{name}_enc")
            old = self.pii.decrypt(bytes(old_blob), purpose=purpose) if old_blob is not None else None
            if value != old:
                new[f"{name}_enc"] = self.pii.encrypt(value, purpose=purpose) if value else None
                new[f"{name}_masked"] = masker(value) if value else None
                changes.append(FieldChange(name, getattr(row, f"{name}_masked"), new[f"{name}_masked"]))
        relation_changes: list[tuple[Member, str]] = []
        if "head_member_id" in sent and body.head_member_id != row.head_member_id:
            if body.head_member_id is None:
                raise Unprocessable(
                    "head_member_id cannot be null",
                    errors=[FieldError(field="head_member_id", message="cannot be null")],
                )
            head = await self.repo.get_member(body.head_member_id, for_update=True)
            if head is None or head.household_id != household_id or not head.active:
                raise Unprocessable(
                    "the new head must be an active member of this household",
                    code="invalid_head",
                    errors=[FieldError(field="head_member_id", message="not an active member of this household")],
                )
            new["head_member_id"] = head.id
            relation_changes.append((head, Relation.head.value))
            if row.head_member_id is not None:
                old_head = await self.repo.get_member(row.head_member_id, for_update=True)
                if old_head is not None and old_head.active:
                    relation_changes.append((old_head, Relation.other.value))

        compared = [f for f in HOUSEHOLD_FIELDS if f not in (PHONE, "bank_account")]
        current = asdict(row)
        changes = diff(current, {**current, **new}, compared) + changes
        if not changes:
            return await self._read(row)
        updated = await self.repo.update_household(household_id, new)
        await self.history.record(
            household_id=household_id,
            county_code=row.county_code,
            entity_type="household",
            entity_id=None,
            action="household.update",
            changes=changes,
            reason=body.reason,
        )
        for member_row, relation in relation_changes:
            if member_row.relation != relation:
                await self.repo.update_member(member_row.id, {"relation": relation})
                await self.history.record(
                    household_id=household_id,
                    county_code=row.county_code,
                    entity_type="member",
                    entity_id=member_row.id,
                    action="member.update",
                    changes=[FieldChange("relation", member_row.relation, relation)],
                    reason=body.reason or "head of household changed (户主变更)",
                )
        read = await self._read(updated)
        await self._commit()
        return read

    async def archive(self, household_id: uuid.UUID, reason: str, *, if_match: int | None) -> HouseholdRead:
        row = await self._open_household(household_id)
        require_version(if_match, row.version, what="household")
        ended = await self.repo.end_memberships(
            household_id, left_on=self.clock.today(), reason="other", note=f"archived: {reason}"
        )
        updated = await self.repo.update_household(
            household_id, {"archived_at": await self.repo.now(), "archive_reason": reason}
        )
        await self.history.record(
            household_id=household_id,
            county_code=row.county_code,
            entity_type="household",
            entity_id=None,
            action="household.archive",
            changes=[
                FieldChange("archived_at", None, plain(updated.archived_at)),
                FieldChange("archive_reason", None, reason),
            ],
            reason=reason,
        )
        for m in ended:
            await self.history.record(
                household_id=household_id,
                county_code=row.county_code,
                entity_type="member",
                entity_id=m.id,
                action="member.end",
                changes=[FieldChange("active", True, False)],
                reason="household archived",
            )
        await self._end_cadres(row, reason)
        read = await self._read(updated, include_former=True)
        await self._commit()
        return read

    async def _end_cadres(self, row: Household, reason: str) -> None:
        """The responsible cadres 帮扶责任人 running today end today with the household; one not yet begun is
        left as it is (the read of an archived household shows no cadres)."""
        today = self.clock.today()
        cadres = CadreRepository(self.session)
        for cadre in await cadres.of_household(row.id, row.county_code):
            if not is_current(cadre.start_date, cadre.end_date, today) or cadre.end_date == today:
                continue
            await cadres.end(cadre.id, end_date=today, reason=f"household archived: {reason}")
            await self.history.record(
                household_id=row.id,
                county_code=row.county_code,
                entity_type="cadre",
                entity_id=cadre.id,
                action="cadre.end",
                changes=[FieldChange("end_date", plain(cadre.end_date), plain(today))],
                reason="household archived",
            )

    # ================================================================ members

    async def get_member(self, member_id: uuid.UUID, *, household_id: uuid.UUID | None = None) -> MemberRead:
        """A member in the caller's region; with `household_id`, only a member of that household."""
        row = await self.repo.get_member(member_id)
        if row is None or (household_id is not None and row.household_id != household_id):
            raise member_not_found()
        await self._member_scope(row)
        return member_read(row)

    async def _member_scope(self, member_row: Member) -> Household:
        household = await self.repo.get_household(member_row.household_id)
        if household is None or not self.principal.can_see(household.village_code):
            raise member_not_found()
        return household

    async def list_members(self, household_id: uuid.UUID, *, include_former: bool) -> list[MemberRead]:
        await self._household(household_id)
        return [member_read(m) for m in await self.repo.members_of(household_id, include_former=include_former)]

    async def add_member(
        self, household_id: uuid.UUID, body: MemberAdd, *, if_match: int | None, idempotency_key: str | None
    ) -> Created[MemberRead]:
        attempt, replay = await self._begin(
            "POST /v1/households/{household_id}/members",
            idempotency_key,
            body,
            lambda: self._open_household(household_id),
            MemberRead,
            resource=household_id,
        )
        if replay is not None:
            return replay
        household = attempt.checked
        require_version(if_match, household.version, what="household", required=False)
        person = self._national_id(body.national_id, birth_date=body.birth_date, sex=body.sex, prefix="")
        if isinstance(person, FieldError):
            self._raise_id_errors([person])
            raise AssertionError  # unreachable
        index = self.pii.blind_index(person.value, purpose=NATIONAL_ID)
        await self._person_free(index, field="national_id", household_id=household_id)
        becomes_head = False
        if body.relation is Relation.head:
            if household.head_member_id is not None:
                raise Conflict(
                    "the household already has a head (户主); change it with PATCH head_member_id",
                    code="head_exists",
                    errors=[FieldError(field="relation", message="the household already has a head")],
                )
            becomes_head = True
        member_id = uuid7()
        values = {"id": member_id, **self._member_values(body, person, household.id, household.county_code)}
        if values["joined_on"] is None:
            values["joined_on"] = person.birth_date if body.join_reason.value == "birth" else self.clock.today()
        try:
            await self.repo.insert_member(values)
            if becomes_head:
                await self.repo.update_household(household_id, {"head_member_id": member_id}, bump_version=False)
            await self.repo.touch_household(household_id)
            await self.history.record(
                household_id=household_id,
                county_code=household.county_code,
                entity_type="member",
                entity_id=member_id,
                action="member.add",
                changes=created(self._member_view(values), MEMBER_FIELDS),
                reason=body.reason,
                effective_date=values["joined_on"],
            )
            row = await self.repo.get_member(member_id)
            assert row is not None
            return await self._finish(Created(member_read(row)), attempt=attempt)
        except IntegrityError as exc:
            raise await self._integrity(exc) from None

    async def _member_for_change(self, household_id: uuid.UUID, member_id: uuid.UUID) -> tuple[Household, Member]:
        household = await self._open_household(household_id)
        row = await self.repo.get_member(member_id, for_update=True)
        if row is None or row.household_id != household_id:
            raise member_not_found()
        return household, row

    async def update_member(
        self, household_id: uuid.UUID, member_id: uuid.UUID, body: MemberUpdate, *, if_match: int | None
    ) -> MemberRead:
        household, row = await self._member_for_change(household_id, member_id)
        require_version(if_match, row.version, what="member")
        sent = body.model_fields_set - {"reason"}
        for name in ("name", "national_id", "sex", "birth_date", "relation", "health", "labour_ability"):
            if name in sent and getattr(body, name) is None:
                raise Unprocessable(f"{name} cannot be null", errors=[FieldError(field=name, message="cannot be null")])
        new: Row = {}
        for name in ("name", "school"):
            if name in sent:
                new[name] = getattr(body, name)
        for name in ("health", "labour_ability", "education_stage", "education_level", "employment"):
            if name in sent:
                value = getattr(body, name)
                new[name] = value.value if value is not None else None
        if "months_worked" in sent:
            new["months_worked"] = body.months_worked
        for name in ("medical_insured_years", "pension_insured_years"):
            if name in sent:
                new[name] = sorted(set(getattr(body, name) or []))
        if "disability_grade" in sent:
            new["disability_grade"] = body.disability_grade
        health = new.get("health", row.health)
        grade = new.get("disability_grade", row.disability_grade)
        if health == "disabled" and grade is None:
            raise Unprocessable(
                "disability_grade (残疾等级 1–4) is required when health is disabled",
                errors=[FieldError(field="disability_grade", message="required when health is disabled")],
            )
        if health != "disabled" and grade is not None:
            if "disability_grade" in sent:
                raise Unprocessable(
                    "disability_grade is only recorded when health is disabled (残疾)",
                    errors=[FieldError(field="disability_grade", message="only when health is disabled")],
                )
            new["disability_grade"] = None
        if "relation" in sent and body.relation is not None and body.relation.value != row.relation:
            if Relation.head.value in (body.relation.value, row.relation):
                raise Conflict(
                    "the head (户主) changes with PATCH /v1/households/{id} head_member_id",
                    code="head_via_household",
                    errors=[FieldError(field="relation", message="use head_member_id on the household")],
                )
            new["relation"] = body.relation.value
        if sent & {"national_id", "sex", "birth_date"}:
            raw = (
                body.national_id
                if "national_id" in sent and body.national_id
                else (self.pii.decrypt(bytes(row.national_id_enc), purpose=NATIONAL_ID))
            )
            person = self._national_id(
                raw,
                birth_date=body.birth_date if "birth_date" in sent else None,
                sex=body.sex if "sex" in sent else None,
                prefix="",
            )
            if isinstance(person, FieldError):
                self._raise_id_errors([person])
                raise AssertionError  # unreachable
            index = self.pii.blind_index(person.value, purpose=NATIONAL_ID)
            if index != bytes(row.national_id_index):
                if row.active:
                    await self._person_free(index, field="national_id", household_id=None)
                new.update(
                    national_id_enc=self.pii.encrypt(person.value, purpose=NATIONAL_ID),
                    national_id_index=index,
                    national_id_masked=person.masked(),
                )
            new.update(sex=person.sex.value, birth_date=person.birth_date)
        current = asdict(row)
        before = self._member_view(current)
        after = self._member_view({**current, **new})
        changes = diff(before, after, MEMBER_FIELDS)
        if "national_id_index" in new and not any(c.field == "national_id" for c in changes):
            changes.append(FieldChange("national_id", row.national_id_masked, new["national_id_masked"]))
        if not changes:
            return member_read(row)
        try:
            updated = await self.repo.update_member(member_id, new)
            await self.repo.touch_household(household_id)
        except IntegrityError as exc:
            raise await self._integrity(exc) from None
        await self.history.record(
            household_id=household_id,
            county_code=household.county_code,
            entity_type="member",
            entity_id=member_id,
            action="member.update",
            changes=changes,
            reason=body.reason,
        )
        await self._commit()
        return member_read(updated)

    async def end_member(
        self, household_id: uuid.UUID, member_id: uuid.UUID, body: MemberEnd, *, if_match: int | None
    ) -> MemberRead:
        household, row = await self._member_for_change(household_id, member_id)
        require_version(if_match, row.version, what="member")
        if not row.active:
            raise Conflict("the membership has already ended", code="membership_ended")
        if body.effective_date > self.clock.today():
            raise Unprocessable(
                "effective_date cannot be in the future",
                errors=[FieldError(field="effective_date", message="in the future")],
            )
        if row.joined_on is not None and body.effective_date < row.joined_on:
            raise Unprocessable(
                "effective_date is before the member joined",
                errors=[FieldError(field="effective_date", message="before joined_on")],
            )
        updated = await self.repo.update_member(
            member_id,
            {
                "active": False,
                "left_on": body.effective_date,
                "leave_reason": body.reason.value,
                "leave_note": body.note,
            },
        )
        changes = [
            FieldChange("active", True, False),
            FieldChange("left_on", None, plain(body.effective_date)),
            FieldChange("leave_reason", None, body.reason.value),
        ]
        if household.head_member_id == member_id:
            await self.repo.update_household(household_id, {"head_member_id": None}, bump_version=False)
            changes.append(FieldChange("head_member_id", str(member_id), None))
        await self.repo.touch_household(household_id)
        await self.history.record(
            household_id=household_id,
            county_code=household.county_code,
            entity_type="member",
            entity_id=member_id,
            action="member.end",
            changes=changes,
            reason=body.note or body.reason.value,
            effective_date=body.effective_date,
        )
        await self._commit()
        return member_read(updated)

    async def reveal_member(self, member_id: uuid.UUID, purpose: str) -> MemberReveal:
        row = await self.repo.get_member(member_id)
        if row is None:
            raise member_not_found()
        household = await self._member_scope(row)
        value = self.pii.decrypt(bytes(row.national_id_enc), purpose=NATIONAL_ID)
        audit_id = await Auditor(self.session, SERVICE, self.principal).record(
            action="member.national_id.reveal",
            resource_type="member",
            resource_id=str(member_id),
            detail={
                "household_id": str(row.household_id),
                "county_code": household.county_code,
                "purpose": purpose,
                "national_id_masked": row.national_id_masked,
            },
        )
        await self.session.commit()
        return MemberReveal(member_id=member_id, national_id=value, purpose=purpose, audit_id=audit_id)

    # ================================================================ incomes and benefits

    async def list_incomes(self, household_id: uuid.UUID) -> list[IncomeRead]:
        await self._household(household_id)
        total, _ = await self.repo.member_counts(household_id)
        return [income_read(r, total) for r in await self.repo.incomes_of(household_id)]

    async def put_income(
        self, household_id: uuid.UUID, year: int, body: IncomeAmounts, *, if_match: int | None, reason: str | None
    ) -> Created[IncomeRead]:
        household = await self._open_household(household_id)
        existing = await self.repo.get_income(household_id, year, for_update=True)
        amounts = {f: getattr(body, f) for f in INCOME_FIELDS}
        prefix = f"incomes.{year}."
        if existing is None:
            if if_match is not None and if_match != ANY_VERSION:
                raise PreconditionFailed(f"there is no income record for {year} yet", code="version_conflict")
            row = await self.repo.insert_income(
                {"household_id": household_id, "year": year, "county_code": household.county_code, **amounts}
            )
            changes = created({prefix + k: v for k, v in amounts.items()}, [prefix + f for f in INCOME_FIELDS])
            action, was_created = "income.create", True
        else:
            require_version(if_match, existing.version, what=f"income record of {year}")
            changes = diff(
                {prefix + f: getattr(existing, f) for f in INCOME_FIELDS},
                {prefix + f: amounts[f] for f in INCOME_FIELDS},
                [prefix + f for f in INCOME_FIELDS],
            )
            if not changes:
                total, _ = await self.repo.member_counts(household_id)
                return Created(income_read(existing, total), created=False)
            row = await self.repo.update_income(household_id, year, amounts)
            action, was_created = "income.update", False
        await self.repo.touch_household(household_id)
        await self.history.record(
            household_id=household_id,
            county_code=household.county_code,
            entity_type="income",
            entity_id=None,
            action=action,
            changes=changes,
            reason=reason,
        )
        total, _ = await self.repo.member_counts(household_id)
        read = income_read(row, total)
        await self._commit()
        return Created(read, created=was_created)

    async def list_benefits(self, household_id: uuid.UUID) -> list[BenefitRead]:
        await self._household(household_id)
        return [benefit_read(r) for r in await self.repo.benefits_of(household_id)]

    async def record_benefit(
        self, household_id: uuid.UUID, body: BenefitCreate, *, idempotency_key: str | None
    ) -> Created[BenefitRead]:
        attempt, replay = await self._begin(
            "POST /v1/households/{household_id}/benefits",
            idempotency_key,
            body,
            lambda: self._household(household_id, for_update=True),
            BenefitRead,
            resource=household_id,
        )
        if replay is not None:
            return replay
        household = attempt.checked
        existing = await self.repo.benefit_by_source(household.county_code, body.source, body.source_ref)
        if existing is not None:
            read = benefit_read(existing)
            same = (
                existing.household_id == household_id
                and BenefitCreate.model_validate(read.model_dump(include=set(BenefitCreate.model_fields))) == body
            )
            if not same:
                raise Conflict(
                    "this source reference was already recorded with different details",
                    code="benefit_reference_conflict",
                    extra={"benefit_id": str(existing.id)} if existing.household_id == household_id else None,
                )
            return Created(read, created=False, replayed=True)  # the same payment, posted again
        benefit_id = uuid7()
        try:
            row = await self.repo.insert_benefit(
                {
                    "id": benefit_id,
                    "household_id": household_id,
                    "county_code": household.county_code,
                    "source": body.source,
                    "source_ref": body.source_ref,
                    "programme": body.programme,
                    "category": body.category,
                    "amount": body.amount,
                    "paid_date": body.paid_date,
                    "year": body.year,
                    "recorded_by": self.principal.sub,
                }
            )
            before, after = await self.repo.add_benefit_income(
                household_id=household_id, county_code=household.county_code, year=body.year, amount=body.amount
            )
        except IntegrityError as exc:
            raise await self._integrity(exc) from None
        await self.repo.touch_household(household_id)
        prefix = f"incomes.{body.year}."
        await self.history.record(
            household_id=household_id,
            county_code=household.county_code,
            entity_type="benefit",
            entity_id=benefit_id,
            action="benefit.record",
            changes=[
                FieldChange(
                    "benefit",
                    None,
                    {
                        "source": body.source,
                        "source_ref": body.source_ref,
                        "programme": body.programme,
                        "category": body.category,
                        "amount": plain(body.amount),
                        "year": body.year,
                    },
                ),
                FieldChange(
                    prefix + "benefit_income",
                    plain(before.benefit_income) if before else None,
                    plain(after.benefit_income),
                ),
            ],
            reason=f"{body.programme} {body.category or ''}".strip(),
            effective_date=body.paid_date,
        )
        return await self._finish(Created(benefit_read(row)), attempt=attempt)

    # ================================================================ monitoring status

    async def monitoring_status(self, household_id: uuid.UUID) -> MonitoringStatusRead:
        row = await self._household(household_id)
        return MonitoringStatusRead(
            household_id=row.id,
            status=row.status,
            monitoring_case_id=row.monitoring_case_id,
            version=row.version,
        )

    async def change_monitoring_status(
        self, household_id: uuid.UUID, body: MonitoringStatusChange, *, idempotency_key: str | None
    ) -> Created[MonitoringStatusRead]:
        attempt, replay = await self._begin(
            "PUT /v1/households/{household_id}/monitoring-status",
            idempotency_key,
            body,
            lambda: self._household(household_id, for_update=True),
            MonitoringStatusRead,
            resource=household_id,
        )
        if replay is not None:
            return replay
        row = attempt.checked
        if body.action == "set" and row.archived_at is not None:
            raise Conflict("the household is archived (已注销)", code="household_archived")
        current = MonitoringState(
            status=HouseholdStatus(row.status),
            base_status=HouseholdStatus(row.base_status),
            case_id=row.monitoring_case_id,
            since=row.monitoring_since,
        )
        try:
            outcome = change_monitoring(
                current,
                action=body.action,
                monitoring_type=HouseholdStatus(body.monitoring_type) if body.monitoring_type else None,
                case_id=body.case_id,
                effective_date=body.effective_date,
            )
        except MonitoringRefused as exc:
            if exc.code == "invalid_monitoring_type":
                raise Unprocessable(
                    exc.message, code=exc.code, errors=[FieldError(field="monitoring_type", message=exc.message)]
                ) from None
            raise Conflict(
                exc.message,
                code=exc.code,
                extra={"monitoring_case_id": str(current.case_id) if current.case_id else None},
            ) from None
        if outcome.changed:
            state = outcome.state
            updated = await self.repo.update_household(
                household_id,
                {
                    "status": state.status.value,
                    "monitoring_case_id": state.case_id,
                    "monitoring_since": state.since,
                    "monitoring_origin": None,  # a case has it now (or it ended)
                },
            )
            await self.history.record(
                household_id=household_id,
                county_code=row.county_code,
                entity_type="status",
                entity_id=None,
                action=f"status.{body.action}",
                changes=diff(asdict(row), asdict(updated), ("status", "monitoring_case_id", "monitoring_since")),
                reason=body.reason,
                effective_date=body.effective_date,
            )
            row = updated
        read = MonitoringStatusRead(
            household_id=household_id,
            status=row.status,
            monitoring_case_id=row.monitoring_case_id,
            version=row.version,
        )
        return await self._finish(Created(read, created=False), attempt=attempt)

    # ================================================================ history, facts, bank account

    async def history_page(self, household_id: uuid.UUID, *, cursor: str | None, limit: int) -> Page[HistoryEntry]:
        """Newest first; the cursor is the last entry's id (a cursor without one starts again at the top)."""
        await self._household(household_id)
        after = decode_cursor(cursor, 1)
        before_id = after[0] if after and isinstance(after[0], int) else None
        rows = await self.repo.history_of(household_id, before_id=before_id, limit=limit + 1)
        entries = [history_entry(r) for r in rows]
        next_cursor = encode_cursor([entries[limit - 1].id]) if len(entries) > limit else None
        return Page[HistoryEntry](items=entries[:limit], next_cursor=next_cursor)

    async def facts(self, household_id: uuid.UUID, as_of: date | None) -> HouseholdFacts:
        row = await self._household(household_id)
        day = as_of or self.clock.today()
        members = await self.repo.members_of(household_id, include_former=True)
        present = (
            [
                m
                for m in members
                if (m.joined_on is None or m.joined_on <= day) and (m.left_on is None or m.left_on > day)
            ]
            if as_of is not None
            else [m for m in members if m.active]
        )
        status = row.status
        if as_of is not None:
            status = status_as_of(await self.repo.status_changes(household_id), day, row.status)
        incomes = {r.year: r for r in await self.repo.incomes_of(household_id)}
        years = sorted((y for y in incomes if y <= day.year), reverse=True)
        latest = incomes[years[0]] if years else None
        previous = incomes.get(years[0] - 1) if years else None
        return HouseholdFacts(
            household_id=row.id,
            household_number=row.household_number,
            county_code=row.county_code,
            village_code=row.village_code,
            status=status,
            member_count=len(present),
            labour_count=sum(1 for m in present if m.labour_ability in LABOUR),
            income_year=latest.year if latest else None,
            annual_net_income=latest.net_income if latest else None,
            previous_annual_net_income=previous.net_income if previous else None,
            negative_list=row.negative_list,
            negative_list_reason=row.negative_list_reason,
            insured_years=sorted(row.insured_years or []),
            has_bank_account=row.bank_account_enc is not None,
            bank_account_masked=row.bank_account_masked,
            members=[
                MemberFacts(
                    member_id=m.id,
                    name=m.name,
                    national_id_masked=m.national_id_masked,
                    sex=m.sex,
                    birth_date=m.birth_date,
                    relation=m.relation,
                    labour_ability=m.labour_ability,
                    education_stage=m.education_stage,
                    active=m.active,
                )
                for m in present
            ],
        )

    async def reveal_bank_account(self, household_id: uuid.UUID, purpose: str) -> BankAccountReveal:
        row = await self._household(household_id)
        if row.bank_account_enc is None:
            raise NotFound("the household has no bank account on record", code="no_bank_account")
        value = self.pii.decrypt(bytes(row.bank_account_enc), purpose=BANK_ACCOUNT)
        await Auditor(self.session, SERVICE, self.principal).record(
            action="household.bank_account.reveal",
            resource_type="household",
            resource_id=str(household_id),
            detail={
                "county_code": row.county_code,
                "purpose": purpose,
                "bank_account_masked": row.bank_account_masked,
            },
        )
        await self.session.commit()
        return BankAccountReveal(
            household_id=household_id,
            bank_account=value,
            bank_name=row.bank_name,
            account_holder=row.account_holder,
        )

    async def reveal_phone(self, household_id: uuid.UUID, purpose: str) -> PhoneReveal:
        row = await self._household(household_id)
        value = self.pii.decrypt(bytes(row.phone_enc), purpose=PHONE) if row.phone_enc is not None else None
        audit_id = await Auditor(self.session, SERVICE, self.principal).record(
            action="household.phone.reveal",
            resource_type="household",
            resource_id=str(household_id),
            detail={"county_code": row.county_code, "purpose": purpose, "phone_masked": row.phone_masked},
        )
        await self.session.commit()
        return PhoneReveal(household_id=household_id, phone=value, purpose=purpose, audit_id=audit_id)


def _digits(value: str | None) -> str:
    """Phone and account numbers are stored as their digits (spaces and dashes dropped; a leading + kept)."""
    if value is None:
        return ""
    return "".join(ch for ch in value if ch.isdigit() or ch == "+")
