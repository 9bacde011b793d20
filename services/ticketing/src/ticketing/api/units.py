"""Installed base: units, CSV bulk import, warranty-card registration (R-W10), extensions (R-W6),
seller/customer delays (R-W7) and the warranty determination endpoint."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.app import DbSession
from aftersales_shared.errors import Conflict, DomainError, NotFound, Unprocessable
from aftersales_shared.events.ticketing import ExtensionPurchased, UnitRegistered
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from ..domain.warranty import (
    UNIT, Delay, Extension, Repair, UnitFacts, WarrantyDetermination, WarrantyError, WarrantyPolicy,
    determine_warranty,
)
from ..models import unit_delays, unit_extensions, units, warranty_policies
from ..phones import normalise_phone
from .catalog import to_domain
from .common import Reader, Writer, dealer_scope, phone_for

router = APIRouter(prefix="/v1/units", tags=["installed base"])
SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_IMPORT_ROWS = 10_000
Serial = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{3,63}$")]
SerialPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{3,63}$")]
Text = Annotated[str, Field(min_length=1, max_length=200)]
RegionCode = Annotated[str, Field(pattern=r"^\d{6}$", description="GB/T 2260 administrative code")]


def today() -> date:
    return datetime.now(SHANGHAI).date()


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    serial: Serial
    product_line: Annotated[str, Field(min_length=1, max_length=40)]
    customer_name: Text | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    address: Annotated[str, Field(max_length=400)] | None = None
    region_code: RegionCode | None = None
    dealer_id: Annotated[str, Field(max_length=64)] | None = None
    contract_code: Annotated[str, Field(max_length=64)] | None = None
    sold_on: date | None = None
    delivered_on: date | None = None
    installed_on: date | None = None
    dealer_received_on: date | None = None
    sale_amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return normalise_phone(v) if v else None


class UnitRead(BaseModel):
    serial: str
    product_line: str
    policy_id: Any
    customer_name: str | None
    phone: str | None
    address: str | None
    region_code: str | None
    dealer_id: str | None
    contract_code: str | None
    sold_on: date | None
    delivered_on: date | None
    installed_on: date | None
    dealer_received_on: date | None
    card_registered_on: date | None
    sale_amount: Decimal | None
    created_at: datetime


class CardRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    registered_on: date


class ExtensionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paid_on: date


class DelayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    started_on: date
    days: int = Field(ge=1, le=3650)
    caused_by: Literal["seller", "customer"]
    note: Annotated[str, Field(max_length=400)] | None = None


class ComponentRead(BaseModel):
    component: str
    state: str
    base_ends_on: date | None
    ends_on: date | None
    reason: str


class WarrantyRead(BaseModel):
    serial: str
    on: date
    policy_id: Any
    basis: str | None
    start_date: date | None
    coverage: str
    component: str
    components: list[ComponentRead]
    early_life_rights: list[str]
    replace_unit: bool
    replace_components: list[str]
    repair_counts: dict[str, int]
    exclusions: list[str]
    reasons: list[str]
    shipping_customer_share: str  # R-W9, e.g. "0.50"


def warranty_read(serial: str, policy_id: Any, d: WarrantyDetermination) -> dict[str, Any]:
    return {
        "serial": serial, "on": d.on, "policy_id": policy_id, "basis": d.basis, "start_date": d.start_date,
        "coverage": d.coverage, "component": d.component,
        "components": [c.__dict__ for c in d.components], "early_life_rights": d.early_life.names(),
        "replace_unit": d.repeat_repair.replace_unit, "replace_components": list(d.repeat_repair.replace_components),
        "repair_counts": d.repeat_repair.repair_counts, "exclusions": list(d.exclusions), "reasons": list(d.reasons),
        "shipping_customer_share": format(d.shipping_customer_share, "f"),
    }


FACTS_SQL = """
SELECT u.serial, u.product_line, u.policy_id, u.dealer_id, u.contract_code, u.sold_on, u.delivered_on,
       u.installed_on, u.dealer_received_on, u.card_registered_on, p.terms, pl.required_skill,
       (SELECT coalesce(json_agg(json_build_array(e.paid_on, e.months)), '[]') FROM unit_extensions e
         WHERE e.serial = u.serial) AS extensions,
       (SELECT coalesce(json_agg(json_build_array(d.started_on, d.days, d.caused_by)), '[]') FROM unit_delays d
         WHERE d.serial = u.serial) AS delays,
       (SELECT coalesce(json_agg(json_build_array(r.completed_on, r.component, r.parts_replaced, r.in_warranty)),
               '[]') FROM unit_repairs r WHERE r.serial = u.serial) AS repairs
