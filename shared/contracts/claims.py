"""The claims service's contract with screening: claim leads (理赔线索).

`POST /v1/claims/leads` on claims (roles: service) with `ClaimLead`; idempotent by
`source_record_id` (the same lead twice makes one claim) and by `Idempotency-Key`.
Answers 201 with `ClaimLeadAccepted` for a new claim, 200 with the existing claim's id for a repeat.

SQL read contract (for screening's monitoring ledger, rules.md §1.5), owned by claims:

`claims.payment_paid_v1` — one row per confirmed payment:
    payment_id uuid, claim_id uuid, county_code text(6), township_code text(9), village_code text(12),
    household_id uuid, category text, amount numeric(14,2), paid_date date

Feed kind → category: medical_expense → illness; school_admission → school_entry;
disaster_loss, accident → disaster_accident; industry_loss → industry_loss; a screening run's
income_drop code → income_drop.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from shared.contracts.types import Code, ContractModel, CountyCode, IdText, VillageCode

Category = Literal["illness", "disaster_accident", "school_entry", "in_school", "income_drop", "industry_loss"]

FEED_KIND_TO_CATEGORY: dict[str, Category] = {
    "medical_expense": "illness",
    "school_admission": "school_entry",
    "disaster_loss": "disaster_accident",
    "accident": "disaster_accident",
    "industry_loss": "industry_loss",
}


class LeadEvidence(ContractModel):
    department: Code | None = None
    batch_id: UUID | None = None
    feed_record_id: UUID | None = None
    run_id: UUID | None = None
    kind: Code = Field(examples=["medical_expense"])


class ClaimLead(ContractModel):
    source: Literal["feed", "screening_run"]
    source_record_id: IdText = Field(
        examples=["medical_insurance:YB-2026-03-000123"],
        description="unique per lead: `<department>:<source_record_id>` or `run:<run>:<household>`",
    )
    household_id: UUID
    member_id: UUID | None = None
    county_code: CountyCode
    village_code: VillageCode
    category: Category
    incident_date: date
    reported_date: date
    expense: dict[str, str] = Field(
        default_factory=dict,
        description="the category's expense facts as decimal strings (illness: total_cost, basic_insurance_paid, …; "
        "school_entry: level)",
    )
    evidence: LeadEvidence


class ClaimLeadAccepted(BaseModel):
    claim_id: UUID
    created: bool
