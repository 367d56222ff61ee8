"""Demo data, and the registry's small pure rules (monitoring transitions, history diffs, ids)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.demo import generate_households, households_csv, seed_households
from services.registry.domain.history import FieldChange, created, diff, plain
from services.registry.domain.ids import uuid7, uuid7_batch
from services.registry.domain.import_rows import parse_rows, read_csv
from services.registry.domain.model import HouseholdStatus
from services.registry.domain.monitoring import MonitoringRefused, MonitoringState, change_monitoring
from services.registry.domain.national_id import validate_national_id
from tests.support.pii import suite_cipher

CIPHER = suite_cipher()  # follows FANGPIN_PII_ALGORITHM like the apps


async def test_seed_households_writes_realistic_households(session: AsyncSession) -> None:
    assert await seed_households(session, 60, pii=CIPHER) == 60
    stats = (
        await session.execute(
            text(
                "SELECT count(*), sum(member_count), count(*) FILTER (WHERE status = 'lifted_out'), "
                "count(*) FILTER (WHERE income_year IS NOT NULL AND previous_annual_net_income IS NOT NULL), "
                "count(DISTINCT village_code) FROM registry.household_snapshot_v1 WHERE county_code = '410602'"
            )
        )
    ).one()
    households, members, lifted, with_two_years, villages = stats
    assert households == 60
    assert 120 <= members <= 300
    assert 0 < lifted < 60
    assert with_two_years == 60
    assert villages == 11
    blobs = (await session.execute(text("SELECT national_id_enc FROM registry.member"))).scalars().all()
    for blob in blobs:
        validate_national_id(CIPHER.decrypt(bytes(blob), purpose="national_id"), today=date.today())
    heads = await session.scalar(
        text(
            "SELECT count(*) FROM registry.household h JOIN registry.member m ON m.id = h.head_member_id "
            "WHERE m.relation = 'head'"
        )
    )
    assert heads == 60
    assert await seed_households(session, 10, pii=CIPHER) == 10  # a second call adds more
    numbers = (await session.execute(text("SELECT household_number FROM registry.household"))).scalars().all()
    assert len(numbers) == len(set(numbers)) == 70


async def test_the_seeded_demo_holds_the_register_an_import_of_its_file_would(session: AsyncSession) -> None:
    """Issue 12: `fangpin seed` wrote only the screening and claims fields (no 致贫原因, 脱贫年度, 务工 or
    帮扶责任人), so a demo county's report had no causes; it now writes what its import file says."""
    assert await seed_households(session, 80, pii=CIPHER) == 80
    lifted, with_cause, with_years, with_cadre = (
        await session.execute(
            text(
                "SELECT count(*) FILTER (WHERE status = 'lifted_out'), "
                "count(*) FILTER (WHERE status = 'lifted_out' AND poverty_cause IS NOT NULL), "
                "count(*) FILTER (WHERE registered_year IS NOT NULL AND lifted_out_year IS NOT NULL), "
                "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM registry.household_cadre c "
                "WHERE c.household_id = h.id AND c.end_date IS NULL)) "
                "FROM registry.household h WHERE county_code = '410602'"
            )
        )
    ).one()
    assert lifted > 0
    assert with_cause == with_years == with_cadre == lifted  # 户户见干部: every registered household has one
    cadres = (
        await session.execute(
            text(
                "SELECT name, work_unit, affiliation, phone_masked, count(*) FROM registry.household_cadre "
                "GROUP BY 1, 2, 3, 4"
            )
        )
    ).all()
    assert len(cadres) < lifted  # a village's few cadres each hold several households
    assert {c.affiliation for c in cadres} <= {"乡镇", "县直", "市直"}
    assert all(c.phone_masked.startswith("13") and "*" in c.phone_masked for c in cadres)
    working = await session.scalar(
        text("SELECT count(*) FROM registry.member WHERE employment IS NOT NULL AND education_level IS NOT NULL")
    )
    assert working == await session.scalar(text("SELECT count(*) FROM registry.member"))


def test_demo_file_passes_the_import_validation() -> None:
    households = list(generate_households(200, seed=5, today=date(2026, 11, 22)))
    result = parse_rows(read_csv(households_csv(households)), today=date(2026, 11, 22))
    assert result.errors == []
    assert len(result.rows) == sum(len(h.members) for h in households)
    sizes = [len(h.members) for h in households]
    assert 2.8 <= sum(sizes) / len(sizes) <= 4.0
    assert min(sizes) == 1


