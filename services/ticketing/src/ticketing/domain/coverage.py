"""Coverage after intake (issue 15): what an engineer's diagnosis does to a ticket's coverage.

Pure (no I/O, no clock). An exclusion found on site (R-W3) or a customer-side root cause (R-T3) makes the repair
paid; a diagnosis that finds neither leaves (or puts back) the coverage determined at intake. Once the call
center has overridden the coverage (with a reason, audited), a later diagnosis no longer changes it: the override
is the decision of record until the call center changes it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .warranty import EXCLUSIONS, Coverage


@dataclass(frozen=True)
class CoverageDecision:
    to: Coverage
    reason: str


def after_diagnosis(*, current: Coverage, intake: Coverage, exclusions: Sequence[str], root_cause: str | None,
                    overridden: bool) -> CoverageDecision | None:
    """The coverage the diagnosis leads to, or None when it leaves the coverage as it is."""
    if overridden:
        return None
    if exclusions:
        to: Coverage = "paid"
        reason = "exclusion found on site (R-W3): " + "; ".join(EXCLUSIONS.get(e, e) for e in exclusions)
    elif root_cause == "customer":
        to, reason = "paid", "customer-side cause found on site (R-T3)"
    else:
        to, reason = intake, "diagnosis found no exclusion and no customer-side cause: coverage as at intake"
    return None if to == current else CoverageDecision(to, reason)


def after_unit_change(*, current: Coverage, determined: Coverage, root_cause: str | None, overridden: bool,
                      why: str) -> CoverageDecision | None:
    """An open ticket's coverage after its unit's dates changed (R-W2 start date): the warranty determined again
    on the ticket's intake day, with the exclusions already on record; a customer-side cause found on site keeps
    it paid, and an override stays the decision of record. None: the coverage stands."""
    if overridden:
        return None
    to: Coverage = "paid" if root_cause == "customer" else determined
    return None if to == current else CoverageDecision(to, why)
