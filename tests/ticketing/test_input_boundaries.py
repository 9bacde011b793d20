"""Bad input is a 4xx naming the field (issue 13), and facts stored before the input was bounded never make a read
or an intake fail: one test per cause the fuzzing and the issue found."""

from __future__ import annotations

import base64
from datetime import date

import pytest

from aftersales_shared.ids import new_id

from .conftest import seed_line, seed_unit, ticket_body

pytestmark = pytest.mark.integration


def _field(r) -> str | None:
    return r.json().get("field")


async def test_nul_in_any_text_body_or_query_is_422_naming_the_field(client, admin, agent):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    r = await client.post("/v1/complaints", json={"category": "service", "description": "bad\x00desk"}, headers=agent)
    assert r.status_code == 422 and _field(r) == "description"
    r = await client.post("/v1/tickets", json=ticket_body(customer_name="王\x00伟"), headers=agent)
    assert r.status_code == 422 and _field(r) == "customer_name"
    r = await client.post(f"/v1/complaints/{new_id()}/resolve", headers=agent,
                          json={"upheld": False, "against": "none", "resolution": "no\x00pe"})
    assert r.status_code == 422 and _field(r) == "resolution"
    for path, param in (("/v1/complaints", "dealer_id"), ("/v1/callbacks", "dealer_id"), ("/v1/tickets", "name"),
                        ("/v1/tickets", "q"), ("/v1/tickets", "serial"), ("/v1/units/SN-0001/warranty", "component")):
        r = await client.get(path, params={param: "D1\x00x"}, headers=agent)
        assert r.status_code == 422 and _field(r) == param, (path, param, r.text)
    r = await client.get("/v1/tickets/T%00X", headers=agent)
    assert r.status_code == 422 and _field(r) == "ticket"


async def test_months_outside_the_business_range_are_422_on_month(client, agent):
    for month in ("0000-01", "9999-12", "1999-12", "2200-01", "2026-13"):
        r = await client.get("/v1/reports/dealer-monthly", params={"month": month}, headers=agent)
        assert r.status_code == 422 and _field(r) == "month", (month, r.text)
    ok = await client.get("/v1/reports/dealer-monthly", params={"month": "2199-12"}, headers=agent)
    assert ok.status_code == 200 and ok.json() == {"month": "2199-12", "dealers": []}


@pytest.mark.parametrize(("field", "value"), [("sold_on", "9999-12-31"), ("delivered_on", "0001-01-01"),
                                              ("installed_on", "2200-01-01"), ("dealer_received_on", "1999-12-31")])
async def test_unit_dates_outside_the_business_range_are_refused(client, admin, agent, field, value):
    await seed_line(client, admin)
    r = await client.post("/v1/units", json={"serial": "SN-R1", "product_line": "AC", field: value}, headers=agent)
    assert r.status_code == 422 and _field(r) == field, r.text


async def test_delay_card_extension_and_policy_dates_outside_the_business_range_are_refused(client, admin, agent):
    await seed_line(client, admin)
    await seed_unit(client, agent)
    r = await client.post("/v1/units/SN-0001/delays", json={"started_on": "0001-01-01", "days": 30,
                                                             "caused_by": "seller"}, headers=agent)
    assert r.status_code == 422 and _field(r) == "started_on"
    # settlement books a registered card in a quarter (2000Q1..2199Q4): 4500 would be dead-lettered there
    r = await client.post("/v1/units/SN-0001/warranty-card", json={"registered_on": "4500-01-01"}, headers=agent)
    assert r.status_code == 422 and _field(r) == "registered_on"
    r = await client.post("/v1/units/SN-0001/extensions", json={"paid_on": "9999-12-31"}, headers=agent)
    assert r.status_code == 422 and _field(r) == "paid_on"
    r = await client.post("/v1/product-lines/AC/policies", json={"effective_from": "0001-01-01", "months": 12},
                          headers=admin)
    assert r.status_code == 422 and _field(r) == "effective_from"
    r = await client.get("/v1/units/SN-0001/warranty", params={"on": "9999-12-31"}, headers=agent)
    assert r.status_code == 422 and _field(r) == "on"


async def test_search_dates_whose_next_day_overflows_are_422(client, agent):
    for param in ("to", "from"):
        r = await client.get("/v1/tickets", params={param: "9999-12-31"}, headers=agent)
        assert r.status_code == 422 and _field(r) == param, r.text
    assert (await client.get("/v1/tickets", params={"to": "2199-12-31"}, headers=agent)).status_code == 200


