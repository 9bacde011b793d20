"""Remedy use cases (issue 15; flush, never commit): carry out a return, exchange, unit or component replacement
on a ticket's unit when its rights allow it (``domain/remedies.py``), as ``domain/remedy_lifecycle.py`` says.

Under the unit's row lock: the rights on the day, the remedy row, the old unit retired with the reason, the new
unit (remaining or fresh warranty, ``TicketingSettings.remedy_new_unit_warranty``; linked to the old unit and so
to its repair history) and ``ticketing.unit.remedy_completed`` — one unit of work. Two racing remedies on one unit
are serialised by that lock: the second finds the unit retired (409). A retried request with the same
Idempotency-Key (per caller) gets the first remedy back; with another body, 422 ``idempotency_key_reused``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, NotFound, Unprocessable
from aftersales_shared.events.ticketing import UnitRemedyCompleted
from aftersales_shared.idempotency import HEADER
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from ..access import dealer_filter, remedy_filter
from ..domain import remedy_lifecycle as lifecycle
from ..domain.remedies import WarrantyMode, new_unit_dates, offer
from ..domain.warranty import UNIT
from ..models import ticket_transitions, tickets, unit_delays, unit_extensions, unit_remedies, unit_repairs, units
from ..units.queries import load_unit, policies_for
from ..units.service import determine
from .schemas import RemedyCreate

r_ = unit_remedies.c


def _ticket_cond(ref: str) -> sa.ColumnElement[bool]:
    try:
        return tickets.c.id == UUID(ref)
    except ValueError:
        return tickets.c.ticket_no == ref


async def _ticket_to_act_on(session: AsyncSession, viewer: Principal, ref: str) -> dict[str, Any]:
    tt = ticket_transitions.c
    row = (await session.execute(sa.select(tickets).where(
        _ticket_cond(ref), remedy_filter(viewer, tickets.c.id, tt.ticket_id, tt.actor)))).mappings().first()
    if row is None:
        raise NotFound(f"ticket {ref} not found", field="ticket")
    return dict(row)


def _fingerprint(ticket_id: UUID, body: RemedyCreate) -> str:
    raw = json.dumps({"ticket": str(ticket_id), **body.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


async def _by_key(session: AsyncSession, viewer: Principal, key: str, fp: str) -> dict[str, Any] | None:
    row = (await session.execute(sa.select(unit_remedies).where(r_.actor == viewer.sub, r_.idempotency_key == key))
           ).mappings().first()
    if row is None:
        return None
    if row["fingerprint"] != fp:
        raise Unprocessable("this Idempotency-Key was used with a different request", field=HEADER,
                            code="idempotency_key_reused")
    return await _read(session, dict(row))


async def _read(session: AsyncSession, row: dict[str, Any]) -> dict[str, Any]:
    repairs = []
    if row["new_serial"] is not None:  # the new unit's link to the old unit's repair history
        rc = unit_repairs.c
        repairs = [dict(x) for x in (await session.execute(
            sa.select(rc.job_id, rc.ticket_id, rc.completed_on, rc.component, rc.parts_replaced, rc.in_warranty)
            .where(rc.serial == row["serial"]).order_by(rc.completed_on, rc.job_id))).mappings()]
        for x in repairs:
            x["ticket_id"] = None if x["ticket_id"] is None else str(x["ticket_id"])
    return {**row, "id": str(row["id"]), "ticket_id": str(row["ticket_id"]), "old_unit_repairs": repairs}


async def carry_out(session: AsyncSession, *, ref: str, viewer: Principal, body: RemedyCreate, key: str | None,
                    mode: WarrantyMode, now: datetime) -> tuple[dict[str, Any], bool]:
    """Carry out the remedy if the unit's rights allow it today; (remedy, replayed)."""
    t = await _ticket_to_act_on(session, viewer, ref)
    fp = _fingerprint(t["id"], body)
    if key is not None and (prior := await _by_key(session, viewer, key, fp)) is not None:
        return prior, True
    u = (await session.execute(sa.select(units).where(units.c.serial == t["serial"]).with_for_update())
         ).mappings().first()
    if u is None:
        raise NotFound(f"the ticket's unit {t['serial']} is not in the installed base", field="serial")
    if key is not None and (prior := await _by_key(session, viewer, key, fp)) is not None:
        return prior, True  # a concurrent retry with this key committed while we waited for the lock
    rule = lifecycle.RULE[body.kind]
    if u["status"] != "active":
        raise Conflict(f"unit {u['serial']} is retired ({u['retired_reason']}); no further remedy", field="kind",
                       code="unit_retired", extra={"rule": rule})
    loaded = await load_unit(session, u["serial"])
    assert loaded is not None
    _row, policy, facts = loaded
    on = clock.business_date(now)
    component = body.component or (t["component"] if body.kind == "component_replacement" else None)
    if body.kind == "component_replacement" and component == UNIT:
        raise Unprocessable("a component replacement names the component (the ticket names the whole unit)",
                            field="component")
    d = determine(policy, facts, on, component=component or UNIT, exclusions=list(t["exclusions"]))
    replaced_on = None
    if body.kind == "component_replacement":
        replaced_on = await session.scalar(sa.select(sa.func.max(r_.completed_on)).where(
            r_.serial == u["serial"], r_.kind == "component_replacement", r_.component == component))
    o = offer(body.kind, policy, facts, d, component=component, component_replaced_on=replaced_on)
    if not o.allowed:
        raise Conflict(f"{o.rule}: {o.reason}", field="kind", code="remedy_not_allowed", extra={"rule": o.rule})

    warranty: WarrantyMode | None = None
    if body.kind in lifecycle.SHIPS_NEW_UNIT:
        assert body.new_serial is not None
        warranty = mode
        await _ship_new_unit(session, old=dict(u), facts_dates=new_unit_dates(mode, facts, on), mode=mode,
                             new_serial=body.new_serial, on=on)
    if (retired := lifecycle.RETIRES_UNIT[body.kind]) is not None:
        await session.execute(sa.update(units).where(units.c.serial == u["serial"]).values(
            status="retired", retired_at=now, retired_reason=f"{retired}: {body.reason}"))
    move = lifecycle.MOVES["carry_out"]
    row = {"id": new_id(), "kind": body.kind, "rule": o.rule, "status": move.to, "serial": u["serial"],
           "new_serial": body.new_serial, "component": component if body.kind == "component_replacement" else None,
           "ticket_id": t["id"], "warranty": warranty, "reason": body.reason,
           "rights": {"rule": o.rule, "reason": o.reason, "on": on.isoformat()}, "actor": viewer.sub,
           "idempotency_key": key, "fingerprint": fp, "completed_on": on, "created_at": now}
    await session.execute(sa.insert(unit_remedies).values(**row))
    await add_events(session, UnitRemedyCompleted(aggregate_id=u["serial"], payload={
        "remedy_id": str(row["id"]), "kind": body.kind, "rule": o.rule, "ticket_id": str(t["id"]),
        "ticket_no": t["ticket_no"], "serial": u["serial"], "new_serial": body.new_serial,
        "component": row["component"], "product_line": u["product_line"], "unit_part_no": body.unit_part_no,
        "dealer_id": t["dealer_id"] or u["dealer_id"], "ship_to_address": t["address"], "warranty": warranty,
        "reason": body.reason, "actor": viewer.sub, "completed_at": now}))
    return await _read(session, row), False


