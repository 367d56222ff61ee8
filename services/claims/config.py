from datetime import date, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from pydantic import Field

from shared.settings import ServiceSettings


class ClaimsSettings(ServiceSettings):
    """Claims settings: `FANGPIN_CLAIMS_*` overrides `FANGPIN_*`."""

    service_name: ClassVar[str] = "claims"

    scheduler_enabled: bool = Field(
        default=True,
        description="run the background tasks: approve claims whose notice window ended, fetch facts of leads "
        "accepted while the registry was down",
    )
    scheduler_interval_seconds: float = Field(default=300.0, gt=0)
    timezone: str = Field(default="Asia/Shanghai", description="the county's calendar: notice days are local days")
    max_batch_size: int = Field(default=5000, ge=1, description="claims in one payment batch")

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.timezone)).date()
