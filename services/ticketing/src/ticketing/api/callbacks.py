"""Callbacks and satisfaction (R-T5): a task per completed repair, the agent's outcome, the monthly dealer report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from aftersales_shared.app import DbSession
from aftersales_shared.errors import Conflict, NotFound
from aftersales_shared.events.ticketing import CallbackRecorded
from aftersales_shared.outbox import add_events

from ..metrics import CALLBACKS
from ..models import callbacks
from .common import Reader, Writer, dealer_scope

router = APIRouter(tags=["callbacks and satisfaction"])
CALLBACK_TARGET = 0.25  # R-T5: at least 25 % of a month's repairs are called back


class CallbackOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reached: bool
    fixed: bool | None = None
    satisfaction: int | None = Field(None, ge=1, le=5)
    comment: Annotated[str, Field(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _reached(self) -> "CallbackOutcome":
        if not self.reached and (self.fixed is not None or self.satisfaction is not None):
            raise ValueError("fixed and satisfaction are only known when the customer was reached")
        return self


class CallbackRead(BaseModel):
    id: UUID
    ticket_id: UUID
    job_id: str | None
    dealer_id: str | None
    repair_completed_at: datetime
    status: str
    reached: bool | None
    fixed: bool | None
    satisfaction: int | None
    comment: str | None
    recorded_by: str | None
    recorded_at: datetime | None


@router.get("/v1/callbacks", response_model=list[CallbackRead],
            summary="Callback tasks, oldest first (call_center, admin, ops; dealer: own)")
async def list_callbacks(session: DbSession, p: Reader, status: Literal["pending", "done"] | None = "pending",
                         dealer_id: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    where = []
    if status:
        where.append(callbacks.c.status == status)
    if (scope := dealer_scope(p, dealer_id)) is not None:
        where.append(callbacks.c.dealer_id == scope)
    rows = (await session.execute(sa.select(callbacks).where(*where).order_by(callbacks.c.repair_completed_at)
                                  .limit(limit))).mappings().all()
    return [dict(r) for r in rows]


@router.post("/v1/callbacks/{callback_id}/outcome", response_model=CallbackRead,
             summary="Record a callback's outcome (call_center, admin); emits CallbackRecorded")
async def record_callback(callback_id: UUID, body: CallbackOutcome, session: DbSession, p: Writer) -> Any:
    now = datetime.now(UTC)
    row = (await session.execute(sa.update(callbacks).where(callbacks.c.id == callback_id,
                                                            callbacks.c.status == "pending")
                                 .values(status="done", recorded_by=p.sub, recorded_at=now, **body.model_dump())
                                 .returning(*callbacks.c))).mappings().first()
    if row is None:
        if (await session.execute(sa.select(callbacks.c.id).where(callbacks.c.id == callback_id))).scalar():
            raise Conflict("this callback is already recorded", field="callback_id", code="invalid_transition")
        raise NotFound(f"callback {callback_id} not found", field="callback_id")
    await add_events(session, CallbackRecorded(aggregate_id=str(row["ticket_id"]), payload={
        "ticket_id": str(row["ticket_id"]), "dealer_id": row["dealer_id"], "reached": body.reached,
        "fixed": body.fixed, "satisfaction": body.satisfaction, "recorded_at": now}))
    CALLBACKS.labels("recorded").inc()
    return dict(row)


_REPORT = sa.text("""
WITH bounds AS (
  SELECT (CAST(:month || '-01' AS timestamp) AT TIME ZONE 'Asia/Shanghai') AS lo,
         ((CAST(:month || '-01' AS timestamp) + interval '1 month') AT TIME ZONE 'Asia/Shanghai') AS hi
), cb AS (
  SELECT coalesce(c.dealer_id, '') AS dealer_id, count(*) AS repairs, count(*) FILTER (WHERE c.status = 'done') AS called,
         count(*) FILTER (WHERE c.reached) AS reached, count(*) FILTER (WHERE c.fixed) AS fixed,
         avg(c.satisfaction) AS satisfaction, count(c.satisfaction) AS rated
  FROM callbacks c, bounds b WHERE c.repair_completed_at >= b.lo AND c.repair_completed_at < b.hi
  GROUP BY 1
), cp AS (
  SELECT coalesce(m.dealer_id, '') AS dealer_id, count(*) AS complaints, count(*) FILTER (WHERE m.upheld) AS upheld
  FROM complaints m, bounds b WHERE m.filed_at >= b.lo AND m.filed_at < b.hi GROUP BY 1
)
SELECT nullif(coalesce(cb.dealer_id, cp.dealer_id), '') AS dealer_id, coalesce(cb.repairs, 0) AS repairs,
       coalesce(cb.called, 0) AS callbacks, coalesce(cb.reached, 0) AS reached, coalesce(cb.fixed, 0) AS fixed,
       cb.satisfaction, coalesce(cb.rated, 0) AS rated, coalesce(cp.complaints, 0) AS complaints,
       coalesce(cp.upheld, 0) AS upheld_complaints
FROM cb FULL OUTER JOIN cp ON cb.dealer_id = cp.dealer_id
ORDER BY 1 NULLS LAST
""")


@router.get("/v1/reports/dealer-monthly",
            summary="Per dealer and month: callback rate vs the 25 % target, satisfaction, complaint rate "
                    "(call_center, admin, ops; dealer: own)")
async def dealer_monthly(session: DbSession, p: Reader,
                         month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")],
                         dealer_id: str | None = None) -> dict[str, Any]:
    scope = dealer_scope(p, dealer_id)
    rows = (await session.execute(_REPORT, {"month": month})).mappings().all()
    out = []
    for r in rows:
        if scope is not None and r["dealer_id"] != scope:
            continue
        rate = r["callbacks"] / r["repairs"] if r["repairs"] else None
        out.append({
            "dealer_id": r["dealer_id"], "repairs": r["repairs"], "callbacks": r["callbacks"],
            "callback_rate": round(rate, 4) if rate is not None else None, "callback_target": CALLBACK_TARGET,
            "meets_callback_target": rate is not None and rate >= CALLBACK_TARGET,
            "reached": r["reached"], "fixed_on_callback": r["fixed"],
            "satisfaction_avg": round(float(r["satisfaction"]), 2) if r["satisfaction"] is not None else None,
            "satisfaction_responses": r["rated"], "complaints": r["complaints"],
            "upheld_complaints": r["upheld_complaints"],
            "complaint_rate": round(r["complaints"] / r["repairs"], 4) if r["repairs"] else None,
        })
    return {"month": month, "dealers": out}
