"""The hot path of ``POST /v1/part-requests``: one call of ``parts.allocate_request`` on the raw asyncpg pool.

Twin and parity test: the PL/pgSQL function (migration ``parts_0003``) applies the rule of
``domain/allocation.choose``; ``tests/parts/test_allocation_path.py::test_database_choice_matches_domain_choose``
proves they pick the same warehouses, and ``test_response_equals_the_stored_request…`` that the function's JSON
equals ``GET /v1/part-requests/{id}`` (``schemas.RequestRead``). The move it makes (new → allocated /
backordered) and the event of that move are the first rows of ``domain/request_lifecycle.MOVES``.

Allocation is the parts service's peak path (issue 5), so it bypasses SQLAlchemy and runs as a single
statement outside any explicit BEGIN/COMMIT: the database function (migration parts_0003) claims the
Idempotency-Key, checks the catalogue, takes the per-part locks, picks and reserves stock, writes the
request, its lines, the outbox rows and the stored response, all in the statement's own transaction.
Concurrent allocations go through a group commit (``aftersales_shared.group_commit``): the requests that
arrive while a batch is in the database are written together, one function call each, pipelined in one
transaction with one commit. The batch first takes the per-part locks of all its requests in the same
global order every stock writer uses, so two batches wait for each other instead of deadlocking (the
function's own lock calls are then re-entrant no-ops).
Python keeps what needs the caller and the settings: who may request for whom, the R-P2/R-P3 gates that
decide whether the ship-by clock starts now, the event envelopes (typed, with correlation and trace
headers), and the metrics. The response JSON is assembled by the function and sent as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, Unprocessable
from aftersales_shared.events.parts import RequestCreated
from aftersales_shared.group_commit import GroupCommit
from aftersales_shared.idempotency import HEADER, replay_headers
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import row_for

from ..config import PartsSettings
from ..domain import request_lifecycle as lifecycle
from ..domain.request_lifecycle import RequestStatus
from ..metrics import ALLOCATIONS
from ..terms import service as dealer_terms
from ..wire import body_hash
from . import service as svc
from .schemas import RequestCreate

CALL = ("SELECT outcome, status_code, response, line_status, bad_line FROM parts.allocate_request("
        "$1, $2, $3, $4::jsonb, $5::uuid[], $6::text[], $7::int[], $8, $9::uuid[], $10::text[], $11::text[], "
        "$12::text[], $13::text[])")
_JSON = "application/json"
_LOCK_ALL = ("SELECT pg_advisory_xact_lock(hashtext('parts.stock:' || s.p)) "
             "FROM (SELECT DISTINCT p COLLATE \"C\" AS p FROM unnest($1::text[]) AS u(p) ORDER BY 1) AS s")


@dataclass(frozen=True)
class Allocation:
    """One request's function arguments, waiting for its batch."""

    args: tuple[Any, ...]
    part_nos: tuple[str, ...]
    key: str | None


async def write_batch(conn: asyncpg.Connection, batch: list[Allocation]) -> list[Any]:
    """One transaction of allocations: the function's row per request, in order."""
    if len(batch) > 1:
        await conn.execute(_LOCK_ALL, sorted({p for a in batch for p in a.part_nos}))
    rows = await conn.fetchmany(CALL, [a.args for a in batch])
    if len(rows) != len(batch):
        raise RuntimeError(f"allocate_request returned {len(rows)} rows for {len(batch)} calls")
    return rows


