"""Settings shared by every service: database, Kafka, auth, and service identity."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "dev", "changeme", "dev-password", "secret"}


class DatabaseSettings(BaseSettings):
    """How a service reaches Postgres with its own login role."""

    model_config = SettingsConfigDict(env_prefix="DB_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 5432
    name: str = "aftersales"
    user: str = "postgres"
    password: SecretStr = SecretStr("dev-password")
    pool_size: int = 10
    max_overflow: int = 10

    def sqlalchemy_url(self) -> str:
        """URL for SQLAlchemy's asyncpg dialect."""
        return (
            f"postgresql+asyncpg://{self.user}:{self.password.get_secret_value()}"
            f"@{self.host}:{self.port}/{self.name}"
        )

    def asyncpg_dsn(self) -> str:
        """DSN for a plain asyncpg connection (LISTEN/NOTIFY, advisory locks, benchmarks)."""
        return (
            f"postgresql://{self.user}:{self.password.get_secret_value()}"
            f"@{self.host}:{self.port}/{self.name}"
        )


class KafkaSettings(BaseSettings):
    """How a service reaches the Kafka cluster and how its consumers behave."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    group_prefix: str = ""
    # where a consumer group with no committed offset starts: "earliest" (default, nothing is missed)
    # or "latest" (a fresh environment attached to a long-lived cluster)
    new_group_offset: Literal["earliest", "latest"] = "earliest"
    topic_partitions: int = 4
    consumer_max_retries: int = 3
    consumer_retry_backoff_ms: int = 200
    # transient failures (database or broker away) are retried without limit, backing off up to this cap
    consumer_transient_backoff_ms: int = 200
    consumer_transient_backoff_max_ms: int = 30_000
    relay_batch_size: int = 500
    relay_poll_interval_ms: int = 500
    outbox_retention_hours: int = 72


class AuthSettings(BaseSettings):
    """Bearer-JWT verification: a JWKS URL in production, a PEM public key locally."""

    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    jwks_url: str | None = None
    public_key_pem: str | None = None
    public_key_file: str | None = None
    issuer: str = "aftersales-dev"
    audience: str = "aftersales"
    algorithms: list[str] = Field(default_factory=lambda: ["RS256"])


class ServiceSettings(BaseSettings):
    """Base class of each service's settings; subclasses set their own env prefix."""

    # populate_by_name: ``environment=`` works in code as well as ``APP_ENV`` in the environment
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    environment: str = Field(default="development", validation_alias="APP_ENV")
    service_name: str = "service"
    db_schema: str = "public"
    run_migrations_on_start: bool = True
    run_relay: bool = True
    run_consumers: bool = True
    run_background: bool = True
    log_level: str = "INFO"
    max_request_body_bytes: int = Field(default=1_048_576, gt=0)
    """Larger request bodies (declared or streamed) are refused with 413 before any handler reads them."""
    gc_young_threshold: int = Field(default=10_000, ge=700, validation_alias="GC_YOUNG_THRESHOLD")
    """Allocations (less frees) between young-generation collections; CPython's default is 700. A request that
    builds a few thousand short-lived objects (a live dispatch decision lays 24 routes) crossed 700 about once a
    request, and every ~100 such collections ended in a full one walking all the process's caches (~10 ms, the
    p99 of the live decision). At 10,000 most requests finish, and free what they built, between collections."""

    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)

    @model_validator(mode="after")
    def _reject_placeholder_secrets(self) -> ServiceSettings:
        if self.environment not in {"development", "test"}:
            if self.db.password.get_secret_value() in PLACEHOLDER_SECRETS:
                raise ValueError("DB_PASSWORD is a placeholder; set a real secret outside development")
            if not (self.auth.jwks_url or self.auth.public_key_pem or self.auth.public_key_file):
                raise ValueError("set AUTH_JWKS_URL (or a public key) outside development")
        return self
