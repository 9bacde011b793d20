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
credit once (force majeure, customer-caused delay with evidence), audited on the row.

Every function runs in the caller's unit of work (flush, never commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, NotFound, Unprocessable
from aftersales_shared.events import dispatch as ev
from aftersales_shared.events.dispatch import SlaPayload
from aftersales_shared.ids import new_id
from aftersales_shared.money import to_fen
from aftersales_shared.outbox import add_events
from aftersales_shared.terms import TermChange

from ..config import DispatchConfig
from ..domain.contract_terms import TERM_NAMES, ContractTerms, breach_credit, resolve
from ..jobs.events import job_payload
from ..models import ContractCredit, ContractTermsChange, Job, ThirdPartyCost
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
    """Record a change from ``effective_from`` (today or later: facts already judged keep their terms). Repeating
    the latest change for that date changes nothing (False); otherwise a new version (True)."""
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
    inserted = (await session.execute(insert(ContractCredit).values(
        id=str(new_id()), contract_code=p.contract_code, job_id=p.job_id, milestone=p.milestone, ref="",
        basis=credit.basis, amount=credit.amount, percent=credit.percent, service_value=credit.service_value,
        terms_version=terms.version, occurred_at=p.at, status="credited", created_at=now)
        .on_conflict_do_nothing(index_elements=["job_id", "milestone", "ref"]).returning(ContractCredit.id))).first()
    return inserted is not None


async def list_credits(session: AsyncSession, *, contract_code: str, limit: int,
                       offset: int) -> Sequence[ContractCredit]:
    return (await session.scalars(select(ContractCredit).where(ContractCredit.contract_code == contract_code)
                                  .order_by(ContractCredit.occurred_at, ContractCredit.id)
                                  .limit(limit).offset(offset))).all()


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
        cost.credit_id = str(new_id())
        session.add(ContractCredit(
            id=cost.credit_id, contract_code=job.contract_code, job_id=job.id, milestone="third_party",
            ref=body.invoice_no, basis="third_party", amount=amount, occurred_at=now, status="credited",
            created_at=now))
    session.add(cost)
    await session.flush()
    return cost, True
