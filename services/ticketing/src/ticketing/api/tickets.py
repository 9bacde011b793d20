"""Tickets (R-T1, R-T2): intake with idempotency and one open ticket per serial, lifecycle, search."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.app import DbSession
from aftersales_shared.auth import Principal, authorize, declares_roles
from aftersales_shared.errors import Conflict, DomainError, NotFound, Unprocessable
from aftersales_shared.events.ticketing import (
    TicketCancelled, TicketClosed, TicketOpenedPayload, TicketReopened, TicketStatusChanged,
)
from aftersales_shared.outbox import add_events

from ..domain.warranty import EXCLUSIONS, UNIT
from ..intake import Intake, Replayed, duplicate_problem
from ..metrics import DUPLICATE_TICKETS_REFUSED, IDEMPOTENT_REPLAYS, TICKETS_OPENED
from ..models import OPEN_STATUSES, product_lines, ticket_transitions, tickets
from ..phones import normalise_phone
from .common import WRITE_ROLES, Reader, Writer, dealer_scope, decode_cursor, encode_cursor, phone_for
from .units import SHANGHAI, RegionCode, Serial


log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/tickets", tags=["tickets"])
_DAY = timedelta(days=1)
Channel = Literal["phone", "web", "email", "sms"]
Status = Literal["open", "assigned", "en_route", "on_site", "paused", "closed", "cancelled"]
ExclusionCode = Literal[tuple(EXCLUSIONS)]  # type: ignore[valid-type]


class TicketCreate(BaseModel):
    """What a report records (R-T1) plus the agent's intake checks (R-T2)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    serial: Serial
    customer_name: Annotated[str, Field(min_length=1, max_length=100)]
    phone: Annotated[str, Field(min_length=3, max_length=40)]
    address: Annotated[str, Field(min_length=1, max_length=400)]
    region_code: RegionCode
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    channel: Channel
    fault_description: Annotated[str, Field(min_length=3, max_length=4000)]
    component: Annotated[str, Field(min_length=1, max_length=80)] = UNIT
    photos: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(default_factory=list, max_length=20)
    requested_action: Literal["repair", "exchange", "return", "inspection", "advice"] | None = None
    purchase_proof: Annotated[str, Field(max_length=200)] | None = None
    warranty_card_shown: bool | None = None
    exclusions: list[ExclusionCode] = Field(default_factory=list, max_length=9)
    force_new: bool = False
    force_reason: Annotated[str, Field(min_length=3, max_length=400)] | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalise_phone(v)

    @model_validator(mode="after")
    def _pairs(self) -> "TicketCreate":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        if self.force_new and not self.force_reason:
            raise DomainError("a forced second ticket needs a reason", field="force_reason", status=422,
                              code="validation_error")
        return self


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=3, max_length=400)]


class TransitionRead(BaseModel):
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None
    at: datetime


class TicketRead(BaseModel):
    id: UUID
    ticket_no: str
    serial: str
    product_line: str
    dealer_id: str | None
    contract_code: str | None
    customer_name: str
    phone: str
    address: str
    region_code: str
    lat: float | None
    lon: float | None
    channel: str
    fault_description: str
    component: str
    photos: list[str]
    requested_action: str | None
    purchase_proof: str | None
    coverage: str
    exclusions: list[str]
    warranty_reasons: list[str]
    status: str
    force_reason: str | None
    job_id: str | None
    created_by: str
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    history: list[TransitionRead] | None = None


class TicketPage(BaseModel):
    items: list[TicketRead]
    next_cursor: str | None


def ticket_read(p: Principal, row: Any) -> dict[str, Any]:
    d = dict(row)
    d["phone"] = phone_for(p, d["phone"])
    return d


async def open_ticket_of(session: AsyncSession, serial: str) -> Any:
    return (await session.execute(
        sa.select(tickets.c.id, tickets.c.ticket_no, tickets.c.status)
        .where(tickets.c.serial == serial, tickets.c.status.in_(OPEN_STATUSES), tickets.c.force_reason.is_(None))
    )).mappings().first()


_CREATE_DOC: dict[str, Any] = {  # what the route would declare if it let FastAPI parse its request
    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                    "schema": {"type": "string", "minLength": 8, "maxLength": 200}}],
    "requestBody": {"required": True, "content": {"application/json": {"schema": TicketCreate.model_json_schema()}}},
    "security": [{"HTTPBearer": []}],
}


@router.post("", status_code=201, response_model=TicketRead, openapi_extra=_CREATE_DOC,
             summary="Open a ticket (call_center, admin); Idempotency-Key makes retries safe",
             responses={409: {"description": "an open ticket exists for the serial (problem+json points to it)"}})
