"""Issue 15 item 2: a paid-repair quote prices parts at the parts catalogue's list price, never at a price the
engineer's app sends. Dispatch keeps a read model of the catalogue (``parts.catalog.part_changed``, newest version
kept); a part line's ``list_price`` is optional — when given it must be the catalogue's (422
``list_price_mismatch`` naming ``parts[i].list_price``, with the catalogue's price); a part the catalogue does not
hold or withdrew is 422 ``part_not_in_catalog`` naming ``parts[i].part_no``; nothing is written on a refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.testing.isolation import own_kafka, start_at_end
from aftersales_shared.testing.plugin import running, wait_for
from dispatch.config import DispatchSettings
from dispatch.consumers import consumer_specs
from dispatch.domain.quote import CatalogueEntry, SentPart, price_parts
from dispatch.jobs import service as jobs
from dispatch.main import create_app
from parts.config import PartsSettings
from parts.consumers import consumer_specs as parts_consumers
from parts.main import create_app as parts_app

from .conftest import action, engineer_body, hear_parts, ticket, uniq

CARD = {"labour_per_hour": "120.00", "visit_fee": "50.00", "declined_visit_fee": "30.00", "shipping_fee": "80.00",
        "customer_shipping_share": "1", "quote_valid_hours": 48}
QUOTES = ("SELECT (SELECT count(*) FROM dispatch.quotes WHERE job_id = $1) + (SELECT count(*) FROM dispatch.outbox "
          "WHERE key = $1 AND event_type = 'dispatch.job.quote_presented')")


def test_R_W3_parts_are_priced_from_the_catalogue_not_the_request():
    cat = {"PCB-1": CatalogueEntry("control board", Decimal("260.00"))}
    priced, problems = price_parts([SentPart("PCB-1", None, 2), SentPart("PCB-1", "board", 1, Decimal("260.00"))],
                                   cat)
    assert problems == [] and [(p.description, p.quantity, p.list_price) for p in priced] == [
        ("control board", 2, Decimal("260.00")), ("board", 1, Decimal("260.00"))]
    _, problems = price_parts([SentPart("PCB-1", None, 1, Decimal("1.00")), SentPart("NOPE", None, 1)], cat)
    assert [(p.field, p.code, p.catalogue_list_price) for p in problems] == [
        ("parts[0].list_price", "list_price_mismatch", Decimal("260.00")),
        ("parts[1].part_no", "part_not_in_catalog", None)]


async def _paid_job_on_site(client, admin, auth_headers):
    skill, eng_id = uniq("wash"), uniq("E")
    r = await client.put(f"/v1/engineers/{eng_id}", json=engineer_body(skill, dealer_id="D1"), headers=admin)
    assert r.status_code == 200, r.text
    app = client.app
    async with unit_of_work(app.state.sessions) as s:
        job = await jobs.open_job(s, app.state.dispatch_cfg, ticket(skill).model_copy(update={"coverage": "paid"}),
                                  clock.now())
    eng = auth_headers("engineer", sub=eng_id, engineer_id=eng_id)
    for body in (action("accept"), action("arrive", lat=31.23, lon=121.47)):
        assert (await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)).status_code == 200
    r = await client.put(f"/v1/rate-cards/{job.product_line}/{clock.business_date(clock.now())}", headers=admin,
                         json=CARD)
    assert r.status_code == 200, r.text
    return job, eng


def _part_lines(quote):
    return [(ln["part_no"], ln["description"], ln["quantity"], ln["amount"]) for ln in quote["lines"]
            if ln["kind"] == "part"]


@pytest.mark.integration
async def test_R_W3_a_quote_charges_the_catalogue_list_price_and_refuses_another(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    async with running(create_app(dispatch_settings())) as client:
        job, eng = await _paid_job_on_site(client, admin, auth_headers)
        board, motor, old = uniq("PCB"), uniq("MTR"), uniq("OLD")
        await hear_parts(client, board, list_price="260.00", name="control board")
        await hear_parts(client, motor, list_price="99.50")
        await hear_parts(client, old, list_price="10.00", version=2, active=False)  # withdrawn
        url = f"/v1/jobs/{job.id}/quotes"
        for parts, field, code in (
                ([{"part_no": board, "list_price": "1.00"}], "parts[0].list_price", "list_price_mismatch"),
                ([{"part_no": motor}, {"part_no": uniq("NOPE")}], "parts[1].part_no", "part_not_in_catalog"),
                ([{"part_no": old}], "parts[0].part_no", "part_not_in_catalog")):
            r = await client.post(url, headers=eng, json={"labour_minutes": 30, "parts": parts})
            assert r.status_code == 422, r.text
            assert (r.json()["field"], r.json()["code"]) == (field, code), r.text
        r = await client.post(url, headers=eng, json={"labour_minutes": 30, "parts": [
            {"part_no": board, "list_price": "1.00"}]})
        assert r.json()["catalogue_list_price"] == "260.00" and "260.00" in r.json()["detail"], r.text
        assert await admin_db.fetchval(QUOTES, job.id) == 0  # refused: no quote, no event

        r = await client.post(url, headers=eng, json={"labour_minutes": 30, "parts": [
            {"part_no": board}, {"part_no": motor, "description": "drum motor", "quantity": 2,
                                 "list_price": "99.50"}]})
        assert r.status_code == 201, r.text
        assert _part_lines(r.json()) == [(board, "control board", 1, "260.00"), (motor, "drum motor", 2, "199.00")]
        assert r.json()["total"] == "569.00"  # 60.00 labour + 260.00 + 199.00 + 50.00 visit fee


@pytest.mark.integration
async def test_R_W3_an_older_catalogue_price_never_overwrites_a_newer_one(clean, dispatch_settings, admin,
                                                                          auth_headers):
    async with running(create_app(dispatch_settings())) as client:
        job, eng = await _paid_job_on_site(client, admin, auth_headers)
        board = uniq("PCB")
        await hear_parts(client, board, list_price="300.00", version=2)
        for _ in range(2):  # version 1 arriving late, then redelivered
            await hear_parts(client, board, list_price="260.00", version=1)
        r = await client.post(f"/v1/jobs/{job.id}/quotes", headers=eng,
                              json={"labour_minutes": 0, "parts": [{"part_no": board}]})
        assert r.status_code == 201 and _part_lines(r.json())[0][3] == "300.00", r.text


@pytest.mark.integration
async def test_R_W3_catalogue_prices_reach_dispatch_over_kafka(clean, infra_settings, admin, auth_headers):
    """Over HTTP and Kafka: a part the parts clerk adds is quoted at its list price once dispatch hears it; a new
    list price in parts is what the next quote charges; a withdrawn part is no longer quoted."""
    kafka = own_kafka("dpcat")
    pt_settings = PartsSettings(**infra_settings("parts", **kafka), watch_interval_seconds=3600)
    dp_settings = DispatchSettings(**infra_settings("dispatch", **kafka), run_background=False)
    await start_at_end((pt_settings, parts_consumers(pt_settings)), (dp_settings, consumer_specs(dp_settings)))
    clerk, board = auth_headers("parts_clerk", sub="clerk-1"), uniq("PCB")
    async with running(parts_app(pt_settings)) as pt, running(create_app(dp_settings)) as dp:
        job, eng = await _paid_job_on_site(dp, admin, auth_headers)
        body = {"labour_minutes": 0, "parts": [{"part_no": board}]}
        r = await dp.post(f"/v1/jobs/{job.id}/quotes", headers=eng, json=body)
        assert r.status_code == 422 and r.json()["code"] == "part_not_in_catalog", r.text
        r = await pt.post("/v1/catalogue/parts", headers=clerk, json={
            "part_no": board, "name": "control board", "product_lines": [job.product_line], "cost_price": "80.00",
            "list_price": "188.00"})
        assert r.status_code == 201, r.text

        async def quoted_at(price: str):
            r = await dp.post(f"/v1/jobs/{job.id}/quotes", headers=eng, json=body)
            assert r.status_code in (201, 422), r.text
            return r.status_code == 201 and _part_lines(r.json())[0][3] == price

        await wait_for(lambda: quoted_at("188.00"), timeout=180)
        r = await pt.patch(f"/v1/catalogue/parts/{board}", headers=clerk, json={"list_price": "205.00"})
        assert r.status_code == 200, r.text
        await wait_for(lambda: quoted_at("205.00"), timeout=180)
        assert (await pt.patch(f"/v1/catalogue/parts/{board}", headers=clerk, json={"active": False})
                ).status_code == 200

        async def refused():
            r = await dp.post(f"/v1/jobs/{job.id}/quotes", headers=eng, json=body)
            return r.status_code == 422 and r.json()["field"] == "parts[0].part_no"

        await wait_for(refused, timeout=180)
