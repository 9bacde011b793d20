"""Settlement service settings (env prefix SETTLEMENT_; DB_*, KAFKA_*, AUTH_* come from shared).

The ``terms_*`` settings are only the *defaults* of the dealer service agreement's terms: a dealer's terms are
data, changed per dealer from a date over ``PUT /v1/dealers/{dealer_id}/terms`` (``terms/``)."""

from decimal import Decimal
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from aftersales_shared.config import ServiceSettings


class SettlementSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SETTLEMENT_", extra="ignore")

    service_name: str = "settlement"
    db_schema: str = "settlement"

    # Defaults of the dealer service agreement terms (domain/terms.py DealerTerms names them without "terms_").
    terms_callback_target_percent: Decimal = Field(Decimal("25"), ge=0, le=100)  # R-T5
    terms_payment_days: int = Field(20, ge=0, le=365)  # R-D5
    terms_dispute_window_months: int = Field(3, ge=0, le=60)  # R-D6
    terms_excellence_complaints_per_mille: Decimal = Field(Decimal("1"), ge=0, le=1000)  # R-D7
    terms_excellence_satisfaction_percent: Decimal = Field(Decimal("98"), ge=0, le=100)  # R-D7
    terms_excellence_feedback_percent: Decimal = Field(Decimal("90"), ge=0, le=100)  # R-D7
    terms_sla_penalty: Literal["none", "percent", "fixed"] = "none"  # R-S9: off unless a contract says so
    terms_sla_penalty_percent: Decimal = Field(Decimal("10"), ge=0, le=100)  # R-S9 (004: 10 %)
    terms_sla_penalty_amount: Decimal = Field(Decimal("0"), ge=0, le=Decimal("9999999999.99"))
    terms_sla_penalty_milestones: list[Literal["respond", "arrive", "resolve"]] = ["arrive", "resolve"]
    terms_sla_service_value: Decimal | None = Field(None, ge=0, le=Decimal("9999999999.99"))
    terms_card_registration_days: int = Field(20, ge=0, le=366)  # R-W10 (000: 20 days, 002: one month)
    assessment_issue_by_day: int = Field(5, ge=1, le=28)
    """R-D7: the monthly assessment is issued within the first N days of the next month (Shanghai). A contract
    term: read from this setting for now; it moves into the dealer terms (effective-dated) with the terms work."""
    assessment_issue_every_s: float = Field(60.0, gt=0)
    """How often the issuing job looks (it issues nothing outside days 1..N, and nothing twice)."""
    terms_retention_years: int = Field(5, ge=5, le=100)  # R-T4: at least 5 years
    retention_every_seconds: float = Field(3600, gt=0)  # how often the retention job looks (it runs once a day)
