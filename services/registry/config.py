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
    # Import guards (docs/operations.md, "Import limits"): an XLSX is checked from its zip directory
    # before it is parsed; rows are counted while they stream; only the first errors are stored.
    import_max_rows: int = Field(default=200_000, ge=1, description="rows per import file (header included)")
    import_max_stored_errors: int = Field(default=1_000, ge=1, description="row errors stored per import job")
    import_parse_processes: int | None = Field(
        default=None,
        ge=0,
        le=16,
        description="processes parsing parts of a large CSV import beside the job (0: none; unset: one where"
        " the service has two CPUs or more, by its affinity and its cgroup's CPU quota, else none)",
    )
    import_parallel_min_bytes: int = Field(
        default=4 * 1024 * 1024, ge=64 * 1024, description="a CSV import is cut into parts of at least this size"
    )
    import_parse_warm_start: bool = Field(
        default=True, description="start the import parse processes with the service, not at the first large import"
    )
    import_max_expanded_bytes: int = Field(
        default=1024 * 1024 * 1024, ge=1, description="an XLSX's parts together, uncompressed"
    )
    import_max_part_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1, description="one part of an XLSX (a worksheet), uncompressed"
    )
    import_max_shared_strings_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1, description="an XLSX's shared strings (all held in memory), uncompressed"
    )
    import_max_compression_ratio: int = Field(
        default=100, ge=1, description="uncompressed / compressed size of any XLSX part over 1 MiB"
    )
