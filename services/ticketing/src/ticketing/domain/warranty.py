"""Warranty determination (DOMAIN.md R-W1..R-W8): a pure function of a policy, a unit's facts and a date.

No I/O and no clock: the caller passes ``on``. Every number is policy configuration.
Conventions (written once, used everywhere):
- A term of N months starting on S covers S .. add_months(S, N) - 1 day (inclusive end).
- "Within D days of sale" means ``on - sold_on <= D`` days (the day of sale is day 0).
- R-W5: a component (or the unit) with at least ``repeat_repair_threshold`` in-warranty repairs on record is
  replaced, not repaired again, at the next in-warranty fault.
- Date arithmetic saturates at the calendar's ends (``date.min``/``date.max``): facts stored before the input was
  bounded to the business range (a sale on 9999-12-31, a delay from 0001-01-01) still give an answer — a term
  that would end after 9999-12-31 ends on it — instead of failing the unit's warranty, tickets and extensions.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal, get_args

StartBasis = Literal["sale", "delivery", "installation"]
Coverage = Literal["warranty", "extended", "paid"]
ComponentState = Literal["in_warranty", "repair_warranty", "parts_warranty", "extended", "expired", "not_covered",
                         "not_started"]
UNIT = "unit"  # the whole product; policy.months applies to it
ExclusionCode = Literal["misuse", "human_damage", "unauthorised_repair", "cosmetic_damage", "liquid_spill",
                        "improper_storage", "normal_wear", "consumable", "force_majeure"]

EXCLUSIONS: dict[str, str] = {  # R-W3 catalogue: code -> words an agent can read out
    "misuse": "use against the manual or misuse",
    "human_damage": "damage caused by people",
    "unauthorised_repair": "disassembly or repair by someone not authorised",
    "cosmetic_damage": "obvious cosmetic damage",
    "liquid_spill": "liquid spilled into the product",
    "improper_storage": "improper storage or moisture",
    "normal_wear": "normal wear and tear",
    "consumable": "a consumable part",
    "force_majeure": "force majeure (natural disaster and the like)",
}
assert set(EXCLUSIONS) == set(get_args(ExclusionCode)), "the catalogue and its type name the same codes"
BASIS_WORDS = {"sale": "date of sale", "delivery": "date of delivery acceptance",
               "installation": "date of installation/commissioning"}


class WarrantyError(ValueError):
    """The inputs cannot be evaluated (e.g. an exclusion the policy does not know)."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


@dataclass(frozen=True)
class WarrantyPolicy:
    """One version of a product line's warranty terms."""

    months: int
    start_basis: StartBasis = "sale"
    component_months: dict[str, int] = field(default_factory=dict)  # R-W1 per-component terms
    uncovered: tuple[str, ...] = ()  # R-W1 accessories with no warranty
    exclusions: tuple[str, ...] = tuple(EXCLUSIONS)  # R-W3 catalogue in force
    return_days: int = 7  # R-W4
    exchange_days: int = 15  # R-W4
    dealer_doa_days: int = 7  # R-W4 counted from the dealer's receipt
    repeat_repair_threshold: int = 3  # R-W5
    extension_months: int | None = None  # R-W6 offer
    extension_price: Decimal | None = None
    repair_warranty_months: int = 6  # R-W8
    parts_warranty_months: int = 12  # R-W8
    shipping_customer_share: Decimal = Decimal("0.50")  # R-W9 inside warranty; outside, the customer pays all

    def term_of(self, component: str) -> int:
        """Months of cover of a component (0: not covered)."""
        if component in self.uncovered:
            return 0
        return self.component_months.get(component, self.months)

    def components(self) -> tuple[str, ...]:
        """Every component the policy names, the whole unit first."""
        names = [UNIT, *sorted(self.component_months), *sorted(self.uncovered)]
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class Extension:
    """A paid extension (R-W6): cover for ``months`` counted from ``paid_on``."""

    paid_on: date
    months: int


@dataclass(frozen=True)
class Delay:
    """A period the unit waited (R-W7); only seller-caused delays move the warranty end."""

    started_on: date
    days: int
    caused_by: Literal["seller", "customer"]


