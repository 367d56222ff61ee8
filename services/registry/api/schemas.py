"""Wire models of the registry API (JSON, snake_case, money as 2-place decimal strings).

The contract models that screening and claims code against live in `shared.contracts.registry`
and are re-used here unchanged.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from services.registry.domain.model import (
    DibaoClass,
    EducationLevel,
    EducationStage,
    Employment,
    Health,
    HouseholdStatus,
    IncomeSource,
    JoinReason,
    LabourAbility,
    LeaveReason,
    PovertyCause,
    Relation,
    RiskType,
    Sex,
)
from shared.contracts.registry import (
    BankAccountReveal,
    BenefitCreate,
    BenefitRead,
    HouseholdFacts,
    MemberFacts,
    MonitoringStatusChange,
    MonitoringStatusRead,
    ResolvedMember,
    ResolveRequest,
    ResolveResponse,
    RevealRequest,
)
from shared.contracts.types import (
    MAX_STRING,
    Cursor,
    HouseholdNumber,
    Money,
    MoneyOut,
    RegionPrefix,
    WireModel,
    string_rule,
)
from shared.errors import FieldError

__all__ = [
    "BankAccountReveal",
    "BenefitCreate",
    "BenefitRead",
    "HouseholdFacts",
    "MemberFacts",
    "MonitoringStatusChange",
    "MonitoringStatusRead",
    "ResolveRequest",
    "ResolveResponse",
    "ResolvedMember",
    "RevealRequest",
]

# Example numbers are valid (check digit and all) but made up.
EXAMPLE_HEAD_ID = "410602196803151312"
EXAMPLE_SPOUSE_ID = "410602197008022428"
EXAMPLE_CHILD_ID = "410602201209014159"


# The string rule, money and strict scalars are the kernel's (shared/contracts/types.py); these add the
# registry's lengths and strip surrounding blanks.
_Line = string_rule(multiline=False, max_length=MAX_STRING)
_Free = string_rule(multiline=True, max_length=MAX_STRING)
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), _Line]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), _Line]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _Line]
Text500 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), _Free]
NationalIdText = Annotated[str, StringConstraints(min_length=1, max_length=40), _Line]
Reason = Annotated[
    Text500 | None,
    Field(default=None, description="why the change is made (变更原因), kept in the history"),
]

MoneyIn = Annotated[Money, Field(examples=["12000.00"])]
Year = Annotated[StrictInt, Field(ge=2000, le=2100, examples=[2025])]
VillageCode = Annotated[
    str,
    Field(pattern=r"^[0-9]{12}$", description="12-digit village code (村级行政区划代码)", examples=["410602100201"]),
]
Phone = Annotated[
    str,
    Field(
        pattern=r"^\+?[0-9][0-9 -]{5,18}[0-9]$",
        description="mobile or landline (联系电话); stored encrypted, shown masked",
        examples=["13812345678"],
    ),
]
BankAccount = Annotated[
    str,
    Field(
        pattern=r"^[0-9][0-9 -]{8,38}[0-9]$",
        description="bank account for payouts (银行账号), 10–30 digits; stored encrypted, shown masked",
        examples=["6222021234567890123"],
    ),
]
BaseStatus = Literal["ordinary", "lifted_out"]
InsuredYears = Annotated[list[Year], Field(max_length=50)]
GridCode = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{12}[0-9A-Za-z]{1,4}$",
        description="grid 网格: the village code and 1–4 more characters",
        examples=["4106021002010001"],
    ),
]
Causes = Annotated[
    list[PovertyCause],
    Field(max_length=2, description="其他致贫原因 (at most two, besides the main cause)"),
]
RiskTypes = Annotated[list[RiskType], Field(max_length=15, description="风险类型 of a monitored household")]


# ---------------------------------------------------------------- members


class MemberFields(WireModel):
    name: Name = Field(description="姓名", examples=["张建国"])
    national_id: NationalIdText = Field(
        description="公民身份号码, 18 characters (GB 11643 check digit). Stored encrypted; shown masked.",
        examples=[EXAMPLE_HEAD_ID],
    )
    sex: Sex | None = Field(default=None, description="性别; must agree with the ID (17th digit). Blank: from the ID.")
    birth_date: date | None = Field(
        default=None, description="出生日期; must agree with the ID (digits 7–14). Blank: from the ID."
    )
    relation: Relation = Field(description="与户主关系 (relation to the head)")
    health: Health = Field(default=Health.healthy, description="健康状况")
    disability_grade: StrictInt | None = Field(default=None, ge=1, le=4, description="残疾等级 1–4, when disabled")
    labour_ability: LabourAbility = Field(default=LabourAbility.normal, description="劳动能力")
    education_stage: EducationStage | None = Field(default=None, description="在校/学历阶段")
    school: ShortText | None = Field(default=None, description="学校", examples=["鹤壁市第一中学"])
    join_reason: JoinReason = Field(default=JoinReason.registration, description="加入原因: 出生/婚入/迁入/建档")
    joined_on: date | None = Field(default=None, description="加入日期 (for a birth: the birth date)")
    education_level: EducationLevel | None = Field(default=None, description="文化程度")
    employment: Employment | None = Field(default=None, description="务工状况 (where the member works, if at all)")
    months_worked: StrictInt | None = Field(default=None, ge=0, le=12, description="务工时间（月） in the year")
    medical_insured_years: InsuredYears = Field(
        default_factory=list, description="years enrolled in 城乡居民基本医疗保险"
    )
    pension_insured_years: InsuredYears = Field(
        default_factory=list, description="years enrolled in 城乡居民基本养老保险"
    )

    @model_validator(mode="after")
    def _disability(self) -> MemberFields:
        if self.health is Health.disabled and self.disability_grade is None:
            raise ValueError("disability_grade (残疾等级 1–4) is required when health is disabled")
        if self.health is not Health.disabled and self.disability_grade is not None:
            raise ValueError("disability_grade is only recorded when health is disabled (残疾)")
        return self


class MemberCreate(MemberFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "张建国",
                    "national_id": EXAMPLE_HEAD_ID,
                    "relation": "head",
                    "health": "chronic",
                    "labour_ability": "weak",
                }
            ]
        },
    )


class MemberAdd(MemberFields):
    """A member joining an existing household (出生, 婚入, 迁入)."""

    reason: Reason = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "张小明",
                    "national_id": EXAMPLE_CHILD_ID,
                    "relation": "son",
                    "join_reason": "birth",
                    "labour_ability": "none",
                    "education_stage": "primary",
                    "school": "鹤壁集小学",
                }
            ]
        },
    )


class MemberUpdate(WireModel):
    """Only the fields sent change; `null` clears an optional field."""

    name: Name | None = None
    national_id: NationalIdText | None = Field(default=None, description="a corrected ID number")
    sex: Sex | None = None
    birth_date: date | None = None
    relation: Relation | None = None
    health: Health | None = None
    disability_grade: StrictInt | None = Field(default=None, ge=1, le=4)
    labour_ability: LabourAbility | None = None
    education_stage: EducationStage | None = None
    school: ShortText | None = None
    education_level: EducationLevel | None = None
    employment: Employment | None = None
    months_worked: StrictInt | None = Field(default=None, ge=0, le=12)
    medical_insured_years: InsuredYears | None = None
    pension_insured_years: InsuredYears | None = None
    reason: Reason = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"health": "serious_illness", "reason": "确诊尿毒症 (diagnosed 2026-03)"},
                {"employment": "out_of_province", "months_worked": 10, "education_level": "junior"},
            ]
        },
    )


class MemberEnd(WireModel):
    """End a membership (死亡, 婚出, 迁出, 其他) from a date; the person may then join another household."""

    reason: LeaveReason = Field(description="death 死亡 / marriage_out 婚出 / moved_out 迁出 / other 其他")
    effective_date: date = Field(description="the day the membership ends")
    note: Text500 | None = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "marriage_out", "effective_date": "2026-05-01", "note": "嫁至淇县"}]
        },
    )


class MemberRead(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    name: str
    national_id_masked: str = Field(examples=["410602********1312"], description="masked ID (脱敏身份证号)")
    sex: Sex
    birth_date: date
    relation: Relation
    health: Health
    disability_grade: int | None
    labour_ability: LabourAbility
    education_stage: EducationStage | None
    school: str | None
    join_reason: JoinReason
    joined_on: date | None
    active: bool
    left_on: date | None
    leave_reason: LeaveReason | None
    leave_note: str | None
    education_level: EducationLevel | None = None
    employment: Employment | None = None
    months_worked: int | None = None
    medical_insured_years: list[int] = Field(default_factory=list)
    pension_insured_years: list[int] = Field(default_factory=list)
    version: int


class MemberReveal(BaseModel):
    member_id: uuid.UUID
    national_id: str = Field(
        examples=[EXAMPLE_HEAD_ID], description="the full ID number; this reveal is in the audit log"
    )
    purpose: str = Field(examples=["核对医保报销记录"])
    audit_id: int


# ---------------------------------------------------------------- incomes


class IncomeAmounts(WireModel):
    wage_income: MoneyIn = Field(default=Decimal("0.00"), description="工资性收入 (元/年)")
    business_income: MoneyIn = Field(default=Decimal("0.00"), description="经营性收入")
    property_income: MoneyIn = Field(default=Decimal("0.00"), description="财产性收入")
    transfer_income: MoneyIn = Field(
        default=Decimal("0.00"),
        description="转移性收入 declared by the household, without the benefits recorded through /benefits "
        "(those are added on top)",
    )
    production_costs: MoneyIn = Field(default=Decimal("0.00"), description="生产经营支出 (subtracted)")


class IncomeInput(IncomeAmounts):
    year: Year


class IncomePut(IncomeAmounts):
    reason: Reason = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "wage_income": "18000.00",
                    "business_income": "3500.00",
                    "property_income": "0.00",
                    "transfer_income": "1200.00",
                    "production_costs": "2000.00",
                    "reason": "年度收入核查",
                }
            ]
        },
    )


class IncomeRead(BaseModel):
    household_id: uuid.UUID
    year: int
    wage_income: MoneyOut
    business_income: MoneyOut
    property_income: MoneyOut
    transfer_income: MoneyOut = Field(description="declared transfer income")
    benefit_income: MoneyOut = Field(description="benefits recorded for this year (counted as transfer income)")
    transfer_total: MoneyOut = Field(description="transfer_income + benefit_income")
    production_costs: MoneyOut
    net_income: MoneyOut = Field(description="家庭纯收入: wage + business + property + transfer total − costs")
    member_count: int = Field(description="active members the per-capita figure divides by")
    per_capita_net_income: MoneyOut | None = Field(description="人均纯收入 (rounded half up to the fen)")
    version: int
    updated_at: datetime


# ---------------------------------------------------------------- households


class HouseholdCreate(WireModel):
    household_number: HouseholdNumber
    village_code: VillageCode
    address: Text200 | None = Field(default=None, description="地址", examples=["鹤壁集镇鹤壁集村三组12号"])
    phone: Phone | None = None
    status: BaseStatus = Field(
        default="ordinary",
        description="ordinary 一般农户 or lifted_out 脱贫户. Monitoring types are set only through /monitoring-status.",
    )
    dibao: DibaoClass | None = Field(default=None, description="低保 class A/B/C, or null")
    tekun: StrictBool = Field(default=False, description="特困供养")
    negative_list: StrictBool = Field(default=False, description="负面清单 (e.g. a member on the public payroll)")
    negative_list_reason: Text500 | None = None
    bank_account: BankAccount | None = None
    bank_name: ShortText | None = Field(default=None, examples=["中国农业银行鹤壁分行"])
    account_holder: Name | None = Field(default=None, examples=["张建国"])
    insured_years: list[Year] = Field(
        default_factory=list, max_length=50, description="years insured (防贫保险参保年度)"
    )
    poverty_cause: PovertyCause | None = Field(default=None, description="主要致贫原因")
    other_causes: Causes = Field(default_factory=list)
    registered_year: Year | None = Field(default=None, description="识别年度 (the year first registered)")
    lifted_out_year: Year | None = Field(default=None, description="脱贫年度 (only for lifted_out 脱贫户)")
    relocated: StrictBool = Field(default=False, description="易地扶贫搬迁")
    resettlement_site: ShortText | None = Field(default=None, description="安置点 (with relocated)")
    grid_code: GridCode | None = Field(default=None, description="网格 (optional; a grid of the household's village)")
    members: list[MemberCreate] = Field(min_length=1, max_length=50, description="exactly one with relation head")
    incomes: list[IncomeInput] = Field(default_factory=list, max_length=20)
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "household_number": "4106021002010001",
                    "village_code": "410602100201",
                    "poverty_cause": "illness",
                    "other_causes": ["lack_of_skills"],
                    "registered_year": 2016,
                    "lifted_out_year": 2019,
                    "address": "鹤壁集镇鹤壁集村三组12号",
                    "phone": "13812345678",
                    "status": "lifted_out",
                    "dibao": "B",
                    "bank_account": "6222021234567890123",
                    "bank_name": "中国农业银行鹤壁分行",
                    "account_holder": "张建国",
                    "insured_years": [2026],
                    "members": [
                        {
                            "name": "张建国",
                            "national_id": EXAMPLE_HEAD_ID,
                            "relation": "head",
                            "health": "chronic",
                            "labour_ability": "weak",
                        },
                        {"name": "李秀英", "national_id": EXAMPLE_SPOUSE_ID, "relation": "spouse"},
                        {
                            "name": "张小明",
                            "national_id": EXAMPLE_CHILD_ID,
                            "relation": "son",
                            "labour_ability": "none",
                            "education_stage": "junior",
                            "school": "鹤壁集镇中学",
                        },
                    ],
                    "incomes": [
                        {
                            "year": 2025,
                            "wage_income": "18000.00",
                            "business_income": "3500.00",
                            "transfer_income": "1200.00",
                            "production_costs": "2000.00",
                        }
                    ],
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _checks(self) -> HouseholdCreate:
        heads = [m for m in self.members if m.relation is Relation.head]
        if len(heads) != 1:
            raise ValueError("exactly one member must have relation head (户主)")
        if self.negative_list and not self.negative_list_reason:
            raise ValueError("negative_list_reason is required when negative_list is true")
        years = [i.year for i in self.incomes]
        if len(years) != len(set(years)):
            raise ValueError("incomes: one entry per year")
        if len(self.insured_years) != len(set(self.insured_years)):
            raise ValueError("insured_years: each year once")
        if self.lifted_out_year is not None and self.status != "lifted_out":
            raise ValueError("lifted_out_year (脱贫年度) is recorded only for lifted_out households")
        if self.poverty_cause is not None and self.poverty_cause in self.other_causes:
            raise ValueError("other_causes: the main cause (poverty_cause) is not repeated")
        if len(self.other_causes) != len(set(self.other_causes)):
            raise ValueError("other_causes: each cause once")
        if self.resettlement_site and not self.relocated:
            raise ValueError("resettlement_site is recorded only when relocated is true")
        return self


class HouseholdUpdate(WireModel):
    """Only the fields sent change; `null` clears an optional field. Needs `If-Match`."""

    village_code: VillageCode | None = Field(default=None, description="move within the same county")
    address: Text200 | None = None
    phone: Phone | None = None
    status: BaseStatus | None = Field(
        default=None, description="ordinary or lifted_out; not while the household is monitored"
    )
    dibao: DibaoClass | None = None
    tekun: StrictBool | None = None
    negative_list: StrictBool | None = None
    negative_list_reason: Text500 | None = None
    bank_account: BankAccount | None = None
    bank_name: ShortText | None = None
    account_holder: Name | None = None
    insured_years: list[Year] | None = Field(default=None, max_length=50)
    head_member_id: uuid.UUID | None = Field(default=None, description="make this active member the head (户主)")
    poverty_cause: PovertyCause | None = None
    other_causes: Causes | None = None
    registered_year: Year | None = None
    lifted_out_year: Year | None = Field(default=None, description="脱贫年度; only for lifted_out")
    risk_types: RiskTypes | None = Field(default=None, description="风险类型; only while the household is monitored")
    relocated: StrictBool | None = None
    resettlement_site: ShortText | None = None
    grid_code: GridCode | None = None
    reason: Reason = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"dibao": "A", "insured_years": [2025, 2026], "reason": "民政局低保复核"},
                {"poverty_cause": "disability", "other_causes": ["lack_of_funds"], "reason": "致贫原因复核"},
            ]
        },
    )


# ---------------------------------------------------------------- responsible cadres 帮扶责任人

Affiliation = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), _Line]


class CadreAssign(WireModel):
    """Assign a responsible cadre 帮扶责任人 to the household from a date (to a date, when known)."""

    name: Name = Field(description="姓名 (1–50 characters)", examples=["王志刚"])
    work_unit: ShortText = Field(description="单位名称", examples=["鹤山区农业农村局"])
    affiliation: Affiliation | None = Field(
        default=None, description="隶属关系 (e.g. 县直, 乡镇, 市直, 省直)", examples=["县直"]
    )
    phone: Phone = Field(description="联系电话; stored encrypted, shown masked")
    start_date: date = Field(description="帮扶开始时间", examples=["2026-01-05"])
    end_date: date | None = Field(default=None, description="帮扶结束时间 (blank: open)", examples=[None])
    reason: Reason = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "王志刚",
                    "work_unit": "鹤山区农业农村局",
                    "affiliation": "县直",
                    "phone": "13912345678",
                    "start_date": "2026-01-05",
                }
            ]
        },
    )


class CadreEnd(WireModel):
    """End an assignment on a day (the cadre is no longer responsible for the household after it)."""

    end_date: date = Field(description="帮扶结束时间: the last day of the assignment", examples=["2026-06-30"])
    reason: Reason = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"end_date": "2026-06-30", "reason": "干部轮换 (rotated to another post)"}]},
    )


class CadreUpdate(WireModel):
    """Correct an assignment's details (更正帮扶责任人信息): only the fields sent change. Needs the assignment's
    If-Match. Ending an assignment goes through `:end`; another cadre is a new assignment."""

    name: Name | None = Field(default=None, description="姓名")
    work_unit: ShortText | None = Field(default=None, description="单位名称")
    affiliation: Affiliation | None = Field(default=None, description="隶属关系; null clears it")
    phone: Phone | None = Field(default=None, description="联系电话; stored encrypted, shown masked")
    start_date: date | None = Field(default=None, description="帮扶开始时间")
    reason: Reason = None
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"phone": "13987654321", "reason": "电话录入有误 (phone mistyped)"}]},
    )


class CadreRead(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    name: str = Field(examples=["王志刚"])
    work_unit: str | None = Field(examples=["鹤山区农业农村局"], description="单位名称")
    affiliation: str | None = Field(examples=["县直"], description="隶属关系")
    phone_masked: str | None = Field(examples=["139****5678"], description="联系电话, masked")
    start_date: date = Field(description="帮扶开始时间")
    end_date: date | None = Field(description="帮扶结束时间 (null: open)")
    end_reason: str | None = None
    current: bool = Field(description="the assignment runs on the county's business day")
    version: int
    created_at: datetime
    updated_at: datetime


class CadreList(BaseModel):
    items: list[CadreRead]


class CadreHousehold(BaseModel):
    """One assignment of a cadre with the household it is for (a cadre's households, 帮扶对象)."""

    assignment: CadreRead
    household_number: str = Field(examples=["410602100201000123"])
    village_code: str = Field(examples=["410602100201"])
    village_name: str | None = Field(default=None, examples=["鹤壁集村"])
    head_name: str | None = Field(default=None, description="户主姓名", examples=["张建国"])
    archived: bool


class CadreSearch(WireModel):
    """A cadre's households: by name (exact) and/or phone (exact, by blind index), in your region."""

    name: Name | None = Field(default=None, description="the cadre's name, exact", examples=["王志刚"])
    phone: Phone | None = Field(default=None, description="the cadre's phone, exact")
    current_only: StrictBool = Field(default=False, description="only assignments running today")
    cursor: Cursor | None = None
    limit: StrictInt = Field(default=50, ge=1, le=500)
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"phone": "13912345678", "current_only": True}, {"name": "王志刚"}]},
    )


