"""Customer service contract terms (issue 16 item 1): record a change from a date, read the terms in force on a
date (the pure resolution is ``domain/terms.py``), the history. The terms: R-T6 complaint response hours and R-T4
record terms (retention and purge years, read by ``retention/``). Every change is a new version with who, when and
why (``contract_terms`` is append-only: it is the audit); none reaches into the past (a complaint keeps the
terms in force when it was filed)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, get_args

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import Unprocessable
from aftersales_shared.terms import TermChange

from ..complaints.schemas import Category
from ..domain.terms import FALLBACK_RESPONSE_HOURS, RECORD_TERMS, ContractTerms, RecordTerms, resolve, resolve_records
from ..models import contract_terms
from .schemas import ComplaintTermsPut, RecordTermsPut

CATEGORIES: tuple[str, ...] = get_args(Category)


def default_hours(configured: Mapping[str, int]) -> dict[str, int]:
    """Every category's configured default (``TICKETING_COMPLAINT_RESPONSE_HOURS``)."""
    return {c: int(configured.get(c, FALLBACK_RESPONSE_HOURS)) for c in CATEGORIES}


async def changes_of(session: AsyncSession, contract_code: str) -> list[TermChange]:
    c = contract_terms.c
    rows = (await session.execute(sa.select(c.effective_from, c.version, c["values"])
                                  .where(c.contract_code == contract_code))).all()
    return [TermChange(effective_from=r[0], version=r[1], values=r[2]) for r in rows]


async def terms_on(session: AsyncSession, *, contract_code: str | None, on: date,
                   configured: Mapping[str, int]) -> ContractTerms:
    """The contract's terms in force on ``on`` (no contract: the configured defaults)."""
    changes = await changes_of(session, contract_code) if contract_code else []
    return resolve(default_hours(configured), changes, on)


async def in_force(session: AsyncSession, *, contract_code: str, on: date,
                   configured: Mapping[str, int]) -> dict[str, Any]:
    t = await terms_on(session, contract_code=contract_code, on=on, configured=configured)
    return {"contract_code": contract_code, "on": on, "version": t.version, "response_hours": t.response_hours,
            "source": t.source}


async def history(session: AsyncSession, *, contract_code: str) -> list[dict[str, Any]]:
    """Every change of the contract's terms, oldest version first."""
    c = contract_terms.c
    return [dict(r) for r in (await session.execute(
        sa.select(contract_terms).where(c.contract_code == contract_code).order_by(c.version))).mappings()]


async def put_complaint_terms(session: AsyncSession, *, contract_code: str, body: ComplaintTermsPut, actor: str,
                              today: date, now: datetime) -> tuple[dict[str, Any], bool]:
    """Record a change of the complaint response hours from ``effective_from`` (complaints already filed keep their
    due time)."""
    return await _record_change(session, contract_code=contract_code, effective_from=body.effective_from,
                                values={"response_hours": dict(sorted(body.response_hours.items()))},
                                reason=body.reason, actor=actor, today=today, now=now,
                                why="complaints filed before it keep the terms in force when they were filed")


async def put_record_terms(session: AsyncSession, *, contract_code: str, body: RecordTermsPut, actor: str,
                           today: date, now: datetime) -> tuple[dict[str, Any], bool]:
    """Record a change of the R-T4 record terms (retention, purge) from ``effective_from``."""
    return await _record_change(session, contract_code=contract_code, effective_from=body.effective_from,
                                values=body.model_dump(include=set(RECORD_TERMS), exclude_none=True),
                                reason=body.reason, actor=actor, today=today, now=now,
                                why="a retention run before it keeps the terms in force on its day")


def record_defaults(settings: Any) -> dict[str, int]:
    """The configured defaults of the record terms (``TICKETING_RETENTION_YEARS``, ``TICKETING_PURGE_AFTER_YEARS``)."""
    return {k: int(getattr(settings, k)) for k in RECORD_TERMS}


async def records_on(session: AsyncSession, *, contract_code: str | None, on: date,
                     defaults: Mapping[str, int]) -> RecordTerms:
    """The contract's record terms in force on ``on`` (no contract: the configured defaults)."""
    return resolve_records(defaults, await changes_of(session, contract_code) if contract_code else [], on)


async def records_in_force(session: AsyncSession, *, contract_code: str, on: date,
                           defaults: Mapping[str, int]) -> dict[str, Any]:
    t = await records_on(session, contract_code=contract_code, on=on, defaults=defaults)
    return {"contract_code": contract_code, "on": on, "version": t.version, "retention_years": t.retention_years,
            "purge_after_years": t.purge_after_years, "source": t.source}


async def record_terms_by_contract(session: AsyncSession, *, on: date,
                                   defaults: Mapping[str, int]) -> dict[str, RecordTerms]:
    """The record terms in force on ``on`` of every contract that changed any of them (the others: the defaults)."""
    c = contract_terms.c
    changes: dict[str, list[TermChange]] = {}
    for r in await session.execute(sa.select(c.contract_code, c.effective_from, c.version, c["values"]).where(
            sa.or_(*(c["values"].has_key(k) for k in RECORD_TERMS)))):
        changes.setdefault(r[0], []).append(TermChange(effective_from=r[1], version=r[2], values=r[3]))
    return {code: resolve_records(defaults, found, on) for code, found in changes.items()}


async def _record_change(session: AsyncSession, *, contract_code: str, effective_from: date, values: dict[str, Any],
                         reason: str, actor: str, today: date, now: datetime, why: str) -> tuple[dict[str, Any], bool]:
    """Record a change from ``effective_from`` (today or later: facts before it keep their terms). Repeating the
    latest change for that date changes nothing (False); otherwise a new version (True), with who, when and why."""
    if effective_from < today:
        raise Unprocessable(f"a change applies from today ({today}) or later: {why}", field="effective_from",
                            code="terms_backdated")
    await session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('ticketing-terms:' || :c))"),
                          {"c": contract_code})
    c = contract_terms.c
    same_day = (await session.execute(sa.select(contract_terms).where(
        c.contract_code == contract_code, c.effective_from == effective_from)
        .order_by(c.version.desc()).limit(1))).mappings().first()
    if same_day is not None and same_day["values"] == values and same_day["reason"] == reason:
        return dict(same_day), False
    version = (await session.execute(sa.select(sa.func.coalesce(sa.func.max(c.version), 0) + 1)
                                     .where(c.contract_code == contract_code))).scalar_one()
    row = (await session.execute(sa.insert(contract_terms).values(
        contract_code=contract_code, version=version, effective_from=effective_from, values=values,
        reason=reason, created_by=actor, created_at=now).returning(*contract_terms.c))).mappings().one()
    return dict(row), True