async def _ship_new_unit(session: AsyncSession, *, old: dict[str, Any], facts_dates: dict[str, Any],
                         mode: WarrantyMode, new_serial: str, on: Any) -> None:
    """Register the unit shipped in the old one's place, with the old one's owner and the warranty of ``mode``."""
    policy_id = old["policy_id"]
    card = old["card_registered_on"]
    if mode == "fresh":
        versions = (await policies_for(session, {old["product_line"]})).get(old["product_line"], [])
        policy_id = next((pid for eff, pid in versions if eff <= on), policy_id)
        card = on
    values = {k: old[k] for k in ("product_line", "customer_name", "phone", "address", "region_code", "dealer_id",
                                  "contract_code")}
    inserted = (await session.execute(pg_insert(units).values(
        serial=new_serial, policy_id=policy_id, card_registered_on=card, replaces_serial=old["serial"],
        **values, **facts_dates).on_conflict_do_nothing().returning(units.c.serial))).first()
    if inserted is None:
        raise Conflict(f"unit {new_serial} already exists", field="new_serial")
    if mode == "inherited":  # the remaining cover: paid extensions (R-W6) and seller delays (R-W7) carry over
        e, dl = unit_extensions.c, unit_delays.c
        await session.execute(sa.insert(unit_extensions).from_select(
            ["id", "serial", "paid_on", "months", "price"],
            sa.select(sa.func.gen_random_uuid(), sa.literal(new_serial), e.paid_on, e.months, e.price)
            .where(e.serial == old["serial"])))
        await session.execute(sa.insert(unit_delays).from_select(
            ["id", "serial", "started_on", "days", "caused_by", "note"],
            sa.select(sa.func.gen_random_uuid(), sa.literal(new_serial), dl.started_on, dl.days, dl.caused_by,
                      dl.note).where(dl.serial == old["serial"])))


async def list_for_ticket(session: AsyncSession, *, ref: str, viewer: Principal) -> dict[str, Any]:
    """The remedies carried out on a ticket (dealer: own tickets)."""
    t = (await session.execute(sa.select(tickets.c.id).where(
        _ticket_cond(ref), dealer_filter(viewer, tickets.c.dealer_id)))).first()
    if t is None:
        raise NotFound(f"ticket {ref} not found", field="ticket")
    rows = (await session.execute(sa.select(unit_remedies).where(r_.ticket_id == t.id).order_by(r_.created_at))
            ).mappings()
    return {"items": [await _read(session, dict(r)) for r in rows]}
