"""Dealer service agreement terms as data (issue 16 item 1): effective-dated, audited, read where the rules
apply — R-T5 callback target, R-D5 payment term, R-D6 dispute window, R-D7 excellence thresholds."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from aftersales_shared import clock
from aftersales_shared.terms import TermChange, in_force
from settlement.domain.assessment import MonthActivity, yearly_excellence
from settlement.domain.terms import DealerTerms, resolve

from .conftest import add_ledger, setup_dealer

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2199, 12, 31))
changes = st.lists(st.builds(TermChange, effective_from=days, version=st.integers(1, 50),
                             values=st.fixed_dictionaries({}, optional={"payment_days": st.integers(0, 365),
                                                                        "dispute_window_months": st.integers(0, 60)})),
                   max_size=8)


@given(day=days, value=st.integers(0, 365), earlier=changes)
def test_terms_a_change_on_the_10th_applies_from_the_10th_not_before(day, value, earlier):
    """A change dated D (the newest version) sets the term for every fact of D and later, none before D."""
    top = max((c.version for c in earlier), default=0) + 1
    history = [c for c in earlier if c.effective_from < day] + [TermChange(day, top, {"payment_days": value})]
    on_day, _ = resolve({}, history, day)
    assert on_day.payment_days == value and on_day.version == top
    if day > date(2000, 1, 1):
        before, _ = resolve({}, history, day - timedelta(days=1))
        assert before.version != top
        assert before.payment_days == resolve({}, history[:-1], day - timedelta(days=1))[0].payment_days
    later, _ = resolve({}, history, day + timedelta(days=40))
    assert later.payment_days == value


@given(history=changes, new=st.builds(TermChange, effective_from=days, version=st.just(99),
                                      values=st.just({"payment_days": 7})), on=days)
def test_terms_a_change_never_rewrites_the_past(history, new, on):
    """Adding a change dated D leaves every date before D resolved exactly as before (facts keep their terms)."""
    if on < new.effective_from:
        assert resolve({}, history + [new], on) == resolve({}, history, on)


@given(history=changes, on=days)
def test_terms_unset_terms_keep_the_configured_default(history, on):
    defaults = {"callback_target_percent": D("30"), "payment_days": 20}
    found = in_force(defaults, history, on)
    assert found.values["callback_target_percent"] == D("30") and found.source["callback_target_percent"] is None
    terms, _ = resolve(defaults, history, on)
    assert terms.callback_target_percent == D("30") and terms.sla_penalty == "none"


def test_R_D7_excellence_thresholds_are_terms():
    year = [MonthActivity(registered_sales=500, complaints_upheld=1, satisfied=95, scored=100, quality_feedback=m < 10)
            for m in range(12)]
    assert not yearly_excellence(year).excellent  # 12/6000 ≥ 1‰, 95 % < 98 %, 10/12 < 90 %
    loose = yearly_excellence(year, complaints_per_mille=D("3"), satisfaction_percent=D("95"),
                              feedback_percent=D("80"))
    assert loose.excellent
    assert DealerTerms().excellence_satisfaction_percent == D("98")


async def _put(client, h, dealer, effective_from, values, **extra):
    return await client.put(f"/v1/dealers/{dealer}/terms", json={
        "effective_from": str(effective_from), "values": values, **extra}, headers=h)


async def test_terms_api_versions_history_audit_and_guards(client, fin, admin_db):
    """PUT a change from a future date; GET the terms in force before and from it; history; audit; no backdating."""
    await setup_dealer(client, fin["admin"], "SD1")
    today = clock.business_today()
    tenth = today + timedelta(days=10)
    r = await _put(client, fin["admin"], "SD1", tenth, {"payment_days": 30, "callback_target_percent": "40"},
                   reason="renegotiated")
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1 and r.json()["values"] == {"payment_days": 30, "callback_target_percent": "40"}
    again = await _put(client, fin["admin"], "SD1", tenth, {"payment_days": 30, "callback_target_percent": "40"},
                       reason="renegotiated")
    assert again.status_code == 200 and again.json()["version"] == 1  # a retried PUT records nothing new

    before = (await client.get(f"/v1/dealers/SD1/terms?on={tenth - timedelta(days=1)}", headers=fin["d1"])).json()
    assert before["version"] is None and before["values"]["payment_days"] == 20
    assert before["values"]["callback_target_percent"] == "25" and before["source"]["payment_days"] is None
    from_tenth = (await client.get(f"/v1/dealers/SD1/terms?on={tenth}", headers=fin["ops"])).json()
    assert from_tenth["version"] == 1 and from_tenth["values"]["payment_days"] == 30
    assert from_tenth["values"]["callback_target_percent"] == "40" and from_tenth["source"]["payment_days"] == 1
    assert from_tenth["values"]["dispute_window_months"] == 3 and from_tenth["source"]["dispute_window_months"] is None

    r = await _put(client, fin["admin"], "SD1", tenth + timedelta(days=5), {"payment_days": 25})
    assert r.status_code == 201 and r.json()["version"] == 2
    later = (await client.get(f"/v1/dealers/SD1/terms?on={tenth + timedelta(days=5)}", headers=fin["ops"])).json()
    assert later["values"]["payment_days"] == 25 and later["values"]["callback_target_percent"] == "40"
    hist = (await client.get("/v1/dealers/SD1/terms/history", headers=fin["d1"])).json()
    assert [(h["version"], h["effective_from"], h["created_by"]) for h in hist] == [
        (1, str(tenth), "admin-1"), (2, str(tenth + timedelta(days=5)), "admin-1")]
    audited = await admin_db.fetch("SELECT actor, details FROM settlement.audit_log WHERE action = 'terms_changed' "
                                   "AND entity_id = 'SD1' ORDER BY id")
    assert [(a["actor"], json.loads(a["details"])["version"]) for a in audited] == [("admin-1", 1), ("admin-1", 2)]

    back = await _put(client, fin["admin"], "SD1", today - timedelta(days=1), {"payment_days": 5})
    assert back.status_code == 422 and back.json()["code"] == "terms_backdated"
    assert back.headers["content-type"].startswith("application/problem+json")
    for bad in ({}, {"payment_days": -1}, {"callback_target_percent": "101"}, {"sla_penalty": "half"},
                {"nonsense": 1}):
        r = await _put(client, fin["admin"], "SD1", tenth, bad)
        assert r.status_code == 422, (bad, r.text)
    assert (await _put(client, fin["d1"], "SD1", tenth, {"payment_days": 1})).status_code == 403
    assert (await client.get("/v1/dealers/SD1/terms", headers=fin["d2"])).status_code == 404
    assert (await _put(client, fin["admin"], "NOPE", tenth, {"payment_days": 1})).status_code == 404
    assert len(await admin_db.fetch("SELECT 1 FROM settlement.dealer_terms WHERE dealer_id = 'SD1'")) == 2


async def _change(admin_db, dealer, effective_from, values, version=1):
    """Set-up: a change recorded long ago (the API refuses a backdated one, rightly)."""
    await admin_db.execute(
        "INSERT INTO settlement.dealer_terms (dealer_id, version, effective_from, values, created_by, created_at) "
        "VALUES ($1, $2, $3, $4::jsonb, 'setup', now())", dealer, version, effective_from, json.dumps(values))


async def test_R_T5_callback_target_is_the_term_in_force_for_the_month(client, fin, admin_db):
    await setup_dealer(client, fin["admin"], "SD1")
    await _change(admin_db, "SD1", date(2026, 5, 1), {"callback_target_percent": "50"})
    for month in ("2026-04-15 04:00:00+00", "2026-05-15 04:00:00+00"):
        await add_ledger(admin_db, "SD1", "repair", n=4, at=month, tag=month[:7])
        await add_ledger(admin_db, "SD1", "callback", n=1, at=month, tag=month[:7])
    april = (await client.get("/v1/dealers/SD1/assessments/2026-04", headers=fin["ops"])).json()
    may = (await client.get("/v1/dealers/SD1/assessments/2026-05", headers=fin["ops"])).json()
    assert april["callback_rate"] == may["callback_rate"] == "0.2500"
    assert april["callback_target_met"] is True  # the default 25 % before the change
    assert may["callback_target_met"] is False  # 50 % from 1 May


async def test_R_D5_payment_term_in_force_on_approval(client, fin, admin_db):
    await setup_dealer(client, fin["admin"], "SD1")
    await add_ledger(admin_db, "SD1", "repair", n=2)
    today = clock.business_today()
    assert (await _put(client, fin["admin"], "SD1", today, {"payment_days": 45})).status_code == 201
    sid = (await client.post("/v1/statement-runs", json={"quarter": "2026Q2"}, headers=fin["maker"])
           ).json()["created"][0]["statement_id"]
    assert (await client.post(f"/v1/statements/{sid}/review", headers=fin["maker"])).status_code == 200
    ok = await client.post(f"/v1/statements/{sid}/approve", headers=fin["checker"])
    assert ok.status_code == 200, ok.text
    assert ok.json()["due_on"] == str(today + timedelta(days=45))


async def test_R_D6_dispute_window_is_the_term_in_force_when_the_statement_was_issued(client, fin, admin_db):
    await setup_dealer(client, fin["admin"], "SD1")
    await add_ledger(admin_db, "SD1", "repair", n=2)
    sid = (await client.post("/v1/statement-runs", json={"quarter": "2026Q2"}, headers=fin["maker"])
           ).json()["created"][0]["statement_id"]
    today = clock.business_today()
    # a 1-month window agreed from today does not shorten the window of a statement issued two months ago
    assert (await _put(client, fin["admin"], "SD1", today, {"dispute_window_months": 1})).status_code == 201
    await admin_db.execute("UPDATE settlement.statements SET created_at = now() - interval '2 months' "
                           "WHERE id = $1::uuid", sid)
    r = await client.post(f"/v1/statements/{sid}/disputes", json={"reason": "kept its 3 months"}, headers=fin["d1"])
    assert r.status_code == 201, r.text
    # a 1-month window in force when a statement was issued refuses a dispute two months later
    await _change(admin_db, "SD1", today - timedelta(days=200), {"dispute_window_months": 1}, version=2)
    await admin_db.execute("UPDATE settlement.statements SET created_at = now() - interval '70 days' "
                           "WHERE id = $1::uuid", sid)
    late = await client.post(f"/v1/statements/{sid}/disputes", json={"reason": "too late"}, headers=fin["d1"])
    assert late.status_code == 422 and late.json()["code"] == "dispute_window_closed"
    assert "1 months" in late.json()["detail"]
