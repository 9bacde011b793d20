"""Repair use cases (issue 15): the engineer's diagnosis, ticketing's coverage decision kept on the job, and paid
repairs — rate cards, quotes presented/accepted/declined (``domain/quote.py``), payments, the revenue report.

Every function runs inside the caller's unit of work (flushes, never commits); the job row is locked FOR UPDATE
before any change, as in ``jobs/service.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.errors import Conflict, NotFound, Unprocessable
from aftersales_shared.events import dispatch as ev
from aftersales_shared.events.envelope import IntegrationEvent
from aftersales_shared.events.parts import PartChangedPayload
from aftersales_shared.events.ticketing import ProductLineComponentsChangedPayload, TicketCoverageChangedPayload
from aftersales_shared.ids import new_id
from aftersales_shared.money import to_fen
from aftersales_shared.outbox import add_events

from ..config import DispatchConfig
from ..domain import components as line_components
from ..domain import job_lifecycle, quote
from ..domain.job_lifecycle import ON_SITE, PAUSED
from ..domain.repair_lifecycle import may_diagnose, points_to_paid
from ..jobs import queries
from ..jobs import service as jobs
from ..jobs.events import job_payload
from ..jobs.schemas import ServiceRecordIn
from ..models import CataloguePrice, Diagnosis, Job, JobPayment, LineComponents, Quote, RateCard
from .schemas import (
    DiagnosisIn,
    DiagnosisRead,
    PaymentIn,
    QuoteAcceptIn,
    QuoteDeclineIn,
    QuoteIn,
    QuoteRead,
    RateCardIn,
)


async def held_job(session: AsyncSession, job_id: str, engineer_id: str) -> Job:
    """The job, locked, if the calling engineer holds it (404 otherwise: other engineers' jobs are invisible)."""
    job = await queries.lock_job(session, job_id)
    if job.engineer_id != engineer_id:
        raise NotFound(f"job {job_id} not found", field="job_id")
    return job


def diagnosis_read(job: Job, d: Diagnosis) -> DiagnosisRead:
    return DiagnosisRead.model_validate({
        **{k: getattr(d, k) for k in ("job_id", "engineer_id", "revision", "components", "root_cause", "exclusions",
                                      "evidence", "note", "recorded_at", "updated_at", "components_validated")},
        "coverage": job.coverage, "coverage_reason": job.coverage_reason,
        "points_to_paid": points_to_paid(d.root_cause, d.exclusions),
        "components_note": None if d.components_validated else UNVALIDATED_NOTE})


UNVALIDATED_NOTE = ("the product line's component list had not reached dispatch when this diagnosis was recorded: "
                    "its components were accepted unchecked")


async def checked_components(session: AsyncSession, job: Job, body: DiagnosisIn) -> tuple[list[dict[str, Any]], bool]:
    """The diagnosed components checked against the job's product line's component list (``domain/components``):
    in the list's spelling and validated, or — when no list has arrived for the line yet — as sent and unvalidated
    (an engineer on site is never blocked by a list still on its way; docs/dispatch.md). An unknown component or
    a part number not linked to its component is a 422 naming ``components[i].component`` / ``.part_no``."""
    sent = [line_components.Named(c.component, c.part_no) for c in body.components]
    held = await session.get(LineComponents, job.product_line)
    if held is None:
        return [c.model_dump(mode="json") for c in body.components], False
    line = {c["component"]: list(c.get("part_nos") or []) for c in held.components}
    checked = line_components.check(sent, line)
    if checked.problems:
        first = checked.problems[0]
        raise Unprocessable(first.reason, field=first.field, code=first.code, extra={
            "errors": [{"field": p.field, "reason": p.reason, "code": p.code} for p in checked.problems],
            "allowed_components": [{"component": k, "part_nos": v} for k, v in line.items()],
            "components_version": held.version})
    return [{"component": n.component, "part_no": n.part_no} for n in checked.components], True


async def line_components_changed(session: AsyncSession, p: ProductLineComponentsChangedPayload,
                                  now: datetime) -> None:
    """Ticketing's catalogue announced a product line's component list: keep it when it is newer than the one held
    (the row is locked; an older event arriving late, or a redelivery, changes nothing)."""
    held = await session.get(LineComponents, p.product_line, with_for_update=True)
    if not line_components.newer(p.version, held.version if held is not None else None):
        return
    comps = [c.model_dump(mode="json") for c in p.components]
    if held is None:
        session.add(LineComponents(product_line=p.product_line, version=p.version, components=comps,
                                   changed_at=p.changed_at, received_at=now))
    else:
        held.version, held.components, held.changed_at, held.received_at = p.version, comps, p.changed_at, now
    await session.flush()


async def part_changed(session: AsyncSession, p: PartChangedPayload, now: datetime) -> None:
    """The parts catalogue announced a part: keep its list price when it is newer than the one held (one
    conditional upsert: a redelivery or an older event arriving late changes nothing)."""
    ins = pg_insert(CataloguePrice).values(part_no=p.part_no, name=p.name, list_price=p.list_price,
                                           active=p.active, version=p.version, updated_at=p.updated_at,
                                           received_at=now)
    await session.execute(ins.on_conflict_do_update(
        index_elements=[CataloguePrice.part_no],
        set_={c: ins.excluded[c] for c in ("name", "list_price", "active", "version", "updated_at", "received_at")},
        where=CataloguePrice.version < ins.excluded.version))


async def priced_parts(session: AsyncSession, body: QuoteIn) -> list[quote.PartPrice]:
    """The quote's parts at the catalogue's list price (``domain/quote.price_parts``); 422 naming ``parts[i]…``."""
    wanted = {p.part_no for p in body.parts}
    rows = (await session.scalars(select(CataloguePrice).where(
        CataloguePrice.part_no.in_(wanted), CataloguePrice.active))).all() if wanted else []
    priced, problems = quote.price_parts(
        [quote.SentPart(p.part_no, p.description, p.quantity, p.list_price) for p in body.parts],
        {r.part_no: quote.CatalogueEntry(r.name, r.list_price) for r in rows})
    if problems:
        first = problems[0]
        raise Unprocessable(first.reason, field=first.field, code=first.code, extra={
            **({"catalogue_list_price": str(first.catalogue_list_price)}
               if first.catalogue_list_price is not None else {}),
            "errors": [{"field": x.field, "reason": x.reason, "code": x.code,
                        **({"catalogue_list_price": str(x.catalogue_list_price)}
                           if x.catalogue_list_price is not None else {})} for x in problems]})
    return priced


async def get_line_components(session: AsyncSession, *, product_line: str) -> LineComponents:
    held = await session.get(LineComponents, product_line)
    if held is None:
        raise NotFound(f"no component list for product line {product_line} has reached dispatch yet",
                       field="product_line", code="no_component_list")
    return held


async def record_diagnosis(session: AsyncSession, *, job_id: str, engineer_id: str, body: DiagnosisIn,
                           now: datetime) -> DiagnosisRead:
    """Record (or revise) the diagnosis of a job the engineer holds, and tell ticketing (``dispatch.job.diagnosed``)
    so it re-determines coverage. Sending the same diagnosis again changes nothing and emits nothing."""
    if body.exclusions and not body.evidence:
        raise Unprocessable("an exclusion found on site needs evidence (photo references)", field="evidence",
                            code="evidence_required")
    job = await held_job(session, job_id, engineer_id)
    if not may_diagnose(job.status):
        raise Conflict(f"cannot diagnose a job that is {job.status}", field="status", code="job_state")
    comps, validated = await checked_components(session, job, body)
    found = {"components": comps, "root_cause": body.root_cause,
             "exclusions": list(body.exclusions), "evidence": list(body.evidence), "note": body.note}
    d = await session.get(Diagnosis, job.id)
    if d is not None and all(getattr(d, k) == v for k, v in found.items()):
        if validated and not d.components_validated:  # the list arrived since: the same findings, now checked
            d.components_validated = True
            await session.flush()
        return diagnosis_read(job, d)  # a resent diagnosis: nothing new to say
    if d is None:
        d = Diagnosis(job_id=job.id, engineer_id=engineer_id, revision=1, recorded_at=now, updated_at=now,
                      components_validated=validated, **found)
        session.add(d)
    else:
        for k, v in found.items():
            setattr(d, k, v)
        d.revision, d.engineer_id, d.updated_at = d.revision + 1, engineer_id, now
        d.components_validated = validated
    job.updated_at = now
    await session.flush()
    await add_events(session, ev.JobDiagnosed(aggregate_id=job.id, payload=job_payload(
        job, now, serial=job.serial, product_line=job.product_line, revision=d.revision,
        components_validated=validated, **found)))
    return diagnosis_read(job, d)


async def get_diagnosis(session: AsyncSession, *, job: Job) -> DiagnosisRead:
    d = await session.get(Diagnosis, job.id)
    if d is None:
        raise NotFound(f"job {job.id} has no diagnosis yet", field="job_id", code="no_diagnosis")
    return diagnosis_read(job, d)


async def coverage_changed(session: AsyncSession, p: TicketCoverageChangedPayload) -> None:
    """Ticketing changed a ticket's coverage: its job (the one diagnosed, else the ticket's latest) carries the new
    coverage and reason from now on (a completion reports them to settlement and parts). A decision older than the
    one the job already has changes nothing (events may arrive late; a redelivery is the inbox's)."""
    q = select(Job).where(Job.id == p.job_id) if p.job_id else queries.latest_job_of(p.ticket_id)
    job = await session.scalar(q.with_for_update())
    if job is None or job.ticket_id != p.ticket_id:
        return
    at = p.changed_at.astimezone(UTC)
    if job.coverage_changed_at is not None and job.coverage_changed_at >= at:
        return
    job.coverage, job.coverage_reason, job.coverage_changed_at = p.to_coverage, p.reason, at


# --- paid repairs: rate cards, quotes, payments (issue 15) ---------------------------------------------------

def _card(row: RateCard) -> quote.RateCard:
    return quote.RateCard(product_line=row.product_line, effective_from=row.effective_from,
                          labour_per_hour=row.labour_per_hour, visit_fee=row.visit_fee,
                          declined_visit_fee=row.declined_visit_fee, shipping_fee=row.shipping_fee,
                          customer_shipping_share=row.customer_shipping_share,
                          quote_valid_hours=row.quote_valid_hours)


async def put_rate_card(session: AsyncSession, *, product_line: str, effective_from: date, body: RateCardIn,
                        actor: str, now: datetime) -> RateCard:
    """Create or replace the product line's rate card version from ``effective_from``."""
    row = await session.get(RateCard, (product_line, effective_from), with_for_update=True)
    if row is None:
        row = RateCard(product_line=product_line, effective_from=effective_from)
        session.add(row)
    for k, v in body.model_dump().items():
        setattr(row, k, v)
    row.updated_by, row.updated_at = actor, now
    await session.flush()
    return row


async def rate_cards(session: AsyncSession, *, product_line: str) -> Sequence[RateCard]:
    return (await session.scalars(select(RateCard).where(RateCard.product_line == product_line)
                                  .order_by(RateCard.effective_from))).all()


async def _paid(session: AsyncSession, quote_id: str) -> Decimal:
    return Decimal(await session.scalar(select(func.coalesce(func.sum(JobPayment.amount), 0))
                                        .where(JobPayment.quote_id == quote_id)) or 0)


async def quote_read(session: AsyncSession, q: Quote) -> QuoteRead:
    due = quote.amount_due(status=q.status, quote_total=q.total, declined_fee=q.declined_fee)
    return QuoteRead.model_validate({**{k: getattr(q, k) for k in QuoteRead.model_fields
                                        if k not in ("amount_due", "paid")},
                                     "amount_due": due, "paid": await _paid(session, q.id)})


def _quote_event(cls: type[IntegrationEvent], job: Job, q: Quote, at: datetime) -> IntegrationEvent:
    return cls(aggregate_id=job.id, payload=job_payload(
        job, at, quote_id=q.id, total=q.total, lines=q.lines, status=q.status, valid_until=q.valid_until))


async def present_quote(session: AsyncSession, *, job_id: str, engineer_id: str, body: QuoteIn, key: str | None,
                        now: datetime) -> tuple[QuoteRead, bool]:
    """The engineer presents a paid repair's quote on site (the job's coverage must be paid): labour by the product
    line's rate card in force, parts at the parts catalogue's list price (``priced_parts``), the visit fee, the R-W9
    shipping share; a quote still open for the job is superseded. A repeated ``Idempotency-Key`` returns the first
    quote (replayed=True)."""
    if key is not None and (prior := await session.scalar(select(Quote).where(Quote.idempotency_key == key))):
        if prior.job_id != job_id:
            raise Unprocessable("this Idempotency-Key was used for another job", field="Idempotency-Key",
                                code="idempotency_key_reused")
        return await quote_read(session, prior), True
    job = await held_job(session, job_id, engineer_id)
    if job.status not in (ON_SITE, PAUSED):
        raise Conflict(f"a quote is presented on site; the job is {job.status}", field="status", code="job_state")
    if job.coverage != "paid":
        raise Conflict(f"the job is covered ({job.coverage}): nothing to quote", field="coverage", code="not_paid")
    card = quote.card_in_force([_card(c) for c in await rate_cards(session, product_line=job.product_line)],
                               clock.business_date(now))
    if card is None:
        raise Conflict(f"no rate card in force for product line {job.product_line}", field="product_line",
                       code="no_rate_card")
    lines = quote.quote_lines(card, labour_minutes=body.labour_minutes, ship_in=body.ship_in,
                              parts=await priced_parts(session, body))
    open_ = await session.scalar(select(Quote).where(Quote.job_id == job.id, Quote.status == quote.PRESENTED)
                                 .with_for_update())
    if open_ is not None:
        open_.status, open_.decided_at = quote.SUPERSEDED, now
        await session.flush()
    q = Quote(id=str(new_id()), job_id=job.id, engineer_id=engineer_id, status=quote.PRESENTED,
              lines=[{"kind": ln.kind, "description": ln.description, "amount": str(ln.amount),
                      "part_no": ln.part_no, "quantity": ln.quantity} for ln in lines],
              total=quote.total(lines), declined_fee=to_fen(card.declined_visit_fee),
              rate_card_from=card.effective_from, valid_until=now + timedelta(hours=card.quote_valid_hours),
              presented_at=now, idempotency_key=key)
    session.add(q)
    await session.flush()
    await add_events(session, _quote_event(ev.JobQuotePresented, job, q, now))
    return await quote_read(session, q), False


async def _locked_quote(session: AsyncSession, job: Job, quote_id: str) -> Quote:
    q = await session.scalar(select(Quote).where(Quote.id == quote_id, Quote.job_id == job.id).with_for_update())
    if q is None:
        raise NotFound(f"quote {quote_id} not found", field="quote_id")
    return q


def _decide(q: Quote, move: str, now: datetime) -> None:
    to = quote.next_status(q.status, move)
    if to is None:
        raise Conflict(f"cannot {move} a quote that is {q.status}", field="status", code="quote_state")
    if move == "accept" and now > q.valid_until:
        raise Conflict("the quote has expired: present a new one", field="valid_until", code="quote_expired")
    q.status, q.decided_at = to, now


async def accept_quote(session: AsyncSession, *, job_id: str, quote_id: str, engineer_id: str, body: QuoteAcceptIn,
                       now: datetime) -> QuoteRead:
    """The customer accepts the quote, signing (the signature's reference is kept); accepting it again with the
    same signature changes nothing."""
    job = await held_job(session, job_id, engineer_id)
    q = await _locked_quote(session, job, quote_id)
    if q.status == quote.ACCEPTED and q.signature_ref == body.signature_ref:
        return await quote_read(session, q)
    _decide(q, "accept", now)
    q.signature_ref, q.signed_by = body.signature_ref, body.signed_by
    await session.flush()
    await add_events(session, _quote_event(ev.JobQuoteAccepted, job, q, now))
    return await quote_read(session, q)


async def decline_quote(session: AsyncSession, cfg: DispatchConfig, *, job_id: str, quote_id: str,
                        engineer_id: str, body: QuoteDeclineIn, now: datetime) -> QuoteRead:
    """The customer declines: the quote is declined (the configured visit fee becomes due) and the job closes as
    declined (completed without a repair, ``outcome="quote_declined"``). Declining it again changes nothing."""
    job = await held_job(session, job_id, engineer_id)
    q = await _locked_quote(session, job, quote_id)
    if q.status == quote.DECLINED:
        return await quote_read(session, q)
    if not job_lifecycle.allowed(job.status, "complete"):
        raise Conflict(f"a declined job closes on site; the job is {job.status}", field="status", code="job_state")
    at = jobs.check_device_time((body.device_time or now).astimezone(UTC), job, cfg, now)
    _decide(q, "decline", at)
    q.decline_reason = body.reason
    await session.flush()
    await add_events(session, _quote_event(ev.JobQuoteDeclined, job, q, at))
    fee = f"; visit fee {q.declined_fee} due" if q.declined_fee else ""
    await jobs.close_declined(session, job, at=at, now=now, record=ServiceRecordIn(
        work_done=f"paid repair quote {q.id} declined by the customer{fee}"[:4000], labour_minutes=0,
        customer_name=None, signature_ref=None))
    return await quote_read(session, q)


async def job_quotes(session: AsyncSession, *, job: Job) -> list[QuoteRead]:
    rows = (await session.scalars(select(Quote).where(Quote.job_id == job.id).order_by(Quote.presented_at))).all()
    return [await quote_read(session, q) for q in rows]


async def record_payment(session: AsyncSession, *, job_id: str, visible: ColumnElement[bool], body: PaymentIn,
                         actor: str, now: datetime) -> tuple[JobPayment, bool]:
    """A payment for the job's accepted quote (or its declined quote's visit fee): never more than is still due;
    a receipt number is recorded once (the same receipt again, same amount and job, is a replay)."""
    job = await session.scalar(select(Job).where(Job.id == job_id, visible).with_for_update())
    if job is None:
        raise NotFound(f"job {job_id} not found", field="job_id")
    prior = await session.scalar(select(JobPayment).where(JobPayment.receipt_no == body.receipt_no))
    if prior is not None:
        if (prior.job_id, prior.amount, prior.method) != (job.id, body.amount, body.method):
            raise Conflict(f"receipt {body.receipt_no} is already recorded", field="receipt_no",
                           code="duplicate_receipt")
        return prior, True
    q = await session.scalar(select(Quote).where(Quote.job_id == job.id, Quote.status.in_(
        (quote.ACCEPTED, quote.DECLINED))).order_by(Quote.decided_at.desc()).limit(1))
    if q is None:
        raise Conflict("the job has no accepted or declined quote to pay", field="job_id", code="nothing_due")
    due = quote.amount_due(status=q.status, quote_total=q.total, declined_fee=q.declined_fee) - await _paid(
        session, q.id)
    if body.amount > due:
        raise Unprocessable(f"only {due} is still due for quote {q.id}", field="amount", code="overpayment")
    pay = JobPayment(id=str(new_id()), job_id=job.id, quote_id=q.id, amount=body.amount, method=body.method,
                     receipt_no=body.receipt_no, recorded_by=actor, recorded_at=now)
    session.add(pay)
    await session.flush()
    return pay, False


async def paid_repair_report(session: AsyncSession, *, visible: ColumnElement[bool], date_from: date,
                             date_to: date) -> dict[str, Any]:
    """Quotes presented in [date_from, date_to] (Shanghai days), what was accepted, paid and is still due."""
    if date_to < date_from:
        raise Unprocessable("date_to is before date_from", field="date_to")
    start = datetime.combine(date_from, time(0), clock.BUSINESS_TZ)
    end = datetime.combine(date_to + timedelta(days=1), time(0), clock.BUSINESS_TZ)
    rows = (await session.scalars(select(Quote).join(Job, Job.id == Quote.job_id).where(
        visible, Quote.presented_at >= start, Quote.presented_at < end))).all()
    decided = [q for q in rows if q.status in (quote.ACCEPTED, quote.DECLINED)]
    payments = (await session.scalars(select(JobPayment).where(
        JobPayment.quote_id.in_([q.id for q in decided])))).all() if decided else []
    by_method: dict[str, Decimal] = {}
    for p in payments:
        by_method[p.method] = by_method.get(p.method, Decimal("0.00")) + p.amount
    revenue = sum((p.amount for p in payments), Decimal("0.00"))
    due = sum((quote.amount_due(status=q.status, quote_total=q.total, declined_fee=q.declined_fee) for q in decided),
              Decimal("0.00"))
    return {"date_from": date_from, "date_to": date_to, "quotes_presented": len(rows),
            "quotes_accepted": sum(q.status == quote.ACCEPTED for q in rows),
            "quotes_declined": sum(q.status == quote.DECLINED for q in rows),
            "quoted_total": sum((q.total for q in rows if q.status == quote.ACCEPTED), Decimal("0.00")),
            "revenue": revenue, "revenue_by_method": by_method, "outstanding": due - revenue}