@declares_roles(WRITE_ROLES)
async def create_ticket(request: Request) -> Any:
    # The busiest route at peak reads its request itself: the same role check, header limits and body model
    # (parsed and validated in one pass by pydantic-core) with the same problem+json answers as declared
    # parameters, without FastAPI's per-request dependency resolution (docs/bench/ticketing.md).
    p = authorize(request, WRITE_ROLES)
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is not None and not 8 <= len(idempotency_key) <= 200:
        raise Unprocessable("an Idempotency-Key is 8 to 200 characters", field="Idempotency-Key")
    try:
        body = TicketCreate.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    fingerprint = hashlib.sha256(body.model_dump_json().encode()).hexdigest() if idempotency_key else None
    try:
        outcome = await request.app.state.intake.submit(Intake(body, p, idempotency_key, fingerprint))
    except Conflict as exc:
        if exc.code == "open_ticket_exists":
            DUPLICATE_TICKETS_REFUSED.inc()
        raise
    if isinstance(outcome, Replayed):
        IDEMPOTENT_REPLAYS.inc()
        return JSONResponse(outcome.response, status_code=outcome.status_code,
                            headers={"Idempotent-Replayed": "true"})
    TICKETS_OPENED.labels(body.channel, outcome.coverage).inc()
    log.info("ticket %s opened for serial %s (%s)", outcome.ticket_no, body.serial, outcome.coverage)
    return Response(outcome.response.encode(), status_code=201, media_type="application/json")


@router.get("", response_model=TicketPage,
            summary="Search tickets (call_center, admin, ops; dealer: own tickets); cursor pagination")
