"""Dealer service agreement terms (issue 16): record a change from a date, read the terms in force on a date
(the pure resolution is ``domain/terms.py``), the history. Every change is audited; none reaches into the past
(a fact keeps the terms in force when it happened)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.auth import Principal
from aftersales_shared.errors import Unprocessable
from aftersales_shared.terms import TermChange

from ..audit import audit, jsonable
from ..config import SettlementSettings
from ..dealers.service import get_dealer
from ..domain.terms import TERM_NAMES, DealerTerms, grade_floors_problem, resolve
from ..models import dealer_terms
from .schemas import DealerTermsPut


def defaults_of(settings: SettlementSettings) -> dict[str, Any]:
    """The configured defaults of every term (``SETTLEMENT_TERMS_<NAME>``)."""
    found = {k: getattr(settings, f"terms_{k}") for k in TERM_NAMES}
    if found["assessment_issue_by_day"] is None:  # the older setting SETTLEMENT_ASSESSMENT_ISSUE_BY_DAY
        found["assessment_issue_by_day"] = settings.assessment_issue_by_day
    return found


async def changes_of(session: AsyncSession, dealer_id: str) -> list[TermChange]:
    """Every recorded change of the dealer's terms."""
    c = dealer_terms.c
    rows = (await session.execute(select(c.effective_from, c.version, c["values"])
                                  .where(c.dealer_id == dealer_id))).all()
    return [TermChange(effective_from=r[0], version=r[1], values=r[2]) for r in rows]


async def terms_on(session: AsyncSession, *, dealer_id: str, on: date, defaults: dict[str, Any]) -> DealerTerms:
    """The dealer's terms in force on ``on`` (a fact's date)."""
    terms, _ = resolve(defaults, await changes_of(session, dealer_id), on)
    return terms


async def in_force(session: AsyncSession, *, dealer_id: str, on: date, defaults: dict[str, Any],
                   principal: Principal) -> dict[str, Any]:
    """The terms in force on a date, with the change each comes from (a dealer reads only its own)."""
    await get_dealer(session, dealer_id=dealer_id, principal=principal)
    terms, found = resolve(defaults, await changes_of(session, dealer_id), on)
    return {"dealer_id": dealer_id, "on": on, "version": terms.version,
            "values": {k: getattr(terms, k) for k in TERM_NAMES}, "source": found.source}


async def history(session: AsyncSession, *, dealer_id: str, principal: Principal) -> list[Any]:
    """Every change of the dealer's terms, oldest version first."""
    await get_dealer(session, dealer_id=dealer_id, principal=principal)
    return list((await session.execute(select(dealer_terms).where(dealer_terms.c.dealer_id == dealer_id)
                                       .order_by(dealer_terms.c.version))).mappings())


async def put_terms(session: AsyncSession, *, dealer_id: str, body: DealerTermsPut, actor: Principal,
                    today: date, now: datetime, defaults: dict[str, Any] | None = None
                    ) -> tuple[dict[str, Any], bool]:
    """Record a change from ``effective_from`` (today or later: facts already booked keep their terms).
    Repeating the latest change for that date changes nothing (False); otherwise a new version (True)."""
    await get_dealer(session, dealer_id=dealer_id, principal=actor)
    if body.effective_from < today:
        raise Unprocessable(f"a change applies from today ({today}) or later: facts before it keep the terms in "
                            "force when they happened", field="effective_from", code="terms_backdated")
    values = jsonable(body.values.model_dump(mode="json", exclude_none=True))
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('settlement-terms:' || :d))"),
                          {"d": dealer_id})
    c = dealer_terms.c
    if any(k.startswith("assessment_grade_") for k in values):
        # R-D7: the floors in force from that day, this change applied, must still fall from A to C
        changes = [*await changes_of(session, dealer_id),
                   TermChange(effective_from=body.effective_from, version=2**31 - 1, values=values)]
        merged, _ = resolve(defaults or {}, changes, body.effective_from)
        problem = grade_floors_problem(merged)
        if problem:
            raise Unprocessable(problem, field="values.assessment_grade_b", code="grade_floors_unordered")
    same_day = (await session.execute(select(dealer_terms).where(
        c.dealer_id == dealer_id, c.effective_from == body.effective_from).order_by(c.version.desc()).limit(1))
    ).mappings().first()
    if same_day is not None and same_day["values"] == values and same_day["reason"] == body.reason:
        return dict(same_day), False
    version = (await session.execute(select(func.coalesce(func.max(c.version), 0) + 1)
                                     .where(c.dealer_id == dealer_id))).scalar_one()
    row = (await session.execute(insert(dealer_terms).values(
        dealer_id=dealer_id, version=version, effective_from=body.effective_from, values=values,
        reason=body.reason, created_by=actor.sub, created_at=now).returning(*dealer_terms.c))).mappings().one()
    await audit(session, actor=actor.sub, action="terms_changed", entity_type="dealer_terms", entity_id=dealer_id,
                details={"version": version, "effective_from": body.effective_from, "values": values,
                         "reason": body.reason}, now=now)
    return dict(row), True
