"""Customer service contract terms (issue 16, dispatch side) and their consequences (R-S9).

Terms: record a change from a date (audited: who, when, why — on the change row), read the terms in force on a
date (the pure resolution is ``domain/contract_terms.py``), the history. The defaults are the service's settings
(``DISPATCH_ROUTE_WITHIN_MINUTES`` / ``_ROUTE_CHECK_MINUTES``, ``DISPATCH_SPARE_DUE_BACK_HOURS``,
``DISPATCH_CONTRACT_SLA_*``); a job is judged by the terms in force when its fact happened (the routing check by
those at its opening, a spare loan by those at the loan, a breach by those on the breach's business day).

Credits (R-S9): a breached arrive/resolve milestone of a job no dealer's engineer held, on penalty terms, credits
the customer's contract once per (job, milestone) — the unique key makes redelivery and races harmless; a
third-party repair cost recorded by the owner is charged to the dealer whose engineer held the job
(``dispatch.job.third_party_cost``, for settlement) or, with no dealer, credited to the contract. Finance may waive a
credit once (force majeure, customer-caused delay with evidence), audited on the row. Every credit is announced
once, in its transaction (``dispatch.contract.credit_issued``); the statement of a month lists them with their totals.

A missed PM visit (``ticketing.pm.missed``, R-S10) is an SLA breach of milestone ``pm_visit`` (``contract_breaches``,
once per occurrence), priced by the ``pm_missed_*`` terms: a credit when no dealer held the PM job, else
``dispatch.contract.pm_breached`` for the dealer's statement (settlement ``penalties/``).

Every function runs in the caller's unit of work (flush, never commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.clock import BUSINESS_TZ
from aftersales_shared.errors import Conflict, NotFound, Unprocessable
from aftersales_shared.events import dispatch as ev
from aftersales_shared.events.dispatch import SlaPayload
from aftersales_shared.ids import new_id
from aftersales_shared.money import to_fen
from aftersales_shared.outbox import add_events
from aftersales_shared.terms import TermChange

from ..config import DispatchConfig
from ..domain.contract_terms import TERM_NAMES, ContractTerms, Credit, breach_credit, pm_missed_credit, resolve
from ..jobs.events import job_payload
from ..models import ContractBreach, ContractCredit, ContractTermsChange, CustomerContract, Job, ThirdPartyCost
from . import registry
from .schemas import ContractTermsPut, CreditWaive, ThirdPartyCostCreate


def defaults_of(cfg: DispatchConfig) -> dict[str, Any]:
    """Every term's configured default: the settings that were global before terms existed."""
    return {
        "routing_flag_minutes": int(cfg.route_within.total_seconds() // 60),
        "routing_escalate_minutes": int(cfg.route_check.total_seconds() // 60),
        "spare_entitled": None,
        "spare_due_back_hours": int(cfg.spare_due_back.total_seconds() // 3600),
        **dict(cfg.contract_penalty_defaults),
    }


async def changes_of(session: AsyncSession, contract_code: str) -> list[TermChange]:
    c = ContractTermsChange
    rows = (await session.execute(select(c.effective_from, c.version, c.values)
                                  .where(c.contract_code == contract_code))).all()
    return [TermChange(effective_from=r[0], version=r[1], values=r[2]) for r in rows]


async def terms_on(session: AsyncSession, *, contract_code: str | None, on: date,
                   defaults: dict[str, Any]) -> ContractTerms:
    """The contract's terms in force on ``on`` (a job without a contract: the defaults)."""
    changes = await changes_of(session, contract_code) if contract_code else []
    return resolve(defaults, changes, on)[0]


async def terms_for(session: AsyncSession, codes: set[str | None], on_of: dict[str | None, list[date]],
                    defaults: dict[str, Any]) -> dict[tuple[str | None, date], ContractTerms]:
    """The terms of many (contract, day) pairs with one read of their changes (the background scans)."""
    c = ContractTermsChange
    wanted = [k for k in codes if k]
    by_code: dict[str | None, list[TermChange]] = {}
    if wanted:
        for r in (await session.execute(select(c.contract_code, c.effective_from, c.version, c.values)
                                        .where(c.contract_code.in_(wanted)))).all():
            by_code.setdefault(r[0], []).append(TermChange(effective_from=r[1], version=r[2], values=r[3]))
    return {(k, d): resolve(defaults, by_code.get(k, []), d)[0] for k in codes for d in on_of.get(k, [])}


async def shortest_routing(session: AsyncSession, defaults: dict[str, Any]) -> tuple[int, int]:
    """The shortest flag and escalate minutes any contract sets or defaults to (a bound for the routing scan)."""
    c = ContractTermsChange
    flag, esc = (await session.execute(select(
        func.min(c.values["routing_flag_minutes"].as_integer()),
        func.min(c.values["routing_escalate_minutes"].as_integer())))).one()
    return (min(x for x in (flag, defaults["routing_flag_minutes"]) if x is not None),
            min(x for x in (esc, defaults["routing_escalate_minutes"]) if x is not None))


# --- terms over the API --------------------------------------------------------------------------------

def _view(contract_code: str, terms: ContractTerms, source: dict[str, int | None], on: date) -> dict[str, Any]:
    return {"contract_code": contract_code, "on": on, "version": terms.version,
            "values": {k: getattr(terms, k) for k in TERM_NAMES}, "source": source}


async def in_force(session: AsyncSession, *, contract_code: str, on: date, defaults: dict[str, Any]) -> dict[str, Any]:
    terms, found = resolve(defaults, await changes_of(session, contract_code), on)
    return _view(contract_code, terms, found.source, on)


async def history(session: AsyncSession, *, contract_code: str) -> Sequence[ContractTermsChange]:
    return (await session.scalars(select(ContractTermsChange).where(
        ContractTermsChange.contract_code == contract_code).order_by(ContractTermsChange.version))).all()


async def put_terms(session: AsyncSession, *, contract_code: str, body: ContractTermsPut, actor: Principal,
                    defaults: dict[str, Any], today: date, now: datetime) -> tuple[ContractTermsChange, bool]:
    """Record a change from ``effective_from`` (today or later: facts already judged keep their terms) of a
    registered contract (404 naming ``contract_code`` otherwise: register it first). Repeating the latest change for
    that date changes nothing (False); otherwise a new version (True)."""
    await registry.get(session, contract_code)
    if body.effective_from < today:
        raise Unprocessable(f"a change applies from today ({today}) or later: facts before it keep the terms in "
                            "force when they happened", field="effective_from", code="terms_backdated")
    values = body.values.model_dump(mode="json", exclude_none=True)
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('dispatch-contract-terms:' || :c))"),
                          {"c": contract_code})
    changes = await changes_of(session, contract_code)
    after = resolve(defaults, [*changes, TermChange(body.effective_from, 1 << 30, values)], body.effective_from)[0]
    if after.routing_escalate_minutes < after.routing_flag_minutes:
        raise Unprocessable(f"R-S8: escalation ({after.routing_escalate_minutes} min) cannot come before the check "
                            f"({after.routing_flag_minutes} min)", field="values.routing_escalate_minutes",
                            code="routing_times_inverted")
    c = ContractTermsChange
    same_day = await session.scalar(select(c).where(c.contract_code == contract_code,
                                                    c.effective_from == body.effective_from)
                                    .order_by(c.version.desc()).limit(1))
    if same_day is not None and same_day.values == values and same_day.reason == body.reason:
        return same_day, False
    version = max((ch.version for ch in changes), default=0) + 1
    row = ContractTermsChange(contract_code=contract_code, version=version, effective_from=body.effective_from,
                              values=values, reason=body.reason, created_by=actor.sub, created_at=now)
    session.add(row)
    await session.flush()
    return row, True


# --- R-S6: the spare loan term -----------------------------------------------------------------------

async def spare_due_back_hours(session: AsyncSession, job: Job, at: datetime, *, fallback: int) -> int:
    """The loan term of a spare lent to ``job`` at ``at``: its contract's ``spare_due_back_hours`` in force on the
    loan's day; where no change of that contract set it, ``fallback`` (the spare's registered loan term, itself
    ``DISPATCH_SPARE_DUE_BACK_HOURS`` unless the registration named one)."""
    terms = await terms_on(session, contract_code=job.contract_code, on=clock.business_date(at),
                           defaults={"spare_due_back_hours": fallback})
    return terms.spare_due_back_hours


# --- R-S9: credits ------------------------------------------------------------------------------------

async def credit_breach(session: AsyncSession, p: SlaPayload, *, defaults: dict[str, Any], now: datetime) -> bool:
    """Credit one ``dispatch.job.sla_breached`` to the customer's contract when no dealer's engineer held the job
    (a dealer's job is settlement's: its statement); False when nothing is credited (a dealer's job, no contract,
    no penalty terms, or already credited for this job and milestone)."""
    if p.dealer_id or not p.contract_code:
        return False
    terms = await terms_on(session, contract_code=p.contract_code, on=clock.business_date(p.at), defaults=defaults)
    credit = breach_credit(terms, p.milestone)
    if credit is None:
        return False
    return await _issue(session, contract_code=p.contract_code, job_id=p.job_id, milestone=p.milestone, ref="",
                        credit=credit, terms_version=terms.version, at=p.at, now=now) is not None


async def _issue(session: AsyncSession, *, contract_code: str, job_id: str | None, milestone: str, ref: str,
                 credit: Credit, terms_version: int | None, at: datetime, now: datetime) -> str | None:
    """Insert one credit and its ``dispatch.contract.credit_issued`` in the same transaction; None (and no event)
    when that credit exists already (a redelivery or a racing twin: the unique keys decide)."""
    cid = str(new_id())
    inserted = (await session.execute(insert(ContractCredit).values(
        id=cid, contract_code=contract_code, job_id=job_id, milestone=milestone, ref=ref, basis=credit.basis,
        amount=credit.amount, percent=credit.percent, service_value=credit.service_value, terms_version=terms_version,
        occurred_at=at, status="credited", created_at=now)
        .on_conflict_do_nothing().returning(ContractCredit.id))).first()
    if inserted is None:
        return None
    await _announce(session, cid, contract_code=contract_code, job_id=job_id, milestone=milestone, ref=ref,
                    basis=credit.basis, amount=credit.amount, terms_version=terms_version, at=at)
    return cid


async def _announce(session: AsyncSession, credit_id: str, *, contract_code: str, job_id: str | None, milestone: str,
                    ref: str, basis: str, amount: Any, terms_version: int | None, at: datetime) -> None:
    customer_ref = await session.scalar(select(CustomerContract.customer_ref)
                                        .where(CustomerContract.code == contract_code))
    payload = ev.ContractCreditIssuedPayload(
        credit_id=credit_id, contract_code=contract_code, customer_ref=customer_ref, job_id=job_id,
        milestone=milestone, ref=ref, basis=basis, amount=amount, terms_version=terms_version, occurred_at=at)
    await add_events(session, ev.ContractCreditIssued(aggregate_id=contract_code, payload=payload))


# --- R-S10 + R-S9: a missed PM visit ---------------------------------------------------------------------

async def pm_missed(session: AsyncSession, p: Any, *, defaults: dict[str, Any], now: datetime) -> ContractBreach | None:
    """``ticketing.pm.missed``: an SLA breach of milestone ``pm_visit`` on the occurrence's contract (and on its job,
    if its maintenance ticket got one: ``sla_met.pm_visit = false``), once per occurrence. Its damages are the
    contract's ``pm_missed_*`` terms in force on the day it was missed: credited to the contract when no dealer's
    engineer held the PM job, else owed by that dealer (``dispatch.contract.pm_breached``, booked by settlement on
    the dealer's statement). None: no contract, or already recorded (a redelivery)."""
    if not p.contract_code:
        return None
    bid = str(new_id())
    won = (await session.execute(insert(ContractBreach).values(
        id=bid, contract_code=p.contract_code, milestone="pm_visit", occurrence_id=p.occurrence_id,
        plan_id=p.plan_id, serial=p.serial, kind=p.kind, ticket_id=p.ticket_id, window_end=p.window_end,
        missed_at=p.missed_at, charged_to="nobody", created_at=now)
        .on_conflict_do_nothing(index_elements=["occurrence_id"]).returning(ContractBreach.id))).first()
    if won is None:
        return None
    breach = await session.get(ContractBreach, bid)
    assert breach is not None
    job = None
    if p.ticket_id:
        job = await session.scalar(select(Job).where(Job.ticket_id == p.ticket_id)
                                   .order_by(Job.visit.desc()).limit(1).with_for_update())
    if job is not None:
        breach.job_id, breach.dealer_id, breach.engineer_id = job.id, job.engineer_dealer_id, job.engineer_id
        job.sla_met = {**(job.sla_met or {}), "pm_visit": False}
    terms = await terms_on(session, contract_code=p.contract_code, on=clock.business_date(p.missed_at),
                           defaults=defaults)
    credit = pm_missed_credit(terms)
    breach.terms_version = terms.version
    if credit is not None:
        breach.basis, breach.amount = credit.basis, credit.amount
    if breach.dealer_id:
        breach.charged_to = "dealer" if credit is not None else "nobody"
        await add_events(session, ev.PmBreached(aggregate_id=p.contract_code, payload=ev.PmBreachedPayload(
            breach_id=bid, contract_code=p.contract_code, occurrence_id=p.occurrence_id, plan_id=p.plan_id,
            serial=p.serial, kind=p.kind, ticket_id=p.ticket_id, job_id=breach.job_id, dealer_id=breach.dealer_id,
            engineer_id=breach.engineer_id, window_end=p.window_end, missed_at=p.missed_at,
            basis=credit.basis if credit else None, amount=credit.amount if credit else None,
            terms_version=terms.version)))
    elif credit is not None:
        breach.charged_to = "contract"
        breach.credit_id = await _issue(session, contract_code=p.contract_code, job_id=breach.job_id,
                                        milestone="pm_visit", ref=p.occurrence_id, credit=credit,
                                        terms_version=terms.version, at=p.missed_at, now=now)
    await session.flush()
    return breach


async def statement(session: AsyncSession, *, contract_code: str, month: str | None, limit: int,
                    offset: int) -> dict[str, Any]:
    """R-S9: the contract's credits of one Shanghai calendar month (``YYYY-MM``; None: every month), oldest first,
    one page of them, with the totals of all of them to the fen: credited (owed) and waived (shown, not owed)."""
    c = ContractCredit
    where = [c.contract_code == contract_code]
    if month is not None:
        first = date.fromisoformat(f"{month}-01")
        nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        start, end = (datetime.combine(d, time.min, BUSINESS_TZ) for d in (first, nxt))
        where += [c.occurred_at >= start, c.occurred_at < end]
    credited, waived, count = (await session.execute(select(
        func.coalesce(func.sum(c.amount).filter(c.status == "credited"), 0),
        func.coalesce(func.sum(c.amount).filter(c.status == "waived"), 0), func.count()).where(*where))).one()
    items = (await session.scalars(select(c).where(*where).order_by(c.occurred_at, c.id)
                                   .limit(limit).offset(offset))).all()
    contract = await session.get(CustomerContract, contract_code)
    return {"contract_code": contract_code, "customer_name": contract.customer_name if contract else None,
            "customer_ref": contract.customer_ref if contract else None, "month": month,
            "total_credited": to_fen(credited), "total_waived": to_fen(waived), "count": count, "limit": limit,
            "offset": offset, "items": items}


async def waive(session: AsyncSession, *, credit_id: str, body: CreditWaive, actor: Principal,
                now: datetime) -> ContractCredit:
    """Finance waives a credit once (409 after); who, when, which kind and the evidence stay on the row."""
    c = ContractCredit
    won = (await session.execute(update(c).where(c.id == credit_id, c.status == "credited").values(
        status="waived", waiver_kind=body.kind, waiver_evidence=body.evidence or body.reason, waived_by=actor.sub,
        waived_at=now).returning(c.id).execution_options(synchronize_session=False))).first()
    row = await session.get(c, credit_id, populate_existing=True)
    if row is None:
        raise NotFound(f"contract credit {credit_id} not found", field="credit_id")
    if won is None:
        raise Conflict("the credit is already waived", field="status", code="credit_waived")
    return row


async def record_third_party_cost(session: AsyncSession, *, job_id: str, body: ThirdPartyCostCreate,
                                  actor: Principal, now: datetime) -> tuple[ThirdPartyCost, bool]:
    """The owner had the job's repair done by a third party: charged to the dealer whose engineer held the job
    (an event settlement books), else credited to the job's contract. Once per (job, invoice number): the same
    invoice again is the first record (False), with another amount or vendor a 409."""
    job = await session.scalar(select(Job).where(Job.id == job_id).with_for_update())
    if job is None:
        raise NotFound(f"job {job_id} not found", field="job_id")
    amount = to_fen(body.amount)
    existing = await session.scalar(select(ThirdPartyCost).where(ThirdPartyCost.job_id == job_id,
                                                                 ThirdPartyCost.invoice_no == body.invoice_no))
    if existing is not None:
        if existing.amount != amount or existing.vendor != body.vendor:
            raise Conflict(f"invoice {body.invoice_no} is already recorded on this job with another amount or "
                           "vendor", field="invoice_no", code="third_party_cost_exists")
        return existing, False
    dealer = job.engineer_dealer_id
    if dealer is None and not job.contract_code:
        raise Unprocessable("no dealer held the job and it has no customer contract: nobody to charge the cost to",
                            field="job_id", code="no_party_to_charge")
    cost = ThirdPartyCost(id=str(new_id()), job_id=job.id, invoice_no=body.invoice_no, vendor=body.vendor,
                          amount=amount, dealer_id=dealer, contract_code=job.contract_code, recorded_by=actor.sub,
                          recorded_at=now)
    if dealer is not None:
        await add_events(session, ev.JobThirdPartyCost(aggregate_id=job.id, payload=job_payload(
            job, now, amount=amount, invoice_no=body.invoice_no, vendor=body.vendor, cost_id=cost.id,
            contract_code=job.contract_code)))
    else:
        assert job.contract_code is not None
        cost.credit_id = await _issue(session, contract_code=job.contract_code, job_id=job.id, milestone="third_party",
                                      ref=body.invoice_no, credit=Credit("third_party", amount), terms_version=None,
                                      at=now, now=now)
    session.add(cost)
    await session.flush()
    return cost, True
