"""Event builders and waits shared by the notifications tests."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from aftersales_shared import clock
from aftersales_shared.events import dispatch as dsp
from aftersales_shared.events import parts as prt
from aftersales_shared.events import settlement as stl
from aftersales_shared.events import ticketing as tkt
from aftersales_shared.testing.plugin import wait_for

from .conftest import uid


def phone() -> str:
    return "139" + "".join(random.choice("0123456789") for _ in range(8))


def customer(ticketing: Any, *, ticket_id: str | None = None, number: str | None = None) -> dict[str, Any]:
    ticket_id = ticket_id or str(uid("t-"))
    t = {"id": ticket_id, "ticket_no": "T" + uid()[:8].upper(), "phone": number or phone(), "customer_name": "张三丰",
         "address": "上海市浦东新区世纪大道100号8楼", "dealer_id": "D1", "status": "open"}
    ticketing.tickets[ticket_id] = t
    return t


def opened(t: dict[str, Any]) -> Any:
    now = clock.now()
    return tkt.TicketOpened(aggregate_id=t["id"], payload={
        "ticket_id": t["id"], "ticket_no": t["ticket_no"], "serial": "SN1", "product_line": "AC",
        "required_skill": "ac", "dealer_id": t["dealer_id"], "coverage": "warranty", "customer_name": "张三丰",
        "phone": t["phone"], "address": t["address"], "region_code": "310115", "channel": "phone",
        "fault_description": "不制冷", "opened_at": now})


def job_event(cls: Any, t: dict[str, Any], job_id: str, engineer: str | None = "E1", **extra: Any) -> Any:
    payload = {"job_id": job_id, "ticket_id": t["id"], "at": clock.now(), "engineer_id": engineer, **extra}
    return cls(aggregate_id=job_id, payload=payload)


def created(t: dict[str, Any], job_id: str, hours: int = 4) -> Any:
    return dsp.JobCreated(aggregate_id=job_id, payload={
        "job_id": job_id, "ticket_id": t["id"], "at": clock.now(), "zone_class": "A",
        "deadlines": {"arrive": clock.now() + timedelta(hours=hours)}})


def completed(t: dict[str, Any], job_id: str) -> Any:
    return dsp.JobCompleted(aggregate_id=job_id, payload={
        "job_id": job_id, "ticket_id": t["id"], "at": clock.now(), "engineer_id": "E1", "serial": "SN1",
        "product_line": "AC", "coverage": "warranty", "home_visit": True, "work_done": "更换电容"})


def shipped(dealer_id: str, request_id: str | None = None) -> Any:
    request_id = request_id or uid("pr-")
    return prt.RequestShipped(aggregate_id=request_id, payload={
        "request_id": request_id, "dealer_id": dealer_id, "at": clock.now(), "status": "shipped",
        "shipment_id": uid("s-"), "carrier": "顺丰", "tracking_no": "SF" + uid()[:8]})


def statement(cls: Any, dealer_id: str, statement_id: str, revision: int = 1) -> Any:
    return cls(aggregate_id=statement_id, payload={
        "statement_id": statement_id, "dealer_id": dealer_id, "quarter": "2026Q3", "revision": revision,
        "status": "issued", "net_amount": "1234.50", "at": clock.now(), "due_on": "2026-11-30"})


def dispute_resolved(dealer_id: str, dispute_id: str) -> Any:
    return stl.DisputeResolved(aggregate_id=dispute_id, payload={
        "dispute_id": dispute_id, "statement_id": "st-1", "dealer_id": dealer_id, "status": "accepted",
        "at": clock.now(), "adjustment": "50.00"})


async def wait_count(fn: Any, n: int, timeout: float = 60) -> None:
    async def check() -> bool:
        return len(fn()) >= n

    await wait_for(check, timeout=timeout)


async def inbox_has(admin_db: Any, event_id: Any) -> bool:
    return bool(await admin_db.fetchval("SELECT count(*) FROM notifications.inbox WHERE event_id = $1", event_id))


async def settled(admin_db: Any) -> bool:
    """No delivery is due now (queued); held ones wait for their time."""
    return not await admin_db.fetchval(
        "SELECT count(*) FROM notifications.deliveries WHERE status = 'queued'")
