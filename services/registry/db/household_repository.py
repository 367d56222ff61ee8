"""Every query of the household aggregate: households, their members, incomes, benefits and history,
search and resolve, and the COPY path of bulk writes. Flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    any_,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db.cadre_repository import Cadre
from services.registry.db.regions_repository import Grid
from services.registry.db.tables import (
    benefit,
    grid,
    household,
    household_cadre,
    household_history,
    income,
    member,
    person_claim,
    region,
)
from shared.db import read_connection

Row = dict[str, Any]  # the values of a new or changed row (what the use cases write)


@dataclass(frozen=True)
class Household:
    """A row of `registry.household`."""

    id: uuid.UUID
    county_code: str
    township_code: str
    village_code: str
    household_number: str
    address: str | None
    phone_enc: bytes | None
    phone_masked: str | None
    status: str
    base_status: str
    monitoring_case_id: uuid.UUID | None
    monitoring_since: date | None
    dibao: str | None
    tekun: bool
    negative_list: bool
    negative_list_reason: str | None
    bank_account_enc: bytes | None
    bank_account_masked: str | None
    bank_name: str | None
    account_holder: str | None
    insured_years: list[int]
    head_member_id: uuid.UUID | None
    archived_at: datetime | None
    archive_reason: str | None
    import_job_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime
    poverty_cause: str | None = None
    other_causes: list[str] = field(default_factory=list)
    registered_year: int | None = None
    lifted_out_year: int | None = None
    risk_types: list[str] = field(default_factory=list)
    relocated: bool = False
    resettlement_site: str | None = None
    grid_code: str | None = None
    monitoring_origin: str | None = None


@dataclass(frozen=True)
class Member:
    """A row of `registry.member` (a membership: a person in a household, active or ended)."""

    id: uuid.UUID
    household_id: uuid.UUID
    county_code: str
    name: str
    national_id_enc: bytes
    national_id_index: bytes
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
    joined_on: date | None
    active: bool
    left_on: date | None
    leave_reason: str | None
    leave_note: str | None
    import_job_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime
    education_level: str | None = None
    employment: str | None = None
    months_worked: int | None = None
    medical_insured_years: list[int] = field(default_factory=list)
    pension_insured_years: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Income:
    """A row of `registry.income`: one household's incomes of one year (`net_income` computed)."""

    household_id: uuid.UUID
    year: int
    county_code: str
    wage_income: Decimal
    business_income: Decimal
    property_income: Decimal
    transfer_income: Decimal
    benefit_income: Decimal
    production_costs: Decimal
    net_income: Decimal
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Benefit:
    """A row of `registry.benefit`: a payment received, by its source reference."""

    id: uuid.UUID
    household_id: uuid.UUID
    county_code: str
    source: str
    source_ref: str
    programme: str
    category: str | None
    amount: Decimal
    paid_date: date
    year: int
    recorded_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class HistoryRecord:
    """A row of `registry.household_history`; `changes` is the jsonb list of field changes."""

    id: int
    household_id: uuid.UUID
    county_code: str
    entity_type: str
    entity_id: uuid.UUID | None
    action: str
    changes: list[dict[str, Any]]
    reason: str | None
    effective_date: date | None
    actor_sub: str | None
    actor_role: str | None
    actor_region: str | None
    request_id: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class StatusChange:
    """A history entry that changed the status (its changes, when it took effect)."""

    changes: list[dict[str, Any]]
    effective_date: date | None
    occurred_at: datetime


@dataclass(frozen=True)
class Membership:
    """A person's active membership with its household's codes (found by the ID's blind index)."""

    member_id: uuid.UUID
    household_id: uuid.UUID
    county_code: str
    village_code: str
    household_number: str
    household_status: str | None = None


@dataclass(frozen=True)
class EndedMembership:
    id: uuid.UUID
    national_id_masked: str


@dataclass(frozen=True)
class HouseholdListing:
    """A household as search lists it: its own fields, its head, its active member count."""

    id: uuid.UUID
    household_number: str
    county_code: str
    township_code: str
    village_code: str
    address: str | None
    status: str
    dibao: str | None
    tekun: bool
    negative_list: bool
    insured_years: list[int]
    archived_at: datetime | None
    version: int
    updated_at: datetime
    head_member_id: uuid.UUID | None
    head_name: str | None
    head_national_id_masked: str | None
    member_count: int
    township_name: str | None = None
    village_name: str | None = None
    grid_code: str | None = None
    poverty_cause: str | None = None
    registered_year: int | None = None
    lifted_out_year: int | None = None