@dataclass(frozen=True)
class Repair:
    """An earlier repair of the unit (R-W5 history, R-W8 repair and parts warranty).

    ``component`` is the component the repair counts under (R-W5), ``components`` every component the engineer
    diagnosed as failed, ``parts_replaced`` the part numbers fitted (``dispatch.job.completed`` parts_used)."""

    completed_on: date
    component: str = UNIT
    parts_replaced: tuple[str, ...] = ()
    in_warranty: bool = True
    components: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        """The components this repair worked on."""
        return tuple(dict.fromkeys((self.component, *self.components)))

    def repaired(self, asked: str) -> bool:
        """R-W8 repair warranty: a repair of the whole unit guarantees every component; a component repair, the
        components it worked on and the parts it fitted."""
        return self.component == UNIT or asked in self.names() or asked in self.parts_replaced

    def fitted(self, asked: str) -> bool:
        """R-W8 parts warranty: ``asked`` names a part this repair fitted — by its part number, or by the
        component the new parts went into (never the whole unit: a unit is not a part)."""
        if not self.parts_replaced:
            return False
        return asked in self.parts_replaced or (asked != UNIT and asked in self.names())


@dataclass(frozen=True)
class UnitFacts:
    """What is on record about one unit."""

    sold_on: date | None = None
    delivered_on: date | None = None
    installed_on: date | None = None
    dealer_received_on: date | None = None
    has_warranty_card: bool = True
    extensions: tuple[Extension, ...] = ()
    delays: tuple[Delay, ...] = ()
    repairs: tuple[Repair, ...] = ()


@dataclass(frozen=True)
class ComponentStatus:
    component: str
    state: ComponentState
    base_ends_on: date | None  # end of the original term (after R-W7 delays); None: no term
    ends_on: date | None  # latest day of any cover (base, repair/parts warranty, extension)
    reason: str


@dataclass(frozen=True)
class EarlyLifeRights:
    """R-W4 rights on the date asked about."""

    return_: bool = False
    exchange: bool = False
    repair: bool = False
    dealer_doa: bool = False

    def names(self) -> list[str]:
        return [n for n, v in (("return", self.return_), ("exchange", self.exchange), ("repair", self.repair),
                               ("dealer_doa_exchange", self.dealer_doa)) if v]


@dataclass(frozen=True)
class RepeatRepair:
    """R-W5 entitlement from the repair history."""

    replace_unit: bool = False
    replace_components: tuple[str, ...] = ()
    repair_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class WarrantyDetermination:
    on: date
    basis: StartBasis | None
    start_date: date | None
    components: tuple[ComponentStatus, ...]
    early_life: EarlyLifeRights
    repeat_repair: RepeatRepair
    coverage: Coverage  # of the component asked about (the unit by default)
    component: str
    exclusions: tuple[str, ...]
    reasons: tuple[str, ...]
    shipping_customer_share: Decimal = Decimal("1")  # R-W9: the customer's share of shipping + insurance

    def status_of(self, component: str) -> ComponentStatus:
        return next(c for c in self.components if c.component == component)


def add_months(start: date, months: int) -> date:
    """Calendar month arithmetic, clamping to the month's last day (Jan 31 + 1 month = Feb 28/29) and saturating
    at the calendar's ends."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    if year > date.max.year:
        return date.max
    if year < date.min.year:
        return date.min
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def shift_days(day: date, days: int) -> date:
    """``day`` moved by ``days``, saturating at the calendar's ends."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def term_end(start: date, months: int) -> date:
    """Last day covered by a term of ``months`` starting on ``start``."""
    end = add_months(start, months)
    return end if end == date.max else shift_days(end, -1)


def _extend_by_delays(end: date, start: date, delays: tuple[Delay, ...]) -> date:
    """R-W7: each seller-caused delay that began inside the cover pushes the end out by its days."""
    for d in sorted(delays, key=lambda d: d.started_on):
        if d.caused_by == "seller" and d.days > 0 and start <= d.started_on <= end:
            end = shift_days(end, d.days)
    return end


