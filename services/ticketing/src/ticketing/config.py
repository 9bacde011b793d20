"""Ticketing service settings (env prefix TICKETING_; DB_*, KAFKA_*, AUTH_* come from shared)."""

from pydantic_settings import SettingsConfigDict

from aftersales_shared.config import ServiceSettings


class TicketingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TICKETING_", extra="ignore")

    service_name: str = "ticketing"
    db_schema: str = "ticketing"