class CadrePhoneReveal(BaseModel):
    cadre_id: uuid.UUID
    household_id: uuid.UUID
    phone: str | None = Field(examples=["13912345678"], description="the full number; this reveal is in the audit log")
    purpose: str = Field(examples=["联系帮扶责任人核实帮扶情况"])
    audit_id: int


class ArchiveRequest(WireModel):
    reason: Text500 = Field(description="why the household leaves the register (注销原因)", examples=["全户迁出"])


class MonitoringInfo(BaseModel):
    case_id: uuid.UUID | None = Field(description="the screening case; null for a household migrated monitored")
    since: date | None = Field(description="纳入监测时间")
    origin: Literal["case", "migration"] = Field(
        default="case", description="case: set by a confirmed case; migration: brought over from the national system"
    )


class HouseholdRead(BaseModel):
    id: uuid.UUID
    household_number: str
    county_code: str
    township_code: str
    village_code: str
    county_name: str | None = Field(default=None, description="县 (from the region tree)", examples=["鹤山区"])
    township_name: str | None = Field(default=None, description="乡镇", examples=["鹤壁集镇"])
    village_name: str | None = Field(default=None, description="村", examples=["鹤壁集村"])
    grid_code: str | None = None
    grid_name: str | None = Field(default=None, description="网格")
    grid_leader: str | None = Field(default=None, description="网格长")
    poverty_cause: PovertyCause | None = Field(default=None, description="主要致贫原因")
    other_causes: list[PovertyCause] = Field(default_factory=list, description="其他致贫原因")
    registered_year: int | None = Field(default=None, description="识别年度")
    lifted_out_year: int | None = Field(default=None, description="脱贫年度")
    risk_types: list[RiskType] = Field(default_factory=list, description="风险类型 (monitored households)")
    relocated: bool = Field(default=False, description="易地扶贫搬迁")
    resettlement_site: str | None = None
    address: str | None
    phone_masked: str | None = Field(examples=["138****5678"])
    status: HouseholdStatus = Field(description="一般农户/脱贫户/脱贫不稳定户/边缘易致贫户/突发严重困难户")
    base_status: BaseStatus = Field(description="the status the household returns to when monitoring ends")
    monitoring: MonitoringInfo | None
    dibao: DibaoClass | None
    tekun: bool
    negative_list: bool
    negative_list_reason: str | None
    has_bank_account: bool
    bank_account_masked: str | None = Field(examples=["***************0123"])
    bank_name: str | None
    account_holder: str | None
    insured_years: list[int]
    head_member_id: uuid.UUID | None
    member_count: int = Field(description="active members")
    labour_count: int = Field(description="active members with labour ability normal or weak")
    members: list[MemberRead]
    cadres: list[CadreRead] = Field(
        default_factory=list, description="the responsible cadres 帮扶责任人 assigned today, phones masked"
    )
    latest_income: IncomeRead | None
    archived_at: datetime | None
    archive_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class HouseholdSummary(BaseModel):
    id: uuid.UUID
    household_number: str
    county_code: str
    township_code: str
    village_code: str
    township_name: str | None = None
    village_name: str | None = None
    grid_code: str | None = None
    poverty_cause: PovertyCause | None = None
    registered_year: int | None = None
    lifted_out_year: int | None = None
    address: str | None
    status: HouseholdStatus
    head_member_id: uuid.UUID | None
    head_name: str | None
    head_national_id_masked: str | None
    member_count: int
    dibao: DibaoClass | None
    tekun: bool
    negative_list: bool
    insured_years: list[int]
    archived: bool
    version: int


