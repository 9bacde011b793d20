"""Warranty determination, one test (or more) per rule id of DOMAIN.md section 1, plus properties."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.domain.warranty import (
    UNIT,
    Delay,
    Extension,
    Repair,
    UnitFacts,
    WarrantyError,
    WarrantyPolicy,
    add_months,
    determine_warranty,
    term_end,
)

SOLD = date(2026, 1, 10)
P12 = WarrantyPolicy(months=12)


def test_term_end_is_inclusive_and_clamps_month_ends():
    assert term_end(date(2026, 1, 10), 12) == date(2027, 1, 9)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)


@pytest.mark.parametrize("months", [12, 13, 18, 24, 36])
def test_R_W1_length_is_per_product_line(months):
    d = determine_warranty(WarrantyPolicy(months=months), UnitFacts(sold_on=SOLD), SOLD)
    assert d.status_of(UNIT).base_ends_on == term_end(SOLD, months)


def test_R_W1_per_component_terms_and_uncovered_accessories():
    p = WarrantyPolicy(months=18, component_months={"structure": 36, "electrical": 18}, uncovered=("probe",))
    on = date(2028, 1, 1)  # 24 months in: structure yes, electrical no
    d = determine_warranty(p, UnitFacts(sold_on=SOLD), on, component="structure")
    assert d.status_of("structure").state == "in_warranty"
    assert d.status_of("electrical").state == "expired"
    assert d.status_of("probe").state == "not_covered"
    assert d.coverage == "warranty"
    assert determine_warranty(p, UnitFacts(sold_on=SOLD), SOLD, component="probe").coverage == "paid"


@pytest.mark.parametrize("basis,field", [("sale", "sold_on"), ("delivery", "delivered_on"),
                                         ("installation", "installed_on")])
def test_R_W2_start_basis_is_configurable(basis, field):
    dates = {"sold_on": date(2026, 1, 1), "delivered_on": date(2026, 2, 1), "installed_on": date(2026, 3, 1)}
    d = determine_warranty(WarrantyPolicy(months=12, start_basis=basis), UnitFacts(**dates), date(2026, 6, 1))
    assert d.basis == basis and d.start_date == dates[field]


def test_R_W2_without_warranty_card_the_sale_date_on_record_is_used():
    u = UnitFacts(sold_on=date(2026, 1, 1), installed_on=date(2026, 3, 1), has_warranty_card=False)
    d = determine_warranty(WarrantyPolicy(months=12, start_basis="installation"), u, date(2026, 6, 1))
    assert d.basis == "sale" and d.start_date == date(2026, 1, 1)
    assert "no warranty card" in d.reasons[0]


def test_R_W2_missing_basis_date_falls_back_to_sale_date():
    d = determine_warranty(WarrantyPolicy(months=12, start_basis="installation"), UnitFacts(sold_on=SOLD), SOLD)
    assert d.basis == "sale" and "not on record" in d.reasons[0]


def test_R_W2_no_date_at_all_is_paid_with_a_reason():
    d = determine_warranty(P12, UnitFacts(), SOLD)
    assert d.basis is None and d.coverage == "paid" and "no sale" in d.reasons[0]


def test_R_W3_exclusion_turns_warranty_into_paid_and_is_named():
    d = determine_warranty(P12, UnitFacts(sold_on=SOLD), SOLD + timedelta(days=30), exclusions=["liquid_spill"])
    assert d.coverage == "paid" and d.exclusions == ("liquid_spill",)
    assert any("liquid spilled" in r for r in d.reasons)


def test_R_W3_exclusion_removes_early_life_rights():
    d = determine_warranty(P12, UnitFacts(sold_on=SOLD), SOLD + timedelta(days=2), exclusions=["misuse"])
    assert d.early_life.names() == []


def test_R_W3_unknown_exclusion_is_refused_naming_the_field():
    with pytest.raises(WarrantyError) as e:
        determine_warranty(WarrantyPolicy(months=12, exclusions=("misuse",)), UnitFacts(sold_on=SOLD), SOLD,
                           exclusions=["liquid_spill"])
    assert e.value.field == "exclusions"


@pytest.mark.parametrize("days,rights", [(0, ["return", "exchange", "repair"]), (7, ["return", "exchange", "repair"]),
                                         (8, ["exchange", "repair"]), (15, ["exchange", "repair"]), (16, [])])
def test_R_W4_return_within_7_days_exchange_within_15_days(days, rights):
    d = determine_warranty(P12, UnitFacts(sold_on=SOLD), SOLD + timedelta(days=days))
    assert d.early_life.names() == rights
    assert d.coverage == "warranty"


def test_R_W4_windows_are_configuration():
    p = WarrantyPolicy(months=12, return_days=3, exchange_days=5)
    assert determine_warranty(p, UnitFacts(sold_on=SOLD), SOLD + timedelta(days=4)).early_life.names() == \
        ["exchange", "repair"]


def test_R_W4_dealer_doa_counts_from_dealer_receipt():
    received = date(2026, 3, 1)
    u = UnitFacts(dealer_received_on=received)
    d = determine_warranty(P12, u, received + timedelta(days=7))
    assert d.early_life.dealer_doa and d.coverage == "warranty"
    assert not determine_warranty(P12, u, received + timedelta(days=8)).early_life.dealer_doa


def test_R_W5_repeat_repairs_replace_component_and_unit():
    p = WarrantyPolicy(months=24, component_months={"compressor": 24})
    repairs = tuple(Repair(completed_on=SOLD + timedelta(days=30 * i), component="compressor") for i in range(1, 4))
    d = determine_warranty(p, UnitFacts(sold_on=SOLD, repairs=repairs), SOLD + timedelta(days=200),
                           component="compressor")
    assert d.repeat_repair.replace_components == ("compressor",)
    assert d.repeat_repair.replace_unit
    two = determine_warranty(p, UnitFacts(sold_on=SOLD, repairs=repairs[:2]), SOLD + timedelta(days=200))
    assert not two.repeat_repair.replace_unit and two.repeat_repair.replace_components == ()


def test_R_W5_threshold_is_configuration_and_paid_repairs_do_not_count():
    repairs = (Repair(SOLD + timedelta(days=10)), Repair(SOLD + timedelta(days=20), in_warranty=False))
    d = determine_warranty(WarrantyPolicy(months=12, repeat_repair_threshold=1),
                           UnitFacts(sold_on=SOLD, repairs=repairs), SOLD + timedelta(days=40))
    assert d.repeat_repair.replace_unit and d.repeat_repair.repair_counts == {UNIT: 1}


def test_R_W6_extension_counts_from_payment_date():
    paid = date(2027, 3, 1)  # after the 12-month base ended on 2027-01-09
    u = UnitFacts(sold_on=SOLD, extensions=(Extension(paid_on=paid, months=12),))
    d = determine_warranty(P12, u, date(2027, 6, 1))
    assert d.coverage == "extended" and d.status_of(UNIT).ends_on == date(2028, 2, 29)
    # the gap between base end and payment is not covered
    assert determine_warranty(P12, u, date(2027, 2, 1)).coverage == "paid"


def test_R_W7_seller_delay_moves_the_end_customer_delay_does_not():
    seller = UnitFacts(sold_on=SOLD, delays=(Delay(SOLD + timedelta(days=100), 20, "seller"),))
    customer = UnitFacts(sold_on=SOLD, delays=(Delay(SOLD + timedelta(days=100), 20, "customer"),))
    base = term_end(SOLD, 12)
    assert determine_warranty(P12, seller, SOLD).status_of(UNIT).base_ends_on == base + timedelta(days=20)
    assert determine_warranty(P12, customer, SOLD).status_of(UNIT).base_ends_on == base
    d = determine_warranty(P12, seller, base + timedelta(days=10))
    assert d.coverage == "warranty" and "delays caused by the seller" in d.reasons[1]


def test_R_W8_repair_warranty_and_parts_warranty_after_base_end():
    base = term_end(SOLD, 12)
    done = base - timedelta(days=5)  # the board repaired without a new part; a new fan fitted the same day
    u = UnitFacts(sold_on=SOLD, repairs=(Repair(done, component="board"),
                                         Repair(done, component="fan", parts_replaced=("FAN-1",))))
    p = WarrantyPolicy(months=12, component_months={"board": 12, "fan": 12}, repair_warranty_months=6,
                       parts_warranty_months=12)
    on = base + timedelta(days=100)
    d = determine_warranty(p, u, on, component="board")
    assert d.status_of("board").state == "repair_warranty" and d.coverage == "warranty"
    assert d.status_of("fan").state == "parts_warranty"
    assert determine_warranty(p, u, base + timedelta(days=250), component="board").coverage == "paid"
    assert determine_warranty(p, u, base + timedelta(days=250), component="fan").coverage == "warranty"


def test_R_W9_shipping_split_inside_warranty_customer_pays_outside():
    inside = determine_warranty(P12, UnitFacts(sold_on=SOLD), SOLD + timedelta(days=100))
    assert inside.coverage == "warranty" and inside.shipping_customer_share == Decimal("0.50")
    assert any("customer pays 50%" in r for r in inside.reasons)
    contract = WarrantyPolicy(months=12, shipping_customer_share=Decimal("0.30"))  # another contract's split
    assert determine_warranty(contract, UnitFacts(sold_on=SOLD), SOLD).shipping_customer_share == Decimal("0.30")
    outside = determine_warranty(P12, UnitFacts(sold_on=SOLD), term_end(SOLD, 12) + timedelta(days=1))
    assert outside.coverage == "paid" and outside.shipping_customer_share == Decimal("1")
    excluded = determine_warranty(P12, UnitFacts(sold_on=SOLD), SOLD, exclusions=("liquid_spill",))
    assert excluded.coverage == "paid" and excluded.shipping_customer_share == Decimal("1")


def test_before_start_is_not_started_and_paid():
    d = determine_warranty(P12, UnitFacts(sold_on=SOLD), SOLD - timedelta(days=1))
    assert d.status_of(UNIT).state == "not_started" and d.coverage == "paid"


# --- properties over dates and policies --------------------------------------------------------

dates = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))
policies = st.builds(
    WarrantyPolicy, months=st.sampled_from([12, 13, 18, 24, 36]),
    start_basis=st.sampled_from(["sale", "delivery", "installation"]),
    return_days=st.integers(0, 10), exchange_days=st.integers(10, 30),
    repeat_repair_threshold=st.integers(1, 5), repair_warranty_months=st.integers(0, 12),
    parts_warranty_months=st.integers(0, 24),
)


@settings(max_examples=300, deadline=None)
@given(policies, dates, st.integers(-400, 2000))
def test_property_covered_exactly_inside_the_base_term(policy, sold, offset):
    on = sold + timedelta(days=offset)
    d = determine_warranty(policy, UnitFacts(sold_on=sold), on)
    inside = sold <= on <= term_end(sold, policy.months)
    assert (d.coverage == "warranty") == inside
    assert d.reasons and all(isinstance(r, str) and r for r in d.reasons)


@settings(max_examples=300, deadline=None)
@given(policies, dates, st.integers(0, 2000), st.integers(0, 400), st.sampled_from(["seller", "customer"]))
def test_property_delays_never_shorten_and_only_seller_delays_lengthen(policy, sold, offset, days, who):
    on = sold + timedelta(days=offset)
    plain = determine_warranty(policy, UnitFacts(sold_on=sold), on).status_of(UNIT).base_ends_on
    delayed = determine_warranty(policy, UnitFacts(sold_on=sold, delays=(Delay(sold, days, who),)), on)
    end = delayed.status_of(UNIT).base_ends_on
    assert end == (plain + timedelta(days=days) if who == "seller" else plain)


@settings(max_examples=300, deadline=None)
@given(policies, dates, st.integers(0, 3000), dates, st.integers(1, 36))
def test_property_an_extension_never_removes_cover(policy, sold, offset, paid, months):
    on = sold + timedelta(days=offset)
    without = determine_warranty(policy, UnitFacts(sold_on=sold), on)
    with_ext = determine_warranty(policy, UnitFacts(sold_on=sold, extensions=(Extension(paid, months),)), on)
    if without.coverage != "paid":
        assert with_ext.coverage == without.coverage
    if paid <= on <= term_end(paid, months):
        assert with_ext.coverage in ("warranty", "extended")


@settings(max_examples=200, deadline=None)
@given(policies, dates, st.integers(0, 3000), st.lists(st.sampled_from(sorted(WarrantyPolicy(12).exclusions)),
                                                       min_size=1, max_size=3, unique=True))
def test_property_any_exclusion_makes_it_paid(policy, sold, offset, excl):
    assert determine_warranty(policy, UnitFacts(sold_on=sold), sold + timedelta(days=offset),
                              exclusions=excl).coverage == "paid"


@settings(max_examples=200, deadline=None)
@given(policies, dates, st.integers(0, 60))
def test_property_early_life_rights_shrink_with_time(policy, sold, offset):
    a = set(determine_warranty(policy, UnitFacts(sold_on=sold), sold + timedelta(days=offset)).early_life.names())
    b = set(determine_warranty(policy, UnitFacts(sold_on=sold), sold + timedelta(days=offset + 1)).early_life.names())
    assert b <= a


# --- R-W8 in the real flow: repairs store part numbers and the diagnosed components (issue 15, item 4) ------

def test_R_W8_a_part_replaced_7_months_ago_fails_again_covered_by_the_parts_warranty():
    """The unit's own 12 months are over; the compressor part fitted 7 months ago still has its 12 months,
    asked for by the component name or by the part number; the 6-month repair warranty is over."""
    sold = date(2025, 1, 10)
    fitted = date(2026, 2, 20)
    on = add_months(fitted, 7)
    p = WarrantyPolicy(months=12, repair_warranty_months=6, parts_warranty_months=12)
    u = UnitFacts(sold_on=sold, repairs=(Repair(fitted, component="compressor", parts_replaced=("CMP-200",),
                                                components=("compressor", "valve")),))
    for asked in ("compressor", "CMP-200", "valve"):
        d = determine_warranty(p, u, on, component=asked)
        assert d.coverage == "warranty", asked
        assert d.status_of(asked).state == "parts_warranty"
        assert d.status_of(asked).ends_on == term_end(fitted, 12)
    assert determine_warranty(p, u, on, component="fan").coverage == "paid"  # another component
    assert determine_warranty(p, u, on).coverage == "paid"  # the whole unit is not a part
    after = determine_warranty(p, u, term_end(fitted, 12) + timedelta(days=1), component="CMP-200")
    assert after.coverage == "paid"


def test_R_W8_the_repair_itself_is_guaranteed_for_the_policys_repair_months_even_without_parts():
    sold, fixed = date(2025, 1, 10), date(2026, 2, 20)
    p = WarrantyPolicy(months=12, repair_warranty_months=6, parts_warranty_months=12)
    u = UnitFacts(sold_on=sold, repairs=(Repair(fixed, component="board", components=("board", "wiring")),))
    assert determine_warranty(p, u, add_months(fixed, 5), component="wiring").status_of("wiring").state \
        == "repair_warranty"
    assert determine_warranty(p, u, add_months(fixed, 7), component="wiring").coverage == "paid"  # no part fitted
    off = WarrantyPolicy(months=12, repair_warranty_months=0, parts_warranty_months=0)
    assert determine_warranty(off, u, add_months(fixed, 1), component="board").coverage == "paid"


@settings(max_examples=300, deadline=None)
@given(dates, st.integers(0, 2000), st.integers(-30, 1200), st.integers(0, 24), st.integers(0, 12),
       st.sampled_from(["compressor", "CMP-200"]))
def test_property_R_W8_part_covered_exactly_inside_the_longer_of_parts_and_repair_terms(
        sold, after_sale, offset, parts_months, repair_months, asked):
    p = WarrantyPolicy(months=12, repair_warranty_months=repair_months, parts_warranty_months=parts_months)
    fitted = sold + timedelta(days=after_sale)
    on = fitted + timedelta(days=offset)
    u = UnitFacts(sold_on=sold, repairs=(Repair(fitted, component="compressor", parts_replaced=("CMP-200",)),))
    d = determine_warranty(p, u, on, component=asked)
    ends = [term_end(sold, 12)] + [term_end(fitted, m) for m in (parts_months, repair_months) if m > 0]
    inside = sold <= on <= term_end(sold, 12) or (fitted <= on <= max(ends))
    assert (d.coverage == "warranty") == inside
