"""The dealer's parts terms as data (issue 16 item 1): R-P1 ship clock, R-P4 old-part return days and R-P5
base-stock percentage are read from the dealer's terms in force on the fact's date, not from one setting."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales_shared import clock
from aftersales_shared.terms import TermChange
from aftersales_shared.testing.isolation import uniq
from parts.domain.terms import resolve

from .test_api_requests import req

days = st.dates(min_value=date(2000, 1, 2), max_value=date(2199, 12, 30))


@given(day=days, ship=st.integers(0, 60), before=st.integers(0, 60))
def test_R_P1_ship_clock_changed_on_the_10th_applies_from_the_10th_not_before(day, ship, before):
    history = [TermChange(date(2000, 1, 1), 1, {"ship_within_days": before}),
               TermChange(day, 2, {"ship_within_days": ship})]
    assert resolve({}, history, day)[0].ship_within_days == ship
    assert resolve({}, history, day + timedelta(days=1))[0].ship_within_days == ship
    assert resolve({}, history, day - timedelta(days=1))[0].ship_within_days == before
    assert resolve({"return_due_days": 30}, history, day)[0].return_due_days == 30  # untouched term: default


@pytest.mark.integration
async def test_R_P1_R_P4_R_P5_dealer_terms_drive_ship_by_return_due_and_base_stock(
        client, kit, clerk, auth_headers, admin_db):
    dealer_id = uniq("DT")
    today = clock.business_today()
    fin = auth_headers("finance", sub="fin-1")
    dealer = auth_headers("dealer", sub="dt", dealer_id=dealer_id)
    put = await client.put(f"/v1/dealers/{dealer_id}/parts-terms", headers=fin, json={
        "effective_from": str(today), "values": {"ship_within_days": 5, "return_due_days": 10,
                                                 "base_stock_percent": "50"}, "reason": "new agreement"})
    assert put.status_code == 201, put.text
    nxt = await client.put(f"/v1/dealers/{dealer_id}/parts-terms", headers=fin, json={
        "effective_from": str(today + timedelta(days=10)), "values": {"ship_within_days": 2}})
    assert nxt.status_code == 201 and nxt.json()["version"] == 2
    now_terms = (await client.get(f"/v1/dealers/{dealer_id}/parts-terms", headers=dealer)).json()
    assert now_terms["values"] == {"ship_within_days": 5, "return_due_days": 10, "base_stock_percent": "50",
                                   "seasonal_plan_ahead_days": 30}
    tenth = (await client.get(f"/v1/dealers/{dealer_id}/parts-terms", headers=dealer,
                              params={"on": str(today + timedelta(days=10))})).json()
    assert tenth["values"]["ship_within_days"] == 2 and tenth["source"] == {
        "ship_within_days": 2, "return_due_days": 1, "base_stock_percent": 1,
        "seasonal_plan_ahead_days": None}
    hist = (await client.get(f"/v1/dealers/{dealer_id}/parts-terms/history", headers=clerk)).json()
    assert [(h["version"], h["created_by"], h["reason"]) for h in hist] == [
        (1, "fin-1", "new agreement"), (2, "fin-1", None)]
    back = await client.put(f"/v1/dealers/{dealer_id}/parts-terms", headers=fin, json={
        "effective_from": str(today - timedelta(days=1)), "values": {"ship_within_days": 9}})
    assert back.status_code == 422 and back.json()["code"] == "terms_backdated"
    assert (await client.put(f"/v1/dealers/{dealer_id}/parts-terms", headers=dealer, json={
        "effective_from": str(today), "values": {"ship_within_days": 9}})).status_code == 403
    other = auth_headers("dealer", sub="dx", dealer_id=uniq("DX"))
    assert (await client.get(f"/v1/dealers/{dealer_id}/parts-terms", headers=other)).status_code == 403

    p = await kit.part(must_return=True, cost="80.00")
    w = await kit.warehouse(uniq("C"))
    await kit.receive(w, p, 5)
    # R-P1: the dealer's 5-day ship clock (the default is 3)
    rid = (await client.post("/v1/part-requests", headers=dealer, json=req(p, 1))).json()["id"]
    body = (await client.post(f"/v1/part-requests/{rid}/payment", headers=fin, json={"reference": "B-1"})).json()
    assert datetime.fromisoformat(body["ship_by"]) == datetime.fromisoformat(body["shippable_at"]) + timedelta(days=5)
    # R-P4: the old part of a warranty replacement is due back after the dealer's 10 days (the default is 30)
    wid = (await client.post("/v1/part-requests", headers=dealer, json=req(p, 1, coverage="warranty"))).json()["id"]
    for kind in ("replacement_list", "old_part_waybill"):
        r = await client.post(f"/v1/part-requests/{wid}/documents", headers=dealer,
                              json={"kind": kind, "reference": f"{kind}-1"})
        assert r.status_code == 200, r.text
    shipped = await client.post(f"/v1/part-requests/{wid}/ship", headers=clerk,
                                json={"carrier": "SF", "tracking_no": "SF1"})
    assert shipped.status_code == 200, shipped.text
    due = (await client.get("/v1/returns", headers=dealer)).json()
    assert len(due) == 1
    issued = datetime.fromisoformat(shipped.json()["shipment"]["shipped_at"])
    assert datetime.fromisoformat(due[0]["due_on"]) == issued + timedelta(days=10)
    # R-P5: 50 % of 6 registered sales → 3 units (the default 1 % would suggest 1)
    for _ in range(6):
        await admin_db.execute("INSERT INTO parts.registered_sales (serial, dealer_id, product_line, registered_on) "
                               "VALUES ($1, $2, 'AC-1', $3)", uniq("SN"), dealer_id, today)
    sug = (await client.get("/v1/base-stock/suggestions", headers=dealer)).json()
    assert [(s["part_no"], s["suggested"]) for s in sug] == [(p, 3)]
