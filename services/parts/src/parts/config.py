"""Parts service settings (env prefix PARTS_; DB_*, KAFKA_*, AUTH_* come from shared)."""

from pydantic_settings import SettingsConfigDict

from aftersales_shared.config import ServiceSettings


class PartsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PARTS_", extra="ignore")

    service_name: str = "parts"
    db_schema: str = "parts"
