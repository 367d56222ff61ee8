"""Monitoring status (监测类型): set by screening when a case is confirmed, cleared on elimination.

Pure. The household keeps a `base_status` (ordinary 一般农户 or lifted_out 脱贫户): the status it
returns to when monitoring ends. Commands are idempotent per (case, action): repeating one that
already took effect changes nothing and is not an error, so an outbox redelivery is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal
from uuid import UUID

from services.registry.domain.model import MONITORING_TYPES, HouseholdStatus


@dataclass(frozen=True, slots=True)
class MonitoringState:
    status: HouseholdStatus
    base_status: HouseholdStatus  # ordinary or lifted_out
    case_id: UUID | None
    since: date | None


class MonitoringRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class MonitoringOutcome:
    state: MonitoringState
    changed: bool


def change_monitoring(
    current: MonitoringState,
    *,
    action: Literal["set", "clear"],
    monitoring_type: HouseholdStatus | None,
    case_id: UUID,
    effective_date: date,
) -> MonitoringOutcome:
    """Apply a set/clear command; raise `MonitoringRefused` when it conflicts with another case."""
    if action == "set":
        if monitoring_type is None or monitoring_type not in MONITORING_TYPES:
            raise MonitoringRefused(
                "invalid_monitoring_type", "monitoring_type must be unstable, marginal or sudden_hardship"
            )
        if current.case_id is not None and current.case_id != case_id:
            raise MonitoringRefused(
                "monitored_by_other_case",
                "the household is already monitored under another case; add the evidence to that case",
            )
        if current.case_id == case_id and current.status == monitoring_type:
            return MonitoringOutcome(current, changed=False)
        since = current.since if current.case_id == case_id else effective_date
        return MonitoringOutcome(
            MonitoringState(status=monitoring_type, base_status=current.base_status, case_id=case_id, since=since),
            changed=True,
        )
    # clear
    if current.case_id is None:
        # Already cleared (a redelivery), or never set: nothing to do either way.
        return MonitoringOutcome(current, changed=False)
    if current.case_id != case_id:
        raise MonitoringRefused(
            "monitored_by_other_case", "the household is monitored under another case; only that case may clear it"
        )
    return MonitoringOutcome(
        MonitoringState(status=current.base_status, base_status=current.base_status, case_id=None, since=None),
        changed=True,
    )
