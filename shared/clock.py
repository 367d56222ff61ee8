"""The business clock: the county's calendar (`today()`) and the instant (`now()`), one per app.

Counties work on China Standard Time, so a "day" (a notice window, a deadline, a birth date not in
the future) is a day in the county's time zone (`FANGPIN_TIMEZONE`, default Asia/Shanghai), never
the server's. The lifespan puts one `BusinessClock` on `app.state.clock`; use cases read it there.

Overrides, for tests and for a CLI `--today`:
- `FANGPIN_TODAY=YYYY-MM-DD` (or `BusinessClock(today=...)`) pins the calendar day;
- `clock.set(moment)` / `clock.advance(...)` move a clock's instant (and so its day);
- `pinned_today(day)` pins the day of every clock of the process while the `with` block runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"

Source = Callable[[], datetime]

# Process-wide pin of the day, for tests (`pinned_today`); None: no pin.
_pinned_day: date | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


class ClockSettings(Protocol):
    timezone: str
    today: date | None


class BusinessClock:
    """`now()` (aware) and `today()` (the county's date), from a source of instants."""

    def __init__(
        self, timezone: str = DEFAULT_TIMEZONE, *, today: date | None = None, source: Source | None = None
    ) -> None:
        self.zone = ZoneInfo(timezone)
        self.fixed_today = today
        self._source: Source = source or utc_now
        self._fixed_now: datetime | None = None

    @classmethod
    def from_settings(cls, settings: ClockSettings) -> BusinessClock:
        return cls(settings.timezone, today=settings.today)

    def now(self) -> datetime:
        return self._fixed_now if self._fixed_now is not None else self._source()

    def __call__(self) -> datetime:
        """A clock is also a plain `() -> datetime` source (what jobs and repositories take)."""
        return self.now()

    def today(self) -> date:
        if _pinned_day is not None:
            return _pinned_day
        if self.fixed_today is not None:
            return self.fixed_today
        return self.local_date(self.now())

    def local_date(self, moment: datetime) -> date:
        """The county's date of an instant (a naive instant is taken as UTC)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone).date()

    # -- test controls -------------------------------------------------------------------------

    def set(self, moment: datetime) -> None:
        """Stop the clock at `moment` (aware)."""
        self._fixed_now = moment

    def advance(self, **delta: float) -> None:
        self._fixed_now = self.now() + timedelta(**delta)

    def release(self) -> None:
        """Back to the source's real time."""
        self._fixed_now = None


@contextmanager
def pinned_today(day: date | None) -> Iterator[None]:
    """Every clock of the process answers `day` to `today()` inside the block (None: no pin)."""
    global _pinned_day
    previous, _pinned_day = _pinned_day, day
    try:
        yield
    finally:
        _pinned_day = previous
