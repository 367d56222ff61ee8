"""Bulk writes (imports, demo data): validated rows → COPY records → the registry tables.

Set-based throughout: blind indexes and ciphertexts are computed in batches, the rows go in with
`COPY` (asyncpg `copy_records_to_table`) in the caller's transaction, and one history entry per
household records the import. No per-row SQL.

Overlap without threads: the member rows (most of the data and of the encryption work) are
produced by an async generator while they are copied. asyncpg hands each filled buffer to the
socket and goes on encoding, so PostgreSQL ingests one buffer (heap, four indexes, the foreign
key, WAL: the database's core) while this process encrypts the next rows (its own core). A
worker thread doing the same fought the event loop for the GIL and starved the COPY (measured
slower than doing it in sequence), so there is none.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Any

from services.registry.db.household_repository import HouseholdRepository
from services.registry.domain.ids import uuid7_batch
from services.registry.domain.import_rows import HouseholdRow, IncomeRow, MemberRow
from services.registry.domain.model import Relation
from services.registry.service.cadres import CADRE_PHONE
from shared.auth import Principal
from shared.contracts.vocabulary import mask_bank_account, mask_national_id, mask_phone
from shared.pii import PiiCipher

HOUSEHOLD_COLUMNS = (
    "id",
    "county_code",
    "township_code",
    "village_code",
    "household_number",
    "address",
    "phone_enc",
    "phone_masked",
    "status",
    "base_status",
    "dibao",
    "tekun",
    "negative_list",
    "bank_account_enc",
    "bank_account_masked",
    "insured_years",
    "head_member_id",
    "import_job_id",
    "monitoring_since",
    "monitoring_origin",
    "risk_types",
    "poverty_cause",
    "other_causes",
    "registered_year",
    "lifted_out_year",
    "relocated",
    "resettlement_site",
    "grid_code",
    "account_holder",
    "bank_name",
)
MEMBER_COLUMNS = (
    "id",
    "household_id",
    "county_code",
    "name",
    "national_id_enc",
    "national_id_index",
    "national_id_masked",
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
    "import_job_id",
    "education_level",
    "employment",
    "months_worked",
    "medical_insured_years",
    "pension_insured_years",
)
CADRE_COLUMNS = (
    "id",
    "county_code",
    "household_id",
    "name",
    "work_unit",
    "affiliation",
    "phone_enc",
    "phone_index",
    "phone_masked",
    "start_date",
    "end_date",
    "created_by",
)
PERSON_CLAIM_COLUMNS = ("national_id_index", "member_id", "household_id", "county_code")
HISTORY_COLUMNS = (
    "household_id",
    "county_code",
    "entity_type",
    "action",
    "changes",
    "reason",
    "effective_date",
    "actor_sub",
    "actor_role",
    "actor_region",
    "request_id",
)
INCOME_COLUMNS = (
    "household_id",
    "year",
    "county_code",
    "wage_income",
    "business_income",
    "property_income",
    "transfer_income",
    "production_costs",
)

NATIONAL_ID = "national_id"
MEMBER_BATCH = 2000

_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during a bulk job.

    A parse and a bulk write make over a million objects that hold no cycles; with the collector
    on, its passes re-examine them again and again (measured: more than a second per 100,000
    rows). Nested and concurrent users are counted; the last one out restores it.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')


def _json_text(value: str) -> str:
    return f'"{value}"' if _NEEDS_ESCAPE.search(value) is None else json.dumps(value, ensure_ascii=False)


def _change(name: str, after_json: str) -> str:
    return f'{{"field":"{name}","before":null,"after":{after_json}}}'


def blind_indexes(pii: PiiCipher, national_ids: Sequence[str]) -> list[bytes]:
    return pii.blind_index_many(national_ids, purpose=NATIONAL_ID)


@dataclass(frozen=True)
class HistoryContext:
    """Who wrote a bulk batch, for its history entries (one per household)."""

    actor: Principal
    request_id: str | None
    reason: str
    on: date
    action: str = "household.import"


@dataclass
class BulkPlan:
    """The COPY records of a bulk write. Households, incomes and history are built up front (they
    are small); the member rows come from `members()` while they are being copied."""

    rows: Sequence[MemberRow]
    indexes: Sequence[bytes]
    pii: PiiCipher
    job_id: uuid.UUID | None
    households: list[tuple[Any, ...]] = field(default_factory=list)
    incomes: list[tuple[Any, ...]] = field(default_factory=list)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    cadres: list[tuple[Any, ...]] = field(default_factory=list)  # registry.household_cadre (帮扶责任人)
    households_without_head: int = 0
    monitored: int = 0  # households brought over monitored (a migration, not a monitoring decision)
    # per member row, aligned with rows and indexes: (member id, household id, county code, masked ID)
    member_keys: list[tuple[Any, ...]] = field(default_factory=list)

    async def members(self, batch: int = MEMBER_BATCH) -> AsyncIterator[tuple[Any, ...]]:
        rows, indexes, keys, job_id = self.rows, self.indexes, self.member_keys, self.job_id
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            sealed = self.pii.encrypt_many([row.national_id for row in part], purpose=NATIONAL_ID)
            for position, (row, ciphertext) in enumerate(zip(part, sealed, strict=True), start):
                member_id, household_id, county, masked = keys[position]
                # enum members are str subclasses holding their value: they go in as they are
                yield (
                    member_id,
                    household_id,
                    county,
                    row.member_name,
                    ciphertext,
                    indexes[position],
                    masked,
                    row.sex,
                    row.birth_date,
                    row.relation,
                    row.health,
                    row.disability_grade,
                    row.labour_ability,
                    row.education_stage,
                    row.school,
                    row.join_reason,
                    None,
                    job_id,
                    row.education_level,
                    row.employment,
                    row.months_worked,
                    list(row.medical_insured_years),
                    list(row.pension_insured_years),
                )
            await asyncio.sleep(0)  # the loop sends what is buffered and serves other requests

    def person_claims(self) -> list[tuple[Any, ...]]:
        """One claim per imported member (all active): registry.person_claim, the nationwide one-household rule.

        In the order of their key (the blind index): the keys are keyed hashes, so in file order each
        row went to a random page of the primary key; in key order the index is written a page at a
        time (100,000 claims into an empty table: 0.48 s → 0.11 s)."""
        claims = [
            (index, member_id, household_id, county)
            for index, (member_id, household_id, county, _masked) in zip(self.indexes, self.member_keys, strict=True)
        ]
        claims.sort(key=itemgetter(0))
        return claims


def plan_records(
    rows: Sequence[MemberRow],
    indexes: Sequence[bytes],
    *,
    pii: PiiCipher,
    job_id: uuid.UUID | None,
    history: HistoryContext,
    extra_incomes: Mapping[str, IncomeRow] | None = None,
) -> BulkPlan:
    """The records for `rows` (valid member rows, grouped into households by their HouseholdRow).
    `extra_incomes` adds a second income year per household number (demo data)."""
    plan = BulkPlan(rows=rows, indexes=indexes, pii=pii, job_id=job_id)
    household_ids: dict[str, uuid.UUID] = {}
    heads: dict[str, uuid.UUID] = {}
    masked_ids: dict[str, list[str]] = {}
    order: list[HouseholdRow] = []
    head = Relation.head
    keys = plan.member_keys
    new_household_ids = iter(uuid7_batch(len({row.household.household_number for row in rows})))
    for row, member_id in zip(rows, uuid7_batch(len(rows)), strict=True):
        household = row.household
        number = household.household_number
        household_id = household_ids.get(number)
        if household_id is None:
            household_id = household_ids[number] = next(new_household_ids)
            order.append(household)
            masked_ids[number] = []
        if row.relation is head:
            heads[number] = member_id
        nid = row.national_id
        masked = mask_national_id(nid) or ""  # a validated number: never empty
        masked_ids[number].append(masked)
        keys.append((member_id, household_id, household.village_code[:6], masked))

    actor = history.actor
    actor_role = actor.primary_role.value
    sealed_phones = iter(pii.encrypt_many([h.phone for h in order if h.phone], purpose="phone"))
    sealed_accounts = iter(pii.encrypt_many([h.bank_account for h in order if h.bank_account], purpose="bank_account"))
    cadre_phones = [h.cadre.phone for h in order if h.cadre is not None]
    sealed_cadre_phones = iter(pii.encrypt_many(cadre_phones, purpose=CADRE_PHONE))
    cadre_indexes = iter(pii.blind_index_many(cadre_phones, purpose=CADRE_PHONE))
    cadre_ids = iter(uuid7_batch(len(cadre_phones)))
    for household in order:
        number = household.household_number
        household_id = household_ids[number]
        county = household.village_code[:6]
        status = household.household_status
        base = household.base_status or status
        migrated = household.monitored
        plan.monitored += migrated
        phone = household.phone
        account = household.bank_account
        head_id = heads.get(number)
        if head_id is None:
            plan.households_without_head += 1
        phone_masked = mask_phone(phone) if phone else None
        account_masked = mask_bank_account(account) if account else None
        insured = [household.insured_year] if household.insured_year else []
        plan.households.append(
            (
                household_id,
                county,
                household.village_code[:9],
                household.village_code,
                number,
                household.address,
                next(sealed_phones) if phone else None,
                phone_masked,
                status,
                base,
                household.dibao,
                household.tekun,
                False,
                next(sealed_accounts) if account else None,
                account_masked,
                insured,
                head_id,
                plan.job_id,
                household.monitoring_since if migrated else None,
                "migration" if migrated else None,
                list(household.risk_types) if migrated else [],
                household.poverty_cause,
                list(household.other_causes),
                household.registered_year,
                household.lifted_out_year,
                household.relocated,
                household.resettlement_site,
                household.grid_code,
                household.account_holder,
                household.bank_name,
            )
        )
        # The history entry's JSON, written out directly (json.dumps per household was a third of
        # the build time; building it in SQL cost the database 0.86 s of CPU per 100,000 members
        # against 0.25 s for COPYing it): every value is ASCII except the household number.
        changes = [
            _change("household_number", _json_text(number)),
            _change("village_code", f'"{household.village_code}"'),
            _change("status", f'"{status}"'),
            _change("members", '["' + '","'.join(masked_ids[number]) + '"]'),
        ]
        if household.dibao is not None:
            changes.append(_change("dibao", f'"{household.dibao}"'))
        if household.tekun:
            changes.append(_change("tekun", "true"))
        if migrated:
            changes.append(_change("base_status", f'"{base}"'))
            changes.append(_change("monitoring_origin", '"migration"'))
            if household.monitoring_since is not None:
                changes.append(_change("monitoring_since", f'"{household.monitoring_since.isoformat()}"'))
            if household.risk_types:
                changes.append(_change("risk_types", json.dumps(list(household.risk_types))))
        for name in (
            "poverty_cause",
            "registered_year",
            "lifted_out_year",
            "resettlement_site",
            "grid_code",
            "account_holder",
            "bank_name",
        ):
            value = getattr(household, name)
            if value is not None:
                changes.append(_change(name, json.dumps(value, ensure_ascii=False)))
        if household.other_causes:
            changes.append(_change("other_causes", json.dumps(list(household.other_causes))))
        if household.relocated:
            changes.append(_change("relocated", "true"))
        if phone_masked:
            changes.append(_change("phone", f'"{phone_masked}"'))
        if account_masked:
            changes.append(_change("bank_account", f'"{account_masked}"'))
        if insured:
            changes.append(_change("insured_years", f"[{insured[0]}]"))
        cadre = household.cadre
        if cadre is not None:
            cadre_masked = mask_phone(cadre.phone)
            plan.cadres.append(
                (
                    next(cadre_ids),
                    county,
                    household_id,
                    cadre.name,
                    cadre.work_unit,
                    cadre.affiliation,
                    next(sealed_cadre_phones),
                    next(cadre_indexes),
                    cadre_masked,
                    cadre.start_date,
                    cadre.end_date,
                    actor.sub,
                )
            )
            view = {
                "name": cadre.name,
                "work_unit": cadre.work_unit,
                "affiliation": cadre.affiliation,
                "phone": cadre_masked,
                "start_date": cadre.start_date.isoformat(),
                "end_date": cadre.end_date.isoformat() if cadre.end_date else None,
            }
            changes.append(_change("cadre", json.dumps(view, ensure_ascii=False)))
        for entry in (household.income, extra_incomes.get(number) if extra_incomes else None):
            if entry is not None:
                plan.incomes.append(
                    (
                        household_id,
                        entry.income_year,
                        county,
                        entry.wage_income,
                        entry.business_income,
                        entry.property_income,
                        entry.transfer_income,
                        entry.production_costs,
                    )
                )
                changes.append(_change(f"incomes.{entry.income_year}.net_income", f'"{entry.net_income:f}"'))
        plan.history.append(
            (
                household_id,
                county,
                "household",
                history.action,
                "[" + ",".join(changes) + "]",
                history.reason,
                history.on,
                actor.sub,
                actor_role,
                actor.region,
                history.request_id,
            )
        )
    return plan


@dataclass
class BulkSummary:
    households: int = 0
    members: int = 0
    households_without_head: int = 0
    monitored: int = 0


async def write(
    repo: HouseholdRepository,
    rows: Sequence[MemberRow],
    indexes: Sequence[bytes],
    *,
    pii: PiiCipher,
    job_id: uuid.UUID | None,
    history: HistoryContext,
    extra_incomes: Mapping[str, IncomeRow] | None = None,
) -> BulkSummary:
    """COPY `rows` into household, member, income and household_history, in the repository session's
    transaction (foreign-key order)."""
    if not rows:
        return BulkSummary()
    with collector_paused():
        plan = await asyncio.to_thread(
            plan_records, rows, indexes, pii=pii, job_id=job_id, history=history, extra_incomes=extra_incomes
        )
        return await write_plan(repo, plan)


async def write_plan(repo: HouseholdRepository, plan: BulkPlan) -> BulkSummary:
    """COPY a planned bulk write (see `write`)."""
    if not plan.rows:
        return BulkSummary()
    with collector_paused():
        await repo.copy_records("household", HOUSEHOLD_COLUMNS, plan.households)
        await repo.copy_records("member", MEMBER_COLUMNS, plan.members())
        # the same transaction: a person active elsewhere (claimed since the check) fails the whole COPY
        await repo.copy_records("person_claim", PERSON_CLAIM_COLUMNS, plan.person_claims())
        if plan.incomes:
            await repo.copy_records("income", INCOME_COLUMNS, plan.incomes)
        if plan.cadres:
            await repo.copy_records("household_cadre", CADRE_COLUMNS, plan.cadres)
        await repo.copy_records("household_history", HISTORY_COLUMNS, plan.history)
    return BulkSummary(len(plan.households), len(plan.rows), plan.households_without_head, plan.monitored)


def group_by_household(rows: Sequence[MemberRow]) -> dict[str, list[int]]:
    """Positions of the rows of each household (a household's rows may be anywhere in the file)."""
    groups: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        groups.setdefault(row.household.household_number, []).append(position)
    return groups
