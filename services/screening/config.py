from datetime import date
from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class ScreeningSettings(ServiceSettings):
    """Screening settings: `FANGPIN_SCREENING_*` overrides `FANGPIN_*`."""

    service_name: ClassVar[str] = "screening"

    background_workers: bool | None = Field(
        default=None,
        description="run jobs (feed batches, screening runs) in the background and schedule monthly runs; "
        "unset: on wherever the outbox dispatcher runs. Off, jobs run inside the request that submits them.",
    )
    schedule_enabled: bool | None = Field(
        default=None, description="schedule the monthly run; unset: follows background_workers"
    )
    schedule_day: int = Field(
        default=5, ge=1, le=28, description="day of the month the previous month's run starts (lists by the 10th)"
    )
    schedule_counties: str = Field(
        default="", description="comma-separated county codes to schedule; empty: every county using screening"
    )
    schedule_check_seconds: float = Field(default=900.0, gt=0)

    run_work_mem: str = Field(default="256MB", pattern=r"^\d+(kB|MB|GB)$", description="work_mem of a run")
    feed_max_bytes: int = Field(default=64 * 1024 * 1024, description="largest feed batch accepted")
    attachment_max_bytes: int = Field(
        default=25 * 1024 * 1024, ge=1024, description="largest attachment (visit photo) accepted, in bytes"
    )
    visit_interval_days: int = Field(
        default=90, ge=1, le=366, description="a household not visited for this many days is on the coverage list"
    )
    adjustment_day: int = Field(
        default=20,
        ge=1,
        le=28,
        description="两类户动态调整: the list of calendar month M is to be approved by the township by this day of M+1",
    )
    feed_error_limit: int = Field(default=1000, description="per-record errors kept on a batch")
    holidays: str = Field(
        default="", description="comma-separated public holidays (YYYY-MM-DD) for working-day deadlines"
    )
    extra_workdays: str = Field(default="", description="comma-separated weekend days that are worked (调休)")

    @property
    def workers_on(self) -> bool:
        return self.outbox_enabled if self.background_workers is None else self.background_workers

    @property
    def scheduler_on(self) -> bool:
        return self.workers_on if self.schedule_enabled is None else self.schedule_enabled

    @property
    def holiday_dates(self) -> frozenset[date]:
        return _dates(self.holidays)

    @property
    def extra_workday_dates(self) -> frozenset[date]:
        return _dates(self.extra_workdays)

    @property
    def scheduled_counties(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.schedule_counties.split(",") if c.strip())


def _dates(value: str) -> frozenset[date]:
    return frozenset(date.fromisoformat(d.strip()) for d in value.split(",") if d.strip())
