"""Coverage use cases (issue 15; flush, never commit): a diagnosis re-determines coverage
(``domain/coverage.py``), the call center overrides it; each change is a ``coverage_changes`` row and a
``ticketing.ticket.coverage_changed`` event in the same unit of work, under the ticket's row lock."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.events.dispatch import JobDiagnosedPayload
from aftersales_shared.events.ticketing import TicketCoverageChanged
from aftersales_shared.outbox import add_events

from ..domain.coverage import ComponentCover, after_diagnosis, after_unit_change
from ..domain.ticket_lifecycle import OPEN_STATUSES
from ..domain.warranty import UnitFacts, WarrantyError, WarrantyPolicy, determine_warranty
from ..models import coverage_changes, tickets
from ..tickets.service import find_visible
from ..units.queries import load_unit

log = logging.getLogger(__name__)


async def _lock(session: AsyncSession, ticket_id: UUID) -> dict[str, Any] | None:
    row = (await session.execute(sa.select(tickets).where(tickets.c.id == ticket_id).with_for_update())
           ).mappings().first()
    return dict(row) if row is not None else None


async def _history(session: AsyncSession, ticket_id: UUID) -> list[dict[str, Any]]:
    c = coverage_changes.c
    return [dict(r) for r in (await session.execute(
        sa.select(coverage_changes).where(c.ticket_id == ticket_id).order_by(c.id))).mappings()]


async def _change(session: AsyncSession, t: dict[str, Any], *, to: str, source: str, reason: str, actor: str,
                  job_id: str | None, exclusions: list[str], root_cause: str | None, at: datetime) -> None:
    """Set the ticket's coverage, write the audit row, announce it."""
    await session.execute(sa.update(tickets).where(tickets.c.id == t["id"]).values(
        coverage=to, coverage_reason=reason, exclusions=exclusions, root_cause=root_cause, updated_at=at))
    await session.execute(sa.insert(coverage_changes).values(
        ticket_id=t["id"], job_id=job_id, source=source, from_coverage=t["coverage"], to_coverage=to, reason=reason,
        exclusions=exclusions, root_cause=root_cause, actor=actor, at=at))
    await add_events(session, TicketCoverageChanged(aggregate_id=str(t["id"]), payload={
        "ticket_id": str(t["id"]), "ticket_no": t["ticket_no"], "serial": t["serial"], "dealer_id": t["dealer_id"],
        "job_id": job_id, "from_coverage": t["coverage"], "to_coverage": to, "source": source, "reason": reason,
        "exclusions": exclusions, "root_cause": root_cause, "actor": actor, "changed_at": at}))


async def apply_diagnosis(session: AsyncSession, p: JobDiagnosedPayload) -> None:
    """An engineer's diagnosis: record the root cause and the exclusions found; re-determine the coverage."""
    try:
        ticket_id = UUID(p.ticket_id)
    except ValueError:
        return
    t = await _lock(session, ticket_id)
    if t is None:
        log.warning("diagnosis of job %s names unknown ticket %s", p.job_id, p.ticket_id)
        return
    history = await _history(session, ticket_id)
    redetermined = [h for h in history if h["source"] == "unit_change"]  # the unit's dates changed since intake
    intake = (redetermined[-1]["to_coverage"] if redetermined
              else history[0]["from_coverage"] if history else t["coverage"])
    overridden = any(h["source"] == "override" for h in history)
    exclusions = sorted(set(t["exclusions"]) | set(p.exclusions))
    decision = after_diagnosis(current=t["coverage"], intake=intake, exclusions=p.exclusions,
                               root_cause=p.root_cause, overridden=overridden,
                               components=await _component_covers(session, t, [c.component for c in p.components]))
    if decision is None:  # the coverage stands; the findings are still the ticket's record
        await session.execute(sa.update(tickets).where(tickets.c.id == ticket_id).values(
            exclusions=exclusions, root_cause=p.root_cause))
        return
    await _change(session, t, to=decision.to, source="diagnosis", reason=decision.reason,
                  actor=f"dispatch:{p.engineer_id or 'job'}", job_id=p.job_id, exclusions=exclusions,
                  root_cause=p.root_cause, at=p.at)


