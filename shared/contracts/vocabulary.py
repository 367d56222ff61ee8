"""The shared vocabulary: roles, household statuses, monitoring types, and how personal data is masked.

Pure (standard library only): a `domain/` module may import it. One definition each, replacing
the copies the services kept (issue 11):

- `Role` — was in shared/auth.py (which re-imports it from here), screening domain/cases.py
  (a subset) and claims domain/workflow.py. The order of the members is the order
  `Principal.primary_role` ranks them by: keep it.
- `HouseholdStatus`, `MonitoringType` — were in registry domain/model.py (with Chinese labels),
  screening domain/cases.py, claims domain/scheme.py and, as `Literal`s, shared/contracts/registry.py.
  Members are spelled in upper case (``HouseholdStatus.LIFTED_OUT``) like screening's and claims';
  the registry's lower-case spelling (``HouseholdStatus.lifted_out``) goes with its copy. The
  values — what is stored and sent — are the same in every copy.
- `LabelledEnum` — a StrEnum whose members carry their Chinese label: declare a member as
  ``NAME = "value", "标签"``; ``member.label_zh`` reads it, `labels_zh(Enum)` gives the table
  (the registry's exports, templates and import aliases use them).
- masking — was in shared/pii.py (which re-exports it from here), registry domain/national_id.py
  (`mask_national_id`), registry services/households.py (`mask_reference`) and screening
  domain/feeds.py (`mask_id`).

National-ID masking, one behaviour: an 18-character number keeps its region (first 6) and its
last 4 characters, ``410602********1234`` — every copy agreed on that, and it is the only form
any caller passes (each validates the number first). They disagreed on anything else: shared/pii
and screening showed the first 6 and last 4 of any value longer than 10 characters, the registry
masked every character of a value that is not 18 long. The registry's rule is the right one and
is the one kept: a value of unknown shape — a 15-digit first-generation number, a phone number
typed into the ID column — would otherwise show 10 of its 11–17 characters. ``None`` and ``""``
come back unchanged, as shared/pii returned them.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Self

__all__ = [
    "MONITORED_STATUSES",
    "HouseholdStatus",
    "LabelledEnum",
    "MonitoringType",
    "Role",
    "labels_zh",
    "mask_bank_account",
    "mask_household_number",
    "mask_name",
    "mask_national_id",
    "mask_phone",
]


class LabelledEnum(StrEnum):
    """A StrEnum whose members know their Chinese label: ``ORDINARY = "ordinary", "一般农户"``.

    The member's value is the first item (``HouseholdStatus("ordinary")`` finds it, it compares
    equal to ``"ordinary"``); the label is only for people (exports, templates, notices).
    """

    _label_zh: str

    # ``label_zh`` has a default only so that type checkers accept the value lookup
    # ``HouseholdStatus("ordinary")``; a member declared without a label is refused here.
    def __new__(cls, value: str, label_zh: str = "") -> Self:
        if not label_zh:
            raise TypeError(f'{cls.__name__} member {value!r} needs its Chinese label: NAME = {value!r}, "标签"')
        member = str.__new__(cls, value)
        member._value_ = value
        member._label_zh = label_zh
        return member

    @property
    def label_zh(self) -> str:
        """The Chinese label, e.g. ``HouseholdStatus.LIFTED_OUT.label_zh == "脱贫户"``."""
        return self._label_zh


def labels_zh(enum: type[LabelledEnum]) -> Mapping[str, str]:
    """Value → Chinese label of every member of ``enum`` (read-only)."""
    return MappingProxyType({member.value: member.label_zh for member in enum})


class Role(StrEnum):
    """Who a token speaks for (shared/auth.py); the order ranks a principal's primary role."""

    VILLAGE_CADRE = "village_cadre"
    TOWNSHIP_OFFICER = "township_officer"
    COUNTY_OFFICER = "county_officer"
    DEPARTMENT_FEEDER = "department_feeder"
    INSURER_ADJUSTER = "insurer_adjuster"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SERVICE = "service"


class HouseholdStatus(LabelledEnum):
    """A household's status in the registry (rules.md, terms; the national 防返贫监测 register)."""

    ORDINARY = "ordinary", "一般农户"
    LIFTED_OUT = "lifted_out", "脱贫户"
    UNSTABLE = "unstable", "脱贫不稳定户"
    MARGINAL = "marginal", "边缘易致贫户"
    SUDDEN_HARDSHIP = "sudden_hardship", "突发严重困难户"

    @property
    def is_monitoring(self) -> bool:
        """One of the three monitoring types (a case set it; only clearing the case removes it)."""
        return self in MONITORED_STATUSES


class MonitoringType(LabelledEnum):
    """The three monitored statuses (监测对象类型): what a screening case sets on the household."""

    UNSTABLE = "unstable", "脱贫不稳定户"
    MARGINAL = "marginal", "边缘易致贫户"
    SUDDEN_HARDSHIP = "sudden_hardship", "突发严重困难户"

    @property
    def status(self) -> HouseholdStatus:
        """The household status this type sets."""
        return HouseholdStatus(self.value)


MONITORED_STATUSES: Final[frozenset[HouseholdStatus]] = frozenset(t.status for t in MonitoringType)
"""The household statuses that are monitoring types (the registry's ``MONITORING_TYPES``)."""


def mask_national_id(value: str | None) -> str | None:
    """``410602199001011234`` → ``410602********1234``; any value not 18 long is masked whole."""
    if not value:
        return value
    if len(value) != 18:
        return "*" * len(value)
    return value[:6] + "*" * 8 + value[14:]


def mask_bank_account(value: str | None) -> str | None:
    """Keep the last four digits: ``6222021234567890123`` → ``***************0123``."""
    if not value:
        return value
    return "*" * max(len(value) - 4, 0) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    """``13812345678`` → ``138****5678``; shorter than 7, masked whole."""
    if not value:
        return value
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_household_number(value: str) -> str:
    """A household number shown to someone who may not see the household: ``4106021002010017`` →
    ``410602********17`` (the county and the last 2); 8 characters or fewer, masked whole."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 8) + value[-2:]


def mask_name(value: str | None) -> str | None:
    """Public-notice form: keep the surname, ``张三丰`` → ``张**``, ``李四`` → ``李*``."""
    if not value:
        return value
    return value[0] + "*" * (len(value) - 1)