def committer(pool: asyncpg.Pool, workers: int = 1, max_batch: int = 64) -> GroupCommit[Allocation]:
    return GroupCommit("part_allocation", pool, write_batch, key=lambda a: a.key, workers=workers,
                       max_batch=max_batch)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def _allocation(settings: PartsSettings, sub: str, body: RequestCreate, key: str | None, *, kind: str,
                dealer_id: str | None, engineer_id: str | None, now: datetime, shippable_at: datetime | None,
                ship_by: datetime | None) -> tuple[str, Allocation]:
    """The request's id and the arguments of ``parts.allocate_request`` (the one creation path)."""
    rid = str(new_id())
    request: dict[str, Any] = {
        "id": rid, "requester_kind": kind, "job_id": body.job_id, "ticket_id": body.ticket_id, "dealer_id": dealer_id,
        "engineer_id": engineer_id, "coverage": body.coverage, "urgent": body.urgent,
        "ship_to_address": body.ship_to.address, "ship_to_lat": body.ship_to.lat, "ship_to_lon": body.ship_to.lon,
        "created_at": now.isoformat(), "shippable_at": _iso(shippable_at), "ship_by": _iso(ship_by),
        "payment_recorded_at": None, "payment_reference": None, "documents": {}, "shipped_at": None,
        "delivered_at": None, "shipment": None,
    }
    # built for the "allocated" outcome; the function re-labels them (new → backordered) when a line waits
    allocated = lifecycle.move(RequestStatus.NEW, RequestStatus.ALLOCATED)
    assert allocated is not None
    payload = {"request_id": rid, "job_id": body.job_id, "ticket_id": body.ticket_id, "dealer_id": dealer_id,
               "at": now, "status": RequestStatus.ALLOCATED.value, "ship_by": ship_by}
    events = [row_for(RequestCreated(aggregate_id=rid, payload=payload)),
              row_for(allocated(aggregate_id=rid, payload=payload))]
    lines = body.lines
    args = (sub, key, body_hash(body) if key is not None else None, json.dumps(request),
            [new_id() for _ in lines], [ln.part_no for ln in lines], [ln.quantity for ln in lines],
            settings.allow_split, [e["event_id"] for e in events], [e["topic"] for e in events],
            [e["event_type"] for e in events], [e["payload"] for e in events], [e["headers"] for e in events])
    # the function scopes a key to its caller, so the batch keeps (caller, key) pairs apart
    return rid, Allocation(args, tuple(ln.part_no for ln in lines), None if key is None else f"{sub}\x00{key}")


async def create_request(allocations: GroupCommit[Allocation], settings: PartsSettings, principal: Principal,
                         body: RequestCreate, key: str | None, *, now: datetime, pool: asyncpg.Pool) -> Response:
    """Create and allocate a request; a replayed Idempotency-Key returns the stored response."""
    kind, dealer_id, engineer_id = svc.requester(principal, body)
    shippable_at = ship_by = None
    if svc.shippable_from_start(settings, body.coverage):
        terms = await dealer_terms.terms_on_pool(pool, settings, dealer_id=dealer_id, on=clock.business_date(now))
        shippable_at, ship_by = now, svc.ship_by_of(settings, now, terms)
    lines = body.lines
    _rid, allocation = _allocation(settings, principal.sub, body, key, kind=kind, dealer_id=dealer_id,
                                   engineer_id=engineer_id, now=now, shippable_at=shippable_at, ship_by=ship_by)
    row = await allocations.submit(allocation)
    outcome = row["outcome"]
    if outcome == "created":
        for status in row["line_status"]:
            ALLOCATIONS.labels(status).inc()
        return Response(row["response"].encode(), status_code=201, media_type=_JSON)
    if outcome == "replay":
        return Response(row["response"].encode(), status_code=row["status_code"], media_type=_JSON,
                        headers=replay_headers(True))
    if outcome == "key_reused":
        raise Conflict("Idempotency-Key was used with a different body", field=HEADER,
                       code="idempotency_key_reused")
    i = row["bad_line"] - 1
    raise Unprocessable(f"unknown part {lines[i].part_no}", field=f"lines.{i}.part_no", code="unknown_part")



async def create_in_session(session: AsyncSession, settings: PartsSettings, body: RequestCreate, *, sub: str,
                            key: str, kind: str, dealer_id: str | None, now: datetime) -> tuple[str, str]:
    """A request an event asks for (a unit shipped for a 三包 remedy): the same database function, in the
    consumer's unit of work; ``key`` (scoped to ``sub``) makes a redelivered or repeated event a replay.
    Returns (outcome, request id): ``created`` or ``replay``; an unknown part raises (the event dead-letters)."""
    shippable_at = ship_by = None
    if svc.shippable_from_start(settings, body.coverage):
        terms = await dealer_terms.terms_on(session, settings, dealer_id=dealer_id, on=clock.business_date(now))
        shippable_at, ship_by = now, svc.ship_by_of(settings, now, terms)
    _rid, allocation = _allocation(settings, sub, body, key, kind=kind, dealer_id=dealer_id, engineer_id=None,
                                   now=now, shippable_at=shippable_at, ship_by=ship_by)
    raw = await (await session.connection()).get_raw_connection()
    conn: asyncpg.Connection = raw.driver_connection
    row = await conn.fetchrow(CALL, *allocation.args)
    assert row is not None
    if row["outcome"] not in ("created", "replay"):
        raise Unprocessable(f"the request for {body.lines[0].part_no} was refused: {row['outcome']}",
                            field="lines.0.part_no", code=row["outcome"])
    return row["outcome"], json.loads(row["response"])["id"]