async def _component_covers(session: AsyncSession, t: dict[str, Any], names: list[str]) -> list[ComponentCover]:
    """R-W8: each diagnosed failed component's warranty on the ticket's intake day, with the unit's repair and
    parts history (a part fitted or a repair done under warranty carries its own months). Empty when the unit is
    not on record or no component was named."""
    loaded = await load_unit(session, t["serial"]) if names else None
    if loaded is None:
        return []
    _row, policy, facts = loaded
    on = clock.business_date(t["opened_at"])
    return [ComponentCover(name, d.coverage, "; ".join(d.reasons[1:2] or d.reasons[:1]))
            for name in dict.fromkeys(names)
            for d in (determine_warranty(policy, facts, on, component=name),)]


async def redetermine_open_tickets(session: AsyncSession, *, serial: str, policy: WarrantyPolicy, facts: UnitFacts,
                                   change: str, actor: str, at: datetime) -> list[dict[str, Any]]:
    """The unit's facts changed (``change`` says how): each open ticket of it gets its warranty determined again on
    its intake day; a changed coverage is a ``unit_change`` row and a ``coverage_changed`` event. The changes made."""
    rows = (await session.execute(
        sa.select(tickets).where(tickets.c.serial == serial, tickets.c.status.in_(OPEN_STATUSES))
        .order_by(tickets.c.opened_at).with_for_update())).mappings().all()
    made = []
    for row in rows:
        t = dict(row)
        history = await _history(session, t["id"])
        try:
            d = determine_warranty(policy, facts, clock.business_date(t["opened_at"]), component=t["component"],
                                   exclusions=tuple(t["exclusions"]))
        except WarrantyError:  # an exclusion the policy no longer names: leave the ticket to the call center
            log.warning("ticket %s kept its coverage: an exclusion its unit's policy does not name", t["id"])
            continue
        why = f"{change}: " + "; ".join(d.reasons[:2])
        decision = after_unit_change(current=t["coverage"], determined=d.coverage, root_cause=t["root_cause"],
                                     overridden=any(h["source"] == "override" for h in history), why=why)
        if decision is None:
            continue
        await _change(session, t, to=decision.to, source="unit_change", reason=decision.reason, actor=actor,
                      job_id=None, exclusions=list(t["exclusions"]), root_cause=t["root_cause"], at=at)
        made.append({"ticket_id": t["id"], "ticket_no": t["ticket_no"], "from_coverage": t["coverage"],
                     "to_coverage": decision.to, "reason": decision.reason})
    return made


async def override(session: AsyncSession, *, ref: str, viewer: Principal, coverage: str, reason: str,
                   now: datetime) -> dict[str, Any]:
    """The call center sets the coverage with a reason (audited); setting the coverage it already has changes
    nothing."""
    current = await find_visible(session, viewer, ref)
    t = await _lock(session, current["id"])
    assert t is not None
    if t["coverage"] != coverage:
        await _change(session, t, to=coverage, source="override", reason=reason, actor=viewer.sub,
                      job_id=None, exclusions=list(t["exclusions"]), root_cause=t["root_cause"], at=now)
    return await read(session, ref=ref, viewer=viewer)


async def read(session: AsyncSession, *, ref: str, viewer: Principal) -> dict[str, Any]:
    """A ticket's coverage, its reason and the audited history of its changes."""
    t = await find_visible(session, viewer, ref)
    rows = await _history(session, t["id"])
    return {"ticket_id": str(t["id"]), "ticket_no": t["ticket_no"], "coverage": t["coverage"],
            "coverage_reason": t["coverage_reason"], "root_cause": t["root_cause"], "exclusions": t["exclusions"],
            "changes": rows}
