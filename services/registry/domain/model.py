"""Registry vocabulary: the enums every household and member field draws from (the household
status and the labelled-enum base come from the shared vocabulary), their Chinese
labels (for exports, templates and docs), and the per-capita net income rule.

Pure: no I/O, no framework imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Context, Decimal
from types import MappingProxyType

from shared.contracts.vocabulary import MONITORED_STATUSES, HouseholdStatus, LabelledEnum, labels_zh

__all__ = [
    "CENT",
    "LABELLED_ENUMS",
    "LABELS_ZH",
    "MONITORING_TYPES",
    "DibaoClass",
    "EducationLevel",
    "EducationStage",
    "Employment",
    "Health",
    "HouseholdStatus",
    "IncomeSource",
    "JoinReason",
    "LabelledEnum",
    "LabourAbility",
    "LeaveReason",
    "PovertyCause",
    "Relation",
    "RiskType",
    "Sex",
    "label_zh",
    "per_capita_net_income",
]


MONITORING_TYPES: frozenset[HouseholdStatus] = MONITORED_STATUSES
"""The three monitoring types (监测类型): set by a case, never imported (shared vocabulary)."""


class DibaoClass(LabelledEnum):
    A = "A", "A类"
    B = "B", "B类"
    C = "C", "C类"


class Relation(LabelledEnum):
    head = "head", "户主"
    spouse = "spouse", "配偶"
    son = "son", "之子"
    daughter = "daughter", "之女"
    son_in_law = "son_in_law", "之女婿"
    daughter_in_law = "daughter_in_law", "之儿媳"
    grandson = "grandson", "之孙子"
    granddaughter = "granddaughter", "之孙女"
    father = "father", "之父"
    mother = "mother", "之母"
    father_in_law = "father_in_law", "之岳父"
    mother_in_law = "mother_in_law", "之岳母"
    grandfather = "grandfather", "之祖父"
    grandmother = "grandmother", "之祖母"
    brother = "brother", "之兄弟"
    sister = "sister", "之姐妹"
    other = "other", "其他"


class Health(LabelledEnum):
    healthy = "healthy", "健康"
    chronic = "chronic", "长期慢性病"
    serious_illness = "serious_illness", "患有大病"
    disabled = "disabled", "残疾"


class LabourAbility(LabelledEnum):
    normal = "normal", "普通劳动力"
    weak = "weak", "弱劳动力或半劳动力"
    none = "none", "无劳动力"


class EducationStage(LabelledEnum):
    none = "none", "无"
    preschool = "preschool", "学前教育"
    primary = "primary", "小学"
    junior = "junior", "初中"
    senior_high = "senior_high", "高中"
    secondary_vocational = "secondary_vocational", "中职"
    junior_college = "junior_college", "大专"
    undergraduate = "undergraduate", "本科"
    postgraduate = "postgraduate", "研究生"


class JoinReason(LabelledEnum):
    birth = "birth", "出生"
    marriage_in = "marriage_in", "婚入"
    moved_in = "moved_in", "迁入"
    registration = "registration", "建档"  # on the register since the household was first registered


class LeaveReason(LabelledEnum):
    death = "death", "死亡"
    marriage_out = "marriage_out", "婚出"
    moved_out = "moved_out", "迁出"
    other = "other", "其他"


class IncomeSource(LabelledEnum):
    wage = "wage", "工资性收入"
    business = "business", "经营性收入"
    property = "property", "财产性收入"
    transfer = "transfer", "转移性收入"
    production_costs = "production_costs", "生产经营支出"


class PovertyCause(LabelledEnum):
    """主要致贫原因 / 其他致贫原因 (rules.md §3; the 建档立卡 labels)."""

    illness = "illness", "因病"
    disability = "disability", "因残"
    education = "education", "因学"
    disaster = "disaster", "因灾"
    lack_of_land = "lack_of_land", "缺土地"
    lack_of_water = "lack_of_water", "缺水"
    lack_of_skills = "lack_of_skills", "缺技术"
    lack_of_labour = "lack_of_labour", "缺劳力"
    lack_of_funds = "lack_of_funds", "缺资金"
    poor_transport = "poor_transport", "交通条件落后"
    lack_of_motivation = "lack_of_motivation", "自身发展动力不足"
    marriage = "marriage", "因婚"
    other = "other", "其他"


class RiskType(LabelledEnum):
    """风险类型 of a monitored household: the risk codes of §1.3 with the national labels (§3)."""

    illness = "illness", "因病"
    disability = "disability", "因残"
    education = "education", "因学"
    disaster = "disaster", "因灾"
    accident = "accident", "因意外事故"
    industry_failure = "industry_failure", "因产业项目失败"
    unstable_employment = "unstable_employment", "因务工就业不稳"
    lack_of_labour = "lack_of_labour", "缺劳动力"
    housing = "housing", "住房出现安全问题"
    water = "water", "饮水安全问题"
    compulsory_education = "compulsory_education", "义务教育保障出现问题"
    basic_medical = "basic_medical", "基本医疗保障出现问题"
    income_low = "income_low", "收入低"
    income_drop = "income_drop", "收入骤减"
    other = "other", "其他"


class EducationLevel(LabelledEnum):
    """文化程度 (§3)."""

    illiterate = "illiterate", "文盲或半文盲"
    primary = "primary", "小学"
    junior = "junior", "初中"
    senior = "senior", "高中"
    college_or_above = "college_or_above", "大专及以上"


class Employment(LabelledEnum):
    """务工状况 (§3): where a member works, if at all."""

    none = "none", "未务工"
    in_township = "in_township", "乡镇内"
    in_county = "in_county", "县内"
    in_province = "in_province", "省内"
    out_of_province = "out_of_province", "省外"


class Sex(LabelledEnum):
    male = "male", "男"
    female = "female", "女"


# Keyed by enum class first: StrEnum members compare (and hash) equal to their string value,
# so one flat dict would mix up e.g. LabourAbility.none and EducationStage.none.
# The labels follow the wording of the national 建档立卡 / 防返贫监测 registers.
LABELLED_ENUMS: tuple[type[LabelledEnum], ...] = (
    HouseholdStatus,
    DibaoClass,
    Relation,
    Health,
    LabourAbility,
    EducationStage,
    JoinReason,
    LeaveReason,
    IncomeSource,
    Sex,
    PovertyCause,
    RiskType,
    EducationLevel,
    Employment,
)

LABELS_ZH: Mapping[type[LabelledEnum], Mapping[str, str]] = MappingProxyType(
    {cls: labels_zh(cls) for cls in LABELLED_ENUMS}
)
"""Chinese label of every enum value: ``LABELS_ZH[Relation][Relation.head] == "户主"``."""


def label_zh(value: LabelledEnum) -> str:
    """The Chinese label of an enum member, e.g. ``label_zh(Sex.male) == "男"``."""
    return LABELS_ZH[type(value)][value]


CENT = Decimal("0.01")
# Enough digits that the division below is exact to far more places than the final rounding,
# so rounding happens once (half up, to the cent) and not twice.
_EXACT = Context(prec=60)


def per_capita_net_income(
    wage: Decimal,
    business: Decimal,
    property: Decimal,
    transfer: Decimal,
    production_costs: Decimal,
    members: int,
) -> Decimal | None:
    """(wage + business + property + transfer − production costs) ÷ members, in yuan, rounded
    half up to the cent. ``None`` when the household has no members (nothing to divide by).

    The result may be negative (costs above income); rounding of a negative half cent goes away
    from zero, like ROUND_HALF_UP does.
    """
    amounts = (wage, business, property, transfer, production_costs)
    for amount in amounts:
        # A float would smuggle binary rounding into money; int is exact and harmless.
        if isinstance(amount, float) or not isinstance(amount, Decimal | int):
            raise TypeError(f"money must be Decimal, got {type(amount).__name__}")
    if isinstance(members, bool) or not isinstance(members, int):
        raise TypeError(f"members must be int, got {type(members).__name__}")
    if members < 0:
        raise ValueError("members must not be negative")
    if members == 0:
        return None
    w, b, p, t, c = (Decimal(amount) for amount in amounts)
    net = _EXACT.subtract(_EXACT.add(_EXACT.add(_EXACT.add(w, b), p), t), c)
    return _EXACT.divide(net, Decimal(members)).quantize(CENT, rounding=ROUND_HALF_UP)
