"""Parts service settings (env prefix PARTS_; DB_*, KAFKA_*, AUTH_* come from shared)."""

from decimal import Decimal
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from aftersales_shared.config import ServiceSettings


class PartsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PARTS_", extra="ignore")

    service_name: str = "parts"
    db_schema: str = "parts"

    # R-P1: ship within N days of the request becoming shippable
    ship_within_days: int = Field(3, ge=0, le=60)
    ship_calendar: Literal["calendar", "business"] = "calendar"  # business days: Mon-Fri in clock.BUSINESS_TZ
    at_risk_hours: float = Field(24, gt=0)
    # R-P3: warranty replacements wait for the replacement list and the old part's waybill
    warranty_requires_documents: bool = True
    # allocation may split a line across warehouses
    allow_split: bool = False
    # R-P6: surcharge when the clerk does not give both freights
    urgent_surcharge_default: Decimal = Field(Decimal("50.00"), ge=0)
    # R-P4: old part due back after N days
    return_due_days: int = Field(30, ge=1, le=365)
    # R-P5: base stock = percent of the last N months of registered sales
    base_stock_percent: Decimal = Field(Decimal("1"), ge=0, le=100)
    base_stock_months: int = Field(3, ge=1, le=24)
    # R-P9: default of the dealer term: plan seasonal stock N days ahead (a dealer's terms may say otherwise)
    seasonal_plan_ahead_days: int = Field(30, ge=0, le=365)
    # R-P8: parts stay available N years after a product line's end of sale (a product line may say otherwise)
    availability_years: int = Field(15, ge=1, le=100)
    # R-P7: default share of a dealer's quarterly remittance supplied directly as parts (the contract leaves
    # the figure blank: set per dealer and quarter via PUT /dealers/{id}/parts-budget/{quarter}, or here)
    budget_percent: Decimal = Field(Decimal("5"), ge=0, le=100, decimal_places=2)
    # periodic watchers (commitment at-risk/breached, missed returns)
    watch_interval_seconds: float = Field(30, gt=0)
    # allocation group commit (requests/hotpath.py): concurrent batch writers per process and the largest batch
    allocation_workers: int = Field(1, ge=1, le=16)
    allocation_max_batch: int = Field(64, ge=1, le=500)
