"""The installed base you can maintain (issue 15 item 5; flush, never commit): a unit's delivery acceptance and
installation dates (R-W2 start dates; a change re-determines the coverage of the unit's open tickets through
``coverage/service.py``), ownership transfer, search, and a unit's whole history. Every change is a
``unit_changes`` row (who, when, before, after, why) and a ``ticketing.unit.recorded`` event for settlement.
Tests: ``tests/ticketing/test_installed_base.py``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import pii
from aftersales_shared.auth import Principal
from aftersales_shared.errors import NotFound, Unprocessable
from aftersales_shared.outbox import add_events

from ..access import dealer_filter, with_contact
from ..coverage.service import redetermine_open_tickets
from ..models import tickets, unit_changes, unit_delays, unit_extensions, unit_remedies, unit_repairs, units
from .queries import load_unit
from .schemas import OwnerTransfer, UnitDatesUpdate
from .service import recorded

CONTACT = ("customer_name", "phone", "address", "region_code")


async def _lock_visible(session: AsyncSession, serial: str, viewer: Principal) -> dict[str, Any]:
    row = (await session.execute(sa.select(units).where(units.c.serial == serial,
                                                        dealer_filter(viewer, units.c.dealer_id))
                                 .with_for_update())).mappings().first()
    if row is None:
        raise NotFound(f"unit {serial} not found", field="serial")
    return dict(row)


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


async def _audit(session: AsyncSession, *, serial: str, kind: str, before: dict[str, Any], after: dict[str, Any],
                 reason: str | None, actor: str, at: datetime) -> dict[str, Any]:
    return dict((await session.execute(sa.insert(unit_changes).values(
        serial=serial, kind=kind, before=_json(before), after=_json(after), reason=reason, actor=actor, at=at)
        .returning(*unit_changes.c))).mappings().one())


def _change_read(viewer: Principal, row: dict[str, Any]) -> dict[str, Any]:
    """An audit row with the owner contact masked for roles that do not call customers (R-T7)."""
    if row["kind"] != "owner" or pii.sees_contact(viewer):
        return row
    return {**row, "before": with_contact(viewer, row["before"]), "after": with_contact(viewer, row["after"])}


async def update_dates(session: AsyncSession, *, serial: str, body: UnitDatesUpdate, viewer: Principal,
                       today: date, now: datetime) -> dict[str, Any]:
    """Set the delivery acceptance / installation dates (not in the future), audited; the open tickets' coverage
    is determined again with the new dates (a changed one is a ``coverage_changed`` event and is listed)."""
    unit = await _lock_visible(session, serial, viewer)
    new = body.model_dump(exclude={"reason"}, exclude_none=True)
    for name, value in new.items():
        if value > today:
            raise Unprocessable(f"{name} cannot be in the future", field=name)
    before = {k: unit[k] for k in new if unit[k] != new[k]}
    if not before:
        return {"unit": with_contact(viewer, unit), "change": None, "redetermined": []}
    after = {k: new[k] for k in before}
    row = dict((await session.execute(sa.update(units).where(units.c.serial == serial).values(**after)
                                      .returning(*units.c))).mappings().one())
    change = await _audit(session, serial=serial, kind="dates", before=before, after=after, reason=body.reason,
                          actor=viewer.sub, at=now)
    await add_events(session, recorded(row, "dates"))
    loaded = await load_unit(session, serial)
    assert loaded is not None
    _row, policy, facts = loaded
    words = ", ".join(f"{k} {before[k] or 'none'} → {after[k]}" for k in after)
    redetermined = await redetermine_open_tickets(
        session, serial=serial, policy=policy, facts=facts, change=f"unit dates changed ({words})",
        actor=viewer.sub, at=now)
    return {"unit": with_contact(viewer, row), "change": _change_read(viewer, change), "redetermined": redetermined}


async def transfer_owner(session: AsyncSession, *, serial: str, body: OwnerTransfer, viewer: Principal,
                         now: datetime) -> dict[str, Any]:
    """The unit changed hands: the new owner's contact on the unit, the previous one kept in its history."""
    unit = await _lock_visible(session, serial, viewer)
    new = body.model_dump(exclude={"reason"})
    if all(unit[k] == new[k] for k in CONTACT):
        return {"unit": with_contact(viewer, unit), "change": None, "redetermined": []}
    row = dict((await session.execute(sa.update(units).where(units.c.serial == serial).values(**new)
                                      .returning(*units.c))).mappings().one())
    change = await _audit(session, serial=serial, kind="owner", before={k: unit[k] for k in CONTACT}, after=new,
                          reason=body.reason, actor=viewer.sub, at=now)
    await add_events(session, recorded(row, "owner"))
    return {"unit": with_contact(viewer, row), "change": _change_read(viewer, change), "redetermined": []}


def _contains(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


async def search(session: AsyncSession, *, viewer: Principal, customer_name: str | None, phone: str | None,
                 address: str | None, dealer_id: str | None, product_line: str | None, limit: int,
                 offset: int) -> dict[str, Any]:
    """Units by customer name, phone (any run of its digits), address (substrings), dealer, product line; a dealer
    finds only its own units; contact data masked by role (R-T7)."""
    where = [dealer_filter(viewer, units.c.dealer_id, dealer_id)]
    if dealer_id:
        where.append(units.c.dealer_id == dealer_id)
    if customer_name:
        where.append(_contains(units.c.customer_name, customer_name))
    if address:
        where.append(_contains(units.c.address, address))
    if phone:
        digits = "".join(ch for ch in phone if ch.isdigit())
        if len(digits) < 3:
            raise Unprocessable("give at least 3 digits of the phone number", field="phone")
        where.append(_contains(units.c.phone, digits))
    if product_line:
        where.append(units.c.product_line == product_line)
    total = (await session.execute(sa.select(sa.func.count()).select_from(units).where(*where))).scalar_one()
    rows = (await session.execute(sa.select(units).where(*where).order_by(units.c.serial).limit(limit)
                                  .offset(offset))).mappings().all()
    return {"items": [with_contact(viewer, dict(r)) for r in rows], "total": total, "limit": limit, "offset": offset}


async def history(session: AsyncSession, *, serial: str, viewer: Principal) -> dict[str, Any]:
    """The unit and everything on record about it: tickets, repairs (with parts), 三包 remedies (as the old or the
    new unit), extensions, delays, changes."""
    row = (await session.execute(sa.select(units).where(units.c.serial == serial,
                                                        dealer_filter(viewer, units.c.dealer_id)))).mappings().first()
    if row is None:
        raise NotFound(f"unit {serial} not found", field="serial")

    async def rows(table: sa.Table, order: sa.ColumnElement[Any]) -> list[dict[str, Any]]:
        return [dict(r) for r in (await session.execute(
            sa.select(table).where(table.c.serial == serial).order_by(order))).mappings()]

    return {
        "unit": with_contact(viewer, dict(row)),
        "tickets": await rows(tickets, tickets.c.opened_at),
        "repairs": await rows(unit_repairs, unit_repairs.c.completed_on),
        "remedies": [dict(r) for r in (await session.execute(
            sa.select(unit_remedies)
            .where(sa.or_(unit_remedies.c.serial == serial, unit_remedies.c.new_serial == serial))
            .order_by(unit_remedies.c.created_at))).mappings()],
        "extensions": await rows(unit_extensions, unit_extensions.c.paid_on),
        "delays": await rows(unit_delays, unit_delays.c.started_on),
        "changes": [_change_read(viewer, c) for c in await rows(unit_changes, unit_changes.c.id)],
    }
