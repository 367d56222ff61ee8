"""两类户动态调整 rules (services/screening/domain/adjustments.py) and the type-change step of the case
workflow (services/screening/domain/cases.py `change_type`)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.screening.domain import cases as wf
from services.screening.domain.adjustments import (
    Month,
    SettlementAction,
    SettlementRefused,
    SettlementStatus,
    due_date,
    is_overdue,
    next_status,
)
from services.screening.domain.errors import TransitionRefused
from shared.contracts.vocabulary import MonitoringType, Role

MARCH = Month(2026, 3)


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("2026-03", Month(2026, 3)),
        ("2026-12", Month(2026, 12)),
        ("2000-01", Month(2000, 1)),
        ("2099-12", Month(2099, 12)),
    ],
)
def test_month_parses(text: str, month: Month) -> None:
    assert Month.parse(text) == month
    assert str(month) == text


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026-3", "26-03", "2026-03-01", "", "２０２６-03", "0000-01", "9999-12", "1999-12"]
)
def test_bad_months_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        Month.parse(text)


def test_month_bounds_and_due_dates() -> None:
    assert (MARCH.first_day, MARCH.last_day) == (date(2026, 3, 1), date(2026, 3, 31))
    assert Month(2024, 2).last_day == date(2024, 2, 29)
    assert due_date(MARCH) == date(2026, 4, 20)
    assert due_date(Month(2026, 12), 5) == date(2027, 1, 5)
    with pytest.raises(ValueError, match="1-28"):
        due_date(MARCH, 31)


@pytest.mark.parametrize(
    ("today", "approved_on", "overdue"),
    [
        (date(2026, 4, 20), None, False),  # the due day itself is on time
        (date(2026, 4, 21), None, True),
        (date(2026, 4, 21), date(2026, 4, 20), False),
        (date(2026, 5, 2), date(2026, 4, 21), True),  # approved after the day
        (date(2026, 3, 31), None, False),
    ],
)
def test_overdue(today: date, approved_on: date | None, overdue: bool) -> None:
    assert is_overdue(MARCH, today, approved_on) is overdue


APRIL_2 = date(2026, 4, 2)
S, A = SettlementStatus, SettlementAction


@pytest.mark.parametrize(
    ("current", "action", "expected"),
    [
        (None, A.SUBMIT, S.SUBMITTED),
        (S.RETURNED, A.SUBMIT, S.SUBMITTED),
        (S.SUBMITTED, A.APPROVE, S.APPROVED),
        (S.SUBMITTED, A.RETURN, S.RETURNED),
        (S.SUBMITTED, A.SUBMIT, "adjustment_already_submitted"),
        (S.APPROVED, A.SUBMIT, "adjustment_already_approved"),
        (S.APPROVED, A.APPROVE, "adjustment_already_approved"),
        (S.APPROVED, A.RETURN, "adjustment_already_approved"),
        (None, A.APPROVE, "adjustment_not_submitted"),
        (S.RETURNED, A.APPROVE, "adjustment_not_submitted"),
        (S.RETURNED, A.RETURN, "adjustment_not_submitted"),
    ],
)
def test_settlement_steps(current: SettlementStatus | None, action: SettlementAction, expected: str) -> None:
    if expected in set(SettlementStatus):
        assert next_status(current, action, MARCH, APRIL_2) is SettlementStatus(expected)
    else:
        with pytest.raises(SettlementRefused) as refused:
            next_status(current, action, MARCH, APRIL_2)
        assert refused.value.code == expected


def test_a_month_is_submitted_only_once_it_is_over() -> None:
    with pytest.raises(SettlementRefused) as refused:
        next_status(None, A.SUBMIT, MARCH, date(2026, 3, 31))
    assert refused.value.code == "adjustment_month_open"
    assert next_status(None, A.SUBMIT, MARCH, date(2026, 4, 1)) is S.SUBMITTED


# --- the type change (类型变更) ----------------------------------------------------------------

NOW = datetime(2026, 4, 5, 2, tzinfo=UTC)
VILLAGE = "410602100201"
COUNTY_OFFICER = wf.Actor(Role.COUNTY_OFFICER, "410602")


def _monitored(state: wf.CaseState = wf.CaseState.MONITORING) -> wf.CaseSnapshot:
    return wf.CaseSnapshot(
        state=state,
        source=wf.CaseSource.CADRE_VISIT,
        household_region=VILLAGE,
        opened_at=datetime(2026, 1, 5, 2, tzinfo=UTC),
        state_entered_at=datetime(2026, 2, 1, 2, tzinfo=UTC),
        monitoring_type=MonitoringType.MARGINAL,
        confirmed_at=datetime(2026, 2, 1, 2, tzinfo=UTC),
    )


@pytest.mark.parametrize("state", [wf.CaseState.MONITORING, wf.CaseState.CONFIRMED])
def test_change_type_keeps_the_state_and_records_the_previous_type(state: wf.CaseState) -> None:
    case = _monitored(state)
    outcome = wf.apply(
        case,
        "change_type",
        COUNTY_OFFICER,
        {"monitoring_type": "unstable", "reason": "家庭成员确诊大病"},
        NOW,
        notice_min_days=5,
    )
    assert outcome.case.state is state
    assert outcome.case.monitoring_type is MonitoringType.UNSTABLE
    assert outcome.case.state_entered_at == case.state_entered_at  # still in the state since then
    assert outcome.case.confirmed_at == case.confirmed_at
    assert outcome.evidence["previous_type"] == "marginal"
    assert outcome.effect is wf.RegistryEffect.SET_MONITORING_STATUS


@pytest.mark.parametrize(
    ("actor", "evidence", "code"),
    [
        (COUNTY_OFFICER, {"monitoring_type": "marginal", "reason": "x"}, "invalid_evidence"),  # the same type
        (COUNTY_OFFICER, {"monitoring_type": "unstable"}, "missing_evidence"),  # no reason
        (COUNTY_OFFICER, {"monitoring_type": "poor", "reason": "x"}, "invalid_evidence"),
        (wf.Actor(Role.VILLAGE_CADRE, VILLAGE), {"monitoring_type": "unstable", "reason": "x"}, "wrong_role"),
        (wf.Actor(Role.COUNTY_OFFICER, "410603"), {"monitoring_type": "unstable", "reason": "x"}, "wrong_region"),
    ],
)
def test_change_type_refusals(actor: wf.Actor, evidence: dict[str, object], code: str) -> None:
    with pytest.raises(TransitionRefused) as refused:
        wf.apply(_monitored(), "change_type", actor, evidence, NOW, notice_min_days=5)
    assert refused.value.code == code


@pytest.mark.parametrize("state", sorted(set(wf.CaseState) - {wf.CaseState.MONITORING, wf.CaseState.CONFIRMED}))
def test_change_type_only_on_monitored_cases(state: wf.CaseState) -> None:
    case = _monitored()
    case = wf.CaseSnapshot(
        state=state,
        source=case.source,
        household_region=VILLAGE,
        opened_at=case.opened_at,
        state_entered_at=case.state_entered_at,
        monitoring_type=case.monitoring_type,
    )
    with pytest.raises(TransitionRefused) as refused:
        wf.apply(
            case, "change_type", COUNTY_OFFICER, {"monitoring_type": "unstable", "reason": "x"}, NOW, notice_min_days=5
        )
    assert refused.value.code == "wrong_order"


def test_a_county_officer_is_offered_the_type_change() -> None:
    assert wf.CaseAction.CHANGE_TYPE in wf.allowed_actions(_monitored(), COUNTY_OFFICER)
    assert wf.CaseAction.CHANGE_TYPE not in wf.allowed_actions(_monitored(), wf.Actor(Role.VILLAGE_CADRE, VILLAGE))
