"""兜底保障 (rules.md §4): the groups of members who cannot escape poverty by work, and the rules of
their placement. Pure.

Readings decided here (rules.md §4 names the groups, not their tests):
- only members of poor households count: 脱贫户 (`lifted_out`) and the three monitored types;
- `elderly_no_labour` 贫困老年人无劳动能力: 60 or older on the day and labour ability `none`;
- `severe_disability` 重度残疾: disability grade 1 or 2;
- `serious_illness` 重病: health `serious_illness` (患有大病);
- the severely intellectually disabled and the mentally ill are not told apart by the register (it
  holds a disability grade, not its kind): they are suggested through the grade, an officer confirms.
- a care home takes at most 5 residents per carer (集中供养); a hospital (集中救治) has no ratio;
- a home placement (分散托养) needs a guardian and a signed agreement, and a visit each month: the
  next visit is due one month after the last one (or after the placement), overdue from the day after.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from services.screening.domain.calendar import add_months

ELDERLY_AGE = 60
RESIDENTS_PER_CARER = 5
POOR_STATUSES = ("lifted_out", "unstable", "marginal", "sudden_hardship")


class CareGroup(StrEnum):
    ELDERLY_NO_LABOUR = "elderly_no_labour"  # 贫困老年人无劳动能力
    SEVERE_DISABILITY = "severe_disability"  # 重度残疾 (1–2 级)
    SERIOUS_ILLNESS = "serious_illness"  # 重病


GROUP_LABELS = {
    CareGroup.ELDERLY_NO_LABOUR: "无劳动能力的贫困老年人",
    CareGroup.SEVERE_DISABILITY: "重度残疾人",
    CareGroup.SERIOUS_ILLNESS: "重病患者",
}


class Placement(StrEnum):
    INSTITUTIONAL = "institutional"  # 集中供养 (a care home)
    TREATMENT = "treatment"  # 集中救治 (a hospital)
    HOME = "home"  # 分散托养 (a guardian at home)


INSTITUTION_KIND = {Placement.INSTITUTIONAL: "care_home", Placement.TREATMENT: "hospital"}


def born_by(today: date, age: int = ELDERLY_AGE) -> date:
    """The latest birth date of someone `age` or older on `today` (29 February born: 1 March in a common year)."""
    try:
        return today.replace(year=today.year - age)
    except ValueError:
        return date(today.year - age, 2, 28)


def groups_of(
    *,
    household_status: str,
    birth_date: date,
    health: str,
    disability_grade: int | None,
    labour_ability: str,
    today: date,
) -> list[CareGroup]:
    """The 兜底 groups a member of the register falls in (empty: none)."""
    if household_status not in POOR_STATUSES:
        return []
    found: list[CareGroup] = []
    if labour_ability == "none" and birth_date <= born_by(today):
        found.append(CareGroup.ELDERLY_NO_LABOUR)
    if disability_grade in (1, 2):
        found.append(CareGroup.SEVERE_DISABILITY)
    if health == "serious_illness":
        found.append(CareGroup.SERIOUS_ILLNESS)
    return found


def institution_refusal(placement: Placement, kind: str, residents: int, carers: int) -> str | None:
    """Why an institution cannot take one more subject (a named 409 code), or None."""
    if INSTITUTION_KIND.get(placement) != kind:
        return "institution_kind_mismatch"
    if placement is Placement.INSTITUTIONAL and residents + 1 > RESIDENTS_PER_CARER * carers:
        return "carer_ratio_exceeded"
    return None


def next_visit_due(placed_on: date, last_visit: date | None) -> date:
    """一月一回访: one month after the last visit, or after the placement when none yet."""
    return add_months(last_visit or placed_on, 1)


def visit_overdue(placed_on: date, last_visit: date | None, today: date) -> bool:
    return next_visit_due(placed_on, last_visit) < today
