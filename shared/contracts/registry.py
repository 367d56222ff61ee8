"""The registry's contract with screening and claims.

HTTP (interactive, per household):
- `GET  /v1/households/{id}/facts?as_of=YYYY-MM-DD` → `HouseholdFacts` (roles: service,
  insurer_adjuster, county/township officers, village cadre in scope). Claims freezes it on a claim.
- `POST /v1/households/{id}/bank-account:reveal` with `RevealRequest` → `BankAccountReveal`
  (roles: service only; audited).
- `PUT  /v1/households/{id}/monitoring-status` with `MonitoringStatusChange` → `MonitoringStatusRead`
  (roles: service, county_officer; idempotent by `Idempotency-Key` and by (case_id, action)).
- `POST /v1/households/{id}/benefits` with `BenefitCreate` → `BenefitRead` (roles: service,
  county_officer; idempotent by `Idempotency-Key` and by (source, source_ref)); counted as transfer
  income of `year`.
- `POST /v1/members:resolve` with `ResolveRequest` → `ResolveResponse` (roles: service,
  department_feeder, county_officer).
- `GET  /v1/regions/{code}` → the region's `code` and `name` (any authenticated role; claims prints the
  county, township and village names on its public notice).

SQL read contracts (set-based, for screening runs and claims' insured count; owned and versioned by the
registry; claims brings a year's insured households, `insured_years` and `member_count` below, into its
enrolments from household_snapshot_v1: the registry is the one truth of "insured in year Y"):

`registry.household_snapshot_v1` — one row per non-archived household:
    household_id uuid, household_number text, county_code text(6), township_code text(9),
    village_code text(12), status text, member_count int (active members),
    labour_count int (active members with labour_ability normal or weak),
    income_year int (latest year with an income record, null if none),
    annual_net_income numeric(14,2) (that year: wage + business + property + transfer
    + benefits recorded for that year − production_costs), previous_annual_net_income
    numeric(14,2) (the year before income_year; null if none), dibao text null (A/B/C),
    tekun bool, negative_list bool, insured_years int[]
    (income_* are the latest on record today; a screening run reads incomes as of its period from
    household_income_v1 below, and only the other columns from here)

`registry.household_income_v1` — one row per version of a household's annual net income
(migration 0006):
    household_id uuid, county_code text(6), year int, net_income numeric(14,2) (that year's
    wage + business + property + transfer + benefits recorded for that year − production_costs,
    as annual_net_income above), valid_from timestamptz, valid_to timestamptz null
    (net_income was the registry's value for that year from valid_from, inclusive, to valid_to,
    exclusive; null: the current value; database clock). The value as of T:
    `valid_from <= T AND (valid_to IS NULL OR valid_to > T)`; a year deleted from the registry keeps
    its versions, none current. Earlier versions are kept by the registry (a trigger on
    registry.income records a value when an UPDATE changes it or a DELETE removes it). Rows of
    archived households are included: join with household_snapshot_v1. Filter by county_code.
    Screening (rules.md §1.3 "Precisely") takes I = the latest year ≤ P's year as of the first run's
    cutoff, I_prev = the year just before it.

`registry.member_identity_v1` — one row per membership:
    member_id uuid, household_id uuid, county_code text(6), national_id_index bytea
    (PiiCipher.blind_index(id, purpose="national_id")), active bool, birth_date date,
    labour_ability text, education_stage text

Screening computes the same blind index with the shared PII index key and joins feed records to
members in SQL; no plain ID crosses the boundary in bulk.

`registry.member_care_v1` — one row per active member of a household not archived (migration
0014_care; reader: screening's 兜底 suggestions, rules.md §4):
    member_id uuid, household_id uuid, county_code text(6), township_code text(9), village_code
    text(12), household_status text, birth_date date, health text (healthy / chronic /
    serious_illness / disabled), disability_grade smallint (1–4, null), labour_ability text

`registry.region_v1` — one row per region of the tree (migration 0015_adjustments; readers:
screening's names beside codes in the ledger's household sheet and the monthly adjustment list):
    code text (the significant code that households, cases and tokens carry: 6 digits a county, 9 a
    township, 12 a village, 2 a province, 4 a city; registry.region keeps the 12-digit form),
    name text, level text (province / city / county / township / village), parent_code text null
    (the parent's significant code)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.types import Code, ContractModel, IdText, Line, PositiveMoney, Year, string_rule

_Purpose = Annotated[str, Field(min_length=4, max_length=500), string_rule(multiline=True, max_length=500)]
_Reason = Annotated[str, Field(min_length=1, max_length=500), string_rule(multiline=True, max_length=500)]
_NationalId = Annotated[str, Field(min_length=1, max_length=40), string_rule(multiline=False, max_length=40)]

HouseholdStatus = Literal["ordinary", "lifted_out", "unstable", "marginal", "sudden_hardship"]
MonitoringType = Literal["unstable", "marginal", "sudden_hardship"]


class MemberFacts(BaseModel):
    member_id: UUID
    name: str
    national_id_masked: str
    sex: Literal["male", "female"] | None = None
    birth_date: date | None = None
    relation: str | None = None
    labour_ability: str | None = None
    education_stage: str | None = None
    active: bool = True


class HouseholdFacts(BaseModel):
    household_id: UUID
    household_number: str
    county_code: str
    village_code: str
    status: HouseholdStatus
    member_count: int
    labour_count: int
    income_year: int | None
    annual_net_income: Decimal | None = Field(description="latest year's household net income (元)")
    previous_annual_net_income: Decimal | None
    negative_list: bool
    negative_list_reason: str | None = None
    insured_years: list[int] = Field(default_factory=list)
    has_bank_account: bool = False
    bank_account_masked: str | None = None
    members: list[MemberFacts] = Field(default_factory=list)


class RevealRequest(ContractModel):
    purpose: _Purpose = Field(examples=["claim payment 理赔支付 (claim 7f3…)"])


class BankAccountReveal(BaseModel):
    household_id: UUID
    bank_account: str = Field(examples=["6222021234567890123"])
    bank_name: str | None = None
    account_holder: str | None = None


class MonitoringStatusChange(ContractModel):
    action: Literal["set", "clear"]
    monitoring_type: MonitoringType | None = Field(default=None, description="required when action=set")
    case_id: UUID
    reason: _Reason
    effective_date: date


class MonitoringStatusRead(BaseModel):
    household_id: UUID
    status: HouseholdStatus
    monitoring_case_id: UUID | None
    version: int


class BenefitCreate(ContractModel):
    source: Code = Field(examples=["claims"], description="the programme or service that paid")
    source_ref: IdText = Field(
        examples=["3f6c1b2a-8d4e-4c7a-9b1f-2e5d6a7c8b90"],
        description="the payer's id for this payment, unique per source",
    )
    programme: Annotated[Line, Field(max_length=100)] = Field(
        examples=["anti_poverty_insurance"], description="防贫保险 etc."
    )
    category: Code | None = Field(default=None, examples=["illness"])
    amount: PositiveMoney = Field(description="yuan, a decimal string with at most two places")
    paid_date: date
    year: Year = Field(description="the income year it counts for (转移性收入)")


class BenefitRead(BenefitCreate):
    model_config = ConfigDict(extra="ignore")

    id: UUID
    household_id: UUID


class ResolveRequest(ContractModel):
    national_ids: list[_NationalId] = Field(max_length=10000)


class ResolvedMember(BaseModel):
    national_id_masked: str
    member_id: UUID | None
    household_id: UUID | None
    county_code: str | None


class ResolveResponse(BaseModel):
    results: list[ResolvedMember]
