"""Ticket intake (R-T1, R-T2), written in batches through ``aftersales_shared.group_commit`` — the hot path.

``POST /v1/tickets`` (``tickets/router.py``) reads its own request (``authorize``, ``idempotency.check_key``,
``TicketCreate.model_validate_json``) and submits an ``Intake`` here; ``main.py`` starts the ``GroupCommit`` that
calls ``write_batch``. The SQL below is hand-written, set-based asyncpg SQL (no SQLAlchemy): the benchmarks
(``benchmarks/bench_intake.py``, docs/benchmarks.md) justify it. It names the tables of ``models.py`` itself
(``tickets``, ``ticket_transitions``, ``reported_time_audit``, ``idempotency_keys``, ``outbox``) and splices
``units/queries.FACTS_SQL``.

The Idempotency-Key rule (one per service, ``aftersales_shared.idempotency``): a key is claimed in the batch's
first statement; a request whose key was claimed earlier is answered from the stored response (replay header
``Idempotent-Replayed: true``), or 422 ``idempotency_key_reused`` if its body differs (fingerprint), or 409
``idempotency_key_in_flight`` while the first is still being written; a refused request's claim is deleted.

Tests: ``tests/ticketing/test_intake_batching.py`` (mixed bursts, a failing batch retried one by one, the key
DELETE by primary key) and ``tests/ticketing/test_tickets_api.py`` (intake, idempotency races, duplicates).

One batch is two statements: one claims every Idempotency-Key, reads every unit's warranty facts and draws
the ticket numbers; one inserts the tickets, first transitions, report-time audit rows (issue 15), outbox rows
and stored responses. Outcomes stay per request:
- two requests for one serial in a batch: the first (by arrival) opens the ticket, the second gets the 409
  pointing to it, exactly as if they had come one after the other;
- an unknown serial or a rule refusal fails only that request, and its Idempotency-Key claim is removed;
- two requests with the same Idempotency-Key never share a batch (the later one is answered from the
  stored response).
Rows are locked in a fixed order (keys sorted, serials sorted) so two concurrent batches wait rather than
deadlock.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, DomainError, Unprocessable
from aftersales_shared.events.ticketing import TicketOpened, TicketOpenedPayload
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import WAKE_RELAY_SQL, row_for

from ..domain.reported_time import reported_time_problem
from ..domain.ticket_lifecycle import OPEN_STATUSES
from ..units.queries import FACTS_SQL, unit_from_row
from ..units.service import determine
from .schemas import TicketCreate

log = logging.getLogger(__name__)

_READ = f"""
WITH req AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS req(rk, rf, rserial, rn)
), k AS (
  INSERT INTO idempotency_keys (key, fingerprint)
  SELECT rk, rf FROM req WHERE rk IS NOT NULL ORDER BY rk
  ON CONFLICT DO NOTHING RETURNING key
)
SELECT req.rn, req.rk IN (SELECT key FROM k) AS claimed, nextval('ticket_no_seq') AS seq, f.*
FROM req LEFT JOIN LATERAL ({FACTS_SQL.replace(":serial", "req.rserial")}) AS f ON true
ORDER BY req.rn
"""

_COLUMNS = ("id", "ticket_no", "serial", "product_line", "dealer_id", "contract_code", "customer_name", "phone",
            "address", "region_code", "lat", "lon", "channel", "fault_description", "component",
            "requested_action", "purchase_proof", "coverage", "force_reason", "reported_at", "opened_at")
_TYPES = ("uuid", "text", "text", "text", "text", "text", "text", "text", "text", "text", "float8", "float8",
          "text", "text", "text", "text", "text", "text", "text", "timestamptz", "timestamptz")
_EXTRA = ("photos", "exclusions", "reasons", "actor", "event_id", "topic", "okey", "event_type", "payload",
          "headers", "response", "k", "rn")
_EXTRA_TYPES = ("text", "text", "text", "text", "uuid", "text", "text", "text", "text", "text", "text", "text",
                "int")
_ALL = _COLUMNS + _EXTRA
_WRITE = f"""
WITH v AS (
  SELECT * FROM unnest({", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(_TYPES + _EXTRA_TYPES))})
    AS v({", ".join(_ALL)})
), t AS (
  INSERT INTO tickets ({", ".join(_COLUMNS)}, photos, exclusions, warranty_reasons, status, created_by, updated_at)
  SELECT {", ".join(_COLUMNS)}, photos::jsonb, exclusions::jsonb, reasons::jsonb, 'open', actor, opened_at
  FROM v ORDER BY serial, rn
  ON CONFLICT (serial) WHERE status IN ('open','assigned','en_route','on_site','paused') AND force_reason IS NULL
  DO NOTHING
  RETURNING id
), h AS (
  INSERT INTO ticket_transitions (ticket_id, from_status, to_status, actor, reason, at)
  SELECT v.id, NULL, 'open', v.actor, v.force_reason, v.opened_at FROM v JOIN t ON t.id = v.id
), a AS (
  -- issue 15 (R-S7): a report time of its own (not the receipt time) is audited; the SLA clock counts from it
  INSERT INTO reported_time_audit (ticket_id, change, actor, channel, reported_at, received_at, sla_clock_from, at)
  SELECT v.id, 'intake', v.actor, v.channel, v.reported_at, v.opened_at, v.reported_at, v.opened_at
  FROM v JOIN t ON t.id = v.id WHERE v.reported_at IS DISTINCT FROM v.opened_at
), o AS (
  INSERT INTO outbox (event_id, topic, key, event_type, payload, headers)
  SELECT v.event_id, v.topic, v.okey, v.event_type, v.payload::jsonb, v.headers::jsonb
  FROM v JOIN t ON t.id = v.id ORDER BY v.rn
), s AS (
  UPDATE idempotency_keys i SET status_code = 201, response = v.response::jsonb
  FROM v JOIN t ON t.id = v.id WHERE i.key = v.k
), x AS (
  -- one array, so the primary key finds the rows (an OR of two conditions scanned the whole table)
  DELETE FROM idempotency_keys
  WHERE key = ANY(${len(_ALL) + 1}::text[] || ARRAY(SELECT v.k FROM v WHERE v.id NOT IN (SELECT id FROM t)))
)
SELECT id, {WAKE_RELAY_SQL} FROM t
"""
_DROP_KEYS = "DELETE FROM idempotency_keys WHERE key = ANY($1::text[])"
_OPEN_TICKETS = ("SELECT DISTINCT ON (serial) serial, id, ticket_no, status FROM tickets "
                 "WHERE serial = ANY($1::text[]) AND force_reason IS NULL AND status = ANY($2::text[]) "
                 "ORDER BY serial, opened_at")
_REPLAYS = "SELECT key, fingerprint, status_code, response FROM idempotency_keys WHERE key = ANY($1::text[])"


@dataclass(frozen=True)
class MaintenanceWindow:
    """A preventive-maintenance ticket's window (issue 16, R-S10; ``maintenance/service.py``): coverage
    "maintenance" (not a warranty repair), and the window dispatch books the job in."""

    start: datetime
    end: datetime


@dataclass
class Intake:
    """One POST /v1/tickets, validated, waiting for its batch."""

    body: TicketCreate
    principal: Principal
    key: str | None
    fingerprint: str | None
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    # how far back / ahead a report's own time may lie (issue 15; TicketingSettings.reported_at_*)
    reported_window: tuple[timedelta, timedelta] = (timedelta(hours=72), timedelta(seconds=120))
    maintenance: MaintenanceWindow | None = None

    @classmethod
    def of(cls, body: TicketCreate, principal: Principal, key: str | None,
           reported_window: tuple[timedelta, timedelta] | None = None) -> Intake:
        """The request, with the fingerprint that tells a retried body from a different one under the same key."""
        fingerprint = hashlib.sha256(body.model_dump_json().encode()).hexdigest() if key else None
        item = cls(body, principal, key, fingerprint)
        if reported_window is not None:
            item.reported_window = reported_window
        return item


@dataclass
class Opened:
    response: str
    ticket_no: str
    coverage: str


@dataclass
class Replayed:
    status_code: int
    response: Any


def duplicate_problem(open_: Any) -> Conflict:
    return Conflict(
        f"ticket {open_['ticket_no']} is already open for this serial; add to it, or set force_new with a reason",
        field="serial", code="open_ticket_exists",
        extra={"open_ticket": {"id": str(open_["id"]), "ticket_no": open_["ticket_no"], "status": open_["status"],
                               "href": f"/v1/tickets/{open_['id']}"}},
    )


async def write_batch(conn: asyncpg.Connection, batch: list[Intake]) -> list[Any]:
    """One transaction's worth of intake: the outcome (Opened, Replayed or an error) per request."""
    now = clock.now()
    today = clock.business_date(now)
    outcomes: list[Any] = [None] * len(batch)
    reads = await conn.fetch(_READ, [i.key for i in batch], [i.fingerprint for i in batch],
                             [i.body.serial for i in batch])
    rows: list[dict[str, Any]] = []
    drop: list[str] = []
    replays: dict[int, str] = {}
    for n, (item, read) in enumerate(zip(batch, reads, strict=True)):
        if item.key and not read["claimed"]:  # an earlier request with this key committed
            replays[n] = item.key
            continue
        try:
            rows.append(_ticket_row(item, read, now, today, n))
        except DomainError as exc:
            outcomes[n] = exc
            if item.key:
                drop.append(item.key)
    inserted: set[Any] = set()
    if rows:
        cols = [[r[c] for r in rows] for c in _ALL]
        inserted = {r["id"] for r in await conn.fetch(_WRITE, *cols, drop)}
    elif drop:
        await conn.execute(_DROP_KEYS, drop)
    refused = [r for r in rows if r["id"] not in inserted]
    if refused:
        open_ = {o["serial"]: o for o in await conn.fetch(
            _OPEN_TICKETS, [r["serial"] for r in refused], list(OPEN_STATUSES))}
    for r in rows:
        if r["id"] in inserted:
            outcomes[r["rn"]] = Opened(r["response"], r["ticket_no"], r["coverage"])
        else:
            outcomes[r["rn"]] = duplicate_problem(open_[r["serial"]])
    if replays:
        prev = {p["key"]: p for p in await conn.fetch(_REPLAYS, list(replays.values()))}
        for n, key in replays.items():
            p = prev.get(key)
            if p is None or p["status_code"] is None:  # its first request is still being written
                outcomes[n] = DomainError("a request with this Idempotency-Key is still in progress; "
                                          "retry shortly", status=409, code="idempotency_key_in_flight",
                                          field="Idempotency-Key")
            elif p["fingerprint"] != batch[n].fingerprint:
                outcomes[n] = Unprocessable("this Idempotency-Key was used with a different request",
                                            field="Idempotency-Key", code="idempotency_key_reused")
            else:
                outcomes[n] = Replayed(p["status_code"], p["response"])
    return outcomes


def _ticket_row(item: Intake, read: Any, now: datetime, today: date, n: int) -> dict[str, Any]:
    """The ticket, its event and its response for one request (DomainError when it cannot be opened)."""
    body, p = item.body, item.principal
    if read["serial"] is None:
        raise Unprocessable(f"unit {body.serial} is not in the installed base; register it first", field="serial")
    if read["unit_status"] == "retired":  # returned or exchanged under 三包 (R-W4/R-W5): no new service on it
        raise Conflict(f"unit {body.serial} was retired ({read['retired_reason']}); open the ticket on the unit that "
                       "replaced it", field="serial", code="unit_retired")
    reported_at = body.reported_at or now  # issue 15 (R-S7): the SLA clock starts when the customer reported it
    if body.reported_at is not None:
        max_age, skew = item.reported_window
        if problem := reported_time_problem(body.reported_at, now=now, max_age=max_age, skew=skew):
            raise Unprocessable(problem[1], field="reported_at", code=problem[0])
    unit, policy, facts = unit_from_row(read)
    verdict = determine(policy, facts, today, component=body.component, exclusions=list(body.exclusions),
                        warranty_card_shown=body.warranty_card_shown)
    coverage: str = verdict.coverage
    reasons = list(verdict.reasons)
    window: dict[str, Any] = {}
    if item.maintenance is not None:  # issue 16 (R-S10): contract work in a window, not a reported fault
        coverage, reasons = "maintenance", ["R-S10 preventive maintenance"]
        window = {"kind": "maintenance", "window_start": item.maintenance.start.isoformat(),
                  "window_end": item.maintenance.end.isoformat()}
    ticket_id = new_id()
    opened_at = now.isoformat()
    ticket = {
        **body.model_dump(mode="json", exclude={"warranty_card_shown", "force_new"}), "id": str(ticket_id),
        "ticket_no": f"T{now.astimezone(clock.BUSINESS_TZ):%Y%m%d}-{read['seq']:07d}",
        "product_line": unit["product_line"], "dealer_id": unit["dealer_id"], "contract_code": unit["contract_code"],
        "coverage": coverage, "warranty_reasons": reasons, "status": "open",
        "force_reason": body.force_reason if body.force_new else None, "job_id": None, "created_by": p.sub,
        "opened_at": opened_at, "updated_at": opened_at, "closed_at": None,
        "reported_at": reported_at.astimezone(UTC).isoformat(),
    }
    event = TicketOpened(aggregate_id=ticket["id"], payload={
        **{k: ticket[k] for k in TicketOpenedPayload.model_fields if k in ticket},
        "ticket_id": ticket["id"], "required_skill": unit["required_skill"], **window})
    out = item.context.run(row_for, event)  # the request's correlation id and trace context go with the event
    return {
        **{c: ticket[c] for c in _COLUMNS[1:-2]}, "id": ticket_id, "reported_at": reported_at, "opened_at": now,
        "photos": json.dumps(body.photos), "exclusions": json.dumps(body.exclusions),
        "reasons": json.dumps(ticket["warranty_reasons"]), "actor": p.sub, "event_id": out["event_id"],
        "topic": out["topic"], "okey": out["key"], "event_type": out["event_type"], "payload": out["payload"],
        "headers": out["headers"], "response": json.dumps(ticket, ensure_ascii=False), "k": item.key, "rn": n,
    }
