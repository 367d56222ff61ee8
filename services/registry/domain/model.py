"""Registry vocabulary: the enums every household and member field draws from, their Chinese
labels (for exports, templates and docs), and the per-capita net income rule.

Pure: no I/O, no framework imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum
from types import MappingProxyType


class LabelledEnum(StrEnum):
    """A StrEnum whose members know their Chinese label (see ``LABELS_ZH``)."""

    @property
    def label_zh(self) -> str:
        return LABELS_ZH[type(self)][self]


class HouseholdStatus(LabelledEnum):
    ordinary = "ordinary"
    lifted_out = "lifted_out"
    unstable = "unstable"
    marginal = "marginal"
    sudden_hardship = "sudden_hardship"

    @property
    def is_monitoring(self) -> bool:
        return self in MONITORING_TYPES


MONITORING_TYPES: frozenset[HouseholdStatus] = frozenset(
    {HouseholdStatus.unstable, HouseholdStatus.marginal, HouseholdStatus.sudden_hardship}
)


class DibaoClass(LabelledEnum):
    A = "A"
    B = "B"
    C = "C"


class Relation(LabelledEnum):
    head = "head"
    spouse = "spouse"
    son = "son"
    daughter = "daughter"
    son_in_law = "son_in_law"
    daughter_in_law = "daughter_in_law"
    grandson = "grandson"
    granddaughter = "granddaughter"
    father = "father"
    mother = "mother"
    father_in_law = "father_in_law"
    mother_in_law = "mother_in_law"
    grandfather = "grandfather"
    grandmother = "grandmother"
    brother = "brother"
    sister = "sister"
    other = "other"


class Health(LabelledEnum):
    healthy = "healthy"
    chronic = "chronic"
    serious_illness = "serious_illness"
    disabled = "disabled"


class LabourAbility(LabelledEnum):
    normal = "normal"
    weak = "weak"
    none = "none"


class EducationStage(LabelledEnum):
    none = "none"
    preschool = "preschool"
    primary = "primary"
    junior = "junior"
    senior_high = "senior_high"
    secondary_vocational = "secondary_vocational"
    junior_college = "junior_college"
    undergraduate = "undergraduate"
    postgraduate = "postgraduate"


class JoinReason(LabelledEnum):
    birth = "birth"
    marriage_in = "marriage_in"
    moved_in = "moved_in"
    registration = "registration"  # on the register since the household was first registered


class LeaveReason(LabelledEnum):
    death = "death"
    marriage_out = "marriage_out"
    moved_out = "moved_out"
    other = "other"


class IncomeSource(LabelledEnum):
    wage = "wage"
    business = "business"
    property = "property"
    transfer = "transfer"
    production_costs = "production_costs"


class Sex(LabelledEnum):
    male = "male"
    female = "female"


# Keyed by enum class first: StrEnum members compare (and hash) equal to their string value,
# so one flat dict would mix up e.g. LabourAbility.none and EducationStage.none.
# The labels follow the wording of the national 建档立卡 / 防返贫监测 registers.
_LABELS: dict[type[LabelledEnum], dict[str, str]] = {
    HouseholdStatus: {
        "ordinary": "一般农户",
        "lifted_out": "脱贫户",
        "unstable": "脱贫不稳定户",
        "marginal": "边缘易致贫户",
        "sudden_hardship": "突发严重困难户",
    },
    DibaoClass: {"A": "A类", "B": "B类", "C": "C类"},
    Relation: {
        "head": "户主",
        "spouse": "配偶",
        "son": "之子",
        "daughter": "之女",
        "son_in_law": "之女婿",
        "daughter_in_law": "之儿媳",
        "grandson": "之孙子",
        "granddaughter": "之孙女",
        "father": "之父",
        "mother": "之母",
        "father_in_law": "之岳父",
        "mother_in_law": "之岳母",
        "grandfather": "之祖父",
        "grandmother": "之祖母",
        "brother": "之兄弟",
        "sister": "之姐妹",
        "other": "其他",
    },
    Health: {
        "healthy": "健康",
        "chronic": "长期慢性病",
        "serious_illness": "患有大病",
        "disabled": "残疾",
    },
    LabourAbility: {"normal": "普通劳动力", "weak": "弱劳动力或半劳动力", "none": "无劳动力"},
    EducationStage: {
        "none": "无",
        "preschool": "学前教育",
        "primary": "小学",
        "junior": "初中",
        "senior_high": "高中",
        "secondary_vocational": "中职",
        "junior_college": "大专",
        "undergraduate": "本科",
        "postgraduate": "研究生",
    },
    JoinReason: {"birth": "出生", "marriage_in": "婚入", "moved_in": "迁入", "registration": "建档"},
    LeaveReason: {"death": "死亡", "marriage_out": "婚出", "moved_out": "迁出", "other": "其他"},
    IncomeSource: {
        "wage": "工资性收入",
        "business": "经营性收入",
        "property": "财产性收入",
        "transfer": "转移性收入",
        "production_costs": "生产经营支出",
    },
    Sex: {"male": "男", "female": "女"},
}

LABELS_ZH: Mapping[type[LabelledEnum], Mapping[str, str]] = MappingProxyType(
    {cls: MappingProxyType(labels) for cls, labels in _LABELS.items()}
)
"""Chinese label of every enum value: ``LABELS_ZH[Relation][Relation.head] == "户主"``."""

LABELLED_ENUMS: tuple[type[LabelledEnum], ...] = tuple(_LABELS)


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