@dataclass(frozen=True)
class HouseholdAggregate:
    """A household read whole in one round trip: its row, its members (current first, the head first,
    then by birth date), its latest income year, the names of its county, township and village, and
    its grid."""

    household: Household
    members: list[Member]
    latest_income: Income | None
    county_name: str | None
    township_name: str | None
    village_name: str | None
    grid: Grid | None
    cadres: list[Cadre] = field(default_factory=list)  # every assignment 帮扶责任人, by start date


_R = TypeVar("_R")


def _row_reader(cls: type[_R], table: Any) -> Callable[[Any], _R]:
    """Make `cls` (a frozen dataclass, one field per column of `table`) from the record asyncpg decodes
    for the table's row type, by the columns' names, without calling `__init__`: a frozen dataclass's
    `__init__` sets every field through `object.__setattr__` (19 µs for a household's 39 columns, 10 µs
    for a member's 30, against 2–3 µs here; issue 15). Only for classes whose fields are exactly the
    table's columns, with no `__post_init__` and no `__slots__` — checked when the reader is made."""
    keys = tuple(column.key for column in table.columns)
    if (
        {f.name for f in fields(cls)} != set(keys)  # type: ignore[arg-type]
        or hasattr(cls, "__post_init__")
        or "__slots__" in vars(cls)
    ):
        raise TypeError(f"{cls.__name__} is not one field per column of {table.name}")
    new = object.__new__

    def read(record: Any) -> _R:
        made = new(cls)
        made.__dict__.update(zip(keys, map(record.__getitem__, keys), strict=True))
        return made

    return read


def _record(table: Any, record: Any) -> dict[str, Any]:
    """A table's row as asyncpg decodes a composite (`SELECT m FROM t m`): the table's declared columns.

    The row type carries every column of the table, so a column added by a migration and declared in
    tables.py (and its dataclass) flows through without touching the query."""
    return {column.key: record[column.key] for column in table.columns}


def _aggregate_query(include_former: bool) -> Select[Any]:
    h = "registry.household"
    active = "" if include_former else " AND m.active"
    members = (
        f"ARRAY(SELECT m FROM registry.member AS m WHERE m.household_id = {h}.id{active} "
        "ORDER BY m.active DESC, (m.relation <> 'head'), m.birth_date, m.id)"
    )
    latest_income = f"(SELECT i FROM registry.income AS i WHERE i.household_id = {h}.id ORDER BY i.year DESC LIMIT 1)"

    cadres = (
        f"ARRAY(SELECT c FROM registry.household_cadre AS c WHERE c.county_code = {h}.county_code "
        f"AND c.household_id = {h}.id ORDER BY c.start_date, c.id)"
    )

    def name(code: str) -> str:
        return f"(SELECT r.name FROM registry.region AS r WHERE r.code = {code})"

    return select(
        household,
        literal_column(members).label("agg_members"),
        literal_column(latest_income).label("agg_latest_income"),
        literal_column(name(f"rpad({h}.county_code, 12, '0')")).label("agg_county_name"),
        literal_column(name(f"rpad({h}.township_code, 12, '0')")).label("agg_township_name"),
        literal_column(name(f"{h}.village_code")).label("agg_village_name"),
        literal_column(f"(SELECT g FROM registry.grid AS g WHERE g.code = {h}.grid_code)").label("agg_grid"),
        literal_column(cadres).label("agg_cadres"),
    )


_AGGREGATE = {former: _aggregate_query(former) for former in (False, True)}
# The same statement as the driver's SQL ($1 = the household id), sent on the session's asyncpg
# connection: SQLAlchemy's per-statement work (cache key, compiled-cache lookup, result processing)
# cost as much CPU as decoding the row.
_AGGREGATE_SQL = {
    former: str(query.where(household.c.id == bindparam("household_id")).compile(dialect=postgresql_asyncpg.dialect()))
    for former, query in _AGGREGATE.items()
}

_read_household = _row_reader(Household, household)
_read_member = _row_reader(Member, member)
_read_income = _row_reader(Income, income)
_read_grid = _row_reader(Grid, grid)