def start_date_of(policy: WarrantyPolicy, unit: UnitFacts) -> tuple[StartBasis | None, date | None, str]:
    """R-W2: the policy's basis date; without a warranty card or that date, the sale date on record."""
    dates: dict[StartBasis, date | None] = {"sale": unit.sold_on, "delivery": unit.delivered_on,
                                             "installation": unit.installed_on}
    wanted = policy.start_basis
    if not unit.has_warranty_card and wanted != "sale" and unit.sold_on:
        return "sale", unit.sold_on, ("no warranty card was shown, so the warranty counts from the "
                                      f"date of sale on record ({unit.sold_on.isoformat()})")
    if (start := dates[wanted]) is not None:
        return wanted, start, f"the warranty counts from the {BASIS_WORDS[wanted]} ({start.isoformat()})"
    fallbacks: tuple[StartBasis, ...] = ("sale", "delivery", "installation")
    for fallback in fallbacks:
        if (start := dates[fallback]) is not None:
            return fallback, start, (
                f"the {BASIS_WORDS[wanted]} is not on record, so the warranty counts from the "
                f"{BASIS_WORDS[fallback]} ({start.isoformat()})")
    return None, None, "no sale, delivery or installation date is on record, so no warranty can be confirmed"


def _component_status(
    policy: WarrantyPolicy, unit: UnitFacts, component: str, start: date | None, on: date
) -> ComponentStatus:
    months = policy.term_of(component)
    if months == 0:
        return ComponentStatus(component, "not_covered", None, None,
                               f"{component} is an accessory without warranty under this policy")
    if start is None:
        return ComponentStatus(component, "not_covered", None, None, "no start date on record")
    base_end = _extend_by_delays(term_end(start, months), start, unit.delays)
    delayed = base_end != term_end(start, months)
    # R-W8: a repair of this component (or of the whole unit) carries its own warranty; so do new parts.
    repair_end = parts_end = None
    if policy.repair_warranty_months > 0:
        repair_end = max((term_end(r.completed_on, policy.repair_warranty_months) for r in unit.repairs
                          if r.repaired(component) and r.completed_on <= on), default=None)
    if policy.parts_warranty_months > 0:
        parts_end = max((term_end(r.completed_on, policy.parts_warranty_months) for r in unit.repairs
                         if r.fitted(component) and r.completed_on <= on), default=None)
    ext_end = None
    for x in unit.extensions:  # R-W6: counted from the payment date
        if x.paid_on <= on:
            e = _extend_by_delays(term_end(x.paid_on, x.months), x.paid_on, unit.delays)
            if x.paid_on <= on <= e:
                ext_end = max(ext_end or e, e)
    ends = [d for d in (base_end, repair_end, parts_end, ext_end) if d]
    latest = max(ends)
    label = "the product" if component == UNIT else component
    if on < start:
        return ComponentStatus(component, "not_started", base_end, latest,
                               f"the warranty of {label} has not started yet (starts {start.isoformat()})")
    if on <= base_end:
        extra = " (moved out by delays caused by the seller)" if delayed else ""
        return ComponentStatus(component, "in_warranty", base_end, latest,
                               f"{label} is in warranty until {base_end.isoformat()}{extra}")
    if parts_end and on <= parts_end:
        return ComponentStatus(component, "parts_warranty", base_end, latest,
                               f"{label} is a genuine part replaced recently, under parts warranty until "
                               f"{parts_end.isoformat()}")
    if repair_end and on <= repair_end:
        return ComponentStatus(component, "repair_warranty", base_end, latest,
                               f"{label} was repaired recently; the repair is guaranteed until "
                               f"{repair_end.isoformat()}")
    if ext_end:
        return ComponentStatus(component, "extended", base_end, latest,
                               f"{label} is covered by a paid extension until {ext_end.isoformat()}")
    return ComponentStatus(component, "expired", base_end, base_end,
                           f"the warranty of {label} ended on {base_end.isoformat()}")


