"""R-P8 parts available 15 years after a product line's end of sale (a term; a product line's own years), with
the report of parts nearing that horizon; R-P9 a dealer's seasonal stock plan 30 days ahead (a dealer term) from
last year's same-season consumption (issue 16 item 7)."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from aftersales_shared import clock
from aftersales_shared.testing.isolation import uniq
from parts.domain.base_stock import months_back
from parts.domain.horizon import available_until, part_horizon, season_window

pytestmark = pytest.mark.integration


def test_R_P8_horizon_is_the_latest_of_the_parts_lines_and_none_while_one_is_on_sale():
    assert available_until(date(2012, 2, 29), 15) == date(2027, 2, 28)
    assert part_horizon([(date(2010, 6, 30), 15), (date(2012, 1, 31), 15)]) == date(2027, 1, 31)
    assert part_horizon([(date(2010, 6, 30), 15), (None, 15)]) is None  # a line still on sale
    assert part_horizon([]) is None
    w = season_window(date(2026, 11, 30), ahead_days=30, days=30)
    assert (w.start, w.end, w.last_year_start, w.last_year_end) == (
        date(2026, 12, 30), date(2027, 1, 29), date(2025, 12, 30), date(2026, 1, 29))


async def test_R_P8_parts_nearing_their_availability_horizon(client, kit, clerk, auth_headers):
    today = clock.business_today()
    old, young, mixed, own = uniq("PL"), uniq("PL"), uniq("PL"), uniq("PL")
    # `old` ended sale 14 years 6 months ago: its parts are due to 15 years → within the next year
    eos_old = date(today.year - 14, today.month, 1) - timedelta(days=180)
    for line, body in ((old, {"end_of_sale": eos_old.isoformat()}),
                       (young, {"end_of_sale": date(today.year - 2, 1, 1).isoformat()}),
                       (mixed, {"end_of_sale": None}),
                       (own, {"end_of_sale": eos_old.isoformat(), "availability_years": 20})):  # its own term
        r = await client.put(f"/v1/product-lines/{line}", json=body, headers=clerk)
        assert r.status_code == 200, r.text
    p_old = await kit.part(uniq("P"), lines=(old,))
    p_both = await kit.part(uniq("P"), lines=(old, young))  # the younger line keeps it available longer
    p_mixed = await kit.part(uniq("P"), lines=(old, mixed))  # one line still on sale: no horizon yet
    p_own = await kit.part(uniq("P"), lines=(own,))
    p_unknown = await kit.part(uniq("P"), lines=(uniq("PL"),))  # no end of sale recorded
    w = await kit.warehouse(uniq("C"))
    await kit.receive(w, p_old, 4)

    r = await client.get("/v1/reports/parts-availability", params={"within_months": 12},
                         headers=auth_headers("ops"))
    assert r.status_code == 200, r.text
    mine = {p_old, p_both, p_mixed, p_own, p_unknown}
    got = [i for i in r.json()["items"] if i["part_no"] in mine]
    assert [i["part_no"] for i in got] == [p_old]
    assert got[0]["available_until"] == available_until(eos_old, 15).isoformat() and got[0]["on_hand"] == 4
    assert 0 < got[0]["days_left"] <= 366
    r = await client.get("/v1/reports/parts-availability", params={"within_months": 240},
                         headers=auth_headers("ops"))
    got = {i["part_no"] for i in r.json()["items"]} & mine
    assert got == {p_old, p_both, p_own}
    r = await client.get("/v1/reports/parts-availability.xlsx", params={"within_months": 12},
                         headers=auth_headers("dealer", sub="d", dealer_id="D1"))
    rows = [list(x) for x in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)]
    assert rows[0][:4] == ["part_no", "name", "product_lines", "available_until"]
    assert [x for x in rows[1:] if x[0] == p_old][0][2] == old
    lines = {x["product_line"]: x for x in (await client.get("/v1/product-lines", headers=clerk)).json()}
    assert lines[own]["availability_years"] == 20 and lines[mixed]["end_of_sale"] is None
    bad = await client.put(f"/v1/product-lines/{old}", json={"availability_years": 0}, headers=clerk)
    assert bad.status_code == 422 and "availability_years" in bad.text
    assert (await client.put(f"/v1/product-lines/{old}", json={}, headers=auth_headers("ops"))).status_code == 403


async def _replaced(admin_db, dealer, part_no, quantity, at):
    await admin_db.execute(
        "INSERT INTO parts.part_replacements (job_id, line_no, dealer_id, part_no, quantity, old_part_kept, serial, "
        "product_line, coverage, replaced_at, month, created_at) VALUES ($1, 1, $2, $3, $4, true, 'SN', 'AC-1', "
        "'warranty', $5, date_trunc('month', $5 AT TIME ZONE 'Asia/Shanghai')::date, now())",
        uniq("J"), dealer, part_no, quantity, at)


async def test_R_P9_seasonal_plan_30_days_ahead_from_last_years_same_window(client, kit, clerk, auth_headers,
                                                                          admin_db):
    today = clock.business_today()
    dealer, other = uniq("D"), uniq("D")
    fan, filt, off = await kit.part(uniq("P")), await kit.part(uniq("P")), await kit.part(uniq("P"))
    depot = await kit.warehouse(uniq("DD"), kind="dealer_depot", dealer_id=dealer)
    await kit.receive(depot, fan, 2)

    def last_year(days_ahead):  # noon in Shanghai, `days_ahead` after today, one year back
        d = months_back(today + timedelta(days=days_ahead), 12)
        return datetime(d.year, d.month, d.day, 4, 0, tzinfo=UTC)
    await _replaced(admin_db, dealer, fan, 5, last_year(35))   # in last year's window (30…60 days ahead)
    await _replaced(admin_db, dealer, fan, 2, last_year(50))
    await _replaced(admin_db, dealer, filt, 1, last_year(41))
    await _replaced(admin_db, dealer, off, 9, last_year(5))    # before the window: not this season
    await _replaced(admin_db, other, filt, 7, last_year(40))   # another dealer's consumption

    h = auth_headers("dealer", sub="d", dealer_id=dealer)
    r = await client.get("/v1/seasonal-stock/suggestions", headers=h)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["ahead_days"] == 30 and plan["window_start"] == (today + timedelta(days=30)).isoformat()
    assert [(i["part_no"], i["last_year_quantity"], i["depot_on_hand"], i["shortfall"]) for i in plan["items"]] == [
        (fan, 7, 2, 5), (filt, 1, 0, 1)]
    # the dealer's term says 10 days ahead: the window moves to 10…40 days: only the 35-day fan is in it
    await admin_db.execute(
        "INSERT INTO parts.dealer_terms (dealer_id, version, effective_from, values, created_by, created_at) "
        "VALUES ($1, 1, $2, $3::jsonb, 'setup', now())", dealer, today, json.dumps({"seasonal_plan_ahead_days": 10}))
    plan = (await client.get("/v1/seasonal-stock/suggestions", headers=h)).json()
    assert plan["ahead_days"] == 10
    assert [(i["part_no"], i["last_year_quantity"]) for i in plan["items"]] == [(fan, 5)]
    assert (await client.get("/v1/seasonal-stock/suggestions", params={"dealer_id": other},
                             headers=h)).status_code == 403
    staff = await client.get("/v1/seasonal-stock/suggestions", headers=auth_headers("ops"))
    assert staff.status_code == 422 and "dealer_id" in staff.text
    r = await client.get("/v1/seasonal-stock/suggestions", params={"dealer_id": other}, headers=clerk)
    assert [(i["part_no"], i["last_year_quantity"]) for i in r.json()["items"]] == [(filt, 7)]
