"""Every query on export jobs (`registry.export_job`) and the export's read of the register. Flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db.household_repository import region_range
from services.registry.db.tables import export_job, household, household_cadre, income, member, region

Row = dict[str, Any]  # the values of a new or changed row (what the use cases write)


@dataclass(frozen=True)
class ExportJob:
    """A row of `registry.export_job`; `content_enc` only when asked for (the file, sealed)."""

    id: uuid.UUID
    status: str
    format: str
    region: str
    county_code: str | None
    reveal: bool
    purpose: str | None
    include_former_members: bool
    created_by: str
    scope_region: str
    row_count: int | None
    filename: str | None
    content_type: str | None
    failure: str | None
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None
    heartbeat_at: datetime
    content_enc: bytes | None = None


@dataclass(frozen=True)
class ExportRow:
    """One member of the register with the household's fields and its latest income, as exported;
    the sealed columns only for a revealing export."""

    household_number: str
    village_code: str
    address: str | None
    phone_masked: str | None
    status: str
    bank_account_masked: str | None
    dibao: str | None
    tekun: bool
    insured_years: list[int] | None
    name: str
    national_id_masked: str
    sex: str
    birth_date: date
    relation: str
    health: str
    disability_grade: int | None
    labour_ability: str
    education_stage: str | None
    school: str | None
    join_reason: str
    active: bool
    left_on: date | None
    leave_reason: str | None
    income_year: int | None
    wage_income: Decimal | None
    business_income: Decimal | None
    property_income: Decimal | None
    transfer_income: Decimal | None
    production_costs: Decimal | None
    base_status: str | None = None
    monitoring_since: date | None = None
    risk_types: list[str] | None = None
    poverty_cause: str | None = None
    other_causes: list[str] | None = None
    registered_year: int | None = None
    lifted_out_year: int | None = None
    relocated: bool = False
    resettlement_site: str | None = None
    grid_code: str | None = None
    education_level: str | None = None
    employment: str | None = None
    months_worked: int | None = None
    medical_insured_years: list[int] | None = None
    pension_insured_years: list[int] | None = None
    township_name: str | None = None
    village_name: str | None = None
    account_holder: str | None = None
    bank_name: str | None = None
    cadre_name: str | None = None  # the household's latest-started 帮扶责任人 assignment
    cadre_work_unit: str | None = None
    cadre_affiliation: str | None = None
    cadre_phone_masked: str | None = None
    cadre_start_date: date | None = None
    cadre_end_date: date | None = None
    national_id_enc: bytes | None = None
    bank_account_enc: bytes | None = None
    phone_enc: bytes | None = None
    cadre_phone_enc: bytes | None = None


class ExportJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_export_job(self, values: Row) -> ExportJob:
        stmt = export_job.insert().values(**values).returning(*_export_columns())
        return ExportJob(**(await self.session.execute(stmt)).mappings().one())

    async def get_export_job(self, job_id: uuid.UUID, *, with_content: bool = False) -> ExportJob | None:
        columns = [*_export_columns(), export_job.c.content_enc] if with_content else _export_columns()
        row = (await self.session.execute(select(*columns).where(export_job.c.id == job_id))).mappings()
        found = row.one_or_none()
        return ExportJob(**found) if found else None

    async def update_export_job(self, job_id: uuid.UUID, values: Row) -> None:
        await self.session.execute(
            update(export_job).where(export_job.c.id == job_id).values(**values, heartbeat_at=func.now())
        )

    async def purge_expired_exports(self) -> int:
        result = await self.session.execute(
            update(export_job)
            .where(export_job.c.expires_at < func.now(), export_job.c.content_enc.is_not(None))
            .values(content_enc=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def export_rows(
        self, *, region_prefix: str, include_former: bool, with_secrets: bool
    ) -> AsyncIterator[ExportRow]:
        """Members with their household's fields, region names and latest income, in register order (streamed)."""
        township, village = region.alias("township"), region.alias("village")
        latest = (
            select(income)
            .ext(distinct_on(income.c.household_id))
            .order_by(income.c.household_id, income.c.year.desc())
            .subquery("latest")
        )
        # one responsible cadre per household (the template's 帮扶责任人 columns): the latest-started assignment
        cadre = (
            select(household_cadre)
            .where(household_cadre.c.county_code.startswith(region_prefix[:6]))
            .ext(distinct_on(household_cadre.c.county_code, household_cadre.c.household_id))
            .order_by(
                household_cadre.c.county_code,
                household_cadre.c.household_id,
                household_cadre.c.start_date.desc(),
                household_cadre.c.id.desc(),
            )
            .subquery("cadre")
        )
        columns: list[Any] = [
            household.c.household_number,
            household.c.village_code,
            household.c.address,
            household.c.phone_masked,
            household.c.status,
            household.c.bank_account_masked,
            household.c.dibao,
            household.c.tekun,
            household.c.insured_years,
            member.c.name,
            member.c.national_id_masked,
            member.c.sex,
            member.c.birth_date,
            member.c.relation,
            member.c.health,
            member.c.disability_grade,
            member.c.labour_ability,
            member.c.education_stage,
            member.c.school,
            member.c.join_reason,
            member.c.active,
            member.c.left_on,
            member.c.leave_reason,
            latest.c.year.label("income_year"),
            latest.c.wage_income,
            latest.c.business_income,
            latest.c.property_income,
            (latest.c.transfer_income + latest.c.benefit_income).label("transfer_income"),
            latest.c.production_costs,
            household.c.base_status,
            household.c.monitoring_since,
            household.c.risk_types,
            household.c.poverty_cause,
            household.c.other_causes,
            household.c.registered_year,
            household.c.lifted_out_year,
            household.c.relocated,
            household.c.resettlement_site,
            household.c.grid_code,
            member.c.education_level,
            member.c.employment,
            member.c.months_worked,
            member.c.medical_insured_years,
            member.c.pension_insured_years,
            township.c.name.label("township_name"),
            village.c.name.label("village_name"),
            household.c.account_holder,
            household.c.bank_name,
            cadre.c.name.label("cadre_name"),
            cadre.c.work_unit.label("cadre_work_unit"),
            cadre.c.affiliation.label("cadre_affiliation"),
            cadre.c.phone_masked.label("cadre_phone_masked"),
            cadre.c.start_date.label("cadre_start_date"),
            cadre.c.end_date.label("cadre_end_date"),
        ]
        if with_secrets:
            columns += [
                member.c.national_id_enc,
                household.c.bank_account_enc,
                household.c.phone_enc,
                cadre.c.phone_enc.label("cadre_phone_enc"),
            ]
        low, high = region_range(region_prefix)
        query = (
            select(*columns)
            .join(member, member.c.household_id == household.c.id)
            .outerjoin(latest, latest.c.household_id == household.c.id)
            .outerjoin(
                cadre, and_(cadre.c.household_id == household.c.id, cadre.c.county_code == household.c.county_code)
            )
            .outerjoin(township, township.c.code == func.rpad(household.c.township_code, 12, "0"))
            .outerjoin(village, village.c.code == household.c.village_code)
            .where(household.c.village_code.between(low, high), household.c.archived_at.is_(None))
        )
        if not include_former:
            query = query.where(member.c.active)
        query = query.order_by(
            household.c.village_code,
            household.c.household_number,
            member.c.active.desc(),
            (member.c.relation != "head"),
            member.c.birth_date,
            member.c.id,
        )
        result = await self.session.stream(query.execution_options(yield_per=2000))
        async for row in result.mappings():
            yield ExportRow(**row)


def _export_columns() -> list[Any]:
    return [c for c in export_job.c if c.name != "content_enc"]