# The search's aliases, made once: an alias builds its column collection on first use (per request
# when made per call).
_HEAD = member.alias("head")
_ACTIVE = member.alias("active_member")
_TOWNSHIP, _VILLAGE = region.alias("township"), region.alias("village")


@dataclass(frozen=True)
class _SearchShape:
    """What a search's statement depends on besides its values: which filters are given."""

    ranges: int  # region ranges: the caller's scope and the asked region, each when given
    include_archived: bool
    given: frozenset[str]  # the filters given a value (bound as parameters)
    dibao: bool | None
    tekun: bool | None
    negative_list: bool | None
    after: bool


@lru_cache(maxsize=256)
def _search_statement(shape: _SearchShape) -> tuple[str, tuple[str, ...]]:
    """The search's SQL for one shape, compiled for asyncpg, and its parameters' names in order."""
    head, active, township, village = _HEAD, _ACTIVE, _TOWNSHIP, _VILLAGE
    given = shape.given
    member_count = (
        select(func.count())
        .where(active.c.household_id == household.c.id, active.c.active)
        .scalar_subquery()
        .label("member_count")
    )
    query: Select[Any] = select(
        household.c.id,
        household.c.household_number,
        household.c.county_code,
        household.c.township_code,
        household.c.village_code,
        household.c.address,
        household.c.status,
        household.c.dibao,
        household.c.tekun,
        household.c.negative_list,
        household.c.insured_years,
        household.c.archived_at,
        household.c.version,
        household.c.updated_at,
        head.c.id.label("head_member_id"),
        head.c.name.label("head_name"),
        head.c.national_id_masked.label("head_national_id_masked"),
        member_count,
        township.c.name.label("township_name"),
        village.c.name.label("village_name"),
        household.c.grid_code,
        household.c.poverty_cause,
        household.c.registered_year,
        household.c.lifted_out_year,
    )
    # in the SQL: no parameters of their own
    twelve: ColumnElement[Any] = literal_column("12")
    zero: ColumnElement[Any] = literal_column("'0'")
    query = (
        query.outerjoin(head, head.c.id == household.c.head_member_id)
        .outerjoin(township, township.c.code == func.rpad(household.c.township_code, twelve, zero))
        .outerjoin(village, village.c.code == household.c.village_code)
    )
    text_type = household.c.village_code.type
    for number in range(shape.ranges):
        query = query.where(
            household.c.village_code.between(
                bindparam(f"low_{number}", type_=text_type), bindparam(f"high_{number}", type_=text_type)
            )
        )
    if not shape.include_archived:
        query = query.where(household.c.archived_at.is_(None))
    if "national_id_index" in given:
        query = query.where(
            household.c.id.in_(
                select(member.c.household_id).where(
                    member.c.active, member.c.national_id_index == bindparam("national_id_index")
                )
            )
        )
    if "name_like" in given:
        query = query.where(
            exists().where(
                member.c.household_id == household.c.id,
                member.c.active,
                member.c.name.like(bindparam("name_like", type_=member.c.name.type), escape="\\"),
            )
        )
    for key, column in (
        ("household_number", household.c.household_number),
        ("dibao_class", household.c.dibao),
        ("lifted_out_year", household.c.lifted_out_year),
        ("registered_year", household.c.registered_year),
        ("grid_code", household.c.grid_code),
    ):
        if key in given:
            query = query.where(column == bindparam(key, type_=column.type))
    for key, column in (("statuses", household.c.status), ("poverty_causes", household.c.poverty_cause)):
        if key in given:  # one array parameter: the statement does not depend on how many
            query = query.where(column == any_(bindparam(key, type_=ARRAY(column.type))))
    if shape.dibao is not None:
        query = query.where(household.c.dibao.is_not(None) if shape.dibao else household.c.dibao.is_(None))
    if shape.tekun is not None:
        query = query.where(household.c.tekun.is_(shape.tekun))
    if shape.negative_list is not None:
        query = query.where(household.c.negative_list.is_(shape.negative_list))
    if "insured_year" in given:
        query = query.where(bindparam("insured_year", type_=Integer) == any_(household.c.insured_years))
    if "cadre_name" in given:
        # a responsible cadre 帮扶责任人 of that name, assigned on `cadre_on` (the business day; None: ever)
        conditions = [
            household_cadre.c.county_code == household.c.county_code,
            household_cadre.c.household_id == household.c.id,
            household_cadre.c.name == bindparam("cadre_name", type_=household_cadre.c.name.type),
        ]
        if "cadre_on" in given:
            on = bindparam("cadre_on", type_=household_cadre.c.start_date.type)
            conditions += [
                household_cadre.c.start_date <= on,
                or_(household_cadre.c.end_date.is_(None), household_cadre.c.end_date >= on),
            ]
        query = query.where(exists().where(*conditions))
    if shape.after:
        query = query.where(
            tuple_(household.c.village_code, household.c.household_number, household.c.id)
            > tuple_(
                bindparam("after_village", type_=text_type),
                bindparam("after_number", type_=household.c.household_number.type),
                bindparam("after_id", type_=household.c.id.type),
            )
        )
    query = query.order_by(household.c.village_code, household.c.household_number, household.c.id).limit(
        bindparam("limit", type_=Integer)
    )
    compiled = query.compile(dialect=postgresql_asyncpg.dialect())
    return str(compiled), tuple(compiled.positiontup or ())


