"""Dispatch service settings (env prefix DISPATCH_; DB_*, KAFKA_*, AUTH_* come from shared)."""

from pydantic_settings import SettingsConfigDict

from aftersales_shared.config import ServiceSettings


class DispatchSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="ignore")

    service_name: str = "dispatch"
    db_schema: str = "dispatch"
