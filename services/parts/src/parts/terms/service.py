"""The dealer's parts terms (issue 16): record a change from a date (append-only: the rows are the audit
trail), read the terms in force on a date (pure resolution: ``domain/terms.py``), the history. No change
reaches into the past: a request, issue or window keeps the terms in force on its date."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import Unprocessable
from aftersales_shared.terms import TermChange

from ..config import PartsSettings
from ..domain.terms import TERM_NAMES, PartsTerms, resolve
from ..models import dealer_terms
from .schemas import PartsTermsPut

_CHANGES = "SELECT effective_from, version, values FROM dealer_terms WHERE dealer_id = $1"


def defaults_of(settings: PartsSettings) -> dict[str, Any]:
    """The configured defaults (PARTS_SHIP_WITHIN_DAYS, PARTS_RETURN_DUE_DAYS, PARTS_BASE_STOCK_PERCENT,
    PARTS_SEASONAL_PLAN_AHEAD_DAYS)."""
    return {k: getattr(settings, k) for k in TERM_NAMES}


async def changes_of(session: AsyncSession, dealer_id: str) -> list[TermChange]:
    c = dealer_terms.c
    rows = (await session.execute(sa.select(c.effective_from, c.version, c["values"])
                                  .where(c.dealer_id == dealer_id))).all()
    return [TermChange(effective_from=r[0], version=r[1], values=r[2]) for r in rows]


async def terms_on(session: AsyncSession, settings: PartsSettings, *, dealer_id: str | None,
                   on: date) -> PartsTerms:
    """The dealer's parts terms in force on ``on`` (the configured defaults for no dealer: manufacturer staff)."""
    changes = await changes_of(session, dealer_id) if dealer_id else []
    return resolve(defaults_of(settings), changes, on)[0]


async def terms_on_pool(pool: asyncpg.Pool, settings: PartsSettings, *, dealer_id: str | None,
                        on: date) -> PartsTerms:
    """``terms_on`` for the request-creation hot path, which runs on the raw asyncpg pool."""
    rows = await pool.fetch(_CHANGES, dealer_id) if dealer_id else []
    return resolve(defaults_of(settings), [TermChange(r[0], r[1], r[2]) for r in rows], on)[0]


async def in_force(session: AsyncSession, settings: PartsSettings, *, dealer_id: str, on: date) -> dict[str, Any]:
    terms, found = resolve(defaults_of(settings), await changes_of(session, dealer_id), on)
    return {"dealer_id": dealer_id, "on": on, "version": terms.version,
            "values": {k: getattr(terms, k) for k in TERM_NAMES}, "source": found.source}


async def history(session: AsyncSession, *, dealer_id: str) -> list[Any]:
    return list((await session.execute(sa.select(dealer_terms).where(dealer_terms.c.dealer_id == dealer_id)
                                       .order_by(dealer_terms.c.version))).mappings())


async def put_terms(session: AsyncSession, *, dealer_id: str, body: PartsTermsPut, actor: str, today: date,
                    now: datetime) -> tuple[dict[str, Any], bool]:
    """Record a change from ``effective_from`` (today or later); repeating the latest change for that date
    records nothing (False)."""
    if body.effective_from < today:
        raise Unprocessable(f"a change applies from today ({today}) or later: facts before it keep the terms in "
                            "force when they happened", field="effective_from", code="terms_backdated")
    values = body.values.model_dump(mode="json", exclude_none=True)
    await session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('parts-terms:' || :d))"), {"d": dealer_id})
    c = dealer_terms.c
    same_day = (await session.execute(sa.select(dealer_terms).where(
        c.dealer_id == dealer_id, c.effective_from == body.effective_from).order_by(c.version.desc()).limit(1))
    ).mappings().first()
    if same_day is not None and same_day["values"] == values and same_day["reason"] == body.reason:
        return dict(same_day), False
    version = (await session.execute(sa.select(sa.func.coalesce(sa.func.max(c.version), 0) + 1)
                                     .where(c.dealer_id == dealer_id))).scalar_one()
    row = (await session.execute(sa.insert(dealer_terms).values(
        dealer_id=dealer_id, version=version, effective_from=body.effective_from, values=values,
        reason=body.reason, created_by=actor, created_at=now).returning(*dealer_terms.c))).mappings().one()
    return dict(row), True