async def search_tickets(
    session: DbSession, p: Reader,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    serial: Annotated[str | None, Query(max_length=64)] = None,
    name: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    ticket_no: Annotated[str | None, Query(max_length=40)] = None,
    status: Status | None = None,
    dealer_id: Annotated[str | None, Query(max_length=64)] = None,
    opened_from: date | None = Query(None, alias="from"),
    opened_to: date | None = Query(None, alias="to"),
    q: Annotated[str | None, Query(min_length=2, max_length=200, description="text in the fault description")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    c = tickets.c
    where = []
    if phone:
        try:
            where.append(c.phone == normalise_phone(phone))
        except ValueError as e:
            raise Unprocessable(str(e), field="phone") from None
    if serial:
        where.append(c.serial == serial)
    if name:
        where.append(c.customer_name.ilike(f"%{_like(name)}%"))
    if ticket_no:
        where.append(c.ticket_no == ticket_no)
    if status:
        where.append(c.status == status)
    if (scope := dealer_scope(p, dealer_id)) is not None:
        where.append(c.dealer_id == scope)
    if opened_from:
        where.append(c.opened_at >= datetime.combine(opened_from, datetime.min.time(), SHANGHAI))
    if opened_to:
        where.append(c.opened_at < datetime.combine(opened_to, datetime.min.time(), SHANGHAI) + _DAY)
    if q:
        where.append(c.fault_description.ilike(f"%{_like(q)}%"))
    if cursor:
        at, last = decode_cursor(cursor)
        where.append(sa.tuple_(c.opened_at, c.id) < sa.tuple_(sa.literal(at), sa.literal(last)))
    rows = (await session.execute(sa.select(tickets).where(*where).order_by(c.opened_at.desc(), c.id.desc())
                                  .limit(limit + 1))).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [ticket_read(p, r) for r in rows],
            "next_cursor": encode_cursor(rows[-1]["opened_at"], rows[-1]["id"]) if more else None}


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")




async def _get(session: AsyncSession, p: Principal, ref: str) -> dict[str, Any]:
    cond = tickets.c.ticket_no == ref
    try:
        cond = tickets.c.id == UUID(ref)
    except ValueError:
        pass
    row = (await session.execute(sa.select(tickets).where(cond))).mappings().first()
    scope = dealer_scope(p)
    if row is None or (scope is not None and row["dealer_id"] != scope):
        raise NotFound(f"ticket {ref} not found", field="ticket")
    return dict(row)


TicketRef = Annotated[str, Path(min_length=1, max_length=64, description="ticket id or ticket number")]


@router.get("/{ticket}", response_model=TicketRead,
            summary="One ticket with its transition history (call_center, admin, ops; dealer: own)")
async def get_ticket(ticket: TicketRef, session: DbSession, p: Reader) -> Any:
    row = await _get(session, p, ticket)
    history = (await session.execute(sa.select(ticket_transitions).where(ticket_transitions.c.ticket_id == row["id"])
                                     .order_by(ticket_transitions.c.id))).mappings().all()
    return {**ticket_read(p, row), "history": [dict(h) for h in history]}


async def transition(
    session: AsyncSession, *, ticket_id: UUID, to: str, allowed_from: tuple[str, ...], actor: str,
    reason: str | None, at: datetime, **values: Any,
) -> Any:
    """Move a ticket if (and only if) it is in one of ``allowed_from``; history row and event in the same unit of work."""
    old = (await session.execute(sa.select(tickets.c.status).where(tickets.c.id == ticket_id).with_for_update())).scalar()
    if old is None or old not in allowed_from or old == to:
        return None
    row = (await session.execute(sa.update(tickets).where(tickets.c.id == ticket_id)
                                 .values(status=to, updated_at=at, **values).returning(*tickets.c))).mappings().one()
    await session.execute(sa.insert(ticket_transitions).values(ticket_id=ticket_id, from_status=old, to_status=to,
                                                               actor=actor, reason=reason, at=at))
    await add_events(session, TicketStatusChanged(aggregate_id=str(ticket_id), payload={
        "ticket_id": str(ticket_id), "from_status": old, "to_status": to, "actor": actor, "reason": reason,
        "changed_at": at}))
    return row


async def close_ticket(session: AsyncSession, *, ticket_id: UUID, actor: str, outcome: str, at: datetime) -> Any:
    """Close an open ticket (repair done) and announce it."""
    row = await transition(session, ticket_id=ticket_id, to="closed", allowed_from=OPEN_STATUSES, actor=actor,
                           reason=outcome, at=at, closed_at=at)
    if row is not None:
        await add_events(session, TicketClosed(aggregate_id=str(ticket_id), payload={
            "ticket_id": str(ticket_id), "dealer_id": row["dealer_id"], "outcome": outcome, "closed_at": at}))
    return row


@router.post("/{ticket}/cancel", response_model=TicketRead, summary="Cancel an open ticket (call_center, admin)")
async def cancel_ticket(ticket: TicketRef, body: Reason, session: DbSession, p: Writer) -> Any:
    current = await _get(session, p, ticket)
    now = datetime.now(UTC)
    row = await transition(session, ticket_id=current["id"], to="cancelled", allowed_from=OPEN_STATUSES, actor=p.sub,
                           reason=body.reason, at=now, closed_at=now)
    if row is None:
        raise Conflict(f"ticket {current['ticket_no']} is {current['status']} and cannot be cancelled",
                       field="status", code="invalid_transition")
    await add_events(session, TicketCancelled(aggregate_id=str(row["id"]), payload={
        "ticket_id": str(row["id"]), "reason": body.reason, "cancelled_at": now}))
    return ticket_read(p, row)


@router.post("/{ticket}/reopen", response_model=TicketRead,
             summary="Reopen a closed or cancelled ticket (call_center, admin)")
async def reopen_ticket(ticket: TicketRef, body: Reason, session: DbSession, p: Writer) -> Any:
    current = await _get(session, p, ticket)
    if current["status"] in OPEN_STATUSES:
        raise Conflict(f"ticket {current['ticket_no']} is already open", field="status", code="invalid_transition")
    if current["force_reason"] is None and (other := await open_ticket_of(session, current["serial"])):
        raise duplicate_problem(other)
    now = datetime.now(UTC)
    # the finished job is no longer the ticket's job: the reopened visit's job will be remembered when it exists
    row = await transition(session, ticket_id=current["id"], to="open", allowed_from=REOPENABLE,
                           actor=p.sub, reason=body.reason, at=now, closed_at=None, job_id=None)
    if row is None:
        raise Conflict("the ticket changed meanwhile; read it again", field="status", code="invalid_transition")
    skill = (await session.execute(sa.select(product_lines.c.required_skill)
                                   .where(product_lines.c.code == row["product_line"]))).scalar_one()
    await add_events(session, TicketReopened(aggregate_id=str(row["id"]), payload={
        **{k: row[k] for k in TicketOpenedPayload.model_fields if k in row},
        "ticket_id": str(row["id"]), "required_skill": skill, "visit": await current_visit(session, row["id"]),
        "reason": body.reason, "reopened_at": now}))
    return ticket_read(p, row)


REOPENABLE = ("closed", "cancelled")


async def current_visit(session: AsyncSession, ticket_id: UUID) -> int:
    """The ticket's dispatch number: 1, plus one per reopen (a reopen is the only move out of closed/cancelled)."""
    t = ticket_transitions.c
    reopens = (await session.execute(sa.select(sa.func.count()).select_from(ticket_transitions).where(
        t.ticket_id == ticket_id, t.from_status.in_(REOPENABLE), t.to_status == "open"))).scalar_one()
    return 1 + reopens
