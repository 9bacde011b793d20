"""Issue 15: a paid repair's quote arithmetic and status machine (pure, ``domain/quote.py``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from aftersales_shared.money import to_fen
from dispatch.domain import quote
from dispatch.domain.quote import PartPrice, RateCard, amount_due, card_in_force, next_status, quote_lines, total

money = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False, allow_infinity=False)
share = st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False)
CARD = RateCard("WM", date(2026, 1, 1), labour_per_hour=D("120.00"), visit_fee=D("50.00"),
                declined_visit_fee=D("30.00"), shipping_fee=D("80.00"), customer_shipping_share=D("1"))


def test_R_W9_quote_lines_golden():
    lines = quote_lines(CARD, labour_minutes=50, ship_in=True,
                        parts=[PartPrice("PCB-1", "control board", 2, D("260.00"))])
    assert [(ln.kind, ln.amount, ln.part_no, ln.quantity) for ln in lines] == [
        ("labour", D("100.00"), None, 1), ("part", D("520.00"), "PCB-1", 2), ("visit_fee", D("50.00"), None, 1),
        ("shipping", D("80.00"), None, 1)]
    assert total(lines) == D("750.00")
    no_ship = quote_lines(CARD, labour_minutes=0, parts=[], ship_in=False)
    assert [ln.kind for ln in no_ship] == ["visit_fee"]  # no labour line for no labour, no shipping on site


@given(rate=money, visit=money, ship=money, sh=share, minutes=st.integers(0, 60 * 24 * 7),
       prices=st.lists(st.tuples(money, st.integers(1, 1000)), max_size=5), ship_in=st.booleans())
def test_R_W9_quote_total_is_the_sum_of_fen_exact_lines(rate, visit, ship, sh, minutes, prices, ship_in):
    card = RateCard("X", date(2026, 1, 1), labour_per_hour=rate, visit_fee=visit, declined_visit_fee=visit,
                    shipping_fee=ship, customer_shipping_share=sh)
    lines = quote_lines(card, labour_minutes=minutes, ship_in=ship_in,
                        parts=[PartPrice(f"P{i}", "p", q, p) for i, (p, q) in enumerate(prices)])
    assert all(ln.amount == to_fen(ln.amount) and ln.amount >= 0 for ln in lines)
    assert total(lines) == sum((ln.amount for ln in lines), D(0))
    assert ("shipping" in {ln.kind for ln in lines}) is ship_in
    if ship_in:
        assert next(ln.amount for ln in lines if ln.kind == "shipping") == to_fen(ship * sh)
    assert sum(ln.amount for ln in lines if ln.kind == "part") == sum(to_fen(p * q) for p, q in prices)


def test_rate_card_in_force_is_the_latest_not_after_the_day():
    old = RateCard("WM", date(2026, 1, 1), D("100"), D("40"), D("20"))
    new = RateCard("WM", date(2026, 7, 1), D("120"), D("50"), D("30"))
    assert card_in_force([new, old], date(2025, 12, 31)) is None
    assert card_in_force([new, old], date(2026, 6, 30)) is old
    assert card_in_force([new, old], date(2026, 7, 1)) is new


def test_quote_moves_and_amount_due():
    assert next_status(quote.PRESENTED, "accept") == quote.ACCEPTED
    assert next_status(quote.PRESENTED, "decline") == quote.DECLINED
    assert next_status(quote.PRESENTED, "supersede") == quote.SUPERSEDED
    for final in (quote.ACCEPTED, quote.DECLINED, quote.SUPERSEDED):
        assert all(next_status(final, m) is None for m in ("accept", "decline", "supersede"))
    assert amount_due(status=quote.ACCEPTED, quote_total=D("750.00"), declined_fee=D("30.00")) == D("750.00")
    assert amount_due(status=quote.DECLINED, quote_total=D("750.00"), declined_fee=D("30.00")) == D("30.00")
    assert amount_due(status=quote.PRESENTED, quote_total=D("750.00"), declined_fee=D("30.00")) == 0
