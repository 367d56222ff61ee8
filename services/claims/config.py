from typing import ClassVar

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
    max_batch_size: int = Field(default=5000, ge=1, description="claims in one payment batch")
    background_workers: bool | None = Field(
        default=None,
        description="run simulations as background tasks (false: inside the request that submits them); "
        "unset: follows outbox_enabled, as in screening",
    )

    @property
    def workers_on(self) -> bool:
        return self.outbox_enabled if self.background_workers is None else self.background_workers
