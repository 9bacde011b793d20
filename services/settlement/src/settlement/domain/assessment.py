"""Monthly dealer assessment and yearly excellence flags (R-D7, R-T5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
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


GRADES: tuple[tuple[Decimal, str], ...] = ((Decimal("90"), "A"), (Decimal("75"), "B"), (Decimal("60"), "C"))
"""The contract's default score floors of the issued assessment (R-D7); below the last one the grade is D. A
dealer's own floors are its terms (``assessment_grade_a``/``_b``/``_c``, ``terms.grade_floors``)."""


def score_of(a: Assessment, *, callback_target: Decimal = Decimal("0.25")) -> Decimal:
    """The issued assessment's score, 0-100 to one place: the mean of the parts the month can say anything about
    — callbacks against their target (capped at 1), satisfaction, SLA attainment, complaints (1/1000 of sales or
    more scores 0) — plus the monthly report submitted (1 or 0). A part with no denominator is left out."""
    parts: list[Decimal] = [Decimal(1) if a.report_submitted else Decimal(0)]
    if a.callback_rate is not None:
        parts.append(min(a.callback_rate / callback_target, Decimal(1)))
    if a.satisfaction is not None:
        parts.append(a.satisfaction)
    if a.sla_attainment is not None:
        parts.append(a.sla_attainment)
    if a.complaint_rate is not None:
        parts.append(max(Decimal(0), Decimal(1) - a.complaint_rate * 1000))
    return (sum(parts, Decimal(0)) / len(parts) * 100).quantize(Decimal("0.1"))


def grade_of(score: Decimal, floors: tuple[tuple[Decimal, str], ...] = GRADES) -> str:
    """The grade of the first floor the score reaches (floors highest first), else D."""
    return next((g for floor, g in floors if score >= floor), "D")


def months_due(today: date, *, catch_up: int = 1) -> list[date]:
    """R-D7: the months (first days, oldest first) whose assessment may be issued on ``today``: last month, and
    the ``catch_up - 1`` before it — a month is never skipped because the job did not run in its first days (an
    outage); it is issued late instead (``is_late``)."""
    last = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    months = [last]
    for _ in range(max(catch_up, 1) - 1):
        months.append((months[-1] - timedelta(days=1)).replace(day=1))
    return months[::-1]


def issue_by(month: date, *, by_day: int) -> date:
    """R-D7: the day ``month``'s assessment is due: day ``by_day`` of the next month."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=by_day)


def is_late(today: date, month: date, *, by_day: int) -> bool:
    """Issued after its due day (the job did not run on days 1..N): the document and event say so."""
    return today > issue_by(month, by_day=by_day)
