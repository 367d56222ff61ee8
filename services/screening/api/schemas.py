"""Wire models of the screening API (what mobile apps and other systems code against)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.screening.domain.cases import CaseAction, CaseSource
from services.screening.domain.risk import RiskCode
from shared.contracts.types import CountyCode, Document, MoneyOut, Text, WireModel

CENT = Decimal("0.01")

Money = Annotated[MoneyOut, Field(description="yuan, a decimal string with two places", examples=["6000.00"])]
Text4000 = Annotated[Text, Field(max_length=4000)]
JobStatus = Literal["queued", "running", "succeeded", "failed", "rejected"]
MeasureType = Literal[
    "industry",
    "employment",
    "health",
    "education",
    "housing_safety",
    "drinking_water",
    "social_assistance",
    "insurance",
    "other",
]


class Progress(BaseModel):
    done: int
    total: int


class JobError(BaseModel):
    line: int | None = Field(default=None, description="line (JSON lines) or row (CSV) of the batch")
    source_record_id: str | None = None
    field: str = Field(examples=["amount"])
    message: str = Field(examples=["must be a decimal string like '1234.56'"])
    code: str = Field(examples=["invalid_money"])


# --- thresholds -----------------------------------------------------------------------------


class ThresholdValues(BaseModel):
    monitoring_line: str = Field(examples=["6000.00"], description="监测范围, yuan per person per year")
    medical_warning_line: str = Field(examples=["10000.00"])
    education_warning_line: str = Field(examples=["8000.00"])
    disaster_warning_line: str = Field(examples=["5000.00"])
    accident_warning_line: str = Field(examples=["5000.00"])
    industry_warning_line: str = Field(examples=["10000.00"])
    income_drop_ratio: str = Field(examples=["0.30"])
    notice_min_days: int = Field(examples=[5])
    identification_limit_working_days: int = Field(examples=[20])
    suggested_list_day: int = Field(examples=[10])
    illness_income_share: str = Field(examples=["0.5"])
    employment_line_factor: str = Field(examples=["1.5"])
    elimination_min_months: int = Field(examples=[6])
    elimination_lead_free_runs: int = Field(examples=[6])


class ThresholdRead(BaseModel):
    id: uuid.UUID
    county_code: str
    year: int
    version: int
    values: ThresholdValues
    sources: dict[str, str] = Field(description="source note (来源) of each value: [S] published, [A] demo default")
    note: str | None
    created_by: str | None
    created_at: datetime


class ThresholdWrite(WireModel):
    values: Document = Field(
        default_factory=dict,
        description="the values to set; decimals as strings. Unnamed values are kept from the current version "
        "(the first version needs the seven money/ratio lines of rules.md §1.1)",
        examples=[{"monitoring_line": "8700.00"}],
    )
    sources: dict[str, str] = Field(
        default_factory=dict,
        description="a source note for every value you set or change",
        examples=[{"monitoring_line": "[S] 云南省 2025 年监测范围"}],
    )
    note: Text | None = None


# --- feeds ----------------------------------------------------------------------------------


class BatchCounts(BaseModel):
    records: int = Field(description="records in the batch as sent")
    accepted: int = Field(description="valid, new records kept")
    duplicates: int = Field(description="source_record_id seen before: skipped")
    invalid: int
    matched: int
    unmatched: int = Field(description="matched no registered person or household: listed in result.unmatched")
    claim_leads: int = Field(description="claim leads sent to the claims service")


class BatchRead(BaseModel):
    id: uuid.UUID
    department: str = Field(examples=["medical_insurance"])
    county_code: str
    period: str | None
    format: str = Field(examples=["csv"])
    status: JobStatus
    progress: Progress
    declared_record_count: int
    declared_control_total: Money
    control_total: Money = Field(description="the sum of every amount actually sent")
    counts: BatchCounts
    errors: list[JobError]
    result: dict[str, Any] | None
    created_by: str | None
    created_at: datetime
    finished_at: datetime | None
    links: dict[str, str]


class FeedRecordRead(BaseModel):
    id: uuid.UUID
    line: int
    source_record_id: str = Field(examples=["YB-2026-03-000123"])
    kind: str = Field(examples=["medical_expense"])
    event_date: date
    national_id_masked: str | None
    household_number: str | None
    member_id: uuid.UUID | None
    household_id: uuid.UUID | None
    matched: bool
    amount: Money = Field(description="the part counted in the screening window sums")
    amounts: dict[str, str]
    details: dict[str, Any]


# --- runs and leads -------------------------------------------------------------------------


class RunCreate(WireModel):
    county_code: CountyCode
    period: str = Field(
        pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2026-03"], description="the month screened (YYYY-MM)"
    )


class RunRead(BaseModel):
    id: uuid.UUID
    county_code: str
    period: str
    version: int = Field(description="1 for the first run of the period; a re-run supersedes the one before")
    status: JobStatus
    trigger: str = Field(examples=["api"])
    progress: Progress
    window_start: date
    window_end: date
    threshold_version_id: uuid.UUID | None
    thresholds: dict[str, Any] | None
    superseded_by: uuid.UUID | None
    result: dict[str, Any] | None
    errors: list[dict[str, Any]]
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: dict[str, str]


class LeadEvidenceRead(BaseModel):
    code: RiskCode
    feed_record_id: uuid.UUID
    batch_id: uuid.UUID


class LeadRead(BaseModel):
    id: uuid.UUID
    run_id: uuid.UUID
    superseded: bool = Field(description="the run was superseded by a newer run of the period")
    county_code: str
    township_code: str
    village_code: str
    household_id: uuid.UUID
    household_number: str | None
    household_status: str = Field(examples=["unstable"])
    routing: Literal["new_lead", "case_evidence"]
    case_id: uuid.UUID | None
    is_lead: bool
    lead_basis: list[str] = Field(examples=[["adjusted_income_below_line"]])
    codes: list[RiskCode]
    figures: dict[str, Any] = Field(description="the figures behind each code (decimal strings)")
    members: int
    labour_count: int
    income_year: int | None
    income: Money | None = Field(description="I as of the period's year; null: no income on file")
    income_prev: Money | None
    window_total: Money = Field(description="M + E + Dz + Ac + Id over the 12-month window")
    adjusted_income: Money | None = Field(description="I_adj = I − M − E − Dz − Ac − Id; null without I")
    per_capita_income: Money | None
    adjusted_per_capita: Money | None
    suggested_type: str | None
    rank: int | None
    township_rank: int | None
    state: str = Field(examples=["open"])
    evidence: list[LeadEvidenceRead]


class DataQualityRead(BaseModel):
    """A household a run listed apart (rules.md §1.3: "no income on file")."""

    issue: Literal["no_income_on_file"]
    household_id: uuid.UUID
    household_number: str | None
    township_code: str
    village_code: str


# --- cases ----------------------------------------------------------------------------------


class CaseCreate(WireModel):
    source: CaseSource = Field(description="screening (a lead), self_report 农户自主申报, cadre_visit 基层干部排查")
    lead_id: uuid.UUID | None = Field(default=None, description="source screening: the lead")
    household_id: uuid.UUID | None = Field(default=None, description="self_report / cadre_visit: the household")
    risk_codes: list[RiskCode] = Field(default_factory=list, description="self_report / cadre_visit: risks seen")
    evidence: Document = Field(
        default_factory=dict,
        description="self_report: application_date, signed_application=true; cadre_visit: home_visit_findings, "
        "visit_date",
        examples=[{"home_visit_findings": "户主住院，务工收入中断", "visit_date": "2026-03-02"}],
    )
    comment: Text | None = None


class TransitionCreate(WireModel):
    action: CaseAction = Field(description="the step: see the case's allowed_actions")
    evidence: Document = Field(
        default_factory=dict,
        examples=[{"home_visit_findings": "入户核实属实", "visit_date": "2026-03-03", "signed_consent": True}],
    )
    comment: Text | None = None


class CaseRead(BaseModel):
    id: uuid.UUID
    version: int
    county_code: str
    township_code: str
    village_code: str
    household_id: uuid.UUID
    household_number: str | None
    source: str = Field(examples=["screening"])
    state: str = Field(examples=["verifying"])
    risk_codes: list[str] = Field(examples=[["illness", "income_drop"]])
    suggested_type: str | None
    monitoring_type: str | None
    elimination_kind: str | None
    lead_id: uuid.UUID | None
    opened_at: datetime
    state_entered_at: datetime
    identification_deadline: date = Field(description="opening + 20 working days (认定时限)")
    overdue: bool
    notice_start_date: date | None
    notice_days: int | None
    confirmed_at: datetime | None
    eliminated_at: datetime | None
    closed_at: datetime | None
    allowed_actions: list[str] = Field(examples=[["verify", "reject"]], description="steps the caller may attempt now")
    links: dict[str, str]


class TransitionRead(BaseModel):
    seq: int
    action: str = Field(examples=["verify"])
    from_state: str = Field(examples=["verifying"])
    to_state: str = Field(examples=["verified"])
    actor_sub: str
    actor_role: str
    actor_region: str
    at: datetime
    comment: str | None
    evidence: dict[str, Any]
    threshold_version_id: uuid.UUID | None = Field(description="the county's parameters the step used")


class MeasureCreate(WireModel):
    measure_type: MeasureType = Field(description="帮扶措施类型")
    description: Text = Field(examples=["安排公益性岗位（护林员）"])
    start_date: date
    delivered_date: date | None = Field(default=None, description="set when delivered (已落实)")


class MeasureUpdate(WireModel):
    description: Text | None = None
    delivered_date: date | None = None


class MeasureRead(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    version: int
    measure_type: str = Field(examples=["employment"])
    description: str = Field(examples=["安排公益性岗位（护林员）"])
    start_date: date
    delivered_date: date | None
    delivered: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class ObjectionCreate(WireModel):
    content: Text4000 = Field(
        examples=["该户家中有两辆货车，收入不低，不应纳入监测"], description="the objection as raised (异议内容)"
    )


class ObjectionResolve(WireModel):
    status: Literal["upheld", "dismissed"]
    resolution: Text4000 = Field(examples=["经核实，货车已于2025年变卖，异议不成立"])


class ObjectionRead(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    version: int
    notice_state: str = Field(examples=["notice"])
    notice_start_date: date
    content: str = Field(examples=["该户家中有两辆货车，收入不低，不应纳入监测"])
    raised_by_sub: str
    raised_by_role: str
    raised_at: datetime
    status: str = Field(examples=["open"])
    resolution: str | None
    resolved_by_sub: str | None
    resolved_at: datetime | None


class BlockerRead(BaseModel):
    code: str = Field(examples=["no_measure_delivered"])
    message_zh: str = Field(examples=["尚无已落实的帮扶措施"])
    message_en: str = Field(examples=["no assistance measure has been delivered yet"])
    figures: dict[str, Any]


class EliminationCheck(BaseModel):
    case_id: uuid.UUID
    may_propose: bool
    blockers: list[BlockerRead]


class CaseEvidenceRead(BaseModel):
    lead_id: uuid.UUID
    run_id: uuid.UUID
    period: str
    superseded: bool
    is_lead: bool
    codes: list[str] = Field(examples=[["illness"]])
    figures: dict[str, Any]
    adjusted_per_capita: Money
    created_at: datetime


# --- assistance (帮扶措施, rules.md §4; issue 13) ---------------------------------------------

AssistanceType = Literal[
    "industry",
    "public_welfare_post",
    "employment",
    "microcredit",
    "education_aid",
    "health",
    "dibao",
    "tekun",
    "temporary_relief",
    "housing",
    "water",
    "consumption",
    "social",
]
AssistanceStatus = Literal["planned", "in_progress", "delivered", "cancelled"]
DetailValue = Annotated[str, Field(max_length=200)] | int | bool | None
Period = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-03"], description="YYYY-MM")]


class AssistanceMeasureCreate(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "household_id": "2d4c6e8a-0b1c-4d2e-9f3a-4b5c6d7e8f90",
                    "measure_type": "public_welfare_post",
                    "status": "in_progress",
                    "risk_code": "income_drop",
                    "due_date": "2026-03-31",
                    "start_date": "2026-01-01",
                    "provider": "镇人社所",
                    "details": {"post": "护林员", "monthly_wage": "800.00", "months": 12},
                }
            ]
        }
    )

    household_id: uuid.UUID
    measure_type: AssistanceType = Field(description="帮扶措施类型 (rules.md §4)")
    status: AssistanceStatus = Field(default="planned", description="计划/实施中/已落实/已取消")
    risk_code: Annotated[str, Field(max_length=32, pattern=r"^[a-z_]+$")] | None = Field(
        default=None, description="the risk the measure answers (风险类型), for the assistance plan"
    )
    due_date: date | None = Field(default=None, description="计划完成日期")
    start_date: date | None = None
    end_date: date | None = None
    provider: Annotated[Text, Field(max_length=200)] | None = Field(
        default=None, description="by whom (帮扶责任单位/人)"
    )
    details: dict[Annotated[str, Field(max_length=40)], DetailValue] = Field(
        default_factory=dict, max_length=20, description="the type's fields (rules.md §4's table)"
    )


class AssistanceMeasureUpdate(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "delivered", "end_date": "2026-03-31"}]})

    status: AssistanceStatus | None = None
    due_date: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    provider: Annotated[Text, Field(max_length=200)] | None = None
    details: dict[Annotated[str, Field(max_length=40)], DetailValue] | None = Field(default=None, max_length=20)


class AssistanceMeasureRead(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    county_code: str
    village_code: str
    measure_type: str = Field(examples=["public_welfare_post"])
    measure_type_label: str = Field(examples=["公益岗"])
    income_type: str | None = Field(description="the income a payment counts as; null: pays none", examples=["wage"])
    status: str = Field(examples=["in_progress"])
    status_label: str = Field(examples=["实施中"])
    risk_code: str | None
    due_date: date | None
    overdue: bool = Field(description="planned or in progress past its due date")
    start_date: date | None
    end_date: date | None
    provider: str | None
    details: dict[str, Any]
    paid_total: Money = Field(description="the live payments of the measure")
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class MeasureHistoryRead(BaseModel):
    version: int
    action: str = Field(examples=["update"])
    changes: dict[str, Any]
    actor_sub: str | None
    at: datetime


class PlanProgress(BaseModel):
    planned: int
    in_progress: int
    delivered: int
    cancelled: int
    overdue: int


class AssistancePlanRead(BaseModel):
    household_id: uuid.UUID
    measures: list[AssistanceMeasureRead]
    progress: PlanProgress


class AssistancePaymentCreate(WireModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"period": "2026-03", "amount": "800.00", "paid_date": "2026-03-31"}]}
    )

    period: Period = Field(description="the month paid (发放月份); its year is the income year")
    amount: Annotated[Decimal, Field(gt=0, lt=100000000, decimal_places=2)] = Field(
        description="yuan, at most two places", examples=["800.00"]
    )
    paid_date: date


class AssistanceReversalCreate(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "考核不合格，本月工资应扣发"}]})

    reason: Annotated[Text, Field(min_length=1, max_length=500)] = Field(description="why (冲正原因)")


class AssistancePaymentRead(BaseModel):
    id: uuid.UUID
    measure_id: uuid.UUID
    household_id: uuid.UUID
    measure_type: str = Field(examples=["public_welfare_post"])
    income_type: str = Field(examples=["wage"])
    period: str = Field(examples=["2026-03"])
    year: int
    amount: Money
    paid_date: date
    kind: Literal["payment", "reversal"]
    reverses_id: uuid.UUID | None
    status: str = Field(description="posted, or reversed (冲正)", examples=["posted"])
    reason: str | None
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="what the payment was computed from (a 公益岗 wage: assignment, days, assessment, note)",
        examples=[{"assignment_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "days_attended": 20}],
    )
    created_by: str | None
    created_at: datetime


# --- visits (入户走访) and attachments (附件) -------------------------------------------------


class VisitFindings(WireModel):
    living: Literal["normal", "difficult", "emergency"] = Field(description="生活状况: 正常/困难/紧急")
    income_change: Literal["stable", "decreased", "increased"] = Field(description="收入变化")
    risks: list[RiskCode] = Field(default_factory=list, max_length=10, description="risks seen (风险类型)")
    needs: Annotated[Text, Field(max_length=1000)] | None = Field(default=None, description="诉求")
    notes: Annotated[Text, Field(max_length=2000)] | None = None


class VisitCreate(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "household_id": "2d4c6e8a-0b1c-4d2e-9f3a-4b5c6d7e8f90",
                    "visit_date": "2026-03-12",
                    "visitors": ["村支书", "驻村工作队员"],
                    "findings": {"living": "difficult", "income_change": "decreased", "risks": ["income_drop"]},
                    "open_case": False,
                }
            ]
        }
    )

    household_id: uuid.UUID
    visit_date: date
    visitors: list[Annotated[Text, Field(min_length=1, max_length=50)]] = Field(min_length=1, max_length=10)
    findings: VisitFindings
    open_case: bool = Field(default=False, description="open a monitoring case (`cadre_visit`) from this visit")


class AttachmentRead(BaseModel):
    id: uuid.UUID
    content_type: str = Field(examples=["image/jpeg"])
    size_bytes: int
    sha256: str = Field(
        description="hex SHA-256 of the bytes as stored",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    )
    created_by: str | None
    created_at: datetime


class VisitRead(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    county_code: str
    village_code: str
    visit_date: date
    visitors: list[str] = Field(examples=[["村支书", "驻村工作队员"]])
    findings: dict[str, Any]
    case_id: uuid.UUID | None = Field(description="the cadre_visit case the visit opened")
    photos: list[AttachmentRead]
    created_by: str | None
    created_at: datetime


class UncoveredRead(BaseModel):
    household_id: uuid.UUID
    household_number: str | None
    township_code: str
    village_code: str
    last_visit_date: date | None


class CoverageRead(BaseModel):
    county_code: str
    interval_days: int
    since: date = Field(description="visits on or after this date count")
    items: list[UncoveredRead]


# --- 公益岗 public-welfare posts ---------------------------------------------------------------

PostRegion = Annotated[
    str,
    Field(
        pattern=r"^([0-9]{6}|[0-9]{9}|[0-9]{12})$",
        description="the county (6 digits), township (9) or village (12) the post belongs to (岗位所属区划)",
        examples=["410602100201"],
    ),
]
PostName = Annotated[Text, Field(min_length=1, max_length=100)]
Days = Annotated[int, Field(strict=True, ge=0, le=31)]


class PublicPostCreate(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "region_code": "410602100201",
                    "name": "护林员",
                    "monthly_wage": "800.00",
                    "days_per_month": 20,
                    "capacity": 5,
                }
            ]
        }
    )

    region_code: PostRegion
    name: PostName = Field(description="岗位名称 (护林员, 保洁员, 护路员 …)", examples=["护林员"])
    monthly_wage: Annotated[Decimal, Field(gt=0, lt=100000, decimal_places=2)] = Field(
        description="月工资, yuan, at most two places", examples=["800.00"]
    )
    days_per_month: Annotated[int, Field(strict=True, ge=1, le=31)] = Field(
        description="出勤天数要求 per month: attending them earns the full monthly wage", examples=[20]
    )
    capacity: Annotated[int, Field(strict=True, ge=1, le=10000)] = Field(
        description="岗位数: how many members may hold the post at once", examples=[5]
    )


class PublicPostUpdate(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"monthly_wage": "900.00", "capacity": 6}]})

    name: PostName | None = Field(default=None, examples=["护林员"])
    monthly_wage: Annotated[Decimal, Field(gt=0, lt=100000, decimal_places=2)] | None = Field(
        default=None, description="月工资 for the months recorded from now on", examples=["900.00"]
    )
    days_per_month: Annotated[int, Field(strict=True, ge=1, le=31)] | None = Field(default=None, examples=[22])
    capacity: Annotated[int, Field(strict=True, ge=1, le=10000)] | None = Field(default=None, examples=[6])
    status: Literal["open", "closed"] | None = Field(
        default=None, description="closed: no new assignment (the members on it stay)"
    )


class PublicPostRead(BaseModel):
    id: uuid.UUID
    county_code: str = Field(examples=["410602"])
    region_code: str = Field(examples=["410602100201"])
    level: Literal["county", "township", "village"]
    level_label: str = Field(examples=["村级"])
    name: str = Field(examples=["护林员"])
    monthly_wage: Money
    days_per_month: int = Field(examples=[20])
    capacity: int = Field(examples=[5])
    occupied: int = Field(description="active assignments (在岗人数)", examples=[3])
    status: Literal["open", "closed"]
    version: int
    created_by: str | None
    created_at: datetime


class PublicPostPage(BaseModel):
    items: list[PublicPostRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class PublicPostAssignmentCreate(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "household_id": "2d4c6e8a-0b1c-4d2e-9f3a-4b5c6d7e8f90",
                    "member_id": "3e5d7f9b-1c2d-4e3f-8a4b-5c6d7e8f9a01",
                    "start_date": "2026-01-01",
                }
            ]
        }
    )

    household_id: uuid.UUID = Field(description="the household (农户)")
    member_id: uuid.UUID = Field(description="the member who holds the post (上岗人员), of that household")
    start_date: date = Field(description="上岗日期")
    end_date: date | None = Field(default=None, description="planned end (离岗日期); open when null")


class PublicPostAssignmentEnd(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"end_date": "2026-06-30", "reason": "外出务工"}]})

    end_date: date = Field(description="the last day on the post (离岗日期)")
    reason: Annotated[Text, Field(min_length=1, max_length=500)] = Field(description="why (离岗原因)")


class PublicPostAssignmentRead(BaseModel):
    id: uuid.UUID
    post_id: uuid.UUID
    post_name: str = Field(examples=["护林员"])
    monthly_wage: Money
    household_id: uuid.UUID
    member_id: uuid.UUID
    measure_id: uuid.UUID = Field(description="the assignment's public_welfare_post measure (帮扶措施): its payments")
    county_code: str
    village_code: str
    start_date: date
    end_date: date | None
    status: Literal["active", "ended"]
    end_reason: str | None
    version: int
    created_by: str | None
    created_at: datetime


class AttendancePut(WireModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"days_attended": 20, "assessment": "pass", "note": "按时巡山"}]}
    )

    days_attended: Days = Field(description="出勤天数 in the month (at most its days)", examples=[20])
    assessment: Literal["pass", "warning", "fail"] = Field(
        description="考核: pass 合格 (wage by attendance), warning 基本合格 (wage by attendance, with a note), "
        "fail 不合格 (no wage)"
    )
    note: Annotated[Text, Field(max_length=500)] | None = Field(default=None, description="考核说明")


class AttendanceRead(BaseModel):
    assignment_id: uuid.UUID
    period: str = Field(examples=["2026-03"])
    days_attended: int = Field(examples=[20])
    assessment: Literal["pass", "warning", "fail"]
    assessment_label: str = Field(examples=["合格"])
    note: str | None
    monthly_wage: Money = Field(description="the post's wage the month was computed with")
    days_per_month: int = Field(examples=[20])
    wage_payable: Money = Field(description="应发工资: from attendance and assessment (0.00 when not payable)")
    payable: bool
    not_payable_reason: Literal["assessment_failed", "no_attendance"] | None = None
    payment_id: uuid.UUID | None = Field(default=None, description="the month's live payment (已发放), if any")
    version: int
    updated_at: datetime


class WagePayment(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"period": "2026-03", "paid_date": "2026-04-05"}]})

    period: Period = Field(description="the month whose wage is paid (工资月份); its year is the income year")
    paid_date: date | None = Field(default=None, description="发放日期; today (the county's date) when omitted")


# --- 低保 standards and monthly payments ----------------------------------------------------------

DibaoAmount = Annotated[Decimal, Field(gt=0, lt=100000, decimal_places=2)]


class DibaoStandardRead(BaseModel):
    id: uuid.UUID
    county_code: str = Field(examples=["410602"])
    year: int = Field(examples=[2026])
    version: int = Field(examples=[1])
    amounts: dict[Literal["A", "B", "C"], Money] = Field(
        description="每人每月 by class (A/B/C 类)", examples=[{"A": "462.00", "B": "354.00", "C": "200.00"}]
    )
    source: str = Field(examples=["[S] 县民政局 2026 年低保标准"])
    note: str | None
    created_by: str | None
    created_at: datetime


class DibaoStandardWrite(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "amounts": {"A": "480.00", "B": "370.00", "C": "210.00"},
                    "source": "[S] 县民政局 2026 年低保标准",
                    "note": "7 月起执行",
                }
            ]
        }
    )

    amounts: dict[Literal["A", "B", "C"], DibaoAmount] = Field(
        description="每人每月 of each class to set (yuan, two places); unnamed classes keep their amount",
        examples=[{"A": "480.00"}],
    )
    source: Annotated[Text, Field(min_length=1, max_length=500)] = Field(description="来源: the published standard")
    note: Annotated[Text, Field(max_length=500)] | None = None


class DibaoPaymentRun(WireModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"county_code": "410602", "period": "2026-03", "paid_date": "2026-03-25"}]}
    )

    county_code: CountyCode
    period: Period = Field(description="the month paid (发放月份); its year's standard applies")
    paid_date: date | None = Field(default=None, description="发放日期; today (the county's date) when omitted")


class DibaoPaymentResult(BaseModel):
    county_code: str = Field(examples=["410602"])
    period: str = Field(examples=["2026-03"])
    standard_version: int = Field(description="the standard's version the new payments used", examples=[1])
    created: int = Field(description="payments made now, one per household measure", examples=[2])
    created_amount: Money = Field(description="their sum")
    paid_before: int = Field(description="measures of the month already paid (not paid twice)", examples=[0])
    payment_ids: list[uuid.UUID] = Field(description="the new payments (GET /v1/measures/{id}/payments)")


# --- 兜底保障 basic-living support ---------------------------------------------------------------

CareGroupCode = Literal["elderly_no_labour", "severe_disability", "serious_illness"]
PlacementKind = Literal["institutional", "treatment", "home"]
CareText = Annotated[Text, Field(min_length=1, max_length=200)]


class CareSuggestionRead(BaseModel):
    member_id: uuid.UUID
    household_id: uuid.UUID
    township_code: str
    village_code: str = Field(examples=["410602100201"])
    household_status: str = Field(examples=["lifted_out"])
    age: int = Field(examples=[72])
    groups: list[CareGroupCode] = Field(examples=[["elderly_no_labour"]])
    group_labels: list[str] = Field(examples=[["无劳动能力的贫困老年人"]])


class CareSuggestionPage(BaseModel):
    items: list[CareSuggestionRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class CareSubjectCreate(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "household_id": "2d4c6e8a-0b1c-4d2e-9f3a-4b5c6d7e8f90",
                    "member_id": "3e5d7f9b-1c2d-4e3f-8a4b-5c6d7e8f9a01",
                    "care_group": "elderly_no_labour",
                    "note": "入户核实：独居，无劳动能力",
                }
            ]
        }
    )

    household_id: uuid.UUID
    member_id: uuid.UUID
    care_group: CareGroupCode = Field(description="the 兜底 group the officer confirms (one the register gives)")
    note: Annotated[Text, Field(max_length=1000)] | None = None


class CareInstitutionCreate(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"region_code": "410602100", "name": "镇敬老院", "kind": "care_home", "carers": 4}]
        }
    )

    region_code: PostRegion
    name: CareText = Field(description="机构名称", examples=["镇敬老院"])
    kind: Literal["care_home", "hospital"] = Field(description="care_home 供养机构 (集中供养), hospital (集中救治)")
    carers: Annotated[int, Field(strict=True, ge=0, le=100000)] = Field(description="护理人员数", examples=[4])


class CareInstitutionRead(BaseModel):
    id: uuid.UUID
    county_code: str = Field(examples=["410602"])
    region_code: str = Field(examples=["410602100"])
    name: str = Field(examples=["镇敬老院"])
    kind: Literal["care_home", "hospital"]
    carers: int = Field(examples=[4])
    residents: int = Field(description="subjects placed there now", examples=[12])
    version: int
    created_at: datetime


class CarePlacementCreate(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "placement": "home",
                    "guardian_name": "王建国",
                    "agreement_ref": "托养协议 2026-017",
                    "agreement_signed_on": "2026-03-01",
                    "placed_on": "2026-03-01",
                }
            ]
        }
    )

    placement: PlacementKind = Field(description="institutional 集中供养, treatment 集中救治, home 分散托养")
    institution_id: uuid.UUID | None = Field(default=None, description="the care home or hospital (not for home)")
    guardian_name: Annotated[Text, Field(min_length=1, max_length=50)] | None = Field(
        default=None, description="监护人 (home placements)"
    )
    agreement_ref: CareText | None = Field(default=None, description="托养协议 number or title (home placements)")
    agreement_signed_on: date | None = Field(default=None, description="协议签订日期 (home placements)")
    placed_on: date = Field(description="安置日期")


class CareVisitCreate(WireModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"visit_date": "2026-04-02", "visitor": "村支书", "findings": "生活正常"}]}
    )

    visit_date: date
    visitor: Annotated[Text, Field(min_length=1, max_length=100)] = Field(description="回访人")
    findings: Annotated[Text, Field(max_length=2000)] | None = Field(default=None, description="回访情况")


class CareVisitRead(BaseModel):
    id: uuid.UUID
    visit_date: date
    visitor: str = Field(examples=["村支书"])
    findings: str | None = Field(examples=["生活正常，监护到位"])
    created_by: str | None
    created_at: datetime


class CareSubjectRead(BaseModel):
    id: uuid.UUID
    county_code: str
    village_code: str
    household_id: uuid.UUID
    member_id: uuid.UUID
    care_group: CareGroupCode
    care_group_label: str = Field(examples=["无劳动能力的贫困老年人"])
    status: Literal["confirmed", "placed", "ended"]
    placement: PlacementKind | None
    institution_id: uuid.UUID | None
    guardian_name: str | None
    agreement_ref: str | None
    agreement_signed_on: date | None
    placed_on: date | None
    note: str | None
    visits: list[CareVisitRead]
    next_visit_due: date | None = Field(description="home placements: one month after the last visit (一月一回访)")
    visit_overdue: bool
    version: int
    created_by: str | None
    created_at: datetime


class OverdueVisitRead(BaseModel):
    subject_id: uuid.UUID
    household_id: uuid.UUID
    member_id: uuid.UUID
    village_code: str
    guardian_name: str | None
    placed_on: date
    last_visit: date | None
    next_visit_due: date


class OverdueVisitList(BaseModel):
    county_code: str = Field(examples=["410602"])
    today: date
    items: list[OverdueVisitRead]


# --- 两类户动态调整 (rules.md §4; issue 13) -------------------------------------------------------


class AdjustmentEntryRead(BaseModel):
    kind: Literal["confirmed", "eliminated", "type_changed"] = Field(
        description="新识别 confirmed, 风险消除 eliminated, 类型变更 type_changed"
    )
    kind_label: str = Field(examples=["新识别"])
    on_date: date = Field(description="the day of the step (county time zone)")
    case_id: uuid.UUID
    household_id: uuid.UUID
    household_number: str | None = Field(examples=["410602100201000001"])
    township_code: str = Field(examples=["410602100"])
    township_name: str | None = Field(examples=["大河涧乡"])
    village_code: str = Field(examples=["410602100201"])
    village_name: str | None = Field(examples=["弓家庄村"])
    monitoring_type: str | None = Field(examples=["marginal"], description="the type confirmed or changed to")
    previous_type: str | None = Field(examples=["unstable"], description="type_changed: the type before")
    risk_codes: list[str] = Field(examples=[["illness"]])
    elimination_kind: str | None = Field(examples=["assisted"])
    reason: str | None = Field(examples=["因病支出骤增，县级认定"])


class AdjustmentSettlementRead(BaseModel):
    status: Literal["submitted", "approved", "returned"]
    entry_count: int = Field(description="entries in the snapshot the village submitted")
    entries: list[dict[str, Any]] = Field(description="the snapshot of the entries as submitted")
    submitted_by: str | None
    submitted_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    return_reason: str | None = Field(examples=["请补充消除原因"])
    version: int


class AdjustmentListRead(BaseModel):
    county_code: str = Field(examples=["410602"])
    township_code: str = Field(examples=["410602100"])
    township_name: str | None = Field(examples=["大河涧乡"])
    village_code: str = Field(examples=["410602100201"])
    village_name: str | None = Field(examples=["弓家庄村"])
    month: str = Field(examples=["2026-03"])
    due_date: date = Field(description="to be approved by this day (day D of the following month)")
    entries: list[AdjustmentEntryRead]
    settlement: AdjustmentSettlementRead | None


class AdjustmentReturn(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "请补充消除原因"}]})

    reason: Annotated[Text, Field(min_length=1, max_length=1000)] = Field(description="退回原因")


class OverdueAdjustmentRead(BaseModel):
    township_code: str = Field(examples=["410602100"])
    township_name: str | None = Field(examples=["大河涧乡"])
    village_code: str = Field(examples=["410602100201"])
    village_name: str | None = Field(examples=["弓家庄村"])
    status: Literal["submitted", "approved", "returned"] | None = Field(
        description="null: not submitted; approved: approved after the due day"
    )


class OverdueAdjustmentList(BaseModel):
    month: str = Field(examples=["2026-03"])
    due_date: date
    today: date
    items: list[OverdueAdjustmentRead]
