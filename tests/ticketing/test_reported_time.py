"""Issue 15 item 7 in ticketing (R-S7): intake takes the customer's own report time (channel + ``reported_at``),
never in the future nor older than the configured limit (422 naming ``reported_at``, nothing written); the ticket
shows both times and TicketOpened carries the report's time (dispatch starts the SLA clock there)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales_shared import clock
from aftersales_shared.testing.plugin import reset_schema, running
from ticketing.domain.reported_time import reported_time_problem
from ticketing.main import create_app
from ticketing.retention import service as retention

from .conftest import seed_line, seed_unit, settings, ticket_body

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
H72, SKEW = timedelta(hours=72), timedelta(seconds=120)


@given(st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=30)))
def test_R_S7_reported_time_bounds(delta):
    problem = reported_time_problem(NOW + delta, now=NOW, max_age=H72, skew=SKEW)
    if delta > SKEW:
        assert problem is not None and problem[0] == "reported_at_future"
    elif delta < -H72:
        assert problem is not None and problem[0] == "reported_at_too_old"
    else:
        assert problem is None


@pytest.mark.integration
async def test_R_S7_intake_takes_the_reported_time_within_the_configured_limit(infra_settings, admin_db,
                                                                               auth_headers):
    admin, agent = auth_headers("admin"), auth_headers("call_center", sub="agent-1")
    async with running(create_app(settings(infra_settings, reported_at_max_age_hours=48))) as client:
        await reset_schema(admin_db, "ticketing")
        await seed_line(client, admin)
        await seed_unit(client, agent, serial="SN-RT-1")
        now = datetime.now(UTC)
        for when, code in ((now + timedelta(hours=1), "reported_at_future"),
                           (now - timedelta(hours=49), "reported_at_too_old")):  # the limit is configuration: 48 h
            r = await client.post("/v1/tickets", headers={**agent, "Idempotency-Key": f"rt-{code}"},
                                  json=ticket_body(serial="SN-RT-1", channel="email", reported_at=when.isoformat()))
            assert r.status_code == 422 and r.json()["field"] == "reported_at" and r.json()["code"] == code, r.text
        r = await client.post("/v1/tickets", headers=agent,
                              json=ticket_body(serial="SN-RT-1", channel="email", reported_at="2026-11-30T10:00:00"))
        assert r.status_code == 422 and "reported_at" in r.text  # no offset: ambiguous
        assert await admin_db.fetchval("SELECT count(*) FROM ticketing.tickets") == 0  # nothing written
        reported = (now - timedelta(hours=40)).replace(microsecond=0)
        r = await client.post("/v1/tickets", headers={**agent, "Idempotency-Key": "rt-reported-future"},
                              json=ticket_body(serial="SN-RT-1", channel="email", reported_at=reported.isoformat()))
        assert r.status_code == 201, r.text  # the refused request's key is free again
        t = r.json()
        assert datetime.fromisoformat(t["reported_at"]) == reported
        assert datetime.fromisoformat(t["opened_at"]) >= now and t["channel"] == "email"
        seen = (await client.get(f"/v1/tickets/{t['id']}", headers=agent)).json()
        assert datetime.fromisoformat(seen["reported_at"]) == reported and seen["created_by"] == "agent-1"
        payload = json.loads(await admin_db.fetchval(
            "SELECT payload FROM ticketing.outbox WHERE key = $1 AND event_type = 'ticketing.ticket.opened'",
            t["id"]))["payload"]
        assert datetime.fromisoformat(payload["reported_at"]) == reported
        # a report keyed in at once: reported_at is the intake time
        await seed_unit(client, agent, serial="SN-RT-2")
        t2 = (await client.post("/v1/tickets", headers=agent, json=ticket_body(serial="SN-RT-2"))).json()
        assert t2["reported_at"] == t2["opened_at"]


@pytest.mark.integration
async def test_R_S7_a_report_time_of_its_own_is_audited_and_kept(infra_settings, admin_db, auth_headers):
    """R-S7, issue 15 item 7 "…and audited": a ticket taken with the customer's own report time gets an audit entry
    of its own (who keyed it, channel, report time, receipt time, the instant the SLA clock counts from), shown with
    the ticket's history; a ticket keyed in at once has none. The report time cannot be changed afterwards (the
    database refuses it), so the intake entry is the whole story."""
    agent, dealer = auth_headers("call_center", sub="agent-7"), auth_headers("dealer", dealer_id="D1")
    async with running(create_app(settings(infra_settings))) as client:
        await reset_schema(admin_db, "ticketing")
        await seed_line(client, auth_headers("admin"))
        for serial in ("SN-RA-1", "SN-RA-2"):
            await seed_unit(client, agent, serial=serial)
        reported = (datetime.now(UTC) - timedelta(hours=11)).replace(microsecond=0)
        r = await client.post("/v1/tickets", headers=agent, json=ticket_body(
            serial="SN-RA-1", channel="sms", reported_at=reported.isoformat()))
        assert r.status_code == 201, r.text
        t = r.json()
        seen = (await client.get(f"/v1/tickets/{t['ticket_no']}", headers=dealer)).json()
        assert [(a["change"], a["actor"], a["channel"]) for a in seen["reported_time_audit"]] == [
            ("intake", "agent-7", "sms")]
        audit = seen["reported_time_audit"][0]
        assert datetime.fromisoformat(audit["reported_at"]) == reported
        assert datetime.fromisoformat(audit["sla_clock_from"]) == reported
        assert datetime.fromisoformat(audit["received_at"]) == datetime.fromisoformat(t["opened_at"])
        assert seen["history"][0]["to_status"] == "open"

        t2 = (await client.post("/v1/tickets", headers=agent, json=ticket_body(serial="SN-RA-2"))).json()
        assert (await client.get(f"/v1/tickets/{t2['id']}", headers=agent)).json()["reported_time_audit"] == []

        with pytest.raises(Exception, match="report time is kept"):
            await admin_db.execute("UPDATE ticketing.tickets SET reported_at = reported_at - interval '1 hour' "
                                   "WHERE id = $1", t["id"])
        with pytest.raises(Exception, match="service record"):
            await admin_db.execute("UPDATE ticketing.reported_time_audit SET actor = 'someone' WHERE ticket_id = $1",
                                   t["id"])
        assert await admin_db.fetchval("SELECT count(*) FROM ticketing.reported_time_audit") == 1

        # R-T4: the audit goes only with its ticket, once the retention job has archived it (the archived ticket
        # keeps reported_at, opened_at, channel and created_by)
        r = await client.post(f"/v1/tickets/{t['id']}/cancel", json={"reason": "duplicate report"}, headers=agent)
        assert r.status_code == 200, r.text
        run = await retention.run_day(client.app.state.sessions, today=clock.business_today() + timedelta(days=6 * 366),
                                      now=clock.now(), defaults={"retention_years": 5, "purge_after_years": 10})
        assert run is not None and run["tickets_archived"] == 1, run
        assert await admin_db.fetchval("SELECT count(*) FROM ticketing.reported_time_audit") == 0
        doc = json.loads(await admin_db.fetchval("SELECT document FROM ticketing.archived_records WHERE record_id = $1",
                                                 t["id"]))
        assert datetime.fromisoformat(doc["reported_at"]) == reported and doc["channel"] == "sms"
        # the audit row goes into the archive with its ticket: the SLA start it produced is kept
        assert [a["change"] for a in doc["reported_time_audit"]] == [audit["change"]], doc["reported_time_audit"]
