"""Wire models of the claims API: money as decimal strings with two places, ids as UUIDs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from services.claims.domain.reference import REFERENCE_SCHEME
from shared.contracts.claims import Category
from shared.contracts.types import Code, IdText, MoneyOut, Text, WireModel
from shared.contracts.types import CountyCode as CountyCode
from shared.contracts.types import Money as MoneyIn
from shared.contracts.types import TownshipCode as TownshipCode
from shared.contracts.types import VillageCode as VillageCode
from shared.errors import FieldError

# Money, codes and the string rule are the kernel's (shared/contracts/types.py): one definition for the
# three services. `Money` here is what the service shows (two places), `MoneyIn` what it accepts.
Money = MoneyOut


class Strict(WireModel):
    """Base of the claims request models: unknown fields refused, every string under the boundary rule."""


# ---------------------------------------------------------------- schemes

SchemeStatus = Literal["active", "draft"]


class SchemeRead(BaseModel):
    code: str = Field(examples=["reference-2026"])
    version: int = Field(description="the version shown; also the ETag")
    latest_version: int
    status: SchemeStatus
    county_code: str
    year: int
    used: bool = Field(description="an assessment used this version: it can never change")
    scheme: dict[str, Any] = Field(description="the scheme as in rules.md §2.1", examples=[REFERENCE_SCHEME])
    created_at: datetime


class SchemeSummary(BaseModel):
    code: str = Field(examples=["reference-2026"])
    latest_version: int
    status: SchemeStatus
    county_code: str
    year: int
    updated_at: datetime


class SchemeVersionSummary(BaseModel):
    version: int
    used: bool
    created_at: datetime


# ---------------------------------------------------------------- enrolments


class EnrolledHousehold(Strict):
    household_id: UUID
    village_code: VillageCode
    insured_people: StrictInt = Field(ge=1, le=1000, description="people covered (the premium is per person)")


class PoolShare(Strict):
    township_code: TownshipCode
    insured_people: StrictInt = Field(
        ge=1, le=10_000_000, description="notional insured people bought for the township"
    )


class EnrolmentCreate(Strict):
    scheme_code: Code = Field(examples=["reference-2026"])
    households: list[EnrolledHousehold] = Field(default_factory=list, max_length=20_000)
    pool: list[PoolShare] = Field(
        default_factory=list,
        max_length=1000,
        description="all_rural schemes: the notional insured population per township (premium pool)",
    )


class EnrolmentResult(BaseModel):
    scheme_code: str
    year: int
    enrolled: int = Field(description="households newly enrolled")
    already_enrolled: int = Field(description="households that were enrolled already (nothing changed)")
    pool_rows: int


class TownshipPremium(BaseModel):
    township_code: str
    households: int
    insured_people: int
    premium: Money


class EnrolmentSummary(BaseModel):
    scheme_code: str
    county_code: str
    year: int
    pool_mode: str = Field(examples=["enrolled"])
    premium_per_person: Money
    townships: list[TownshipPremium]
    households: int
    insured_people: int
    premium: Money


class EnrolmentRead(BaseModel):
    id: UUID
    scheme_code: str
    year: int
    household_id: UUID | None
    township_code: str
    village_code: str | None
    insured_people: int
    premium: Money
    created_at: datetime


# ---------------------------------------------------------------- preview

_PREVIEW_FACTS_EXAMPLE: dict[str, Any] = {
    "category": "illness",
    "household": {
        "status": "unstable",
        "members": 4,
        "annual_net_income": "30000.00",
        "previous_annual_net_income": "36000.00",
        "insured": True,
        "negative_list": False,
    },
    "incident_date": "2026-03-05",
    "reported_date": "2026-03-20",
    "expense": {
        "total_cost": "120000.00",
        "non_compliant_cost": "5000.00",
        "basic_insurance_paid": "60000.00",
        "critical_illness_paid": "15000.00",
        "medical_assistance_paid": "5000.00",
        "other_compensation": "0",
    },
    "prior": {"category_base": "0", "category_paid": "0", "household_paid": "0", "same_student_level_paid": False},
}


class PreviewRequest(Strict):
    scheme: dict[str, Any] | None = Field(default=None, description="a full scheme inline (a draft is fine)")
    scheme_code: Code | None = Field(default=None, description="or a stored scheme's code")
    scheme_version: StrictInt | None = Field(default=None, ge=1, description="with scheme_code; default the latest")
    facts: dict[str, Any] = Field(examples=[_PREVIEW_FACTS_EXAMPLE])

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"scheme_code": "reference-2026", "facts": _PREVIEW_FACTS_EXAMPLE}]},
    )


class SchemeRef(BaseModel):
    code: str = Field(examples=["reference-2026"])
    version: int


class PreviewResponse(BaseModel):
    eligible: bool
    payout: Money
    rejection_code: str | None
    breakdown: dict[str, Any]
    explanation: list[str] = Field(
        examples=[["自付医疗费用 60000.00 元，扣除起付线 5000.00 元后按 60% 赔付"]],
        description="the breakdown as lines a cadre can read (中文 / English)",
    )
    scheme: SchemeRef


# ---------------------------------------------------------------- claims

ClaimState = Literal[
    "reported",
    "investigating",
    "investigated",
    "village_reviewed",
    "township_reviewed",
    "filed",
    "assessed",
    "in_notice",
    "approved",
    "paying",
    "paid",
    "payment_failed",
    "rejected",
]


class ClaimCreate(Strict):
    """An application entered by a cadre (村干部代为申请)."""

    household_id: UUID
    member_id: UUID | None = Field(default=None, description="the person concerned (patient, student, victim)")
    category: Category
    incident_date: date
    reported_date: date | None = Field(default=None, description="default: today")
    expense: dict[str, Any] = Field(
        default_factory=dict,
        description="the category's expense facts as decimal strings; school_entry: level (and student_member_id)",
        examples=[{"total_cost": "120000.00", "basic_insurance_paid": "60000.00"}],
    )
    comment: Text | None = None


class AssessmentSummary(BaseModel):
    id: UUID
    eligible: bool
    payout: Money
    rejection_code: str | None
    scheme_code: str
    scheme_version: int
    created_at: datetime


class PaymentSummary(BaseModel):
    id: UUID
    status: str = Field(examples=["pending"])
    amount: Money
    attempts: int
    paid_date: date | None


class ClaimRead(BaseModel):
    id: UUID
    state: ClaimState
    version: int = Field(description="also the ETag; send it as If-Match on a transition to detect races")
    category: Category
    source: Literal["feed", "screening_run", "application"]
    source_record_id: str | None
    household_id: UUID
    member_id: UUID | None
    county_code: str
    township_code: str
    village_code: str
    incident_date: date
    reported_date: date
    expense: dict[str, Any]
    facts_status: Literal["ready", "pending"] = Field(
        description="pending: accepted from a lead while the registry was unreachable; fetched before investigation"
    )
    household_facts: dict[str, Any] | None = Field(description="the registry's facts, frozen at intake (IDs masked)")
    rejection_code: str | None
    assessment: AssessmentSummary | None
    notice_id: UUID | None
    payment: PaymentSummary | None
    allowed_actions: list[str] = Field(
        examples=[["start_investigation", "reject"]], description="what the caller may do next (for apps)"
    )
    created_at: datetime
    updated_at: datetime


class TransitionCreate(Strict):
    action: Literal[
        "start_investigation",
        "complete_investigation",
        "village_review",
        "township_review",
        "file",
        "assess",
        "publish_notice",
        "approve",
        "approve_override",
        "reject",
        "return",
    ]
    comment: Text | None = None
    reason_code: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[a-z0-9_]+$",
        description="required to reject",
        examples=["fraudulent_documents"],
    )
    evidence: dict[str, Any] = Field(
        default_factory=dict,
        description="the step's evidence: complete_investigation needs `findings`, village_review `vote_result`",
        examples=[{"findings": "入户核查属实 visited 2026-03-22", "photos": ["f1.jpg"]}],
    )


class TransitionRead(BaseModel):
    id: int
    action: str = Field(examples=["start_investigation"])
    from_state: str | None = Field(examples=["reported"])
    to_state: str = Field(examples=["investigating"])
    actor_sub: str | None
    actor_role: str | None
    actor_region: str | None
    comment: str | None
    reason_code: str | None
    evidence: dict[str, Any]
    at: datetime


class AssessmentVerification(BaseModel):
    """The active assessment run again from what is stored (GET …/assessments/verification)."""

    assessment_id: str
    stored_payout: str
    recomputed_payout: str
    same: bool


class AssessmentRead(BaseModel):
    id: UUID
    claim_id: UUID
    status: Literal["active", "superseded"]
    eligible: bool
    payout: Money
    rejection_code: str | None
    scheme_code: str
    scheme_version: int
    base_added: Money
    facts: dict[str, Any] = Field(description="the engine's input as stored: facts and year-to-date prior")
    breakdown: dict[str, Any]
    explanation: list[str] = Field(examples=[["自付医疗费用 60000.00 元，扣除起付线 5000.00 元后按 60% 赔付"]])
    created_at: datetime


class TransitionResult(BaseModel):
    claim: ClaimRead
    transition: TransitionRead
    assessment: AssessmentRead | None = None


# ---------------------------------------------------------------- notices


class NoticeCreate(Strict):
    village_code: VillageCode


class NoticeEntry(BaseModel):
    claim_id: UUID
    status: Literal["listed", "approved", "withdrawn"]
    claim_state: str = Field(examples=["in_notice"])
    category: str = Field(examples=["illness"])
    household_head: str | None = Field(description="masked name (张**)")
    person: str | None = Field(description="the member concerned, masked")
    national_id: str | None = Field(description="masked ID (410602********1234)")
    payout: Money | None


class NoticeScheme(BaseModel):
    """The scheme behind a notice's payouts, with its insurer (承保机构) when the scheme names one."""

    code: str = Field(examples=["reference-2026"])
    version: int
    insurer: str | None
    policy_number: str | None
    contract_start: date | None
    contract_end: date | None