class HouseholdSearch(WireModel):
    """All filters combine with AND; everything is limited to the caller's region."""

    name_prefix: Name | None = Field(default=None, description="an active member's name starts with this")
    national_id: NationalIdText | None = Field(
        default=None, description="exact ID of an active member (blind-index lookup)"
    )
    household_number: HouseholdNumber | None = None
    region: RegionPrefix | None = None
    status: list[HouseholdStatus] | None = Field(default=None, max_length=5)
    dibao: StrictBool | None = Field(default=None, description="on dibao (any class) or not")
    dibao_class: DibaoClass | None = None
    tekun: StrictBool | None = None
    negative_list: StrictBool | None = None
    insured_year: Year | None = Field(default=None, description="insured in this year")
    poverty_cause: list[PovertyCause] | None = Field(
        default=None, max_length=13, description="主要致贫原因 is one of these"
    )
    lifted_out_year: Year | None = Field(default=None, description="脱贫年度")
    registered_year: Year | None = Field(default=None, description="识别年度")
    grid_code: GridCode | None = Field(default=None, description="in this grid 网格")
    cadre: Name | None = Field(
        default=None, description="a responsible cadre 帮扶责任人 of this name (exact) is assigned today"
    )
    include_archived: StrictBool = False
    cursor: Cursor | None = None
    limit: StrictInt = Field(default=50, ge=1, le=500)
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"region": "410602100", "name_prefix": "张", "status": ["lifted_out", "marginal"], "limit": 20},
                {"national_id": EXAMPLE_HEAD_ID},
            ]
        },
    )


