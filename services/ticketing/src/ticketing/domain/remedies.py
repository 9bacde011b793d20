"""Which 三包 remedy a unit's rights allow on a day (R-W4, R-W5) and the warranty a new unit starts with. Pure.

The rights come from the warranty determination (``warranty.determine_warranty``) on the day the remedy is asked
for, so the thresholds are the unit's policy version (``return_days``, ``exchange_days``, ``dealer_doa_days``,
``repeat_repair_threshold``: data per product line, effective-dated), never constants here:
- R-W4: a return within ``return_days`` of sale; an exchange within ``exchange_days`` of sale (or, dead on arrival,
  within ``dealer_doa_days`` of the dealer's receipt); only while the unit is covered and no exclusion was found.
- R-W5: a unit replacement once the unit has ``repeat_repair_threshold`` in-warranty repairs on record; a
  component replacement once that component has as many in-warranty repairs since it was last replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from .remedy_lifecycle import RULE
from .warranty import Repair, UnitFacts, WarrantyDetermination, WarrantyPolicy

WarrantyMode = Literal["inherited", "fresh"]


@dataclass(frozen=True)
class Offer:
    """Whether a kind of remedy is allowed, under which rule, and why (words an agent can read out)."""

    kind: str
    allowed: bool
    rule: str
    reason: str


def repairs_since(repairs: tuple[Repair, ...], component: str, since: date | None, on: date) -> int:
    """In-warranty repairs of ``component`` completed by ``on`` and after ``since`` (its last replacement)."""
    return sum(1 for r in repairs if r.in_warranty and r.component == component and r.completed_on <= on
               and (since is None or r.completed_on > since))


def offer(kind: str, policy: WarrantyPolicy, facts: UnitFacts, d: WarrantyDetermination, *,
          component: str | None = None, component_replaced_on: date | None = None) -> Offer:
    """Whether ``kind`` is allowed on ``d.on`` for a unit with these facts and this determination."""
    rule = RULE[kind]
    on = d.on
    if d.exclusions:
        return Offer(kind, False, rule, "no 三包 remedy: the fault is excluded from warranty ("
                     + ", ".join(d.exclusions) + ")")
    if kind in ("return", "exchange"):
        days = (on - facts.sold_on).days if facts.sold_on else None
        sold = f"the unit was sold {days} day(s) ago" if days is not None else "no sale date is on record"
        if kind == "return":
            ok = d.early_life.return_
            return Offer(kind, ok, rule, f"{'' if ok else 'refused: '}a return is allowed within "
                         f"{policy.return_days} days of sale; {sold}")
        ok = d.early_life.exchange
        doa = " (dead on arrival at the dealer)" if d.early_life.dealer_doa else ""
        return Offer(kind, ok, rule, f"{'' if ok else 'refused: '}an exchange is allowed within "
                     f"{policy.exchange_days} days of sale; {sold}{doa}")
    limit = policy.repeat_repair_threshold
    if kind == "unit_replacement":
        total = sum(d.repeat_repair.repair_counts.values())
        ok = d.repeat_repair.replace_unit
        return Offer(kind, ok, rule, f"{'' if ok else 'refused: '}a unit is replaced after {limit} in-warranty "
                     f"repairs; {total} on record" + ("" if d.coverage != "paid" else " (the unit is not covered)"))
    assert component is not None
    n = repairs_since(facts.repairs, component, component_replaced_on, on)
    ok = component in d.repeat_repair.replace_components and n >= limit
    since = f" since its replacement on {component_replaced_on.isoformat()}" if component_replaced_on else ""
    return Offer(kind, ok, rule, f"{'' if ok else 'refused: '}{component} is replaced after {limit} in-warranty "
                 f"repairs; {n} on record{since}")


def new_unit_dates(mode: WarrantyMode, facts: UnitFacts, on: date) -> dict[str, date | None]:
    """The warranty dates of the unit shipped in the old one's place: ``inherited`` keeps the old unit's dates (so
    the same start and end: the remaining cover, R-W5 "replaced main units keep warranty cover"); ``fresh``
    starts a new term on ``on`` whatever the policy's basis."""
    if mode == "inherited":
        return {"sold_on": facts.sold_on, "delivered_on": facts.delivered_on, "installed_on": facts.installed_on,
                "dealer_received_on": facts.dealer_received_on}
    return {"sold_on": on, "delivered_on": on, "installed_on": on, "dealer_received_on": None}