class NoticeRead(BaseModel):
    id: UUID
    county_code: str
    township_code: str
    village_code: str
    published_on: date
    notice_days: int
    last_day: date
    window_open: bool
    status: Literal["open", "closed"]
    entries: list[NoticeEntry]
    schemes: list[NoticeScheme] = Field(
        default_factory=list, description="the scheme versions the listed payouts were assessed under"
    )
    open_objections: int
    created_at: datetime


class ObjectionCreate(Strict):
    claim_id: UUID
    objector: Annotated[IdText, Field(max_length=100)] | None = Field(
        default=None, description="who objects (stored encrypted)"
    )
    reason: str = Field(min_length=2, max_length=2000)


class ObjectionDecision(Strict):
    decision: Literal["upheld", "dismissed"]
    comment: str = Field(min_length=2, max_length=2000)


class ObjectionRead(BaseModel):
    id: UUID
    notice_id: UUID
    claim_id: UUID
    objector: str | None = Field(description="masked")
    reason: str
    status: Literal["open", "upheld", "dismissed"]
    filed_by: str | None
    filed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_comment: str | None


class AdvanceResult(BaseModel):
    today: date
    approved: int
    waiting_on_objections: int
    notices_closed: int


# ---------------------------------------------------------------- payments


class BatchCreate(Strict):
    claim_ids: list[UUID] = Field(min_length=1, max_length=5000)
    declared_count: StrictInt = Field(ge=1)
    declared_total: MoneyIn


