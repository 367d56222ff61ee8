"""Bulk writes (imports, demo data): validated rows → COPY records → the registry tables.

Everything here is set-based: the blind indexes and ciphertexts are computed in one pass (in a
worker thread, off the event loop), the rows go in with `COPY` (asyncpg
`copy_records_to_table`) in the caller's transaction, and one history entry per household
records the import. No per-row SQL.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.registry.db.repository import RegistryRepository
from services.registry.domain.import_rows import HouseholdRow, IncomeRow, MemberRow
from services.registry.domain.model import Relation
from services.registry.services.ids import uuid7_batch
from shared.auth import Principal
from shared.pii import PiiCipher, mask_bank_account, mask_phone

HOUSEHOLD_COLUMNS = (
    "id", "county_code", "township_code", "village_code", "household_number", "address", "phone_enc", "phone_masked",
    "status", "base_status", "dibao", "tekun", "negative_list", "bank_account_enc", "bank_account_masked",
    "insured_years", "head_member_id", "import_job_id",
)
MEMBER_COLUMNS = (
    "id", "household_id", "county_code", "name", "national_id_enc", "national_id_index", "national_id_masked", "sex",
    "birth_date", "relation", "health", "disability_grade", "labour_ability", "education_stage", "school",
    "join_reason", "joined_on", "import_job_id",
)
HISTORY_COLUMNS = (
    "household_id", "county_code", "entity_type", "action", "changes", "reason", "effective_date", "actor_sub",
    "actor_role", "actor_region", "request_id",
)
INCOME_COLUMNS = (
    "household_id", "year", "county_code", "wage_income", "business_income", "property_income", "transfer_income",
    "production_costs",
)

NATIONAL_ID = "national_id"


def mask_id(value: str) -> str:
    return value[:6] + "********" + value[14:]


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while bulk records are built.

    A bulk write makes a few hundred thousand tuples that hold no cycles; with the collector on,
    each young-generation pass re-examines them and the parsed rows (measured: the build took
    twice as long). Nested and concurrent users are counted; the last one out restores it.
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
class BulkRecords:
    households: list[tuple[Any, ...]] = field(default_factory=list)
    members: list[tuple[Any, ...]] = field(default_factory=list)
    incomes: list[tuple[Any, ...]] = field(default_factory=list)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    households_without_head: int = 0


def build_records(
    rows: Sequence[MemberRow],
    indexes: Sequence[bytes],
    *,
    pii: PiiCipher,
    job_id: uuid.UUID | None,
    history: HistoryContext,
    extra_incomes: Mapping[str, IncomeRow] | None = None,
) -> BulkRecords:
    """COPY records for `rows` (valid member rows, grouped into households by their HouseholdRow).

    CPU-bound (AES-GCM for every ID number, bank account and phone): run it in a worker thread.
    `extra_incomes` adds a second income year per household number (demo data).
    """
    out = BulkRecords()
    sealed_ids = iter(pii.encrypt_many([row.national_id for row in rows], purpose=NATIONAL_ID))
    household_ids: dict[str, uuid.UUID] = {}
    heads: dict[str, uuid.UUID] = {}
    masked_ids: dict[str, list[str]] = {}
    order: list[HouseholdRow] = []
    head = Relation.head
    members = out.members
    numbers = {row.household.household_number for row in rows}
    new_household_ids = iter(uuid7_batch(len(numbers)))
    member_ids = iter(uuid7_batch(len(rows)))
    for row, index in zip(rows, indexes, strict=True):
        household = row.household
        number = household.household_number
        household_id = household_ids.get(number)
        if household_id is None:
            household_id = household_ids[number] = next(new_household_ids)
            order.append(household)
            masked_ids[number] = []
        member_id = next(member_ids)
        if row.relation is head:
            heads[number] = member_id
        nid = row.national_id
        masked = nid[:6] + "********" + nid[14:]
        masked_ids[number].append(masked)
        members.append(
            (
                member_id, household_id, household.village_code[:6], row.member_name,
                # enum members are str subclasses holding their value: passed as they are
                next(sealed_ids), index, masked, row.sex, row.birth_date, row.relation,
                row.health, row.disability_grade, row.labour_ability, row.education_stage, row.school,
                row.join_reason, None, job_id,
            )
        )
    actor = history.actor
    actor_role = actor.primary_role.value
    phones = [h.phone for h in order if h.phone]
    accounts = [h.bank_account for h in order if h.bank_account]
    sealed_phones = iter(pii.encrypt_many(phones, purpose="phone"))
    sealed_accounts = iter(pii.encrypt_many(accounts, purpose="bank_account"))
    for household in order:
        number = household.household_number
        household_id = household_ids[number]
        county = household.village_code[:6]
        status = household.household_status
        phone = household.phone
        account = household.bank_account
        head_id = heads.get(number)
        if head_id is None:
            out.households_without_head += 1
        phone_masked = mask_phone(phone) if phone else None
        account_masked = mask_bank_account(account) if account else None
        insured = [household.insured_year] if household.insured_year else []
        out.households.append(
            (
                household_id, county, household.village_code[:9], household.village_code, number, household.address,
                next(sealed_phones) if phone else None, phone_masked, status, status,
                household.dibao, household.tekun, False,
                next(sealed_accounts) if account else None, account_masked, insured, head_id,
                job_id,
            )
        )
        # The history entry's JSON, written out directly (json.dumps per household was a third of
        # the build time; building it in SQL cost the database more than it saved here): every value
        # is ASCII by construction except the household number.
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
        if phone_masked:
            changes.append(_change("phone", f'"{phone_masked}"'))
        if account_masked:
            changes.append(_change("bank_account", f'"{account_masked}"'))
        if insured:
            changes.append(_change("insured_years", f"[{insured[0]}]"))
        for entry in (household.income, extra_incomes.get(number) if extra_incomes else None):
            if entry is not None:
                out.incomes.append(
                    (
                        household_id, entry.income_year, county, entry.wage_income, entry.business_income,
                        entry.property_income, entry.transfer_income, entry.production_costs,
                    )
                )
                changes.append(_change(f"incomes.{entry.income_year}.net_income", f'"{entry.net_income:f}"'))
        out.history.append(
            (
                household_id, county, "household", history.action, "[" + ",".join(changes) + "]", history.reason,
                history.on, actor.sub, actor_role, actor.region, history.request_id,
            )
        )
    return out


async def copy_records(repo: RegistryRepository, records: BulkRecords) -> None:
    """COPY the records in FK order, in the repository session's transaction."""
    await repo.copy_records("household", HOUSEHOLD_COLUMNS, records.households)
    await repo.copy_records("member", MEMBER_COLUMNS, records.members)
    if records.incomes:
        await repo.copy_records("income", INCOME_COLUMNS, records.incomes)
    await repo.copy_records("household_history", HISTORY_COLUMNS, records.history)


