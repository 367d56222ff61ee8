"""Assistance measures (帮扶措施) as typed records (rules.md §4): the types, the fields each one
carries, the income a payment of it counts as, and the plan's statuses. Pure: values in, a
normalised record or the reasons it is refused out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any


class IncomeType(StrEnum):
    """The registry income a payment counts as (家庭收入 by kind)."""

    WAGE = "wage"  # 工资性收入
    BUSINESS = "business"  # 生产经营性收入
    PROPERTY = "property"  # 财产性收入
    TRANSFER = "transfer"  # 转移性收入


INCOME_LABELS = {
    IncomeType.WAGE: "工资性收入",
    IncomeType.BUSINESS: "生产经营性收入",
    IncomeType.PROPERTY: "财产性收入",
    IncomeType.TRANSFER: "转移性收入",
}


class MeasureStatus(StrEnum):
    PLANNED = "planned"  # 计划 (in the household's assistance plan, with a due date)
    IN_PROGRESS = "in_progress"  # 实施中
    DELIVERED = "delivered"  # 已落实
    CANCELLED = "cancelled"  # 已取消


STATUS_LABELS = {
    MeasureStatus.PLANNED: "计划",
    MeasureStatus.IN_PROGRESS: "实施中",
    MeasureStatus.DELIVERED: "已落实",
    MeasureStatus.CANCELLED: "已取消",
}

# The moves a measure's status may make.
STATUS_MOVES: Mapping[MeasureStatus, frozenset[MeasureStatus]] = {
    MeasureStatus.PLANNED: frozenset({MeasureStatus.IN_PROGRESS, MeasureStatus.DELIVERED, MeasureStatus.CANCELLED}),
    MeasureStatus.IN_PROGRESS: frozenset({MeasureStatus.DELIVERED, MeasureStatus.CANCELLED}),
    MeasureStatus.DELIVERED: frozenset(),
    MeasureStatus.CANCELLED: frozenset(),
}


@dataclass(frozen=True)
class Field:
    kind: str  # text | money | int | bool | choice
    required: bool = False
    choices: tuple[str, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class TypeSpec:
    code: str
    label: str
    income: IncomeType | None  # None: resolves a risk, pays no income
    fields: Mapping[str, Field] = field(default_factory=dict)


def _t(label: str, required: bool = False) -> Field:
    return Field("text", required, label=label)


def _m(label: str, required: bool = False) -> Field:
    return Field("money", required, label=label)


def _i(label: str, required: bool = False) -> Field:
    return Field("int", required, label=label)


def _b(label: str) -> Field:
    return Field("bool", False, label=label)


def _c(label: str, *choices: str) -> Field:
    return Field("choice", True, choices, label=label)


TYPES: Mapping[str, TypeSpec] = {
    s.code: s
    for s in (
        TypeSpec(
            "industry",
            "产业帮扶",
            IncomeType.PROPERTY,
            {
                "project": _t("项目", True),
                "investment": _m("投入"),
                "dividend_per_year": _m("入股分红/资产收益(元/年)"),
            },
        ),
        TypeSpec(
            "public_welfare_post",
            "公益岗",
            IncomeType.WAGE,
            {"post": _t("岗位", True), "monthly_wage": _m("月工资", True), "months": _i("月数")},
        ),
        TypeSpec(
            "employment",
            "就业帮扶",
            IncomeType.TRANSFER,
            {
                "kind": _c(
                    "类别", "transfer_employment", "job_retention_subsidy", "transport_subsidy", "skills_training"
                ),
                "amount": _m("金额"),
            },
        ),
        TypeSpec(
            "microcredit",
            "小额信贷",
            IncomeType.TRANSFER,  # the interest subsidy (贴息); the loan is not income
            {
                "bank": _t("贷款银行", True),
                "principal": _m("贷款金额", True),
                "term_months": _i("期限(月)", True),
                "interest_subsidy": _m("贴息"),
            },
        ),
        TypeSpec(
            "education_aid",
            "教育资助",
            IncomeType.TRANSFER,
            {
                "programme": _c("项目", "yulu_plan", "national_grant", "student_loan"),
                "student_member_id": _t("学生(成员ID)", True),
                "amount": _m("金额"),
            },
        ),
        TypeSpec(
            "health",
            "健康帮扶",
            IncomeType.TRANSFER,
            {
                "family_doctor_contract": _b("家庭医生签约"),
                "chronic_disease_card": _b("慢病卡"),
                "medical_assistance_amount": _m("医疗救助金额"),
            },
        ),
        TypeSpec(
            "dibao",
            "低保",
            IncomeType.TRANSFER,
            {
                "dibao_class": _c("类别", "A", "B", "C"),
                "persons": _i("保障人数", True),
                "monthly_amount_per_person": _m("每人每月(元)"),
            },
        ),
        TypeSpec("tekun", "特困供养", IncomeType.TRANSFER, {"amount": _m("金额")}),
        TypeSpec("temporary_relief", "临时救助", IncomeType.TRANSFER, {"amount": _m("金额", True)}),
        TypeSpec("housing", "危房改造", None, {"works": _t("工程", True), "subsidy": _m("补助")}),
        TypeSpec("water", "饮水安全", None, {"works": _t("工程", True), "subsidy": _m("补助")}),
        TypeSpec(
            "consumption",
            "消费帮扶",
            IncomeType.BUSINESS,
            {"buyer": _t("购买方", True), "goods": _t("产品", True), "sales_amount": _m("销售额")},
        ),
        TypeSpec(
            "social",
            "社会帮扶",
            IncomeType.TRANSFER,
            {"partner": _t("结对企业/爱心人士", True), "donation": _m("捐赠")},
        ),
    )
}

MEASURE_TYPE_LABELS = {code: spec.label for code, spec in TYPES.items()}
MAX_MONEY = Decimal("100000000")
MAX_TEXT = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class DetailError:
    field: str
    message: str


def money(value: Any) -> Decimal | None:
    """A non-negative amount with at most two places, below MAX_MONEY, or None."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    if not d.is_finite() or d < 0 or d >= MAX_MONEY or d.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    return d.quantize(Decimal("0.01"))