# ---------------------------------------------------------------- monitoring transitions

CASE = uuid.UUID("2b0e6a8e-3c1f-4c55-9a57-0d7c7d0c1a11")
OTHER = uuid.UUID("9f1f5b9e-0000-4000-8000-000000000001")
LIFTED = MonitoringState(HouseholdStatus.LIFTED_OUT, HouseholdStatus.LIFTED_OUT, None, None)
DAY = date(2026, 5, 10)


@pytest.mark.parametrize("kind", [HouseholdStatus.UNSTABLE, HouseholdStatus.MARGINAL, HouseholdStatus.SUDDEN_HARDSHIP])
def test_set_then_clear_returns_to_the_base_status(kind: HouseholdStatus) -> None:
    monitored = change_monitoring(LIFTED, action="set", monitoring_type=kind, case_id=CASE, effective_date=DAY)
    assert monitored.changed
    assert monitored.state == MonitoringState(kind, HouseholdStatus.LIFTED_OUT, CASE, DAY)
    cleared = change_monitoring(
        monitored.state, action="clear", monitoring_type=None, case_id=CASE, effective_date=date(2026, 12, 1)
    )
    assert cleared.changed
    assert cleared.state == LIFTED


def test_repeats_change_nothing_and_other_cases_are_refused() -> None:
    monitored = change_monitoring(
        LIFTED, action="set", monitoring_type=HouseholdStatus.MARGINAL, case_id=CASE, effective_date=DAY
    ).state
    again = change_monitoring(
        monitored, action="set", monitoring_type=HouseholdStatus.MARGINAL, case_id=CASE, effective_date=date(2026, 6, 1)
    )
    assert not again.changed
    assert again.state == monitored
    retyped = change_monitoring(
        monitored, action="set", monitoring_type=HouseholdStatus.UNSTABLE, case_id=CASE, effective_date=date(2026, 6, 1)
    )
    assert retyped.state.since == DAY  # the same case: monitored since its first confirmation
    with pytest.raises(MonitoringRefused) as refused:
        change_monitoring(
            monitored, action="set", monitoring_type=HouseholdStatus.MARGINAL, case_id=OTHER, effective_date=DAY
        )
    assert refused.value.code == "monitored_by_other_case"
    with pytest.raises(MonitoringRefused):
        change_monitoring(monitored, action="clear", monitoring_type=None, case_id=OTHER, effective_date=DAY)
    assert not change_monitoring(LIFTED, action="clear", monitoring_type=None, case_id=CASE, effective_date=DAY).changed
    with pytest.raises(MonitoringRefused):
        change_monitoring(
            LIFTED, action="set", monitoring_type=HouseholdStatus.ORDINARY, case_id=CASE, effective_date=DAY
        )


# ---------------------------------------------------------------- history values


def test_history_values_are_plain_json() -> None:
    before = {
        "amount": Decimal("1"),
        "day": date(2026, 1, 2),
        "kind": HouseholdStatus.MARGINAL,
        "same": 1,
        "years": [2026, 2025],
    }
    after = {
        "amount": Decimal("1.5"),
        "day": date(2026, 1, 2),
        "kind": HouseholdStatus.UNSTABLE,
        "same": 1,
        "years": [2026, 2025],
    }
    assert diff(before, after, before) == [
        FieldChange("amount", "1.00", "1.50"),
        FieldChange("kind", "marginal", "unstable"),
    ]
    assert created({"a": None, "b": uuid.UUID(int=1)}, ["a", "b"]) == [
        FieldChange("b", None, "00000000-0000-0000-0000-000000000001")
    ]
    assert plain({"x": {Decimal("2")}}) == {"x": ["2.00"]}


# ---------------------------------------------------------------- ids


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=500))
def test_uuid7_batches_are_version_7_increasing_and_unique(count: int) -> None:
    batch = uuid7_batch(count)
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in batch)
    assert [str(u) for u in batch] == sorted(str(u) for u in batch)
    assert len(set(batch)) == count
    single = uuid7()
    assert single.version == 7
    assert isinstance(single, uuid.UUID)