@dataclass
class BulkSummary:
    households: int = 0
    members: int = 0
    households_without_head: int = 0


def group_by_household(rows: Sequence[MemberRow]) -> dict[str, list[int]]:
    """Positions of the rows of each household (a household's rows may be anywhere in the file)."""
    groups: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        groups.setdefault(row.household.household_number, []).append(position)
    return groups


def chunk_by_household(
    rows: Sequence[MemberRow], indexes: Sequence[bytes], members_per_chunk: int = 12_000,
    groups: Iterable[list[int]] | None = None,
) -> list[tuple[list[MemberRow], list[bytes]]]:
    """Split rows into chunks of whole households (`groups`: the households' row positions to take;
    default: all of them)."""
    if groups is None:
        groups = group_by_household(rows).values()
    chunks: list[tuple[list[MemberRow], list[bytes]]] = []
    current_rows: list[MemberRow] = []
    current_indexes: list[bytes] = []
    for positions in groups:
        for position in positions:
            current_rows.append(rows[position])
            current_indexes.append(indexes[position])
        if len(current_rows) >= members_per_chunk:
            chunks.append((current_rows, current_indexes))
            current_rows, current_indexes = [], []
    if current_rows:
        chunks.append((current_rows, current_indexes))
    return chunks


CHUNK_MEMBERS = 12_000
Chunk = tuple[list[MemberRow], list[bytes]]


def start_build(chunk: Chunk, build: dict[str, Any]) -> asyncio.Future[BulkRecords]:
    """Build a chunk's records in a worker thread (a future the caller may await later)."""
    return asyncio.ensure_future(asyncio.to_thread(build_records, *chunk, **build))


async def write_pipelined(
    repo: RegistryRepository,
    rows: Sequence[MemberRow],
    indexes: Sequence[bytes],
    *,
    history: HistoryContext,
    members_per_chunk: int = CHUNK_MEMBERS,
    **build: Any,
) -> BulkSummary:
    """Build and COPY in chunks, overlapping the two: while PostgreSQL ingests chunk k (index
    maintenance, history, WAL: the database's core), a worker thread encrypts and builds chunk k+1
    (this process's core). All in the repository session's one transaction."""
    chunks = chunk_by_household(rows, indexes, members_per_chunk)
    return await write_chunks(repo, chunks, build={**build, "history": history})


async def write_chunks(
    repo: RegistryRepository,
    chunks: list[Chunk],
    *,
    build: dict[str, Any],
    first: asyncio.Future[BulkRecords] | None = None,
) -> BulkSummary:
    """COPY `chunks`, building each one while the one before is ingested. `first` may already be
    building chunk 0 (started while the caller was still checking the rows against the database)."""
    summary = BulkSummary()
    if not chunks:
        return summary
    with collector_paused():
        pending = first if first is not None else start_build(chunks[0], build)
        try:
            for position in range(len(chunks)):
                records = await pending
                if position + 1 < len(chunks):
                    pending = start_build(chunks[position + 1], build)
                await copy_records(repo, records)
                summary.households += len(records.households)
                summary.members += len(records.members)
                summary.households_without_head += records.households_without_head
        finally:
            if not pending.done():
                await asyncio.wait([pending])
    return summary