class HistoryChange(BaseModel):
    field: str = Field(examples=["phone"])
    before: Any = Field(default=None, examples=["138****5678"])
    after: Any = Field(default=None, examples=["139****4321"])


class HistoryActor(BaseModel):
    sub: str | None
    role: str | None
    region: str | None


class HistoryEntry(BaseModel):
    id: int
    household_id: uuid.UUID
    entity_type: Literal["household", "member", "income", "benefit", "status", "cadre"]
    entity_id: uuid.UUID | None
    action: str = Field(examples=["member.update"])
    changes: list[HistoryChange]
    reason: str | None
    effective_date: date | None
    actor: HistoryActor
    request_id: str | None
    occurred_at: datetime


class BenefitList(BaseModel):
    items: list[BenefitRead]


class IncomeList(BaseModel):
    items: list[IncomeRead]


class MemberList(BaseModel):
    items: list[MemberRead]


class PhoneReveal(BaseModel):
    household_id: uuid.UUID
    phone: str | None = Field(description="the full number; this reveal is in the audit log")
    purpose: str = Field(examples=["入户核实前电话联系"])
    audit_id: int


# ---------------------------------------------------------------- imports and exports

JobStatus = Literal["queued", "running", "succeeded", "failed"]
ImportMode = Literal["all_or_nothing", "valid_rows"]