class PaymentRead(BaseModel):
    id: UUID
    claim_id: UUID
    batch_id: UUID
    household_id: UUID
    category: str = Field(examples=["illness"])
    amount: Money
    status: Literal["pending", "paid", "failed"]
    attempts: int
    bank_account: str = Field(examples=["6222 **** **** 0123"], description="masked")
    bank_name: str | None
    failure_reason: str | None
    bank_reference: str | None
    paid_date: date | None
    created_at: datetime
    updated_at: datetime


class BatchRead(BaseModel):
    id: UUID
    county_code: str
    declared_count: int
    declared_total: Money
    status: Literal["created", "reconciled"]
    payments: list[PaymentRead]
    created_at: datetime


class PaymentConfirmation(Strict):
    status: Literal["paid", "failed"]
    paid_date: date | None = Field(default=None, description="required when paid")
    bank_reference: IdText | None = None
    reason: Annotated[Text, Field(max_length=500)] | None = Field(default=None, description="required when failed")


class ConfirmationOutcome(BaseModel):
    payment: PaymentRead
    changed: bool = Field(description="false when this confirmation had already been applied")


class ReconciliationReport(BaseModel):
    batch_id: UUID
    rows: int
    paid: int
    failed: int
    unchanged: int
    errors: list[FieldError]
    batch_status: Literal["created", "reconciled"]


# ---------------------------------------------------------------- simulations


class SimulationCreate(Strict):
    county_code: CountyCode
    year: StrictInt = Field(ge=2000, le=2100)
    scheme: dict[str, Any] | None = Field(default=None, description="a draft scheme inline")
    scheme_code: Code | None = None
    scheme_version: StrictInt | None = Field(default=None, ge=1)


class JobProgress(BaseModel):
    done: int
    total: int


class SimulationRead(BaseModel):
    id: UUID
    status: Literal["queued", "running", "succeeded", "failed"]
    county_code: str
    year: int
    progress: JobProgress
    errors: list[Any] = Field(examples=[[]])
    result: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None
