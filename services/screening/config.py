from typing import ClassVar

from shared.settings import ServiceSettings


class ScreeningSettings(ServiceSettings):
    """Screening settings: `FANGPIN_SCREENING_*` overrides `FANGPIN_*`."""

    service_name: ClassVar[str] = "screening"