class ImportRowError(BaseModel):
    row: int = Field(description="row number as the spreadsheet shows it (header = 1)", examples=[17])
    column: str | None = Field(description="template column key", examples=["national_id"])
    message: str = Field(examples=["the check digit (last character) does not match"])
    code: str = Field(examples=["invalid_check_digit"])


class JobProgress(BaseModel):
    phase: str | None = Field(description="queued, parsing, checking, writing, done")
    done: int
    total: int | None


class ImportResult(BaseModel):
    imported_households: int
    imported_members: int
    rejected_rows: int
    total_rows: int
    households_without_head: int = Field(
        default=0, description="valid_rows mode: households imported although their head's row was rejected"
    )
    stored_errors: int | None = Field(
        default=None,
        description="row errors kept (the first ones, at most `import_max_stored_errors`); `error_count` counts all",
    )


class ImportJobRead(BaseModel):
    id: uuid.UUID
    status: JobStatus
    mode: ImportMode
    format: Literal["csv", "xlsx"]
    filename: str | None
    file_sha256: str
    file_bytes: int
    progress: JobProgress
    error_count: int
    errors: list[ImportRowError] = Field(description="the first 100 errors; all at /v1/imports/{id}/errors")
    result: ImportResult | None
    failure: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ExportCreate(WireModel):
    region: RegionPrefix = Field(description="the region to export (must be inside yours)")
    format: Literal["csv", "xlsx"] = "csv"
    reveal: StrictBool = Field(
        default=False, description="full ID numbers and bank accounts (county officers only; audited)"
    )
    purpose: Text500 | None = Field(default=None, description="required with reveal (用途)")
    include_former_members: StrictBool = False
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"region": "410602100", "format": "xlsx"}]}
    )