def validate_details(measure_type: str, details: Mapping[str, Any]) -> tuple[dict[str, Any], list[DetailError]]:
    """The details of a measure of `measure_type`, normalised (money as two-place strings), or the errors."""
    spec = TYPES[measure_type]
    out: dict[str, Any] = {}
    errors: list[DetailError] = []
    for name in details:
        if name not in spec.fields:
            errors.append(DetailError(name, f"not a field of a {measure_type} measure"))
    for name, f in spec.fields.items():
        value = details.get(name)
        if value is None:
            if f.required:
                errors.append(DetailError(name, "required"))
            continue
        if f.kind == "text":
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT or _CONTROL.search(value):
                errors.append(DetailError(name, f"a text of 1 to {MAX_TEXT} characters"))
            else:
                out[name] = value.strip()
        elif f.kind == "money":
            amount = money(value)
            if amount is None:
                errors.append(DetailError(name, "an amount in yuan: a decimal string, at most two places"))
            else:
                out[name] = f"{amount:.2f}"
        elif f.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1200:
                errors.append(DetailError(name, "a whole number from 1 to 1200"))
            else:
                out[name] = value
        elif f.kind == "bool":
            if not isinstance(value, bool):
                errors.append(DetailError(name, "true or false"))
            else:
                out[name] = value
        elif f.kind == "choice":
            if value not in f.choices:
                errors.append(DetailError(name, f"one of {', '.join(f.choices)}"))
            else:
                out[name] = value
    return out, errors


def period_year(period: str) -> int | None:
    match = PERIOD.match(period)
    return int(match.group(1)) if match else None
