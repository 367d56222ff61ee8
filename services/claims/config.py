from typing import ClassVar

from shared.settings import ServiceSettings


class ClaimsSettings(ServiceSettings):
    """Claims settings: `FANGPIN_CLAIMS_*` overrides `FANGPIN_*`."""

    service_name: ClassVar[str] = "claims"
