"""Screening's assistance payments (帮扶资金) as registry income (rules.md §4; issue 13).

Each payment of a measure (a month's 公益岗 wage, a month of 低保, an aid payment, a dividend) is
sent by screening through its outbox:

- `POST /v1/households/{household_id}/assistance-income` with `AssistanceIncomePost` →
  `AssistanceIncomeRead` (roles: service, county_officer). Exactly once per `payment_id`: the same
  payment again answers the first record (200), the same id with other details is 409
  `assistance_payment_conflict`. The amount is recorded as a benefit (`source` = "screening",
  `source_ref` = the payment id: the registry's existing benefit path, so it counts in the year's
  income and in `household_income_v1`), with its income type and the link back to the measure.
- `POST /v1/households/{household_id}/assistance-income/{payment_id}/reversal` with
  `AssistanceIncomeReversal` → `AssistanceIncomeRead` (status `reversed`): the benefit is taken
  back out of the year's income; exactly once (a second reversal answers the first). Reversing a
  payment the registry never received is 409 `assistance_payment_unknown` (the outbox orders a
  household's messages, so the payment arrives first).
- `GET /v1/households/{household_id}/assistance-income?year=` → `AssistanceIncomeList` with the
  year's totals by income type.

SQL read contracts owned by screening, for the registry's county report (rules.md §5; migration
0016_screening_report_contracts):

`screening.assistance_measure_v1` — one row per assistance measure (帮扶措施):
    measure_id uuid, county_code text(6), township_code text(9), village_code text(12),
    household_id uuid, measure_type text (MEASURE_TYPE_LABELS), status text (planned, in_progress,
    delivered, cancelled), start_date date, end_date date

`screening.care_subject_v1` — one row per 兜底 subject:
    subject_id uuid, county_code text(6), village_code text(12), household_id uuid, member_id uuid,
    care_group text (CARE_GROUP_LABELS), status text (confirmed, placed, ended),
    placement text (PLACEMENT_LABELS; null until placed), placed_on date
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.types import Code, ContractModel, MoneyOut, PositiveMoney, Year

AssistanceIncomeType = Literal["wage", "business", "property", "transfer"]

#: The measure types of rules.md §4 and their Chinese names, as they travel in `measure_type`
#: (screening's domain declares each type's fields; tests/unit/test_contract_measure_types.py keeps
#: the two lists equal). The registry names the types with these in its reports.
MEASURE_TYPE_LABELS: dict[str, str] = {
    "industry": "产业帮扶",
    "public_welfare_post": "公益岗",
    "employment": "就业帮扶",
    "microcredit": "小额信贷",
    "education_aid": "教育资助",
    "health": "健康帮扶",
    "dibao": "低保",
    "tekun": "特困供养",
    "temporary_relief": "临时救助",
    "housing": "危房改造",
    "water": "饮水安全",
    "consumption": "消费帮扶",
    "social": "社会帮扶",
}

#: 兜底 groups (rules.md §4) and placements, as `care_group` / `placement` carry them.
CARE_GROUP_LABELS: dict[str, str] = {
    "elderly_no_labour": "无劳动能力的贫困老年人",
    "severe_disability": "重度残疾人",
    "serious_illness": "重病患者",
}
PLACEMENT_LABELS: dict[str, str] = {"institutional": "集中供养", "treatment": "集中救治", "home": "分散托养"}

SOURCE = "screening"


class AssistanceIncomePost(ContractModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_id": "0b7a4c7e-51d8-4f0a-9a53-6a1f7c2e9d10",
                    "measure_id": "5f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
                    "measure_type": "public_welfare_post",
                    "income_type": "wage",
                    "amount": "800.00",
                    "paid_date": "2026-03-31",
                    "year": 2026,
                }
            ]
        }
    )

    payment_id: UUID = Field(description="screening's payment id: the key of exactly-once")
    measure_id: UUID = Field(description="the measure paid (the link back)")
    measure_type: Code = Field(examples=["public_welfare_post"], description="帮扶措施类型 (rules.md §4)")
    income_type: AssistanceIncomeType = Field(description="工资性/经营性/财产性/转移性")
    amount: PositiveMoney = Field(description="yuan, a decimal string with at most two places")
    paid_date: date
    year: Year = Field(description="the income year it counts for")


class AssistanceIncomeReversal(ContractModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reversal_id": "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a"}]})

    reversal_id: UUID = Field(description="screening's id of the reversal (冲正)")


class AssistanceIncomeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_id": "0b7a4c7e-51d8-4f0a-9a53-6a1f7c2e9d10",
                    "household_id": "2d4c6e8a-0b1c-4d2e-9f3a-4b5c6d7e8f90",
                    "benefit_id": "018f0c4e-7a1b-7c2d-8e3f-4a5b6c7d8e9f",
                    "measure_id": "5f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
                    "measure_type": "public_welfare_post",
                    "income_type": "wage",
                    "amount": "800.00",
                    "paid_date": "2026-03-31",
                    "year": 2026,
                    "status": "posted",
                    "reversal_id": None,
                    "created_at": "2026-03-31T10:00:00+08:00",
                    "reversed_at": None,
                }
            ]
        }
    )

    payment_id: UUID
    household_id: UUID
    benefit_id: UUID | None = Field(description="the registry benefit that carries the amount; null once reversed")
    measure_id: UUID
    measure_type: str
    income_type: str
    amount: MoneyOut
    paid_date: date
    year: int
    status: Literal["posted", "reversed"]
    reversal_id: UUID | None = None
    created_at: datetime
    reversed_at: datetime | None = None


class AssistanceIncomeTotal(BaseModel):
    year: int = Field(examples=[2026])
    income_type: str = Field(examples=["wage"])
    amount: MoneyOut = Field(description="the posted (not reversed) payments of the year and type")
    payments: int = Field(examples=[3])


class AssistanceIncomeList(BaseModel):
    items: list[AssistanceIncomeRead]
    totals: list[AssistanceIncomeTotal]