def region_range(prefix: str) -> tuple[str, str]:
    """A division-code prefix as an inclusive range of 12-digit village codes (index-friendly)."""
    return prefix.ljust(12, "0"), prefix.ljust(12, "9")


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under this session's transaction (for COPY)."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def copy_records(
    session: AsyncSession,
    table_name: str,
    columns: Sequence[str],
    records: Iterable[tuple[Any, ...]] | AsyncIterable[tuple[Any, ...]],
) -> int:
    """COPY rows into a registry table, in the session's transaction. Returns the row count."""
    driver = await driver_connection(session)
    status = await driver.copy_records_to_table(
        table_name, schema_name="registry", columns=list(columns), records=records
    )
    return int(status.rsplit(" ", 1)[-1]) if isinstance(status, str) and status.startswith("COPY") else 0


class HouseholdRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def driver_connection(self) -> Any:
        return await driver_connection(self.session)

    async def copy_records(
        self,
        table_name: str,
        columns: Sequence[str],
        records: Iterable[tuple[Any, ...]] | AsyncIterable[tuple[Any, ...]],
    ) -> int:
        return await copy_records(self.session, table_name, columns, records)

    # ------------------------------------------------------------------ households

    async def insert_household(self, values: Row) -> None:
        await self.session.execute(household.insert().values(**values))

    async def get_household(self, household_id: uuid.UUID, *, for_update: bool = False) -> Household | None:
        query = select(household).where(household.c.id == household_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return Household(**row) if row else None

    async def household_aggregate(
        self, household_id: uuid.UUID, *, include_former: bool = False
    ) -> HouseholdAggregate | None:
        """The household with its members, latest income, region names and grid: one statement (the
        members and the income as arrays of the tables' row types, decoded by the driver)."""
        async with read_connection(self.session) as connection:
            row = await connection.fetchrow(_AGGREGATE_SQL[include_former], household_id)
        if row is None:
            return None
        income_record, grid_record = row["agg_latest_income"], row["agg_grid"]
        return HouseholdAggregate(
            household=_read_household(row),
            members=[_read_member(r) for r in row["agg_members"] or ()],
            latest_income=_read_income(income_record) if income_record is not None else None,
            county_name=row["agg_county_name"],
            township_name=row["agg_township_name"],
            village_name=row["agg_village_name"],
            grid=_read_grid(grid_record) if grid_record is not None else None,
            cadres=[Cadre(**_record(household_cadre, r)) for r in row["agg_cadres"] or ()],
        )

    async def update_household(self, household_id: uuid.UUID, values: Row, *, bump_version: bool = True) -> Household:
        stmt = update(household).where(household.c.id == household_id).values(**values, updated_at=func.now())
        if bump_version:
            stmt = stmt.values(version=household.c.version + 1)
        row = (await self.session.execute(stmt.returning(household))).mappings().one()
        return Household(**row)

    async def touch_household(self, household_id: uuid.UUID) -> int:
        """A change below the household (member, income) changes its representation: new version."""
        stmt = (
            update(household)
            .where(household.c.id == household_id)
            .values(version=household.c.version + 1, updated_at=func.now())
            .returning(household.c.version)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def household_number_taken(self, county_code: str, number: str) -> bool:
        query = select(exists().where(household.c.county_code == county_code, household.c.household_number == number))
        return bool((await self.session.execute(query)).scalar())

    async def taken_household_numbers(self, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (county_code, household_number) pairs are already registered (one round trip)."""
        if not pairs:
            return set()
        # On the driver connection: SQLAlchemy's per-element array processing costs more than the query.
        driver = await self.driver_connection()
        rows = await driver.fetch(
            "SELECT h.county_code, h.household_number FROM registry.household h "
            "JOIN unnest($1::text[], $2::text[]) AS given(county_code, household_number) "
            "ON h.county_code = given.county_code AND h.household_number = given.household_number",
            [c for c, _ in pairs],
            [n for _, n in pairs],
        )
        return {(r[0], r[1]) for r in rows}

    # ------------------------------------------------------------------ members

    async def insert_member(self, values: Row) -> None:
        """A new membership; an active one claims its person (the nationwide one-household rule)."""
        await self.session.execute(member.insert().values(**values))
        if values.get("active", True):
            await self.claim_person(
                values["national_id_index"], values["id"], values["household_id"], values["county_code"]
            )

    # The person claims: `registry.person_claim` holds one row per person active in a household, keyed by the
    # national-ID blind index, written in the transaction that starts or ends the membership. Its primary key,
    # not a unique index on `member` (sharded by county on Citus), refuses a second active household:
    # IntegrityError on `person_claim_pkey`. A concurrent claim of the same person waits for the first
    # transaction and fails when it commits. Deletes name the blind index, so they route to one shard.

    async def claim_person(
        self, national_id_index: bytes, member_id: uuid.UUID, household_id: uuid.UUID, county_code: str
    ) -> None:
        await self.session.execute(
            person_claim.insert().values(
                national_id_index=national_id_index,
                member_id=member_id,
                household_id=household_id,
                county_code=county_code,
            )
        )

    async def release_people(self, claims: Sequence[tuple[bytes, uuid.UUID]]) -> None:
        """Release the claims of ended memberships: (blind index, member id) pairs."""
        if not claims:
            return
        await self.session.execute(
            delete(person_claim).where(
                tuple_(person_claim.c.national_id_index, person_claim.c.member_id).in_([tuple(c) for c in claims])
            )
        )

    async def members_of(self, household_id: uuid.UUID, *, include_former: bool = False) -> list[Member]:
        query = select(member).where(member.c.household_id == household_id)
        if not include_former:
            query = query.where(member.c.active)
        query = query.order_by(member.c.active.desc(), (member.c.relation != "head"), member.c.birth_date, member.c.id)
        return [Member(**r) for r in (await self.session.execute(query)).mappings()]

    async def get_member(self, member_id: uuid.UUID, *, for_update: bool = False) -> Member | None:
        query = select(member).where(member.c.id == member_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return Member(**row) if row else None

    async def update_member(self, member_id: uuid.UUID, values: Row) -> Member:
        """Change a membership; ending it releases its person claim, a new national ID of an active member
        moves the claim to the new blind index (refused if that person is active elsewhere)."""
        stmt = (
            update(member)
            .where(member.c.id == member_id)
            .values(**values, version=member.c.version + 1, updated_at=func.now())
            .returning(member)
        )
        before = None
        if "active" in values or "national_id_index" in values:
            before = await self.get_member(member_id)
        updated = Member(**(await self.session.execute(stmt)).mappings().one())
        if before is not None and before.active:
            old_index, new_index = bytes(before.national_id_index), bytes(updated.national_id_index)
            if not updated.active or new_index != old_index:
                await self.release_people([(old_index, member_id)])
            if updated.active and new_index != old_index:
                await self.claim_person(new_index, member_id, updated.household_id, updated.county_code)
        return updated

    async def active_membership(self, national_id_index: bytes) -> Membership | None:
        """The active membership of a person (by blind index) with its household's codes."""
        query = (
            select(
                member.c.id.label("member_id"),
                member.c.household_id,
                household.c.county_code,
                household.c.village_code,
                household.c.household_number,
            )
            .join(household, household.c.id == member.c.household_id)
            .where(member.c.active, member.c.national_id_index == national_id_index)
        )
        row = (await self.session.execute(query)).mappings().one_or_none()
        return Membership(**row) if row else None

    async def active_indexes_among(self, indexes: Sequence[bytes]) -> dict[bytes, Membership]:
        """Active memberships among many blind indexes, keyed by index (one round trip)."""
        if not indexes:
            return {}
        driver = await self.driver_connection()
        rows = await driver.fetch(
            "SELECT m.national_id_index, m.id AS member_id, m.household_id, h.county_code, h.village_code, "
            "h.household_number, h.status AS household_status "
            "FROM registry.member m JOIN registry.household h ON h.id = m.household_id "
            "WHERE m.active AND m.national_id_index = ANY($1::bytea[])",
            list(indexes),
        )
        return {
            bytes(r["national_id_index"]): Membership(
                member_id=r["member_id"],
                household_id=r["household_id"],
                county_code=r["county_code"],
                village_code=r["village_code"],
                household_number=r["household_number"],
                household_status=r["household_status"],
            )
            for r in rows
        }

    async def member_counts(self, household_id: uuid.UUID) -> tuple[int, int]:
        query = select(
            func.count(),
            func.count().filter(member.c.labour_ability.in_(("normal", "weak"))),
        ).where(member.c.household_id == household_id, member.c.active)
        total, labour = (await self.session.execute(query)).one()
        return int(total), int(labour)

    async def end_memberships(
        self, household_id: uuid.UUID, *, left_on: date, reason: str, note: str
    ) -> list[EndedMembership]:
        stmt = (
            update(member)
            .where(member.c.household_id == household_id, member.c.active)
            .values(
                active=False,
                left_on=left_on,
                leave_reason=reason,
                leave_note=note,
                version=member.c.version + 1,
                updated_at=func.now(),
            )
            .returning(member.c.id, member.c.national_id_masked, member.c.national_id_index)
        )
        rows = (await self.session.execute(stmt)).all()
        await self.release_people([(bytes(r.national_id_index), r.id) for r in rows])
        return [EndedMembership(id=r.id, national_id_masked=r.national_id_masked) for r in rows]

    # ------------------------------------------------------------------ incomes and benefits

    async def incomes_of(self, household_id: uuid.UUID) -> list[Income]:
        query = select(income).where(income.c.household_id == household_id).order_by(income.c.year.desc())
        return [Income(**r) for r in (await self.session.execute(query)).mappings()]

    async def get_income(self, household_id: uuid.UUID, year: int, *, for_update: bool = False) -> Income | None:
        query = select(income).where(income.c.household_id == household_id, income.c.year == year)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return Income(**row) if row else None

    async def insert_income(self, values: Row) -> Income:
        row = (await self.session.execute(income.insert().values(**values).returning(income))).mappings().one()
        return Income(**row)

    async def update_income(self, household_id: uuid.UUID, year: int, values: Row) -> Income:
        stmt = (
            update(income)
            .where(income.c.household_id == household_id, income.c.year == year)
            .values(**values, version=income.c.version + 1, updated_at=func.now())
            .returning(income)
        )
        return Income(**(await self.session.execute(stmt)).mappings().one())

    async def add_benefit_income(
        self, *, household_id: uuid.UUID, county_code: str, year: int, amount: Decimal
    ) -> tuple[Income | None, Income]:
        """Add a benefit to its year's transfer income (creating the year if needed): (before, after)."""
        before = await self.get_income(household_id, year, for_update=True)
        stmt = insert(income).values(
            household_id=household_id, year=year, county_code=county_code, benefit_income=amount
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=[income.c.household_id, income.c.year, income.c.county_code],
            set_={
                "benefit_income": income.c.benefit_income + stmt.excluded.benefit_income,
                "version": income.c.version + 1,
                "updated_at": func.now(),
            },
        ).returning(income)
        after = Income(**(await self.session.execute(upsert)).mappings().one())
        return before, after

    async def insert_benefit(self, values: Row) -> Benefit:
        row = (await self.session.execute(benefit.insert().values(**values).returning(benefit))).mappings().one()
        return Benefit(**row)

    async def benefit_by_source(self, county_code: str, source: str, source_ref: str) -> Benefit | None:
        query = select(benefit).where(
            benefit.c.county_code == county_code, benefit.c.source == source, benefit.c.source_ref == source_ref
        )
        row = (await self.session.execute(query)).mappings().one_or_none()
        return Benefit(**row) if row else None

    async def benefits_of(self, household_id: uuid.UUID) -> list[Benefit]:
        query = (
            select(benefit)
            .where(benefit.c.household_id == household_id)
            .order_by(benefit.c.paid_date.desc(), benefit.c.created_at.desc(), benefit.c.id)
        )
        return [Benefit(**r) for r in (await self.session.execute(query)).mappings()]

    # ------------------------------------------------------------------ history

    async def insert_history(self, values: Row) -> int:
        stmt = household_history.insert().values(**values).returning(household_history.c.id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def history_of(self, household_id: uuid.UUID, *, before_id: int | None, limit: int) -> list[HistoryRecord]:
        query = select(household_history).where(household_history.c.household_id == household_id)
        if before_id is not None:
            query = query.where(household_history.c.id < before_id)
        query = query.order_by(household_history.c.id.desc()).limit(limit)
        return [HistoryRecord(**r) for r in (await self.session.execute(query)).mappings()]

    async def status_changes(self, household_id: uuid.UUID) -> list[StatusChange]:
        """History entries that changed the status, oldest first."""
        query = (
            select(household_history.c.changes, household_history.c.effective_date, household_history.c.occurred_at)
            .where(
                household_history.c.household_id == household_id,
                household_history.c.changes.contains([{"field": "status"}]),
            )
            .order_by(household_history.c.id)
        )
        return [StatusChange(**r) for r in (await self.session.execute(query)).mappings()]

    # ------------------------------------------------------------------ search

    async def search(
        self,
        *,
        scope_prefix: str,
        region_prefix: str | None,
        name_prefix: str | None,
        national_id_index: bytes | None,
        household_number: str | None,
        statuses: Sequence[str] | None,
        dibao: bool | None,
        dibao_class: str | None,
        tekun: bool | None,
        negative_list: bool | None,
        insured_year: int | None,
        include_archived: bool,
        after: tuple[str, str, uuid.UUID] | None,
        limit: int,
        poverty_causes: Sequence[str] | None = None,
        lifted_out_year: int | None = None,
        registered_year: int | None = None,
        grid_code: str | None = None,
        cadre_name: str | None = None,
        cadre_on: date | None = None,
    ) -> list[HouseholdListing]:
        """A page of households, in (village, household number, id) order after the cursor `after`.

        The statement is built and compiled once per shape (which filters are given; issue 15:
        building and compiling it was a third of a list page's CPU) and runs on the read
        connection with the values in its order."""
        values: dict[str, Any] = {"limit": limit}
        ranges = [region_range(prefix) for prefix in (scope_prefix, region_prefix) if prefix]
        for number, (low, high) in enumerate(ranges):
            values[f"low_{number}"], values[f"high_{number}"] = low, high
        given = {
            "national_id_index": national_id_index,
            "name_like": _like_prefix(name_prefix) if name_prefix else None,
            "household_number": household_number or None,
            "statuses": list(statuses) if statuses else None,
            "dibao_class": dibao_class,
            "insured_year": insured_year,
            "poverty_causes": list(poverty_causes) if poverty_causes else None,
            "lifted_out_year": lifted_out_year,
            "registered_year": registered_year,
            "grid_code": grid_code,
            "cadre_name": cadre_name,
            "cadre_on": cadre_on if cadre_name is not None else None,
        }
        values.update((key, value) for key, value in given.items() if value is not None)
        if after is not None:
            values["after_village"], values["after_number"], values["after_id"] = after
        shape = _SearchShape(
            ranges=len(ranges),
            include_archived=include_archived,
            given=frozenset(key for key, value in given.items() if value is not None),
            dibao=dibao,
            tekun=tekun,
            negative_list=negative_list,
            after=after is not None,
        )
        sql, order = _search_statement(shape)
        async with read_connection(self.session) as connection:
            rows = await connection.fetch(sql, *(values[name] for name in order))
        return [HouseholdListing(**row) for row in rows]

    async def resolve(self, indexes: Sequence[bytes], *, scope_prefix: str) -> dict[bytes, Membership]:
        found = await self.active_indexes_among(indexes)
        if not scope_prefix:
            return found
        return {k: v for k, v in found.items() if v.village_code.startswith(scope_prefix)}

    async def now(self) -> datetime:
        value: datetime = (await self.session.execute(text("SELECT now()"))).scalar_one()
        return value
