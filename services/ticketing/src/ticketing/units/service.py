"""Installed-base use cases (flush, never commit): units, CSV import, card, extension, delay, warranty position."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, DomainError, NotFound, Unprocessable
from aftersales_shared.events.ticketing import ExtensionPurchased, UnitRecorded, UnitRegistered
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from ..access import dealer_filter, with_contact
from ..domain.warranty import UNIT, UnitFacts, WarrantyDetermination, WarrantyError, WarrantyPolicy, determine_warranty
from ..models import unit_changes, unit_delays, unit_extensions, unit_repairs, units
from .queries import load_unit, policies_for
from .schemas import DelayCreate, UnitCreate

MAX_IMPORT_ROWS = 10_000


def determine(policy: WarrantyPolicy, facts: UnitFacts, on: date, *, component: str, exclusions: list[str],
              warranty_card_shown: bool | None = None) -> WarrantyDetermination:
    """Run the pure rules, turning a rule refusal into a 422 naming the field."""
    if warranty_card_shown is not None:
        facts = UnitFacts(**{**facts.__dict__, "has_warranty_card": warranty_card_shown})
    try:
        return determine_warranty(policy, facts, on, component=component, exclusions=tuple(exclusions))
    except WarrantyError as e:
        raise Unprocessable(str(e), field=e.field) from None


def _pick(policies: dict[str, list[tuple[date, Any]]], u: UnitCreate, today: date) -> Any:
    """The policy in force at sale (or at the dealer's receipt, or today when neither is known)."""
    on = u.sold_on or u.delivered_on or u.dealer_received_on or today
    return next((pid for eff, pid in policies.get(u.product_line, []) if eff <= on), None)


def recorded(row: Any, change: str = "created") -> UnitRecorded:
    """The unit's sale facts for settlement (R-W10 judges the card deadline from them)."""
    return UnitRecorded(aggregate_id=row["serial"], payload={
        "serial": row["serial"], "product_line": row["product_line"], "dealer_id": row.get("dealer_id"),
        "sold_on": row.get("sold_on"), "card_registered_on": row.get("card_registered_on"), "change": change})


def _read(viewer: Principal, row: Any) -> dict[str, Any]:
    return with_contact(viewer, row)


async def _visible_unit(session: AsyncSession, serial: str, viewer: Principal) -> dict[str, Any]:
    row = (await session.execute(sa.select(units).where(units.c.serial == serial,
                                                        dealer_filter(viewer, units.c.dealer_id)))).mappings().first()
    if row is None:
        raise NotFound(f"unit {serial} not found", field="serial")
    return dict(row)


async def create_unit(session: AsyncSession, *, unit: UnitCreate, viewer: Principal, today: date) -> dict[str, Any]:
    """Register a unit with the policy version in force at its sale."""
    policies = await policies_for(session, {unit.product_line})
    if unit.product_line not in policies:
        raise Unprocessable(f"product line {unit.product_line} has no warranty policy", field="product_line")
    pid = _pick(policies, unit, today)
    if pid is None:
        raise Unprocessable("no warranty policy of this product line was in force at the sale date", field="sold_on")
    row = (await session.execute(
        pg_insert(units).values(**unit.model_dump(), policy_id=pid)
        .on_conflict_do_nothing().returning(*units.c))).mappings().first()
    if row is None:
        raise Conflict(f"unit {unit.serial} already exists", field="serial")
    await add_events(session, recorded(row))
    return _read(viewer, row)


async def import_units(session: AsyncSession, *, raw: bytes, today: date) -> int:
    """Header row with UnitCreate field names; at most 10,000 rows; any error rejects the whole file."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("the CSV must be UTF-8", field="body") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        rows, seen, errors = _parse_rows(reader)
    except csv.Error as e:  # a malformed file (a stray quote or newline, a field beyond the csv module's limit)
        raise Unprocessable(f"the CSV is malformed at line {reader.line_num}: {e}", field="body") from None
    if not rows and not errors:
        raise Unprocessable("the CSV has no rows", field="body")
    policies = await policies_for(session, {u.product_line for u in rows})
    existing = set((await session.execute(sa.select(units.c.serial).where(units.c.serial.in_(list(seen))))).scalars())
    values = []
    for u in rows:
        n = seen[u.serial]
        if u.serial in existing:
            errors.append({"row": n, "field": "serial", "reason": "unit already exists"})
        elif u.product_line not in policies:
            errors.append({"row": n, "field": "product_line", "reason": "unknown product line or no policy"})
        elif (pid := _pick(policies, u, today)) is None:
            errors.append({"row": n, "field": "sold_on", "reason": "no policy in force at the sale date"})
        else:
            values.append({**u.model_dump(), "policy_id": pid})
    if errors:
        errors.sort(key=lambda e: e["row"])
        raise Unprocessable(f"{len(errors)} error(s) in the CSV; nothing was imported", code="import_rejected",
                            extra={"row_errors": errors, "imported": 0})
    await session.execute(sa.insert(units), values)
    await add_events(session, *(recorded(v) for v in values))
    return len(values)


def _parse_rows(reader: csv.DictReader[str]) -> tuple[list[UnitCreate], dict[str, int], list[dict[str, Any]]]:
    """The valid rows, the line of each serial, and the errors per line (csv.Error on a malformed file)."""
    known = set(UnitCreate.model_fields)
    if not reader.fieldnames or "serial" not in reader.fieldnames or "product_line" not in reader.fieldnames:
        raise Unprocessable("the CSV header must name at least serial and product_line", field="body")
    unknown = [f for f in reader.fieldnames if f not in known]
    if unknown:
        raise Unprocessable(f"unknown CSV column(s): {', '.join(unknown)}", field="body")
    errors: list[dict[str, Any]] = []
    rows: list[UnitCreate] = []
    seen: dict[str, int] = {}
    for n, rec in enumerate(reader, start=2):  # line numbers as a spreadsheet shows them
        if n - 1 > MAX_IMPORT_ROWS:
            raise DomainError(f"at most {MAX_IMPORT_ROWS} rows per import", field="body", status=413,
                              code="too_many_rows")
        if None in rec:  # more fields than the header names
            errors.append({"row": n, "field": None, "reason": "more fields than the header names"})
            continue
        try:
            u = UnitCreate.model_validate({k: v for k, v in rec.items() if v not in (None, "")})
        except ValidationError as e:
            errors.extend({"row": n, "field": ".".join(map(str, x["loc"])) or None, "reason": x["msg"]}
                          for x in e.errors())
            continue
        if u.serial in seen:
            errors.append({"row": n, "field": "serial", "reason": f"duplicate of row {seen[u.serial]}"})
            continue
        seen[u.serial] = n
        rows.append(u)
    return rows, seen, errors


async def get_unit(session: AsyncSession, *, serial: str, viewer: Principal) -> dict[str, Any]:
    """One unit as this caller may see it."""
    return _read(viewer, await _visible_unit(session, serial, viewer))


async def warranty_of(session: AsyncSession, *, serial: str, viewer: Principal, on: date, component: str,
                      exclusions: list[str]) -> dict[str, Any]:
    """The unit's warranty position on ``on`` (R-W1…R-W9)."""
    await _visible_unit(session, serial, viewer)
    loaded = await load_unit(session, serial)
    if loaded is None:
        raise NotFound(f"unit {serial} not found", field="serial")
    row, policy, facts = loaded
    d = determine(policy, facts, on, component=component, exclusions=exclusions)
    return {
        "serial": serial, "on": d.on, "policy_id": row["policy_id"], "basis": d.basis, "start_date": d.start_date,
        "coverage": d.coverage, "component": d.component,
        "components": [c.__dict__ for c in d.components], "early_life_rights": d.early_life.names(),
        "replace_unit": d.repeat_repair.replace_unit, "replace_components": list(d.repeat_repair.replace_components),
        "repair_counts": d.repeat_repair.repair_counts, "exclusions": list(d.exclusions), "reasons": list(d.reasons),
        "shipping_customer_share": format(d.shipping_customer_share, "f"),
    }


async def register_card(session: AsyncSession, *, serial: str, registered_on: date,
                        viewer: Principal) -> dict[str, Any]:
    """Record the returned warranty card (R-W10) once; emits UnitRegistered."""
    row = (await session.execute(
        sa.update(units).where(units.c.serial == serial, units.c.card_registered_on.is_(None),
                               dealer_filter(viewer, units.c.dealer_id))
        .values(card_registered_on=registered_on).returning(*units.c))).mappings().first()
    if row is None:
        await _visible_unit(session, serial, viewer)
        raise Conflict(f"the warranty card of {serial} is already registered", field="serial")
    if row["sold_on"] and registered_on < row["sold_on"]:
        raise Unprocessable("the card cannot be registered before the sale", field="registered_on")
    await session.execute(sa.insert(unit_changes).values(
        serial=serial, kind="card", before={"card_registered_on": None},
        after={"card_registered_on": registered_on.isoformat()}, reason=None, actor=viewer.sub, at=clock.now()))
    await add_events(session, UnitRegistered(aggregate_id=serial, payload={
        "serial": serial, "product_line": row["product_line"], "dealer_id": row["dealer_id"],
        "sold_on": row["sold_on"], "registered_on": registered_on, "sale_amount": row["sale_amount"]}))
    return _read(viewer, row)


async def buy_extension(session: AsyncSession, *, serial: str, paid_on: date, viewer: Principal) -> dict[str, Any]:
    """Sell the policy's paid extension (R-W6), counted from the payment date; emits ExtensionPurchased."""
    await _visible_unit(session, serial, viewer)
    loaded = await load_unit(session, serial)
    if loaded is None:
        raise NotFound(f"unit {serial} not found", field="serial")
    _row, policy, _facts = loaded
    if policy.extension_months is None or policy.extension_price is None:
        raise Unprocessable("this unit's warranty policy offers no paid extension", field="serial")
    ext = {"id": new_id(), "serial": serial, "paid_on": paid_on, "months": policy.extension_months,
           "price": policy.extension_price}
    await session.execute(sa.insert(unit_extensions).values(**ext))
    await add_events(session, ExtensionPurchased(aggregate_id=serial, payload={
        "serial": serial, "paid_on": paid_on, "months": policy.extension_months, "price": policy.extension_price}))
    return ext


async def add_delay(session: AsyncSession, *, serial: str, delay: DelayCreate, viewer: Principal) -> dict[str, Any]:
    """Record a service delay (R-W7: seller-caused delays extend the warranty)."""
    await _visible_unit(session, serial, viewer)
    values = {"id": new_id(), "serial": serial, **delay.model_dump()}
    await session.execute(sa.insert(unit_delays).values(**values))
    return values


async def record_repair(session: AsyncSession, *, serial: str, job_id: str, ticket_id: Any, component: str | None,
                        parts: list[str], in_warranty: bool, at: datetime, components: list[str] | None = None) -> None:
    """Add a completed repair to the unit's history (R-W5 repeat repairs, R-W8 repair and parts warranty: the
    part numbers fitted and every diagnosed component, so a later fault matches by either); once per job."""
    await session.execute(pg_insert(unit_repairs).values(
        id=new_id(), serial=serial, job_id=job_id, ticket_id=ticket_id, completed_on=clock.business_date(at),
        component=component or UNIT, parts_replaced=parts, in_warranty=in_warranty,
        components=list(dict.fromkeys(components or [])),
    ).on_conflict_do_nothing(index_elements=["job_id"]))
