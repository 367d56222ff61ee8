"""The business clock (shared/clock.py): the county's date, its overrides, the settings that build it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from shared.clock import BusinessClock, pinned_today
from shared.settings import ServiceSettings

# 2026-03-31 17:30 UTC is already 2026-04-01 01:30 in China: the server's UTC date is the wrong day.
LATE_UTC = datetime(2026, 3, 31, 17, 30, tzinfo=UTC)


def test_today_is_the_county_date_not_the_utc_date() -> None:
    clock = BusinessClock(source=lambda: LATE_UTC)
    assert clock.today() == date(2026, 4, 1)
    assert clock.now() == LATE_UTC


def test_the_time_zone_is_a_setting() -> None:
    clock = BusinessClock("Europe/London", source=lambda: LATE_UTC)
    assert clock.today() == date(2026, 3, 31)


def test_local_date_of_an_instant() -> None:
    clock = BusinessClock()
    assert clock.local_date(datetime(2026, 6, 5, 16, 30, tzinfo=UTC)) == date(2026, 6, 6)
    assert clock.local_date(datetime(2026, 6, 5, 23, 59, tzinfo=timezone(timedelta(hours=8)))) == date(2026, 6, 5)


def test_set_and_advance_move_the_instant_and_the_day() -> None:
    clock = BusinessClock()
    clock.set(LATE_UTC)
    assert clock() == LATE_UTC
    clock.advance(days=2)
    assert clock.today() == date(2026, 4, 3)
    clock.release()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_fixed_today_wins_over_the_instant() -> None:
    clock = BusinessClock(today=date(2030, 1, 2), source=lambda: LATE_UTC)
    assert clock.today() == date(2030, 1, 2)
    assert clock.now() == LATE_UTC


def test_pinned_today_applies_to_every_clock_and_unwinds() -> None:
    a, b = BusinessClock(source=lambda: LATE_UTC), BusinessClock(today=date(2030, 1, 2))
    with pinned_today(date(2027, 7, 7)):
        assert a.today() == b.today() == date(2027, 7, 7)
        with pinned_today(date(2028, 8, 8)):
            assert a.today() == date(2028, 8, 8)
        assert a.today() == date(2027, 7, 7)
    assert a.today() == date(2026, 4, 1)
    assert b.today() == date(2030, 1, 2)


def test_built_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANGPIN_TIMEZONE", "Asia/Urumqi")
    monkeypatch.setenv("FANGPIN_TODAY", "2026-02-03")
    settings = ServiceSettings()
    clock = BusinessClock.from_settings(settings)
    assert clock.zone.key == "Asia/Urumqi"
    assert clock.today() == date(2026, 2, 3)


def test_defaults_to_china_and_the_real_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FANGPIN_TIMEZONE", raising=False)
    monkeypatch.delenv("FANGPIN_TODAY", raising=False)
    clock = BusinessClock.from_settings(ServiceSettings())
    assert clock.zone.key == "Asia/Shanghai"
    assert clock.today() == datetime.now(timezone(timedelta(hours=8))).date()