class ExportJobRead(BaseModel):
    id: uuid.UUID
    status: JobStatus
    format: Literal["csv", "xlsx"]
    region: str
    reveal: bool
    include_former_members: bool
    row_count: int | None
    filename: str | None
    download_url: str | None
    failure: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None


INCOME_SOURCES = [s.value for s in IncomeSource]


# ---------------------------------------------------------------- regions (行政区划)

#: A division code as a path or query value (normalised by the service; 2–12 digits).
RegionCode = Annotated[str, Field(pattern=r"^[0-9]{2,12}$", examples=["410602100201"])]

Level = Literal["province", "city", "county", "township", "village"]


class RegionRead(BaseModel):
    code: str = Field(description="12-digit division code (行政区划代码)", examples=["410602001001"])
    name: str = Field(examples=["鹤壁集村"])
    level: Level = Field(description="province 省 / city 市 / county 县 / township 乡镇 / village 村")
    parent_code: str | None = Field(examples=["410602001000"])
    prefix: str = Field(description="the significant digits: the scope prefix a token's `region` uses")
    county_code: str | None
    updated_at: datetime


class RegionImportResult(BaseModel):
    imported: int
    grids: int = Field(default=0, description="grids 网格 imported (codes of 13–16 characters, with 网格长)")
    errors: list[FieldError] = Field(description="rejected rows, each with its row number")