FROM units u JOIN warranty_policies p ON p.id = u.policy_id JOIN product_lines pl ON pl.code = u.product_line
WHERE u.serial = :serial
"""
_FACTS = sa.text(FACTS_SQL)

_POLICY_CACHE: dict[Any, WarrantyPolicy] = {}  # policy versions are immutable once written


async def load_unit(session: AsyncSession, serial: str) -> tuple[dict[str, Any], WarrantyPolicy, UnitFacts] | None:
    """The unit row, its policy and its facts for warranty determination, in one query."""
    row = (await session.execute(_FACTS, {"serial": serial})).mappings().first()
    return None if row is None else unit_from_row(row)


def unit_from_row(row: Any) -> tuple[dict[str, Any], WarrantyPolicy, UnitFacts]:
    """Policy (cached by version) and facts from a row shaped by FACTS_SQL."""
    policy = _POLICY_CACHE.get(row["policy_id"])
    if policy is None:
        policy = _POLICY_CACHE.setdefault(row["policy_id"], to_domain(row["terms"]))
    d = date.fromisoformat
    facts = UnitFacts(
        sold_on=row["sold_on"], delivered_on=row["delivered_on"], installed_on=row["installed_on"],
        dealer_received_on=row["dealer_received_on"], has_warranty_card=row["card_registered_on"] is not None,
        extensions=tuple(Extension(d(p), m) for p, m in row["extensions"]),
        delays=tuple(Delay(d(s), n, c) for s, n, c in row["delays"]),
        repairs=tuple(Repair(d(c), comp, tuple(parts), w) for c, comp, parts, w in row["repairs"]),
    )
    return dict(row), policy, facts


def determine(policy: WarrantyPolicy, facts: UnitFacts, on: date, *, component: str, exclusions: list[str],
              warranty_card_shown: bool | None = None) -> WarrantyDetermination:
    """Run the pure rules, turning a rule refusal into a 422 naming the field."""
    if warranty_card_shown is not None:
        facts = UnitFacts(**{**facts.__dict__, "has_warranty_card": warranty_card_shown})
    try:
        return determine_warranty(policy, facts, on, component=component, exclusions=tuple(exclusions))
    except WarrantyError as e:
        raise Unprocessable(str(e), field=e.field) from None


async def _policies_for(session: AsyncSession, lines: set[str]) -> dict[str, list[tuple[date, Any]]]:
    rows = (await session.execute(
        sa.select(warranty_policies.c.product_line, warranty_policies.c.effective_from, warranty_policies.c.id)
        .where(warranty_policies.c.product_line.in_(lines))
        .order_by(warranty_policies.c.effective_from.desc(), warranty_policies.c.version.desc()))).all()
    out: dict[str, list[tuple[date, Any]]] = {}
    for line, eff, pid in rows:
        out.setdefault(line, []).append((eff, pid))
    return out


def _pick(policies: dict[str, list[tuple[date, Any]]], u: UnitCreate) -> Any:
    """The policy in force at sale (or at the dealer's receipt, or today when neither is known)."""
    on = u.sold_on or u.delivered_on or u.dealer_received_on or today()
    return next((pid for eff, pid in policies.get(u.product_line, []) if eff <= on), None)


async def _check_dealer_unit(session: AsyncSession, serial: str, principal: Any) -> dict[str, Any]:
    row = (await session.execute(sa.select(units).where(units.c.serial == serial))).mappings().first()
    scope = dealer_scope(principal)
    if row is None or (scope is not None and row["dealer_id"] != scope):
        raise NotFound(f"unit {serial} not found", field="serial")
    return dict(row)


def _read(principal: Any, row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "phone": phone_for(principal, row.get("phone"))}


@router.post("", status_code=201, response_model=UnitRead, summary="Register a unit in the installed base (call_center, admin)")
async def create_unit(body: UnitCreate, session: DbSession, p: Writer) -> Any:
    policies = await _policies_for(session, {body.product_line})
    if body.product_line not in policies:
        raise Unprocessable(f"product line {body.product_line} has no warranty policy", field="product_line")
    pid = _pick(policies, body)
    if pid is None:
        raise Unprocessable("no warranty policy of this product line was in force at the sale date", field="sold_on")
    row = (await session.execute(
        pg_insert(units).values(**body.model_dump(), policy_id=pid)
        .on_conflict_do_nothing().returning(*units.c))).mappings().first()
    if row is None:
        raise Conflict(f"unit {body.serial} already exists", field="serial")
    return _read(p, dict(row))


@router.post("/import", summary="Bulk import units from CSV (call_center, admin): all rows or none",
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def import_units(request: Request, session: DbSession, _p: Writer) -> dict[str, Any]:
    """Header row with UnitCreate field names; at most 10,000 rows; any error rejects the whole file."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("the CSV must be UTF-8", field="body") from None
    reader = csv.DictReader(io.StringIO(text))
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
    if not rows and not errors:
        raise Unprocessable("the CSV has no rows", field="body")
    policies = await _policies_for(session, {u.product_line for u in rows})
    existing = set((await session.execute(sa.select(units.c.serial).where(units.c.serial.in_(list(seen))))).scalars())
    values = []
    for u in rows:
        n = seen[u.serial]
        if u.serial in existing:
            errors.append({"row": n, "field": "serial", "reason": "unit already exists"})
        elif u.product_line not in policies:
            errors.append({"row": n, "field": "product_line", "reason": "unknown product line or no policy"})
        elif (pid := _pick(policies, u)) is None:
            errors.append({"row": n, "field": "sold_on", "reason": "no policy in force at the sale date"})
        else:
            values.append({**u.model_dump(), "policy_id": pid})
    if errors:
        errors.sort(key=lambda e: e["row"])
        raise Unprocessable(f"{len(errors)} error(s) in the CSV; nothing was imported", code="import_rejected",
                            extra={"row_errors": errors, "imported": 0})
    await session.execute(sa.insert(units), values)
    return {"imported": len(values)}


@router.get("/{serial}", response_model=UnitRead, summary="One unit (call_center, admin, ops; dealer: own units)")
async def get_unit(serial: SerialPath, session: DbSession, p: Reader) -> Any:
    return _read(p, await _check_dealer_unit(session, serial, p))


@router.get("/{serial}/warranty", response_model=WarrantyRead,
            summary="Warranty position on a date (call_center, admin, ops; dealer: own units)")
async def get_warranty(
    serial: SerialPath, session: DbSession, p: Reader, on: date | None = None,
    component: Annotated[str, Query(min_length=1, max_length=80)] = UNIT,
    exclusions: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006 - FastAPI query list
) -> Any:
    await _check_dealer_unit(session, serial, p)
    loaded = await load_unit(session, serial)
    assert loaded is not None
    row, policy, facts = loaded
    return warranty_read(serial, row["policy_id"], determine(policy, facts, on or today(), component=component,
                                                             exclusions=exclusions))


@router.post("/{serial}/warranty-card", response_model=UnitRead,
             summary="Record the returned warranty card (R-W10) (call_center, admin); emits UnitRegistered")
async def register_card(serial: SerialPath, body: CardRegistration, session: DbSession, p: Writer) -> Any:
    row = (await session.execute(
        sa.update(units).where(units.c.serial == serial, units.c.card_registered_on.is_(None))
        .values(card_registered_on=body.registered_on).returning(*units.c))).mappings().first()
    if row is None:
        await _check_dealer_unit(session, serial, p)
        raise Conflict(f"the warranty card of {serial} is already registered", field="serial")
    if row["sold_on"] and body.registered_on < row["sold_on"]:
        raise Unprocessable("the card cannot be registered before the sale", field="registered_on")
    await add_events(session, UnitRegistered(aggregate_id=serial, payload={
        "serial": serial, "product_line": row["product_line"], "dealer_id": row["dealer_id"],
        "sold_on": row["sold_on"], "registered_on": body.registered_on, "sale_amount": row["sale_amount"]}))
    return _read(p, dict(row))


@router.post("/{serial}/extensions", status_code=201,
             summary="Sell the policy's paid extension (R-W6) (call_center, admin); emits ExtensionPurchased")
async def buy_extension(serial: SerialPath, body: ExtensionCreate, session: DbSession, _p: Writer) -> dict[str, Any]:
    loaded = await load_unit(session, serial)
    if loaded is None:
        raise NotFound(f"unit {serial} not found", field="serial")
    _row, policy, _facts = loaded
    if policy.extension_months is None or policy.extension_price is None:
        raise Unprocessable("this unit's warranty policy offers no paid extension", field="serial")
    ext = {"id": new_id(), "serial": serial, "paid_on": body.paid_on, "months": policy.extension_months,
           "price": policy.extension_price}
    await session.execute(sa.insert(unit_extensions).values(**ext))
    await add_events(session, ExtensionPurchased(aggregate_id=serial, payload={
        "serial": serial, "paid_on": body.paid_on, "months": policy.extension_months, "price": policy.extension_price}))
    return {k: (str(v) if k in ("id", "price") else v) for k, v in ext.items()}


@router.post("/{serial}/delays", status_code=201,
             summary="Record a service delay (R-W7: seller-caused delays extend the warranty) (call_center, admin)")
async def add_delay(serial: SerialPath, body: DelayCreate, session: DbSession, _p: Writer) -> dict[str, Any]:
    if (await session.execute(sa.select(units.c.serial).where(units.c.serial == serial))).scalar() is None:
        raise NotFound(f"unit {serial} not found", field="serial")
    values = {"id": new_id(), "serial": serial, **body.model_dump()}
    await session.execute(sa.insert(unit_delays).values(**values))
    return {**values, "id": str(values["id"])}



