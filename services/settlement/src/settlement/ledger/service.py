"""The settlement ledger: every fact a statement is built from, traceable to its source, applied once.

Facts arrive from upstream events (``consumers.py``), payments received (one, or a CSV import) and
verification findings (both here). A fact whose quarter is already closed for the dealer is booked into the
next open quarter.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, DomainError, Unprocessable
from aftersales_shared.ids import new_id

from ..access import visible
from ..audit import audit, jsonable
from ..dealers.service import get_dealer
from ..domain.fees import ZERO
from ..domain.ledger import ledger_line
from ..domain.quarters import Quarter
from ..domain.statement_lifecycle import CLOSED
from ..models import dealers, ledger_entries, statements
from .schemas import FindingCreate, PaymentCreate

MAX_IMPORT_BYTES = 5_000_000
IMPORT_COLUMNS = frozenset({"dealer_id", "document_no", "amount", "received_on"})

# Ledger kinds that feed statements; callback and sla_breach feed only the monthly assessment.
STATEMENT_KINDS = (
    "registered_sale", "payment", "repair", "home_visit", "return_cost", "complaint_upheld",
    "part_not_returned", "urgent_surcharge", "parts_budget_excess", "void_finding", "falsified_finding", "adjustment",
    "falsified_cards", "breach", "sla_damages", "sla_damages_waived", "repair_customer_paid", "third_party_cost",
    "unit_replacement",
    "repair_unregistered", "registered_sale_late",
    "repair_fee_reversed", "home_visit_fee_reversed",
)
ASSESSMENT_KINDS = ("callback", "sla_breach")
ALL_KINDS = STATEMENT_KINDS + ASSESSMENT_KINDS

FINDING_KINDS = {"incomplete_record": "void_finding", "falsified_record": "falsified_finding",
                 "falsified_cards": "falsified_cards", "breach": "breach", "return_cost": "return_cost"}
"""Finding kind (API) → ledger kind."""
_DEALER_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
"""The shape of a dealer id (``dealers/schemas.py::DealerId``): anything else in a CSV is an unknown dealer."""
VALUED_FINDINGS = ("incomplete_record", "falsified_record", "return_cost")


async def lock_dealer(session: AsyncSession, dealer_id: str) -> None:
    """Serialise ledger booking against approval for one dealer (late-event routing must see closures)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('settlement-dealer:' || :d))"),
                          {"d": dealer_id})


async def open_quarter_for(session: AsyncSession, dealer_id: str, quarter: Quarter) -> Quarter:
    """The quarter a fact is booked into: its own, or the next one not yet closed (late facts)."""
    closed = set((await session.execute(
        select(statements.c.quarter).distinct().where(
            statements.c.dealer_id == dealer_id, statements.c.quarter >= str(quarter),
            statements.c.status.in_([str(s) for s in CLOSED])))).scalars())
    while str(quarter) in closed:
        quarter = quarter.next()
    return quarter


