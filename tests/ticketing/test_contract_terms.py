"""Customer service contract terms as data (issue 16 item 1): the R-T6 complaint response hours are effective-dated,
audited terms of the ticket's contract; a change dated the 10th applies to complaints filed from the 10th on,
never to earlier ones (pure: hypothesis; wiring: HTTP on the real stack with the moved clock)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales_shared import clock
from aftersales_shared.terms import TermChange
from ticketing.domain.terms import resolve

from .conftest import seed_line, seed_unit, ticket_body

DEFAULTS = {"service": 72, "quality_feedback": 72, "escalation": 48, "other": 72}
CATEGORIES = sorted(DEFAULTS)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
       st.integers(min_value=-40, max_value=40),
       st.sampled_from(CATEGORIES), st.integers(min_value=1, max_value=500))
def test_R_T6_terms_a_change_applies_from_its_date_not_before(effective, offset, category, hours):
    changes = [TermChange(effective_from=effective, version=1, values={"response_hours": {category: hours}})]
    on = effective + timedelta(days=offset)
    terms = resolve(DEFAULTS, changes, on)
    assert terms.hours_for(category) == (hours if on >= effective else DEFAULTS[category])
    for other in CATEGORIES:  # a change sets only what it names
        if other != category:
            assert terms.hours_for(other) == DEFAULTS[other]
    assert terms.version == (1 if on >= effective else None)


@given(st.lists(st.tuples(st.integers(min_value=0, max_value=30), st.integers(min_value=1, max_value=500)),
                min_size=1, max_size=6), st.integers(min_value=0, max_value=40))
def test_R_T6_terms_the_latest_change_in_force_wins(raw, day):
    base = date(2026, 11, 1)
    changes = [TermChange(base + timedelta(days=d), v, {"response_hours": {"escalation": h}})
               for v, (d, h) in enumerate(raw, start=1)]
    on = base + timedelta(days=day)
    in_force = [c for c in changes if c.effective_from <= on]
    expected = max(in_force, key=lambda c: (c.effective_from, c.version)).values["response_hours"]["escalation"] \
        if in_force else DEFAULTS["escalation"]
    assert resolve(DEFAULTS, changes, on).hours_for("escalation") == expected


@pytest.mark.integration
async def test_R_T6_terms_a_change_effective_later_applies_to_complaints_filed_from_then_not_before(
        client, admin, agent, auth_headers, admin_db):
    await seed_line(client, admin)
    await seed_unit(client, agent)  # contract GOLD
    t = (await client.post("/v1/tickets", json=ticket_body(), headers=agent)).json()
    today = clock.business_today()
    tenth = today + timedelta(days=3)
    url = "/v1/contracts/GOLD/complaint-terms"
    change = {"effective_from": tenth.isoformat(), "response_hours": {"escalation": 24}, "reason": "gold SLA 2027"}

    # who may: admin changes; call_center and ops read; a dealer reads nothing
    assert (await client.put(url, json=change, headers=agent)).status_code == 403
    assert (await client.get(url, headers=auth_headers("dealer", dealer_id="D1"))).status_code == 403
    r = await client.put(url, json={**change, "effective_from": (today - timedelta(days=1)).isoformat()},
                         headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "terms_backdated" and r.json()["field"] == "effective_from"
    r = await client.put(url, json={**change, "response_hours": {"escalation": 0}}, headers=admin)
    assert r.status_code == 422, r.text
    r = await client.put(url, json={**change, "response_hours": {"nonsense": 5}}, headers=admin)
    assert r.status_code == 422, r.text
    r = await client.put(url, json=change, headers=admin)
    assert r.status_code == 201 and r.json()["version"] == 1, r.text
    again = await client.put(url, json=change, headers=admin)  # the same change resent: no new version
    assert again.status_code == 200 and again.json()["version"] == 1

    ops = auth_headers("ops", sub="ops-1")
    before = (await client.get(url, params={"on": (tenth - timedelta(days=1)).isoformat()}, headers=ops)).json()
    after = (await client.get(url, params={"on": tenth.isoformat()}, headers=agent)).json()
    assert before["response_hours"]["escalation"] == 48 and before["version"] is None
    assert after["response_hours"]["escalation"] == 24 and after["version"] == 1
    assert after["response_hours"]["service"] == 72 and after["source"]["service"] is None
    hist = (await client.get(f"{url}/history", headers=ops)).json()
    assert [(h["version"], h["created_by"], h["reason"]) for h in hist] == [(1, "admin-1", "gold SLA 2027")]

    async def file() -> timedelta:
        r = await client.post("/v1/complaints", json={"ticket_id": t["id"], "category": "escalation",
                                                      "description": "engineer never came"}, headers=agent)
        assert r.status_code == 201, r.text
        c = r.json()
        return datetime.fromisoformat(c["respond_by"]) - datetime.fromisoformat(c["filed_at"])

    assert await file() == timedelta(hours=48)  # filed before the 10th: the terms then in force
    clock.advance(timedelta(days=2), environment="test")  # the 9th
    assert await file() == timedelta(hours=48)
    clock.advance(timedelta(days=1), environment="test")  # the 10th
    assert await file() == timedelta(hours=24)
    # a complaint with no ticket (so no contract) keeps the configured default
    r = await client.post("/v1/complaints", json={"dealer_id": "D1", "category": "escalation",
                                                  "description": "general escalation"}, headers=agent)
    c = r.json()
    assert datetime.fromisoformat(c["respond_by"]) - datetime.fromisoformat(c["filed_at"]) == timedelta(hours=48)
    # the terms' history is append-only (the audit)
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="append-only"):
        await admin_db.execute("UPDATE ticketing.contract_terms SET values = '{}'")
