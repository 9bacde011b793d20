"""A paid repair's quote (issue 15): its lines from the product line's rate card, and the quote's status machine.

Pure (no I/O, no clock). Every number comes from the rate card in force (data, effective-dated, per product
line): labour per hour, the visit fee, the visit fee charged when the customer declines, shipping and insurance of
a unit sent in and the customer's share of it outside warranty (R-W9: all of it by default). Parts are quoted at
list price. Money is rounded once per line (``to_fen``); the total is the sum of the lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from aftersales_shared.money import to_fen

PRESENTED: Final = "presented"
ACCEPTED: Final = "accepted"
DECLINED: Final = "declined"
SUPERSEDED: Final = "superseded"
STATUSES = (PRESENTED, ACCEPTED, DECLINED, SUPERSEDED)
MOVES: dict[tuple[str, str], str] = {
    (PRESENTED, "accept"): ACCEPTED,
    (PRESENTED, "decline"): DECLINED,
    (PRESENTED, "supersede"): SUPERSEDED,  # a new quote presented for the same job replaces an open one
}
"""(status, move) -> status; accepted, declined and superseded quotes are final."""
PAYMENT_METHODS = ("cash", "wechat", "alipay", "card", "bank_transfer")


def next_status(status: str, move: str) -> str | None:
    """The status ``move`` leads to, or None when the quote's status does not allow it."""
    return MOVES.get((status, move))


@dataclass(frozen=True)
class RateCard:
    """One version of a product line's paid-repair prices."""

    product_line: str
    effective_from: date
    labour_per_hour: Decimal
    visit_fee: Decimal
    declined_visit_fee: Decimal
    shipping_fee: Decimal = Decimal(0)
    customer_shipping_share: Decimal = Decimal(1)  # R-W9 outside warranty: the customer pays it all
    quote_valid_hours: int = 72


@dataclass(frozen=True)
class PartPrice:
    part_no: str
    description: str
    quantity: int
    list_price: Decimal


@dataclass(frozen=True)
class Line:
    kind: str  # labour | part | visit_fee | shipping
    description: str
    amount: Decimal
    part_no: str | None = None
    quantity: int = 1


def card_in_force(cards: Sequence[RateCard], on: date) -> RateCard | None:
    """The version in force on ``on``: the latest ``effective_from`` not after it."""
    eligible = [c for c in cards if c.effective_from <= on]
    return max(eligible, key=lambda c: c.effective_from) if eligible else None


@dataclass(frozen=True)
class SentPart:
    """A part line as the engineer's app sends it: the list price is optional (the catalogue's is charged)."""

    part_no: str
    description: str | None
    quantity: int
    list_price: Decimal | None = None


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    list_price: Decimal


@dataclass(frozen=True)
class PriceProblem:
    field: str
    reason: str
    code: str
    catalogue_list_price: Decimal | None = None


def price_parts(sent: Sequence[SentPart], catalogue: dict[str, CatalogueEntry]
                ) -> tuple[list[PartPrice], list[PriceProblem]]:
    """Issue 15 item 2: parts are quoted at the parts catalogue's list price (``catalogue``: the active parts the
    catalogue announced). A part the catalogue does not hold (or withdrew) is ``parts[i].part_no``
    ``part_not_in_catalog``; a list price sent that differs from the catalogue's is ``parts[i].list_price``
    ``list_price_mismatch`` (the app showed the customer another price); no price sent: the catalogue's."""
    priced: list[PartPrice] = []
    problems: list[PriceProblem] = []
    for i, p in enumerate(sent):
        entry = catalogue.get(p.part_no)
        if entry is None:
            problems.append(PriceProblem(f"parts[{i}].part_no", f"part {p.part_no} is not in the parts catalogue "
                                         "(unknown or withdrawn)", "part_not_in_catalog"))
        elif p.list_price is not None and p.list_price != entry.list_price:
            problems.append(PriceProblem(f"parts[{i}].list_price", f"part {p.part_no} lists at {entry.list_price} "
                                         f"in the catalogue, not {p.list_price}", "list_price_mismatch",
                                         entry.list_price))
        else:
            priced.append(PartPrice(p.part_no, p.description or entry.name, p.quantity, entry.list_price))
    return priced, problems


def quote_lines(card: RateCard, *, labour_minutes: int, parts: Sequence[PartPrice], ship_in: bool) -> list[Line]:
    """The quote's lines: labour by the rate card, each part at list price, the visit fee, and — for a unit sent
    in for repair — the customer's share of shipping and insurance (R-W9)."""
    lines: list[Line] = []
    if labour_minutes:
        lines.append(Line("labour", f"labour {labour_minutes} min at {card.labour_per_hour}/h",
                          to_fen(card.labour_per_hour * labour_minutes / 60), None, 1))
    lines += [Line("part", p.description, to_fen(p.list_price * p.quantity), p.part_no, p.quantity) for p in parts]
    lines.append(Line("visit_fee", "home visit", to_fen(card.visit_fee)))
    if ship_in:
        lines.append(Line("shipping", f"shipping and insurance, customer's share {card.customer_shipping_share} "
                                      "(R-W9)", to_fen(card.shipping_fee * card.customer_shipping_share)))
    return lines


def total(lines: Sequence[Line]) -> Decimal:
    return sum((ln.amount for ln in lines), Decimal("0.00"))


def amount_due(*, status: str, quote_total: Decimal, declined_fee: Decimal) -> Decimal:
    """What the customer owes for a quote: its total once accepted, the configured visit fee once declined."""
    if status == ACCEPTED:
        return quote_total
    if status == DECLINED:
        return declined_fee
    return Decimal("0.00")
