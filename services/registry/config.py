from typing import ClassVar

from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """Registry settings: `FANGPIN_REGISTRY_*` overrides `FANGPIN_*`."""

    service_name: ClassVar[str] = "registry"