async def test_a_cursor_naming_an_instant_no_page_can_end_on_is_422(client, agent):
    for raw in (f"0001-01-01T00:00:00|{new_id()}", f"2026-01-01T00:00:00|{new_id()}",  # ancient / naive
                f"9999-12-31T23:59:59+00:00|{new_id()}", "garbage"):
        cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        r = await client.get("/v1/tickets", params={"cursor": cursor}, headers=agent)
        assert r.status_code == 422 and _field(r) == "cursor", (raw, r.text)


async def test_texts_longer_than_dispatch_can_keep_are_refused_at_the_source(client, admin, agent):
    """Dispatch keeps an address in 300 characters and a dealer id in 40: longer ones would dead-letter there."""
    await seed_line(client, admin)
    r = await client.post("/v1/units", json={"serial": "SN-L1", "product_line": "AC", "dealer_id": "D" * 41},
                          headers=agent)
    assert r.status_code == 422 and _field(r) == "dealer_id"
    await seed_unit(client, agent)
    r = await client.post("/v1/tickets", json=ticket_body(address="路" * 301), headers=agent)
    assert r.status_code == 422 and _field(r) == "address"
    r = await client.post("/v1/product-lines", json={"code": "WM", "name": "w", "required_skill": "s" * 41},
                          headers=admin)
    assert r.status_code == 422 and _field(r) == "required_skill"


async def test_stored_out_of_range_facts_still_give_a_warranty_a_ticket_and_an_extension(client, admin, agent,
                                                                                        admin_db):
    """Rows written before the input was bounded (a sale on 9999-12-31, a delay from 0001-01-01, a long seller
    delay near the calendar's end): the warranty arithmetic saturates at 9999-12-31 instead of failing. asyncpg
    wrote Python's ``date.max``/``date.min`` as Postgres ``infinity``/``-infinity``; those are read back too."""
    await seed_line(client, admin)
    await seed_unit(client, agent, serial="SN-FAR", sold_on=date(2026, 1, 1))
    await seed_unit(client, agent, serial="SN-OLD", sold_on=date(2026, 1, 1))
    await admin_db.execute("UPDATE ticketing.units SET sold_on = $1 WHERE serial = 'SN-FAR'", date.max)
    for serial, started, days in (("SN-OLD", "0001-01-01", 3650), ("SN-OLD", "9999-12-31", 10),
                                  ("SN-FAR", "9999-12-30", 3650)):
        await admin_db.execute("INSERT INTO ticketing.unit_delays (id, serial, started_on, days, caused_by) "
                               "VALUES ($1, $2, $3, $4, 'seller')", new_id(), serial, date.fromisoformat(started),
                               days)
    await admin_db.execute("INSERT INTO ticketing.unit_extensions (id, serial, paid_on, months, price) "
                           "VALUES ($1, 'SN-OLD', '0001-01-01', 12, 40)", new_id())
    for serial in ("SN-FAR", "SN-OLD"):
        w = await client.get(f"/v1/units/{serial}/warranty", params={"on": "2026-06-01"}, headers=agent)
        assert w.status_code == 200, w.text
    far = (await client.get("/v1/units/SN-FAR/warranty", params={"on": "2026-06-01"}, headers=agent)).json()
    assert far["components"][0]["state"] == "not_started" and far["components"][0]["base_ends_on"] == "9999-12-31"
    assert (await client.post("/v1/tickets", json=ticket_body("SN-FAR"), headers=agent)).status_code == 201
    assert (await client.post("/v1/tickets", json=ticket_body("SN-OLD"), headers=agent)).status_code == 201
    r = await client.post("/v1/units/SN-FAR/extensions", json={"paid_on": "2026-03-01"}, headers=agent)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("body", [
    "serial,product_line\r\nSN-C1\r,AC\r\n",  # a stray carriage return inside a field
    "serial,product_line\nSN-C1,AC\n\"SN-C2,AC\n",  # an unterminated quote
    "serial,product_line\nSN-C1," + "A" * 200_000 + "\n",  # a field beyond the csv module's limit
    "serial,product_line\nSN-C1,AC,extra\n",  # more fields than the header
    "serial,product_line\nSN-\x00C1,AC\n",  # a NUL
])
async def test_a_malformed_csv_import_is_422_and_imports_nothing(client, admin, agent, admin_db, body):
    await seed_line(client, admin)
    r = await client.post("/v1/units/import", content=body.encode(), headers={**agent, "Content-Type": "text/csv"})
    assert r.status_code == 422, r.text
    assert await admin_db.fetchval("SELECT count(*) FROM ticketing.units") == 0
