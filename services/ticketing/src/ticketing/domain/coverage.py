"""Coverage after intake (issue 15): what an engineer's diagnosis does to a ticket's coverage.

Pure (no I/O, no clock). An exclusion found on site (R-W3) or a customer-side root cause (R-T3) makes the repair
paid; a diagnosis that finds neither leaves (or puts back) the coverage determined at intake — or, when it names
the failed components, the coverage of those components (R-W8: a part fitted or a repair done under warranty
carries its own cover, so a unit out of warranty with a fan replaced 7 months ago is covered for that fan). Once the
call center has overridden the coverage (with a reason, audited), a later diagnosis no longer changes it: the override
is the decision of record until the call center changes it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .warranty import EXCLUSIONS, Coverage


@dataclass(frozen=True)
class ComponentCover:
    """A diagnosed failed component's warranty position on the ticket's intake day (``determine_warranty`` with
    that component): its coverage and the reason."""

    component: str
    coverage: Coverage
    reason: str


def by_components(components: Sequence[ComponentCover]) -> tuple[Coverage, str] | None:
    """R-W8: the repair of the diagnosed components is covered when one of them is (warranty before extended);
    paid when none is. None when no component was named."""
    if not components:
        return None
    for kind in ("warranty", "extended"):
        c = next((c for c in components if c.coverage == kind), None)
        if c is not None:
            return kind, f"diagnosed failed component {c.component} is covered (R-W8): {c.reason}"
    return "paid", "diagnosed failed component(s) not covered: " + "; ".join(
        f"{c.component}: {c.reason}" for c in components)


@dataclass(frozen=True)
class CoverageDecision:
    to: Coverage
    reason: str


def after_diagnosis(*, current: Coverage, intake: Coverage, exclusions: Sequence[str], root_cause: str | None,
                    overridden: bool, components: Sequence[ComponentCover] = ()) -> CoverageDecision | None:
    """The coverage the diagnosis leads to, or None when it leaves the coverage as it is."""
    if overridden:
        return None
    if exclusions:
        to: Coverage = "paid"
        reason = "exclusion found on site (R-W3): " + "; ".join(EXCLUSIONS.get(e, e) for e in exclusions)
    elif root_cause == "customer":
        to, reason = "paid", "customer-side cause found on site (R-T3)"
    elif (found := by_components(components)) is not None:
        to, reason = found
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
