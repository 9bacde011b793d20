"""Settlement service settings (env prefix SETTLEMENT_; DB_*, KAFKA_*, AUTH_* come from shared)."""

from pydantic_settings import SettingsConfigDict

from aftersales_shared.config import ServiceSettings


class SettlementSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SETTLEMENT_", extra="ignore")

    service_name: str = "settlement"
    db_schema: str = "settlement"