def _early_life(policy: WarrantyPolicy, unit: UnitFacts, on: date) -> tuple[EarlyLifeRights, list[str]]:
    if unit.sold_on is None:
        if unit.dealer_received_on and 0 <= (on - unit.dealer_received_on).days <= policy.dealer_doa_days:
            return EarlyLifeRights(dealer_doa=True, exchange=True), [
                f"dead on arrival at the dealer: within {policy.dealer_doa_days} days of the dealer's receipt "
                f"({unit.dealer_received_on.isoformat()}) the unit is exchanged"]
        return EarlyLifeRights(), []
    days = (on - unit.sold_on).days
    if 0 <= days <= policy.return_days:
        return EarlyLifeRights(return_=True, exchange=True, repair=True), [
            f"sold {days} day(s) ago: within {policy.return_days} days a performance fault allows return, "
            "exchange or repair"]
    if 0 <= days <= policy.exchange_days:
        return EarlyLifeRights(exchange=True, repair=True), [
            f"sold {days} day(s) ago: within {policy.exchange_days} days a performance fault allows exchange or repair"]
    return EarlyLifeRights(), []


def _repeat_repair(policy: WarrantyPolicy, unit: UnitFacts, on: date) -> tuple[RepeatRepair, list[str]]:
    counts: dict[str, int] = {}
    for r in unit.repairs:
        if r.in_warranty and r.completed_on <= on:
            counts[r.component] = counts.get(r.component, 0) + 1
    total = sum(counts.values())
    limit = policy.repeat_repair_threshold
    replace_unit = total >= limit
    comps = tuple(sorted(c for c, n in counts.items() if c != UNIT and n >= limit))
    reasons = []
    if replace_unit:
        reasons.append(f"the product has already been repaired {total} times under warranty; "
                       f"after {limit} repairs it is replaced as a unit at the next fault")
    for c in comps:
        reasons.append(f"{c} has already been repaired {counts[c]} times; after {limit} repairs it is replaced")
    return RepeatRepair(replace_unit, comps, counts), reasons


def determine_warranty(
    policy: WarrantyPolicy, unit: UnitFacts, on: date, *, component: str = UNIT,
    exclusions: tuple[str, ...] | list[str] = (),
) -> WarrantyDetermination:
    """The warranty position of a unit on ``on``; ``component`` and ``exclusions`` decide the coverage."""
    unknown = [e for e in exclusions if e not in policy.exclusions]
    if unknown:
        raise WarrantyError(f"unknown exclusion(s) for this policy: {', '.join(unknown)}", field="exclusions")
    basis, start, basis_reason = start_date_of(policy, unit)
    names = policy.components()
    if component not in names:
        names = (*names, component)
    statuses = tuple(_component_status(policy, unit, c, start, on) for c in names)
    reasons = [basis_reason]
    early, early_reasons = _early_life(policy, unit, on)
    asked = next(s for s in statuses if s.component == component)
    reasons.append(asked.reason)
    covered = asked.state in ("in_warranty", "repair_warranty", "parts_warranty", "extended")
    repeat, repeat_reasons = _repeat_repair(policy, unit, on) if covered else (RepeatRepair(), [])
    if covered or early.dealer_doa:
        reasons.extend(early_reasons)
    else:
        early = EarlyLifeRights()
    reasons.extend(repeat_reasons)
    if exclusions:
        coverage: Coverage = "paid"
        reasons.append("the repair is paid because of: " + "; ".join(EXCLUSIONS.get(e, e) for e in exclusions))
        early, repeat = EarlyLifeRights(), RepeatRepair(repair_counts=repeat.repair_counts)
    elif asked.state == "extended":
        coverage = "extended"
    elif covered or early.dealer_doa:
        coverage = "warranty"
    else:
        coverage = "paid"
        reasons.append("the repair is paid by the customer")
    share = policy.shipping_customer_share if coverage in ("warranty", "extended") else Decimal("1")
    if share == 1:
        reasons.append("shipping and insurance of a unit sent in for repair are paid by the customer")
    else:
        reasons.append(f"shipping and insurance of a unit sent in for repair: the customer pays {share:.0%}, "
                       f"the manufacturer {1 - share:.0%}")
    return WarrantyDetermination(
        on=on, basis=basis, start_date=start, components=statuses, early_life=early, repeat_repair=repeat,
        coverage=coverage, component=component, exclusions=tuple(exclusions), reasons=tuple(reasons),
        shipping_customer_share=share,
    )
