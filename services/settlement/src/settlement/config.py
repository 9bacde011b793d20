"""Settlement service settings (env prefix SETTLEMENT_; DB_*, KAFKA_*, AUTH_* come from shared)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from aftersales_shared.config import ServiceSettings


class SettlementSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SETTLEMENT_", extra="ignore")

    service_name: str = "settlement"
    db_schema: str = "settlement"

    assessment_issue_by_day: int = Field(5, ge=1, le=28)
    """R-D7: the monthly assessment is issued within the first N days of the next month (Shanghai). A contract
    term: read from this setting for now; it moves into the dealer terms (effective-dated) with the terms work."""
    assessment_issue_every_s: float = Field(60.0, gt=0)
    """How often the issuing job looks (it issues nothing outside days 1..N, and nothing twice)."""
