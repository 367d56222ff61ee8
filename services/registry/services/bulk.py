"""Bulk writes (imports, demo data): validated rows → COPY records → the registry tables.

Everything here is set-based: the blind indexes and ciphertexts are computed in one pass (in a
worker thread, off the event loop), the rows go in with `COPY` (asyncpg
`copy_records_to_table`) in the caller's transaction, and one history entry per household
records the import. No per-row SQL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.registry.db.repository import RegistryRepository
from services.registry.domain.import_rows import HouseholdRow, MemberRow
from services.registry.domain.model import Relation
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
INCOME_COLUMNS = (
    "household_id", "year", "county_code", "wage_income", "business_income", "property_income", "transfer_income",
    "production_costs",
)
HISTORY_COLUMNS = (
    "household_id", "county_code", "entity_type", "action", "changes", "reason", "effective_date", "actor_sub",
    "actor_role", "actor_region", "request_id",
)

NATIONAL_ID = "national_id"


def mask_id(value: str) -> str:
    return value[:6] + "********" + value[14:]


def blind_indexes(pii: PiiCipher, national_ids: Sequence[str]) -> list[bytes]:
    index = pii.blind_index
    return [index(v, purpose=NATIONAL_ID) for v in national_ids]


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
    actor: Principal,
    request_id: str | None,
    reason: str,
    on: date,
    action: str = "household.import",
) -> BulkRecords:
    """COPY records for `rows` (valid member rows, grouped into households by their HouseholdRow).

    CPU-bound (AES-GCM for every ID number, bank account and phone): run it in a worker thread.
    """
    encrypt = pii.encrypt
    out = BulkRecords()
    household_ids: dict[str, uuid.UUID] = {}
    heads: dict[str, uuid.UUID] = {}
    masked_ids: dict[str, list[str]] = {}
    order: list[HouseholdRow] = []
    uuid4 = uuid.uuid4
    head = Relation.head
    members = out.members
    for row, index in zip(rows, indexes, strict=True):
        household = row.household
        number = household.household_number
        household_id = household_ids.get(number)
        if household_id is None:
            household_id = household_ids[number] = uuid4()
            order.append(household)
            masked_ids[number] = []
        member_id = uuid4()
        if row.relation is head:
            heads[number] = member_id
        nid = row.national_id
        masked = nid[:6] + "********" + nid[14:]
        masked_ids[number].append(masked)
        members.append(
            (
                member_id, household_id, household.village_code[:6], row.member_name,
                encrypt(nid, purpose=NATIONAL_ID), index, masked, row.sex.value, row.birth_date, row.relation.value,
                row.health.value, row.disability_grade, row.labour_ability.value,
                row.education_stage.value if row.education_stage is not None else None, row.school,
                row.join_reason.value, None, job_id,
            )
        )
    actor_role = actor.primary_role.value
    for household in order:
        number = household.household_number
        household_id = household_ids[number]
        county = household.village_code[:6]
        status = household.household_status.value
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
                encrypt(phone, purpose="phone") if phone else None, phone_masked, status, status,
                household.dibao.value if household.dibao is not None else None, household.tekun, False,
                encrypt(account, purpose="bank_account") if account else None, account_masked, insured, head_id,
                job_id,
            )
        )
        income = household.income
        if income is not None:
            out.incomes.append(
                (
                    household_id, income.income_year, county, income.wage_income, income.business_income,
                    income.property_income, income.transfer_income, income.production_costs,
                )
            )
        changes = [
            {"field": "household_number", "before": None, "after": number},
            {"field": "village_code", "before": None, "after": household.village_code},
            {"field": "status", "before": None, "after": status},
            {"field": "members", "before": None, "after": masked_ids[number]},
        ]
        if household.dibao is not None:
            changes.append({"field": "dibao", "before": None, "after": household.dibao.value})
        if household.tekun:
            changes.append({"field": "tekun", "before": None, "after": True})
        if phone_masked:
            changes.append({"field": "phone", "before": None, "after": phone_masked})
        if account_masked:
            changes.append({"field": "bank_account", "before": None, "after": account_masked})
        if insured:
            changes.append({"field": "insured_years", "before": None, "after": insured})
        if income is not None:
            changes.append({"field": f"incomes.{income.income_year}.net_income", "before": None,
                            "after": format(income.net_income, "f")})
        out.history.append(
            (
                household_id, county, "household", action, json.dumps(changes, ensure_ascii=False), reason, on,
                actor.sub, actor_role, actor.region, request_id,
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
