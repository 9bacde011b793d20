"""HTTP: the delivery queue's counts and the replay of a failed batch (runbook, docs/notifications.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from aftersales_shared import clock
from aftersales_shared.app import DbSession

from ..access import CanReplayDeliveries
from . import service
from .schemas import QueueRead, ReplayIn, ReplayRead

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])


@router.get("/counts", response_model=QueueRead, summary="Deliveries by status (admin, ops)")
async def queue_counts(session: DbSession, _p: CanReplayDeliveries) -> Any:
    return {"counts": await service.counts(session)}


@router.post("/replay", response_model=ReplayRead,
             summary="Re-queue failed deliveries (by time, kind or ids) from their first channel (admin, ops)")
async def replay(body: ReplayIn, session: DbSession, _p: CanReplayDeliveries) -> Any:
    n = await service.replay_failed(session, now=clock.now(), since=body.since, kind=body.kind, ids=body.ids,
                                    limit=body.limit)
    return {"replayed": n}