# ---------------------------------------------------------------- statistics (统计报表, rules.md §5)

Percent = Annotated[
    Decimal,
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "decimal",
            "pattern": r"^[0-9]+\.[0-9]{2}$",
            "description": "a percentage with two decimals (占比 %)",
            "examples": ["41.84"],
        }
    ),
]


class RegionRef(BaseModel):
    code: str = Field(description="the division code as asked (6, 9 or 12 digits)", examples=["410602"])
    name: str | None = Field(description="the region's name from the region tree", examples=["鹤山区"])
    level: Literal["county", "township", "village"]


class HeadCount(BaseModel):
    households: int = Field(description="户数", examples=[184])
    people: int = Field(description="人数 (active members)", examples=[480])


class YearCount(HeadCount):
    year: int = Field(examples=[2019])


class CodeCount(HeadCount):
    code: str | None = Field(description="the code; null = not recorded (未填)", examples=["illness"])
    label: str = Field(description="the Chinese label", examples=["因病"])
    share: Percent | None = Field(default=None, description="share of the households of the table (户数占比 %)")


class RegionFigures(BaseModel):
    code: str = Field(examples=["410602100"])
    name: str | None = Field(examples=["鹤壁集镇"])
    rural: HeadCount
    registered: HeadCount
    remaining: HeadCount
    poverty_incidence: Percent | None


class PayoutFigure(BaseModel):
    category: str = Field(examples=["illness"])
    label: str = Field(examples=["因病"])
    claims: int
    households: int
    amount: MoneyOut


class AssistanceFigure(BaseModel):
    measure_type: str = Field(examples=["public_welfare_post"], description="帮扶措施类型 (rules.md §4)")
    label: str = Field(examples=["公益岗"])
    payments: int = Field(description="payments (笔数)")
    households: int
    amount: MoneyOut = Field(description="yuan paid in the year (reversed payments excluded)")


