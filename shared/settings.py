"""Settings shared by the three services.

Every value comes from the environment (`FANGPIN_` prefix). A service's own settings class
adds a second, more specific prefix (`FANGPIN_CLAIMS_…`) that wins over the shared one, so
one env file can configure all three services and still override one of them.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from shared.pii import Algorithm, IndexAlgorithm, PiiCipher

SERVICE_PORTS = {"registry": 8001, "screening": 8002, "claims": 8003}


def async_database_url(url: str) -> str:
    """Turn `postgresql://…` into the asyncpg dialect URL SQLAlchemy needs."""
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("database URL must start with postgresql://")


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FANGPIN_", extra="ignore")

    service_name: ClassVar[str] = ""

    database_url: str = Field(default="", description="postgresql://user:password@host:port/database")
    host: str = "127.0.0.1"
    port: int = 0
    log_level: str = "INFO"
    log_json: bool = True
    timezone: str = Field(
        default="Asia/Shanghai", description="the county's time zone: business days (deadlines, notice days) are local"
    )
    today: date | None = Field(
        default=None, description="pin the business date (YYYY-MM-DD), for tests and rehearsals; unset: the real date"
    )
    default_language: Literal["en", "zh"] = Field(
        default="en", description="problem+json texts when Accept-Language names neither zh nor en (shared/i18n.py)"
    )

    jwt_secret: SecretStr | None = None
    jwt_audience: str = "fangpin"
    jwt_issuer: str = Field(
        default="fangpin", description="the `iss` of shared-secret tokens: checked on every one, and minted"
    )
    jwks_url: str | None = None
    jwks_issuer: str | None = Field(
        default=None, description="the `iss` of the identity provider's (JWKS) tokens; unset: jwt_issuer"
    )
    service_token: SecretStr | None = None

    pii_key: SecretStr | None = None
    pii_old_keys: str = Field(default="", description="comma-separated base64 keys still readable")
    pii_index_key: SecretStr | None = None
    pii_algorithm: Algorithm = Field(default="aes", description="aes (AES-256-GCM) or sm4 (SM4-GCM, 国密)")
    pii_index_algorithm: IndexAlgorithm | None = Field(
        default=None, description="hmac-sha256 or hmac-sm3; unset follows pii_algorithm (aes→sha256, sm4→sm3)"
    )

    registry_url: str = "http://127.0.0.1:8001"
    screening_url: str = "http://127.0.0.1:8002"
    claims_url: str = "http://127.0.0.1:8003"
    http_timeout_seconds: float = 10.0
    http_retries: int = 2

    outbox_enabled: bool = True
    outbox_poll_seconds: float = 0.5
    outbox_idle_poll_seconds: float = 5.0
    outbox_batch_size: int = 50
    outbox_max_backoff_seconds: float = 300.0

    # Every connection a process may open is kept (20, as 10 + 10 overflow were): overflow
    # connections are closed as they come back, so a load above the pool size paid a connect
    # (and asyncpg's type set-up) per request, and their latency tails (issue 15).
    db_pool_size: int = Field(default=20, ge=1, description="database connections kept per process")
    db_max_overflow: int = Field(default=0, ge=0, description="extra connections opened above the pool, closed after")
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0, description="wait for a pooled connection")
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, description="wait for a new connection")
    db_retry_after_seconds: int = Field(default=5, ge=1, description="Retry-After of a 503 database_unavailable")

    # Input limits (shared/limits.py); a route may name a larger body limit of its service's settings.
    body_max_bytes: int = Field(default=1024 * 1024, ge=1024, description="largest request body of a JSON route")
    header_max_bytes: int = Field(
        default=64 * 1024, ge=4096, description="largest request line plus headers (431 above it)"
    )

    otel_exporter_otlp_endpoint: str | None = None

    # After start-up, the objects made so far (modules, routes, models, compiled statements) are
    # moved out of the cyclic collector's reach (`gc.freeze`): a full collection walked them all,
    # tens of milliseconds at a time, which was the household read's p99 (issue 15).
    gc_freeze: bool = Field(default=True, description="freeze the start-up heap out of the cyclic collector")

    @field_validator("database_url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("pii_algorithm", "pii_index_algorithm", mode="before")
    @classmethod
    def _algorithm_name(cls, value: Any, info: ValidationInfo) -> Any:
        """`SM4` and `sm4` alike; an empty variable means the default."""
        if isinstance(value, str):
            return value.strip().lower() or ("aes" if info.field_name == "pii_algorithm" else None)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings]
        if cls.service_name:
            prefix = f"FANGPIN_{cls.service_name.upper()}_"
            sources.append(EnvSettingsSource(settings_cls, env_prefix=prefix))
        sources += [env_settings, dotenv_settings, file_secret_settings]
        return tuple(sources)

    def model_post_init(self, __context: Any) -> None:
        if not self.port and self.service_name:
            self.port = SERVICE_PORTS[self.service_name]

    @property
    def async_database_url(self) -> str:
        if not self.database_url:
            raise RuntimeError("FANGPIN_DATABASE_URL is not set")
        return async_database_url(self.database_url)

    def pii_cipher(self) -> PiiCipher | None:
        """The cipher for personal data, or None when the keys are not configured."""
        if not (self.pii_key and self.pii_index_key):
            return None
        return PiiCipher(
            self.pii_key.get_secret_value(),
            self.pii_index_key.get_secret_value(),
            [k for k in self.pii_old_keys.split(",") if k.strip()],
            algorithm=self.pii_algorithm,
            index_algorithm=self.pii_index_algorithm,
        )

    def peer_url(self, service: str) -> str:
        return {
            "registry": self.registry_url,
            "screening": self.screening_url,
            "claims": self.claims_url,
        }[service].rstrip("/")
