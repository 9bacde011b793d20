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
    """R-D7: the default of the dealer term ``assessment_issue_by_day`` (the monthly assessment is issued within
    the first N days of the next month, Shanghai). ``SETTLEMENT_TERMS_ASSESSMENT_ISSUE_BY_DAY`` overrides it; a
    dealer's own day is its terms (effective-dated, in force on the assessed month's first day)."""
    terms_assessment_issue_by_day: int | None = Field(None, ge=1, le=28)  # R-D7 (None: assessment_issue_by_day)
    terms_assessment_grade_a: Decimal = Field(Decimal("90"), ge=0, le=100)  # R-D7 score floors of grades A, B, C
    terms_assessment_grade_b: Decimal = Field(Decimal("75"), ge=0, le=100)
    terms_assessment_grade_c: Decimal = Field(Decimal("60"), ge=0, le=100)
    assessment_issue_every_s: float = Field(60.0, gt=0)
    """How often the issuing job looks (it issues each month once, from the 1st; after a dealer's day, late)."""
    assessment_catch_up_months: int = Field(3, ge=1, le=24)
    """R-D7, nothing lost: how many past months the issuing job still issues when it did not run (an outage)."""
    terms_retention_years: int = Field(5, ge=5, le=100)  # R-T4: at least 5 years
    terms_purge_after_years: int = Field(10, ge=1, le=100)  # R-T4: the archive's rows purged this long after archiving
    retention_every_seconds: float = Field(3600, gt=0)  # how often the retention job looks (it runs once a day)
    # R-T4: a run catches up batch after batch (each its own transaction) until nothing is past retention or purge,
    # and yields after this much wall time (at least one batch a tick): the next tick resumes the same day's run
    retention_batch_size: int = Field(5000, ge=1, le=100_000)
    retention_max_seconds: float = Field(300, ge=0, le=86400)
