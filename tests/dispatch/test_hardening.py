"""Issue 13 for dispatch: bad input is a 4xx naming the field, tenancy on every reference, racing manual
assignments, the device-time window, and the customer's contact by role (R-T7). Each fuzz finding has its own
regression test here, named after what it proves."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import get_args

import pytest

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work
from aftersales_shared.pii import mask_address, mask_name, mask_phone
from aftersales_shared.testing.plugin import running
from dispatch.domain.job_lifecycle import OPEN_STATUSES, TERMINAL
from dispatch.jobs import service as jobs
from dispatch.jobs.schemas import JobStatus
from dispatch.main import create_app
from dispatch.sla import service as sla

from .conftest import RECORD, action, engineer_body, ticket, uniq, unlocated

pytestmark = pytest.mark.integration

BIG = str(2**70)


async def open_ticket(client, payload, now=None):
    async with unit_of_work(client.app.state.sessions) as s:
        return await jobs.open_job(s, client.app.state.dispatch_cfg, payload, now or clock.now())


def problem_field(r) -> str:
    assert r.status_code == 422, (r.status_code, r.text)
    return r.json()["field"]


# --- bad input: 422 naming the field, never a 500 ----------------------------------------------------------

def test_job_status_filter_lists_exactly_the_lifecycle_statuses():
    assert set(get_args(JobStatus)) == set(OPEN_STATUSES + TERMINAL)


async def test_nul_byte_in_a_path_parameter_is_422_naming_it(clean, dispatch_settings, admin):
    async with running(create_app(dispatch_settings())) as client:
        centre = {"name": "Pudong", "region_code": "310115", "lat": 31.2, "lon": 121.5}
        assert problem_field(await client.put("/v1/service-centres/C%001", json=centre, headers=admin)) == "centre_id"
        assert problem_field(await client.get("/v1/jobs/J%001", headers=admin)) == "job_id"
        assert problem_field(await client.put("/v1/engineers/E%001", json=engineer_body("x"),
                                              headers=admin)) == "engineer_id"
        assert problem_field(await client.put("/v1/sla/calendars/c%00", json={"always_open": True},
                                              headers=admin)) == "code"
        assert problem_field(await client.put("/v1/zones/31010%00", json={"name": "x", "zone_class": "urban"},
                                              headers=admin)) == "region_code"
        # an over-long id is refused, not truncated to another job's id
        assert problem_field(await client.get(f"/v1/jobs/{'J' * 41}", headers=admin)) == "job_id"


async def test_nul_byte_in_a_query_value_is_422_naming_it(clean, dispatch_settings, admin):
    async with running(create_app(dispatch_settings())) as client:
        for name in ("ticket_id", "engineer_id"):
            assert problem_field(await client.get("/v1/jobs", params={name: "T\x001"}, headers=admin)) == name
        assert problem_field(await client.get("/v1/jobs", params={"status": "nonsense"}, headers=admin)) == "status"


async def test_nul_byte_in_a_body_text_is_422_naming_it(clean, dispatch_settings, admin):
    async with running(create_app(dispatch_settings())) as client:
        policy = {"zone_class": "urban", "calendar_code": "24x7\x00", "respond_minutes": 60,
                  "arrive_minutes": 60, "resolve_minutes": 60}
        assert problem_field(await client.put("/v1/sla/policies", json=policy, headers=admin)) == "calendar_code"
        policy = {**policy, "calendar_code": "24x7", "contract_code": "C\x00"}
        assert problem_field(await client.put("/v1/sla/policies", json=policy, headers=admin)) == "contract_code"
        eng = {**engineer_body("x"), "name": "Wang\x00"}
        assert problem_field(await client.put("/v1/engineers/E1", json=eng, headers=admin)) == "name"
        eng = {**engineer_body("x"), "skills": {"x\x00": 3}}
        assert problem_field(await client.put("/v1/engineers/E1", json=eng, headers=admin)).startswith("skills")
        eng = {**engineer_body("x"), "zones": ["31\x000101"]}
        assert problem_field(await client.put("/v1/engineers/E1", json=eng, headers=admin)).startswith("zones")
        centre = {"name": "P\x00", "region_code": "310115", "lat": 31.2, "lon": 121.5}
        assert problem_field(await client.put("/v1/service-centres/C1", json=centre, headers=admin)) == "name"


async def test_nul_byte_in_an_engineer_app_text_is_422_naming_it(clean, dispatch_settings, admin, auth_headers):
    skill = uniq("nul")
    async with running(create_app(dispatch_settings())) as client:
        await client.put("/v1/engineers/E1", json=engineer_body(skill), headers=admin)
        job = await open_ticket(client, ticket(skill))
        eng = auth_headers("engineer", sub="E1", engineer_id="E1")
        url = f"/v1/jobs/{job.id}/actions"
        assert problem_field(await client.post(url, json=action("decline", reason="far\x00"), headers=eng)) == "reason"
        record = {**RECORD, "work_done": "fixed\x00"}
        assert problem_field(await client.post(url, json=action("complete", record=record),
                                               headers=eng)) == "record.work_done"
        record = {**RECORD, "photos": ["s3://p\x00"]}
        assert problem_field(await client.post(url, json=action("complete", record=record),
                                               headers=eng)).startswith("record.photos")


async def test_offset_and_limit_beyond_their_bounds_are_422(clean, dispatch_settings, admin):
    async with running(create_app(dispatch_settings())) as client:
        for url in ("/v1/jobs", "/v1/engineers"):
            assert problem_field(await client.get(url, params={"offset": BIG}, headers=admin)) == "offset"
            assert problem_field(await client.get(url, params={"offset": -1}, headers=admin)) == "offset"
            assert problem_field(await client.get(url, params={"limit": BIG}, headers=admin)) == "limit"
            assert problem_field(await client.get(url, params={"limit": 0}, headers=admin)) == "limit"
        assert problem_field(await client.get("/v1/queue", params={"limit": BIG}, headers=admin)) == "limit"
        assert (await client.get("/v1/jobs", params={"offset": 1_000_000}, headers=admin)).json() == []


async def test_dates_outside_the_business_range_are_422_naming_the_field(clean, dispatch_settings, admin):
    async with running(create_app(dispatch_settings())) as client:
        rep = "/v1/reports/sla-attainment"
        r = await client.get(rep, params={"date_from": "9999-12-31", "date_to": "9999-12-31"}, headers=admin)
        assert problem_field(r) == "date_from"  # the next day used to overflow: 500
        r = await client.get(rep, params={"date_from": "2026-01-01", "date_to": "0001-01-01"}, headers=admin)
        assert problem_field(r) == "date_to"
        r = await client.put("/v1/sla/calendars/cal1", json={"overrides": {"9999-12-31": True}}, headers=admin)
        assert problem_field(r).startswith("overrides")
        absent = {**engineer_body("x"), "absences": [{"from": "0001-01-01", "to": "2026-01-02"}]}
        assert problem_field(await client.put("/v1/engineers/E1", json=absent, headers=admin)).startswith("absences")
        backwards = {**engineer_body("x"), "absences": [{"from": "2026-01-05", "to": "2026-01-02"}]}
        assert problem_field(await client.put("/v1/engineers/E1", json=backwards,
                                              headers=admin)).startswith("absences")


async def test_coordinates_out_of_range_are_422(clean, dispatch_settings, admin):
    async with running(create_app(dispatch_settings())) as client:
        for field, value in (("home_lat", 91), ("home_lon", -181)):
            r = await client.put("/v1/engineers/E1", json={**engineer_body("x"), field: value}, headers=admin)
            assert problem_field(r) == field
        r = await client.put("/v1/zones/310101", json={"name": "x", "zone_class": "urban", "lat": 100},
                             headers=admin)
        assert problem_field(r) == "lat"


async def test_a_calendar_that_could_never_yield_a_deadline_is_refused_and_the_scan_keeps_running(
        clean, dispatch_settings, admin):
    skill = uniq("cal")
    async with running(create_app(dispatch_settings())) as client:
        # no weekday: once the statutory calendar's years run out there would be no working time at all
        r = await client.put("/v1/sla/calendars/none", json={"weekdays": [], "use_statutory": False}, headers=admin)
        assert problem_field(r) == "weekdays"
        r = await client.put("/v1/sla/calendars/none", json={"intervals": []}, headers=admin)
        assert problem_field(r) == "intervals"
        # one minute a week: a 60-day resolve clock would need more than the scan horizon
        sparse = {"intervals": [[0, 1]], "weekdays": [0], "use_statutory": False}
        assert (await client.put("/v1/sla/calendars/sparse", json=sparse, headers=admin)).status_code == 200
        policy = {"contract_code": "SPARSE", "zone_class": "urban", "calendar_code": "sparse",
                  "respond_minutes": 60, "arrive_minutes": 60, "resolve_minutes": 60 * 24 * 60}
        r = await client.put("/v1/sla/policies", json=policy, headers=admin)
        assert problem_field(r) == "resolve_minutes" and r.json()["code"] == "calendar_too_sparse"
        # a calendar in use by a policy cannot become that sparse either
        roomy = {"always_open": True}
        assert (await client.put("/v1/sla/calendars/roomy", json=roomy, headers=admin)).status_code == 200
        policy = {**policy, "calendar_code": "roomy", "contract_code": "ROOMY"}
        assert (await client.put("/v1/sla/policies", json=policy, headers=admin)).status_code == 200
        r = await client.put("/v1/sla/calendars/roomy", json=sparse, headers=admin)
        assert problem_field(r) == "intervals" and r.json()["code"] == "calendar_too_sparse"
        # jobs under the accepted configuration still get deadlines, and the SLA scan runs
        job = await open_ticket(client, ticket(skill, contract="ROOMY"))
        assert job.resolve_due is None or job.resolve_due > job.opened_at
        async with unit_of_work(client.app.state.sessions) as s:
            await sla.scan_sla(s, clock.now() + timedelta(days=3))


async def test_lowering_max_jobs_below_the_jobs_held_is_409_naming_max_jobs(clean, dispatch_settings, admin):
    """max_jobs counts only jobs without coordinates (the fallback path); routed jobs take no unit of it."""
    skill = uniq("cap")
    async with running(create_app(dispatch_settings())) as client:
        await client.put("/v1/engineers/E1", json=engineer_body(skill, max_jobs=2), headers=admin)
        await open_ticket(client, unlocated(ticket(skill)))
        await open_ticket(client, unlocated(ticket(skill)))
        r = await client.put("/v1/engineers/E1", json=engineer_body(skill, max_jobs=1), headers=admin)
        assert r.status_code == 409 and r.json()["field"] == "max_jobs"
        assert (await client.put("/v1/engineers/E1", json=engineer_body(skill, max_jobs=3),
                                 headers=admin)).status_code == 200


# --- tenancy ------------------------------------------------------------------------------------------------

async def test_a_dealer_sees_and_an_engineer_acts_only_within_its_own_jobs(clean, dispatch_settings, admin,
                                                                           auth_headers):
    skill = uniq("ten")
    async with running(create_app(dispatch_settings())) as client:
        await client.put("/v1/engineers/E1", json=engineer_body(skill, dealer_id="D1"), headers=admin)
        job = await open_ticket(client, ticket(skill))
        d1, d2 = auth_headers("dealer", dealer_id="D1"), auth_headers("dealer", dealer_id="D2")
        e1 = auth_headers("engineer", sub="E1", engineer_id="E1")
        e2 = auth_headers("engineer", sub="E2", engineer_id="E2")
        assert [j["id"] for j in (await client.get("/v1/jobs", headers=d1)).json()] == [job.id]
        assert (await client.get("/v1/jobs", headers=d2)).json() == []
        assert (await client.get(f"/v1/jobs/{job.id}", headers=d2)).status_code == 404
        assert (await client.get("/v1/jobs", params={"engineer_id": "E1"}, headers=d2)).json() == []
        assert [e["id"] for e in (await client.get("/v1/engineers", headers=d2)).json()] == []
        assert (await client.get(f"/v1/jobs/{job.id}", headers=e2)).status_code == 404
        assert (await client.post(f"/v1/jobs/{job.id}/actions", json=action("accept"), headers=e2)).status_code == 404
        # dealers and engineers cannot assign; an unknown job is 404 for every reference
        body = {"engineer_id": "E1", "version": job.version}
        assert (await client.post(f"/v1/jobs/{job.id}/assign", json=body, headers=d1)).status_code == 403
        assert (await client.post(f"/v1/jobs/{job.id}/assign", json=body, headers=e1)).status_code == 403
        assert (await client.post("/v1/jobs/nope/assign", json=body, headers=admin)).status_code == 404
        assert (await client.post("/v1/jobs/nope/actions", json=action("accept"), headers=e1)).status_code == 404
        assert (await client.get("/v1/jobs/nope", headers=admin)).status_code == 404
        # a token that names no tenant is refused, never turned into a filter
        assert (await client.get("/v1/jobs", headers=auth_headers("dealer"))).status_code == 403
        assert (await client.get("/v1/me/jobs", headers=auth_headers("engineer"))).status_code == 403


# --- racing dispatchers -------------------------------------------------------------------------------------

async def test_racing_manual_assignments_one_wins_and_the_loser_gets_409_naming_the_assignee(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    skill = uniq("race")
    async with running(create_app(dispatch_settings())) as client:
        for e in ("A", "B"):
            await client.put(f"/v1/engineers/{e}", json=engineer_body(f"{skill}-{e}", max_jobs=10), headers=admin)
        disp1, disp2 = auth_headers("dispatcher", sub="disp-1"), auth_headers("dispatcher", sub="disp-2")
        for _ in range(5):  # nobody has the skill: queued, so both dispatchers see the same version
            job = await open_ticket(client, ticket(skill))
            seen = (await client.get(f"/v1/jobs/{job.id}", headers=disp1)).json()
            assert seen["status"] == "queued" and seen["engineer_id"] is None
            url = f"/v1/jobs/{job.id}/assign"
            ra, rb = await asyncio.gather(
                client.post(url, json={"engineer_id": "A", "version": seen["version"]}, headers=disp1),
                client.post(url, json={"engineer_id": "B", "version": seen["version"]}, headers=disp2))
            assert sorted([ra.status_code, rb.status_code]) == [200, 409], (ra.text, rb.text)
            winner, loser = (ra, rb) if ra.status_code == 200 else (rb, ra)
            holder = winner.json()["engineer_id"]
            problem = loser.json()
            assert problem["code"] == "job_version_mismatch" and problem["field"] == "version"
            assert problem["current_engineer_id"] == holder and holder in problem["detail"]
            assert problem["current_version"] == winner.json()["version"] == seen["version"] + 1
            row = await admin_db.fetchrow("SELECT engineer_id, version FROM dispatch.jobs WHERE id=$1", job.id)
            assert (row["engineer_id"], row["version"]) == (holder, seen["version"] + 1)
        caps = dict(await admin_db.fetch("SELECT id, active_jobs FROM dispatch.engineers"))
        assert caps["A"] + caps["B"] == 5  # the losers took no capacity


async def test_a_stale_version_is_409_and_a_fresh_one_reassigns(clean, dispatch_settings, admin, auth_headers):
    skill = uniq("stale")
    async with running(create_app(dispatch_settings())) as client:
        for e in ("A", "B"):
            await client.put(f"/v1/engineers/{e}", json=engineer_body(skill), headers=admin)
        job = await open_ticket(client, ticket(skill))  # auto-offered: version 2
        disp = auth_headers("dispatcher")
        r = await client.post(f"/v1/jobs/{job.id}/assign", json={"engineer_id": "B", "version": 1}, headers=disp)
        assert r.status_code == 409 and r.json()["current_engineer_id"] == job.engineer_id
        current = r.json()["current_version"]
        other = "B" if job.engineer_id == "A" else "A"
        r = await client.post(f"/v1/jobs/{job.id}/assign", json={"engineer_id": other, "version": current},
                              headers=disp)
        assert r.status_code == 200 and r.json()["engineer_id"] == other
        r = await client.post(f"/v1/jobs/{job.id}/assign", json={"engineer_id": "A"}, headers=disp)
        assert problem_field(r) == "version"  # the expectation is required


# --- the engineer's device time -----------------------------------------------------------------------------

async def test_device_time_may_not_be_backdated_before_the_offer_nor_run_ahead_of_the_server(
        clean, dispatch_settings, admin, auth_headers, admin_db):
    skill = uniq("dev")
    async with running(create_app(dispatch_settings())) as client:
        created = clock.now() - timedelta(hours=2)
        job = await open_ticket(client, ticket(skill, opened_at=created - timedelta(minutes=1)), now=created)
        assert job.status == "queued"  # nobody to offer it to yet
        # an engineer appears; the retry offers the job now, two hours after it was created
        await client.put("/v1/engineers/E1", json=engineer_body(skill), headers=admin)
        async with unit_of_work(client.app.state.sessions) as s:
            assert await jobs.retry_queue(s, client.app.state.dispatch_cfg, clock.now()) == 1
        eng = auth_headers("engineer", sub="E1", engineer_id="E1")
        url = f"/v1/jobs/{job.id}/actions"
        # backdating the accept to before the offer (but after the job's creation) would meet the respond
        # milestone: refused
        early = (created + timedelta(minutes=10)).isoformat()
        r = await client.post(url, json=action("accept", device_time=early), headers=eng)
        assert problem_field(r) == "device_time" and r.json()["code"] == "device_time_out_of_order"
        before_job = (created - timedelta(minutes=10)).isoformat()  # beyond the 5-minute skew
        r = await client.post(url, json=action("accept", device_time=before_job), headers=eng)
        assert problem_field(r) == "device_time" and r.json()["code"] == "device_time_before_job"
        ahead = (clock.now() + timedelta(minutes=6)).isoformat()  # the allowed skew is 5 minutes
        r = await client.post(url, json=action("accept", device_time=ahead), headers=eng)
        assert problem_field(r) == "device_time" and r.json()["code"] == "device_time_future"
        r = await client.post(url, json=action("accept", device_time="9999-12-31T00:00:00+00:00"), headers=eng)
        assert problem_field(r) == "device_time"
        # a phone whose clock runs a minute behind the server is not refused: the accept counts from the offer
        behind = clock.now() - timedelta(minutes=1)
        r = await client.post(url, json=action("accept", device_time=behind.isoformat()), headers=eng)
        assert r.status_code == 200, r.text
        responded = datetime.fromisoformat((await client.get(f"/v1/jobs/{job.id}", headers=eng)).json()["responded_at"])
        assert responded > behind  # clamped up to the offer, never before what the server saw
        assert await admin_db.fetchval("SELECT count(*) FROM dispatch.job_actions WHERE job_id=$1", job.id) == 1


async def test_device_time_may_not_precede_a_dispatcher_assignment(clean, dispatch_settings, admin, auth_headers):
    skill = uniq("dev2")
    async with running(create_app(dispatch_settings())) as client:
        created = clock.now() - timedelta(hours=1)
        job = await open_ticket(client, ticket(skill, opened_at=created), now=created)
        await client.put("/v1/engineers/E1", json=engineer_body(uniq("other")), headers=admin)
        r = await client.post(f"/v1/jobs/{job.id}/assign", json={"engineer_id": "E1", "version": job.version},
                              headers=auth_headers("dispatcher"))
        assert r.status_code == 200, r.text
        eng = auth_headers("engineer", sub="E1", engineer_id="E1")
        r = await client.post(f"/v1/jobs/{job.id}/actions", json=action(
            "depart", device_time=(clock.now() - timedelta(minutes=30)).isoformat()), headers=eng)
        assert problem_field(r) == "device_time"
        r = await client.post(f"/v1/jobs/{job.id}/actions", json=action("depart"), headers=eng)
        assert r.status_code == 200, r.text


# --- personal data: role x field ----------------------------------------------------------------------------

CUSTOMER = {"customer_name": "Li Lei", "phone": "+8613800000000", "address": "1 Renmin Rd"}
MASKS = {"customer_name": mask_name, "phone": mask_phone, "address": mask_address}
# who reads the job -> whether that reader sees the customer's contact in clear
READERS = {"admin": True, "dispatcher": True, "holding engineer": True, "ops": False, "dealer (own)": False}


@pytest.mark.parametrize("field", sorted(CUSTOMER))
@pytest.mark.parametrize("reader", sorted(READERS))
async def test_customer_contact_by_role(clean, dispatch_settings, admin, auth_headers, reader, field):
    skill = uniq("pii")
    headers = {"admin": admin, "dispatcher": auth_headers("dispatcher"), "ops": auth_headers("ops"),
               "dealer (own)": auth_headers("dealer", dealer_id="D1"),
               "holding engineer": auth_headers("engineer", sub="E1", engineer_id="E1")}[reader]
    async with running(create_app(dispatch_settings())) as client:
        await client.put("/v1/engineers/E1", json=engineer_body(skill, dealer_id="D1"), headers=admin)
        job = await open_ticket(client, ticket(skill))
        eng = auth_headers("engineer", sub="E1", engineer_id="E1")
        for body in (action("accept"), action("depart"), action("arrive", lat=31.2304, lon=121.4737),
                     action("complete", record=RECORD)):
            assert (await client.post(f"/v1/jobs/{job.id}/actions", json=body, headers=eng)).status_code == 200
        expected = CUSTOMER[field] if READERS[reader] else MASKS[field](CUSTOMER[field])
        detail = (await client.get(f"/v1/jobs/{job.id}", headers=headers)).json()
        assert detail[field] == expected
        listed = (await client.get("/v1/jobs", headers=headers)).json()
        assert [j[field] for j in listed] == [expected]
        # the name the customer signed the service record with follows the same rule
        signed = RECORD["customer_name"]
        assert detail["service_record"]["customer_name"] == (signed if READERS[reader] else mask_name(signed))
        if not READERS[reader]:
            assert detail["lat"] == 31.23 and detail["lon"] == 121.47  # about a kilometre, not the door


async def test_contact_in_the_queue_and_the_app_follows_the_same_rule(clean, dispatch_settings, admin,
                                                                      auth_headers):
    skill = uniq("piiq")
    async with running(create_app(dispatch_settings())) as client:
        queued = await open_ticket(client, ticket(uniq("nobody")))
        q_ops = (await client.get("/v1/queue", headers=auth_headers("ops"))).json()
        q_disp = (await client.get("/v1/queue", headers=auth_headers("dispatcher"))).json()
        assert [j["phone"] for j in q_ops if j["id"] == queued.id] == [mask_phone(CUSTOMER["phone"])]
        assert [j["phone"] for j in q_disp if j["id"] == queued.id] == [CUSTOMER["phone"]]
        await client.put("/v1/engineers/E1", json=engineer_body(skill), headers=admin)
        offered = await open_ticket(client, ticket(skill))
        mine = (await client.get("/v1/me/jobs", headers=auth_headers("engineer", sub="E1", engineer_id="E1"))).json()
        assert [(j["id"], j["phone"], j["address"]) for j in mine] == [
            (offered.id, CUSTOMER["phone"], CUSTOMER["address"])]
        # the assign answer goes to a dispatcher, who calls customers
        disp = auth_headers("dispatcher")
        r = await client.post(f"/v1/jobs/{queued.id}/assign", json={"engineer_id": "E1", "version": queued.version},
                              headers=disp)
        assert r.status_code == 200 and r.json()["phone"] == CUSTOMER["phone"]