class MeasureFigure(BaseModel):
    measure_type: str = Field(examples=["public_welfare_post"], description="帮扶措施类型 (rules.md §4)")
    label: str = Field(examples=["公益岗"])
    measures: int = Field(description="measures in effect at some time in the year (cancelled ones excluded)")
    households: int


class CareFigure(BaseModel):
    care_group: str = Field(examples=["elderly_no_labour"], description="兜底 group (rules.md §4)")
    group_label: str = Field(examples=["无劳动能力的贫困老年人"])
    placement: str | None = Field(examples=["institutional"], description="null: confirmed, not yet placed")
    placement_label: str = Field(examples=["集中供养"])
    people: int
    households: int


class StatisticsRead(BaseModel):
    """The county report's figures that the register holds (rules.md §5), for one region and year."""

    region: RegionRef
    year: int = Field(examples=[2020])
    rounding: Literal["down", "half_up"] = Field(
        description="how shares are cut to two decimals: down 截位 (the county reports' way, the default) or "
        "half_up 四舍五入"
    )
    rural: HeadCount = Field(description="households and people on the register (农村登记户数/人数)")
    registered: HeadCount = Field(description="建档立卡户数/人数: identified (识别年度) in or before the year")
    remaining: HeadCount = Field(description="未脱贫户数/人数 at the end of the year")
    poverty_incidence: Percent | None = Field(description="贫困发生率 = remaining people ÷ rural people (%)")
    lifted_out_by_year: list[YearCount] = Field(description="脱贫户数/人数 by 脱贫年度, up to the year")
    remaining_by_cause: list[CodeCount] = Field(description="remaining households by 主要致贫原因, with shares")
    monitored_by_type: list[CodeCount] = Field(description="监测对象 by type (now), with shares")
    monitored_by_risk: list[CodeCount] = Field(description="监测对象 by 风险类型 (a household counts once per type)")
    dibao_tekun: list[CodeCount] = Field(description="低保 by class and 特困供养 households")
    by_region: list[RegionFigures] = Field(description="the same main figures per township (of a county) or village")
    claims_paid: list[PayoutFigure] | None = Field(
        description="防贫保险 claims paid in the year by category (claims' read contract claims.payment_paid_v1); "
        "null when that contract is not reachable from the registry's database"
    )
    assistance_paid: list[AssistanceFigure] = Field(
        description="帮扶资金 of the year by measure type: screening's payments the registry holds as income "
        "(registry.assistance_income), reversed ones excluded"
    )
    measures_by_type: list[MeasureFigure] | None = Field(
        description="帮扶措施 in effect in the year by type (screening's read contract "
        "screening.assistance_measure_v1); null when it is not reachable from the registry's database"
    )
    care_by_group: list[CareFigure] | None = Field(
        description="兜底保障 people now by group and placement (screening.care_subject_v1); null when not reachable"
    )
    not_held: list[str] = Field(description="§5 figures this report does not give, and why")
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "region": {"code": "410602", "name": "鹤山区", "level": "county"},
                    "year": 2020,
                    "rounding": "down",
                    "rural": {"households": 30000, "people": 120000},
                    "registered": {"households": 4621, "people": 10846},
                    "remaining": {"households": 184, "people": 480},
                    "poverty_incidence": "0.40",
                    "lifted_out_by_year": [{"year": 2019, "households": 1200, "people": 2900}],
                    "remaining_by_cause": [
                        {"code": "illness", "label": "因病", "households": 77, "people": 200, "share": "41.84"}
                    ],
                    "monitored_by_type": [],
                    "monitored_by_risk": [],
                    "dibao_tekun": [{"code": "A", "label": "A类", "households": 12, "people": 30, "share": None}],
                    "by_region": [],
                    "claims_paid": [
                        {"category": "illness", "label": "因病", "claims": 12, "households": 11, "amount": "86000.00"}
                    ],
                    "assistance_paid": [
                        {
                            "measure_type": "public_welfare_post",
                            "label": "公益岗",
                            "payments": 36,
                            "households": 3,
                            "amount": "28800.00",
                        }
                    ],
                    "measures_by_type": [
                        {"measure_type": "public_welfare_post", "label": "公益岗", "measures": 3, "households": 3}
                    ],
                    "care_by_group": [
                        {
                            "care_group": "elderly_no_labour",
                            "group_label": "无劳动能力的贫困老年人",
                            "placement": "institutional",
                            "placement_label": "集中供养",
                            "people": 4,
                            "households": 4,
                        }
                    ],
                    "not_held": ["防贫保险 premiums and the loss ratio: the premiums are not in claims' read contract"],
                }
            ]
        }
    )
