"""SLA consequences (R-S9): a breached milestone of a dealer's job, on terms with penalties, charges liquidated
damages (a % of the service value, or a fixed amount: ``domain/penalties.py``) with the dealer's terms in force
on the breach date; the charge is a ledger fact, so it lands on the dealer's next open statement (a closed
quarter's breach moves on, as every late fact does). Once per job and milestone, however often the breach is
delivered. Finance may waive it (force majeure, customer-caused delay with evidence): audited, and the waiver
is a ledger fact too, crediting the statement it lands on.

The customer-contract side (a credit to the customer's contract when no dealer held the job) is dispatch's
(``contracts/``); a third-party repair cost on a dealer's job is booked by ``consumers.on_third_party_cost``. A missed
PM visit of a dealer's job (``dispatch.contract.pm_breached``, priced by dispatch from the customer contract's
``pm_missed_*`` terms) is charged by :func:`charge_pm_breach` into the same ``sla_penalties`` and ledger kind.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict, NotFound
from aftersales_shared.events.envelope import IntegrationEvent
from aftersales_shared.ids import new_id

from ..access import visible
from ..audit import audit
from ..domain.penalties import liquidated_damages, service_value_of
from ..domain.quarters import local_date
from ..ledger.service import record
from ..models import contracts, sla_penalties
from ..terms.service import terms_on
from .schemas import WaiverCreate


async def charge_breach(session: AsyncSession, *, event: IntegrationEvent, defaults: dict[str, Any],
                        now: datetime) -> bool:
    """Charge the damages of one ``dispatch.job.sla_breached`` against the dealer whose engineer held the job;
    False when nothing is charged (no dealer, no penalty terms, or already charged for this job and milestone)."""
    p = event.payload
    if not p.dealer_id:
        return False  # manufacturer staff held the job: the customer contract is credited by dispatch
    day = local_date(p.at)
    terms = await terms_on(session, dealer_id=p.dealer_id, on=day, defaults=defaults)
    if terms.sla_penalty == "none" or p.milestone not in terms.sla_penalty_milestones:
        return False
    c = contracts.c
    fees = (await session.execute(select(c.parameters).where(
        c.dealer_id == p.dealer_id, c.effective_from <= day, or_(c.effective_to.is_(None), c.effective_to >= day))
        .order_by(c.version.desc()).limit(1))).scalar()
    params = fees or {}
    value = service_value_of(terms, repair_fee=_dec(params.get("repair_fee")),
                             home_visit_fee=_dec(params.get("home_visit_fee")))
    damages = liquidated_damages(terms, milestone=p.milestone, service_value=value)
    if damages is None:
        return False
    pid = new_id()
    inserted = (await session.execute(insert(sla_penalties).values(
        id=pid, dealer_id=p.dealer_id, job_id=p.job_id, milestone=p.milestone, breach_event_id=str(event.event_id),
        breached_at=p.at, deadline=p.deadline, basis=damages.basis, service_value=damages.service_value,
        percent=damages.percent, amount=damages.amount, terms_version=terms.version, status="charged",
        created_at=now).on_conflict_do_nothing(index_elements=["job_id", "milestone"])
        .returning(sla_penalties.c.id))).first()
    if inserted is None:
        return False
    await record(session, dealer_id=p.dealer_id, kind="sla_damages", occurred_at=p.at, source_type="sla_penalty",
                 source_id=str(pid), amount=damages.amount,
                 details={"job_id": p.job_id, "milestone": p.milestone, "basis": damages.basis}, now=now)
    await audit(session, actor="system", action="sla_damages_charged", entity_type="sla_penalty",
                entity_id=str(pid), details={"dealer_id": p.dealer_id, "job_id": p.job_id, "milestone": p.milestone,
                                             "amount": damages.amount, "terms_version": terms.version}, now=now)
    return True


async def charge_pm_breach(session: AsyncSession, *, event: IntegrationEvent, now: datetime) -> bool:
    """R-S10 + R-S9: a missed PM visit whose job a dealer's engineer held (``dispatch.contract.pm_breached``) charges
    the dealer the damages dispatch priced by the customer contract's ``pm_missed_*`` terms: an ``sla_penalties`` row
    (milestone ``pm_visit``, waivable like any) and its ledger fact on the dealer's next open statement. Once per
    job and milestone, however often it is delivered; False when nothing is charged (no dealer, no job, no amount,
    or already charged)."""
    p = event.payload
    if not p.dealer_id or not p.job_id or not p.amount or p.amount <= 0:
        return False
    pid = new_id()
    inserted = (await session.execute(insert(sla_penalties).values(
        id=pid, dealer_id=p.dealer_id, job_id=p.job_id, milestone=p.milestone, breach_event_id=str(event.event_id),
        breached_at=p.missed_at, deadline=p.window_end, basis=p.basis or "fixed", service_value=None, percent=None,
        amount=p.amount, terms_version=p.terms_version, status="charged", created_at=now)
        .on_conflict_do_nothing(index_elements=["job_id", "milestone"]).returning(sla_penalties.c.id))).first()
    if inserted is None:
        return False
    details = {"job_id": p.job_id, "milestone": p.milestone, "basis": p.basis, "contract_code": p.contract_code,
               "occurrence_id": p.occurrence_id}
    await record(session, dealer_id=p.dealer_id, kind="sla_damages", occurred_at=p.missed_at,
                 source_type="sla_penalty", source_id=str(pid), amount=p.amount, details=details, now=now)
    await audit(session, actor="system", action="sla_damages_charged", entity_type="sla_penalty",
                entity_id=str(pid), details={"dealer_id": p.dealer_id, **details, "amount": p.amount,
                                             "terms": "customer contract pm_missed"}, now=now)
    return True


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


async def list_penalties(session: AsyncSession, *, principal: Principal, dealer_id: str | None,
                         status: str | None, limit: int) -> list[Any]:
    """Damages the caller may see (a dealer only its own), newest breach first."""
    c = sla_penalties.c
    q = select(sla_penalties).where(visible(principal, c.dealer_id))
    if dealer_id is not None:
        q = q.where(c.dealer_id == dealer_id)
    if status is not None:
        q = q.where(c.status == status)
    return list((await session.execute(q.order_by(c.breached_at.desc(), c.id).limit(limit))).mappings())


async def waive(session: AsyncSession, *, penalty_id: UUID, body: WaiverCreate, actor: Principal,
                now: datetime) -> dict[str, Any]:
    """Finance waives charged damages once (409 when already waived); the credit is booked like any fact."""
    c = sla_penalties.c
    row = (await session.execute(update(sla_penalties).where(and_(c.id == penalty_id, c.status == "charged")).values(
        status="waived", waiver_kind=body.kind, waiver_evidence=body.evidence, waiver_note=body.note,
        waived_by=actor.sub, waived_at=now).returning(*sla_penalties.c))).mappings().first()
    if row is None:
        if (await session.execute(select(c.id).where(c.id == penalty_id))).first() is None:
            raise NotFound(f"SLA penalty {penalty_id} not found", field="penalty_id")
        raise Conflict("the damages are already waived", field="status", code="penalty_waived")
    await record(session, dealer_id=row["dealer_id"], kind="sla_damages_waived", occurred_at=row["breached_at"],
                 source_type="sla_penalty_waiver", source_id=str(penalty_id), amount=row["amount"],
                 details={"kind": body.kind, "by": actor.sub}, now=now)
    await audit(session, actor=actor.sub, action="sla_damages_waived", entity_type="sla_penalty",
                entity_id=str(penalty_id), details=body.model_dump(mode="json"), now=now)
    return dict(row)
