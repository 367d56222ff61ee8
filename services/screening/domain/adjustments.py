"""两类户动态调整 (the monthly adjustment of the two monitored kinds, rules.md §4): the rules of a
village's monthly list and of its settlement.

- The list of calendar month M (dates in the county's time zone, the business clock) holds the
  households newly confirmed in M, eliminated in M, and changed in monitoring type in M.
- It is settled by day D of the month after M (a county parameter, default the 20th,
  `FANGPIN_SCREENING_ADJUSTMENT_DAY`): the village submits it (a snapshot of its entries), the
  township approves it or returns it with a reason; a returned list is submitted again.
- Overdue: on a day after the due date, a village whose list of M was not approved by the due
  date (not approved at all, or approved after it).

Pure: values in, decisions out; the service loads and stores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from shared.contracts.vocabulary import Role

MONTH_PATTERN: Final = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
YEARS: Final = range(2000, 2100)  # the months a list can be of (a date in M+1 always exists)
DEFAULT_DUE_DAY: Final = 20


class EntryKind(StrEnum):
    CONFIRMED = "confirmed"  # 新识别 (认定为监测对象)
    ELIMINATED = "eliminated"  # 风险消除
    TYPE_CHANGED = "type_changed"  # 类型变更


ENTRY_KIND_LABELS: Final = {
    EntryKind.CONFIRMED: "新识别",
    EntryKind.ELIMINATED: "风险消除",
    EntryKind.TYPE_CHANGED: "类型变更",
}


class SettlementStatus(StrEnum):
    SUBMITTED = "submitted"  # 村级已上报
    APPROVED = "approved"  # 乡镇已审核
    RETURNED = "returned"  # 乡镇退回


SETTLEMENT_LABELS: Final[dict[SettlementStatus | None, str]] = {
    None: "未上报",
    SettlementStatus.SUBMITTED: "村级已上报",
    SettlementStatus.APPROVED: "乡镇已审核",
    SettlementStatus.RETURNED: "乡镇退回",
}


class SettlementAction(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"


#: Who takes each step: the village submits its list, the township approves or returns it (the routes'
#: require_roles in api/deps.py; an admin passes every role check).
SETTLEMENT_ROLES: Final = {
    SettlementAction.SUBMIT: frozenset({Role.VILLAGE_CADRE}),
    SettlementAction.APPROVE: frozenset({Role.TOWNSHIP_OFFICER}),
    SettlementAction.RETURN: frozenset({Role.TOWNSHIP_OFFICER}),
}


class SettlementRefused(Exception):
    """A settlement step refused in the current state: a 409 with `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`YYYY-MM` (months 01–12), or ValueError."""
        match = MONTH_PATTERN.match(text)
        if match is None or int(match.group(1)) not in YEARS:
            raise ValueError(f"month must be YYYY-MM (01-12, years 2000-2099), not {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    @property
    def last_day(self) -> date:
        return self.next.first_day - timedelta(days=1)


def due_date(month: Month, due_day: int = DEFAULT_DUE_DAY) -> date:
    """The day the list of `month` must be approved by: day `due_day` of the following month."""
    if not 1 <= due_day <= 28:
        raise ValueError("the due day must be 1-28")
    return month.next.first_day.replace(day=due_day)


def is_overdue(month: Month, today: date, approved_on: date | None, due_day: int = DEFAULT_DUE_DAY) -> bool:
    """After the due date, and not approved by it (never, or later than it)."""
    due = due_date(month, due_day)
    if today <= due:
        return False
    return approved_on is None or approved_on > due


def next_status(
    current: SettlementStatus | None, action: SettlementAction, month: Month, today: date
) -> SettlementStatus:
    """The settlement's status after `action`, or `SettlementRefused`.

    submit: only once the month is over (`adjustment_month_open`), from nothing or a returned list;
    a list waiting for the township is `adjustment_already_submitted`, an approved one
    `adjustment_already_approved`. approve / return: only a submitted list
    (`adjustment_not_submitted`; an approved one `adjustment_already_approved`).
    """
    if current is SettlementStatus.APPROVED:
        raise SettlementRefused("adjustment_already_approved", f"the adjustment list of {month} is approved")
    if action is SettlementAction.SUBMIT:
        if today <= month.last_day:
            raise SettlementRefused(
                "adjustment_month_open", f"the list of {month} can be submitted from {month.next.first_day}"
            )
        if current is SettlementStatus.SUBMITTED:
            raise SettlementRefused(
                "adjustment_already_submitted", f"the adjustment list of {month} waits for the township"
            )
        return SettlementStatus.SUBMITTED
    if current is not SettlementStatus.SUBMITTED:
        raise SettlementRefused("adjustment_not_submitted", f"the adjustment list of {month} is not submitted")
    return SettlementStatus.APPROVED if action is SettlementAction.APPROVE else SettlementStatus.RETURNED
