"""Monthly dealer assessment and yearly excellence flags (R-D7, R-T5)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class MonthActivity:
    repairs: int = 0
    callbacks: int = 0
    callbacks_reached: int = 0
    satisfied: int = 0  # reached callbacks scoring at or above the satisfaction threshold
    scored: int = 0  # reached callbacks with a satisfaction score
    complaints_upheld: int = 0
    registered_sales: int = 0
    sla_breaches: int = 0
    report_submitted: bool = False
    quality_feedback: bool = False


@dataclass(frozen=True)
class Assessment:
    callback_rate: Decimal | None
    satisfaction: Decimal | None
    complaint_rate: Decimal | None
    sla_attainment: Decimal | None
    report_submitted: bool
    callback_target_met: bool


def _ratio(num: int, den: int) -> Decimal | None:
    return (Decimal(num) / Decimal(den)).quantize(Decimal("0.0001")) if den else None


def assess_month(a: MonthActivity, *, callback_target: Decimal = Decimal("0.25")) -> Assessment:
    """Rates for one month; a rate with no denominator is None (not zero, not perfect)."""
    cb = _ratio(a.callbacks, a.repairs)
    sla = None
    if a.repairs:
        sla = (Decimal(max(a.repairs - a.sla_breaches, 0)) / Decimal(a.repairs)).quantize(Decimal("0.0001"))
    return Assessment(
        callback_rate=cb, satisfaction=_ratio(a.satisfied, a.scored),
        complaint_rate=_ratio(a.complaints_upheld, a.registered_sales), sla_attainment=sla,
        report_submitted=a.report_submitted, callback_target_met=a.repairs == 0 or (cb or 0) >= callback_target,
    )


@dataclass(frozen=True)
class Excellence:
    complaints_ok: bool
    satisfaction_ok: bool
    quality_feedback_ok: bool

    @property
    def excellent(self) -> bool:
        return self.complaints_ok and self.satisfaction_ok and self.quality_feedback_ok


def yearly_excellence(months: list[MonthActivity], *, complaints_per_mille: Decimal = Decimal(1),
                      satisfaction_percent: Decimal = Decimal(98),
                      feedback_percent: Decimal = Decimal(90)) -> Excellence:
    """R-D7: complaints < 1/1000 of sales, satisfaction ≥ 98 %, quality feedback in ≥ 90 % of months (the
    thresholds are the dealer's terms; these defaults are the contract's figures)."""
    sales = sum(m.registered_sales for m in months)
    complaints = sum(m.complaints_upheld for m in months)
    scored = sum(m.scored for m in months)
    satisfied = sum(m.satisfied for m in months)
    fed = sum(1 for m in months if m.quality_feedback)
    return Excellence(
        complaints_ok=sales > 0 and Decimal(complaints) * 1000 < Decimal(sales) * complaints_per_mille,
        satisfaction_ok=scored > 0 and Decimal(satisfied) * 100 >= Decimal(scored) * satisfaction_percent,
        quality_feedback_ok=Decimal(fed) * 100 >= feedback_percent * 12,
    )
