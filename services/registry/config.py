from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """Registry settings: `FANGPIN_REGISTRY_*` overrides `FANGPIN_*`."""

    service_name: ClassVar[str] = "registry"

    # At most the gateway's client_max_body_size (100 MB; tests/deploy/test_limits_agree.py).
    import_max_bytes: int = Field(default=64 * 1024 * 1024, description="largest import file accepted")
    job_shutdown_grace_seconds: float = Field(default=20.0, description="how long shutdown waits for running jobs")
    export_ttl_hours: int = Field(default=24, description="how long an export file can be downloaded")
