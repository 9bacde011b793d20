"""Complaints (R-T6): their own resource and lifecycle, linked to tickets and dealers, with a response deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from aftersales_shared.app import DbSession
from aftersales_shared.errors import Conflict, NotFound, Unprocessable
from aftersales_shared.events.ticketing import ComplaintFiled, ComplaintResolved
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from ..metrics import COMPLAINTS
from ..models import complaints, tickets
from .common import Reader, Writer, dealer_scope

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])
Category = Literal["service", "quality_feedback", "escalation", "other"]
Against = Literal["dealer", "manufacturer", "engineer", "none"]


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    ticket_id: UUID | None = None
    dealer_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    category: Category
    description: Annotated[str, Field(min_length=3, max_length=4000)]


class ComplaintResolve(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    upheld: bool
    against: Against
    resolution: Annotated[str, Field(min_length=3, max_length=4000)]
    root_cause: Annotated[str, Field(max_length=400)] | None = None

    @model_validator(mode="after")
    def _who(self) -> "ComplaintResolve":
        if self.upheld and self.against == "none":
            raise ValueError("an upheld complaint names against whom (dealer, manufacturer or engineer)")
        if not self.upheld and self.against != "none":
            raise ValueError("a complaint not upheld is against none")
        return self


class ComplaintRead(BaseModel):
    id: UUID
    ticket_id: UUID | None
    dealer_id: str | None
    category: str
    description: str
    status: str
    filed_by: str
    filed_at: datetime
    respond_by: datetime
    overdue: bool
    upheld: bool | None
    against: str | None
    resolution: str | None
    root_cause: str | None
    resolved_at: datetime | None


def _read(row: Any, now: datetime) -> dict[str, Any]:
    d = dict(row)
    d["overdue"] = d["status"] == "open" and now > d["respond_by"]
    return d


@router.post("", status_code=201, response_model=ComplaintRead,
             summary="File a complaint (call_center, admin); emits ComplaintFiled")
async def file_complaint(body: ComplaintCreate, request: Request, session: DbSession, p: Writer) -> Any:
    dealer = body.dealer_id
    if body.ticket_id:
        t = (await session.execute(sa.select(tickets.c.dealer_id).where(tickets.c.id == body.ticket_id))).first()
        if t is None:
            raise Unprocessable(f"ticket {body.ticket_id} not found", field="ticket_id")
        dealer = dealer or t.dealer_id
    now = datetime.now(UTC)
    hours = request.app.state.settings.complaint_response_hours.get(body.category, 72)
    row = (await session.execute(sa.insert(complaints).values(
        id=new_id(), ticket_id=body.ticket_id, dealer_id=dealer, category=body.category,
        description=body.description, status="open", filed_by=p.sub, filed_at=now,
        respond_by=now + timedelta(hours=hours)).returning(*complaints.c))).mappings().one()
    await add_events(session, ComplaintFiled(aggregate_id=str(row["id"]), payload={
        "complaint_id": str(row["id"]), "ticket_id": str(row["ticket_id"]) if row["ticket_id"] else None,
        "dealer_id": dealer, "category": body.category, "filed_at": now, "respond_by": row["respond_by"]}))
    COMPLAINTS.labels("filed").inc()
    return _read(row, now)


@router.post("/{complaint_id}/resolve", response_model=ComplaintRead,
             summary="Resolve a complaint: upheld or not, against whom (call_center, admin); emits ComplaintResolved")
async def resolve_complaint(complaint_id: UUID, body: ComplaintResolve, session: DbSession, _p: Writer) -> Any:
    now = datetime.now(UTC)
    row = (await session.execute(sa.update(complaints).where(complaints.c.id == complaint_id,
                                                             complaints.c.status == "open")
                                 .values(status="resolved", resolved_at=now, **body.model_dump())
                                 .returning(*complaints.c))).mappings().first()
    if row is None:
        if (await session.execute(sa.select(complaints.c.id).where(complaints.c.id == complaint_id))).scalar():
            raise Conflict("the complaint is already resolved", field="status", code="invalid_transition")
        raise NotFound(f"complaint {complaint_id} not found", field="complaint_id")
    await add_events(session, ComplaintResolved(aggregate_id=str(complaint_id), payload={
        "complaint_id": str(complaint_id), "ticket_id": str(row["ticket_id"]) if row["ticket_id"] else None,
        "dealer_id": row["dealer_id"], "upheld": body.upheld, "against": body.against, "resolved_at": now}))
    COMPLAINTS.labels("resolved").inc()
    return _read(row, now)


@router.get("", response_model=list[ComplaintRead],
            summary="List complaints (call_center, admin, ops; dealer: own), newest first")
async def list_complaints(session: DbSession, p: Reader, dealer_id: str | None = None,
                          status: Literal["open", "resolved"] | None = None, overdue: bool = False) -> Any:
    now = datetime.now(UTC)
    where = []
    if (scope := dealer_scope(p, dealer_id)) is not None:
        where.append(complaints.c.dealer_id == scope)
    if status:
        where.append(complaints.c.status == status)
    if overdue:
        where += [complaints.c.status == "open", complaints.c.respond_by < now]
    rows = (await session.execute(sa.select(complaints).where(*where).order_by(complaints.c.filed_at.desc())
                                  .limit(500))).mappings().all()
    return [_read(r, now) for r in rows]


@router.get("/{complaint_id}", response_model=ComplaintRead,
            summary="One complaint (call_center, admin, ops; dealer: own)")
async def get_complaint(complaint_id: Annotated[UUID, Path()], session: DbSession, p: Reader) -> Any:
    row = (await session.execute(sa.select(complaints).where(complaints.c.id == complaint_id))).mappings().first()
    scope = dealer_scope(p)
    if row is None or (scope is not None and row["dealer_id"] != scope):
        raise NotFound(f"complaint {complaint_id} not found", field="complaint_id")
    return _read(row, datetime.now(UTC))