async def record(
    session: AsyncSession, *, dealer_id: str, kind: str, occurred_at: datetime | date, source_type: str,
    source_id: str, amount: Decimal = ZERO, quantity: int = 1, details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """Book one ledger entry; False when its source was already applied (redelivery, re-import).

    The line itself (quarter, rounding, range) is the pure ``domain/ledger.py``; here only the closed-quarter
    routing and the write."""
    line = ledger_line(dealer_id=dealer_id, kind=kind, kinds=ALL_KINDS, occurred_at=occurred_at, amount=amount,
                       quantity=quantity)
    await lock_dealer(session, dealer_id)
    booked = await open_quarter_for(session, dealer_id, line.settle_from)
    stmt = insert(ledger_entries).values(
        dealer_id=dealer_id, kind=kind, amount=line.amount, quantity=line.quantity, occurred_at=line.occurred_at,
        quarter=str(line.quarter), booked_quarter=str(booked), source_type=source_type, source_id=source_id,
        details=jsonable(details or {}), created_at=now or clock.now(),
    ).on_conflict_do_nothing(index_elements=["source_type", "source_id"]).returning(ledger_entries.c.id)
    return (await session.execute(stmt)).first() is not None


async def book_repair(session: AsyncSession, *, dealer_id: str, at: datetime, home_visit: bool, source_type: str,
                      source_id: str, details: dict[str, Any], now: datetime) -> None:
    """An in-warranty repair, and its home visit if there was one (two entries, one source)."""
    await record(session, dealer_id=dealer_id, kind="repair", occurred_at=at, source_type=source_type,
                 source_id=source_id, details=details, now=now)
    if home_visit:
        await record(session, dealer_id=dealer_id, kind="home_visit", occurred_at=at,
                     source_type=source_type + "#home_visit", source_id=source_id, details=details, now=now)


async def _book_payment(session: AsyncSession, *, dealer_id: str, body: PaymentCreate, actor: Principal,
                        now: datetime) -> bool:
    return await record(session, dealer_id=dealer_id, kind="payment", occurred_at=body.received_on,
                        source_type="payment", source_id=body.document_no, amount=body.amount,
                        details={"recorded_by": actor.sub}, now=now)


async def add_payment(session: AsyncSession, *, dealer_id: str, body: PaymentCreate, actor: Principal,
                      now: datetime) -> dict[str, Any]:
    """Record one payment received (409 when its document was already recorded)."""
    await get_dealer(session, dealer_id=dealer_id, principal=actor)
    if not await _book_payment(session, dealer_id=dealer_id, body=body, actor=actor, now=now):
        raise Conflict(f"payment document {body.document_no} was already recorded", field="document_no",
                       code="duplicate_payment")
    await audit(session, actor=actor.sub, action="payment_recorded", entity_type="dealer", entity_id=dealer_id,
                details=body.model_dump(mode="json"), now=now)
    return {"dealer_id": dealer_id, **body.model_dump()}


async def import_payments(session: AsyncSession, *, raw: bytes, actor: Principal, now: datetime) -> dict[str, int]:
    """CSV with header dealer_id,document_no,amount,received_on; all rows valid or nothing is imported."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise Unprocessable("CSV larger than 5 MB", field="body")
    try:
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise Unprocessable(f"unreadable CSV: {exc}", field="body") from exc
    if not reader.fieldnames or not IMPORT_COLUMNS.issubset(reader.fieldnames):
        raise Unprocessable(f"CSV header must contain {', '.join(sorted(IMPORT_COLUMNS))}", field="body")
    named = {r["dealer_id"] for r in rows if isinstance(r["dealer_id"], str) and _DEALER_ID.fullmatch(r["dealer_id"])}
    known = set((await session.execute(select(dealers.c.id).where(
        dealers.c.id.in_(named), visible(actor, dealers.c.id)))).scalars()) if named else set()
    errors: list[dict[str, str]] = []
    parsed: list[tuple[str, PaymentCreate]] = []
    for n, r in enumerate(rows, start=2):
        try:
            if r["dealer_id"] not in known:
                raise ValueError(f"unknown dealer {r['dealer_id']!r}")
            body = PaymentCreate.model_validate({k: r[k] for k in ("document_no", "amount", "received_on")})
            parsed.append((r["dealer_id"], body))
        except ValidationError as exc:
            e = exc.errors()[0]
            where = ".".join(str(x) for x in e["loc"])
            errors.append({"field": f"row {n}", "reason": f"{where}: {e['msg']}"[:200]})
        except ValueError as exc:
            errors.append({"field": f"row {n}", "reason": str(exc).splitlines()[0][:200]})
    if errors:
        raise DomainError(f"{len(errors)} invalid row(s); nothing imported", field="body", code="invalid_csv",
                          status=422, extra={"row_errors": errors})
    imported = 0
    for dealer_id, body in parsed:
        imported += await _book_payment(session, dealer_id=dealer_id, body=body, actor=actor, now=now)
    await audit(session, actor=actor.sub, action="payments_imported", entity_type="import", entity_id=str(new_id()),
                details={"rows": len(parsed), "imported": imported}, now=now)
    return {"rows": len(parsed), "imported": imported, "duplicates": len(parsed) - imported}


async def add_finding(session: AsyncSession, *, dealer_id: str, body: FindingCreate, actor: Principal,
                      now: datetime) -> None:
    """Book a verification finding or charge (R-D3, R-D4, R-D5) once per reference."""
    await get_dealer(session, dealer_id=dealer_id, principal=actor)
    if body.kind in VALUED_FINDINGS and body.value <= 0:
        raise Unprocessable(f"a {body.kind} finding needs the record's value", field="value")
    ok = await record(session, dealer_id=dealer_id, kind=FINDING_KINDS[body.kind], occurred_at=body.occurred_at,
                      source_type=f"finding:{body.kind}", source_id=body.reference, amount=body.value,
                      details={"note": body.note, "by": actor.sub}, now=now)
    if not ok:
        raise Conflict(f"{body.kind} for {body.reference} was already recorded", field="reference",
                       code="duplicate_finding")
    await audit(session, actor=actor.sub, action="finding_recorded", entity_type="dealer", entity_id=dealer_id,
                details=body.model_dump(mode="json"), now=now)


async def list_entries(session: AsyncSession, *, dealer_id: str, principal: Principal, quarter: str,
                       limit: int) -> list[Any]:
    """The entries booked into ``quarter`` for a dealer the caller may see."""
    await get_dealer(session, dealer_id=dealer_id, principal=principal)
    c = ledger_entries.c
    rows = await session.execute(
        select(c.id, c.kind, c.amount, c.quantity, c.occurred_at, c.quarter, c.booked_quarter, c.source_type,
               c.source_id)
        .where(c.dealer_id == dealer_id, c.booked_quarter == quarter).order_by(c.id).limit(limit))
    return list(rows.mappings())


