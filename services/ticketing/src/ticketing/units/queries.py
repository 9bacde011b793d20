"""A unit's warranty facts in one statement, shared by the warranty endpoint and the intake hot path.

``FACTS_SQL`` is hand-written because ``tickets/hotpath.py`` splices it into its batched read (one LATERAL per
request); tests: ``tests/ticketing/test_units_api.py`` (warranty endpoint) and ``test_intake_batching.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..catalog.service import to_domain
from ..domain.warranty import Delay, Extension, Repair, UnitFacts, WarrantyPolicy
from ..models import warranty_policies

FACTS_SQL = """
SELECT u.serial, u.product_line, u.policy_id, u.dealer_id, u.contract_code, u.sold_on, u.delivered_on,
       u.installed_on, u.dealer_received_on, u.card_registered_on, p.terms, pl.required_skill,
       u.status AS unit_status, u.retired_reason,
       (SELECT coalesce(json_agg(json_build_array(e.paid_on, e.months)), '[]') FROM unit_extensions e
         WHERE e.serial = u.serial) AS extensions,
       (SELECT coalesce(json_agg(json_build_array(d.started_on, d.days, d.caused_by)), '[]') FROM unit_delays d
         WHERE d.serial = u.serial) AS delays,
       (SELECT coalesce(json_agg(json_build_array(r.completed_on, r.component, r.parts_replaced, r.in_warranty,
                                                  r.components)),
               '[]') FROM unit_repairs r WHERE r.serial = u.serial) AS repairs
FROM units u JOIN warranty_policies p ON p.id = u.policy_id JOIN product_lines pl ON pl.code = u.product_line
WHERE u.serial = :serial
"""
_FACTS = sa.text(FACTS_SQL)

_POLICY_CACHE: dict[Any, WarrantyPolicy] = {}  # policy versions are immutable once written

UnitRow = tuple[dict[str, Any], WarrantyPolicy, UnitFacts]


async def load_unit(session: AsyncSession, serial: str) -> UnitRow | None:
    """The unit row, its policy and its facts for warranty determination, in one query."""
    row = (await session.execute(_FACTS, {"serial": serial})).mappings().first()
    return None if row is None else unit_from_row(row)


def unit_from_row(row: Any) -> UnitRow:
    """Policy (cached by version) and facts from a row shaped by FACTS_SQL."""
    policy = _POLICY_CACHE.get(row["policy_id"])
    if policy is None:
        policy = _POLICY_CACHE.setdefault(row["policy_id"], to_domain(row["terms"]))
    d = _day
    facts = UnitFacts(
        sold_on=row["sold_on"], delivered_on=row["delivered_on"], installed_on=row["installed_on"],
        dealer_received_on=row["dealer_received_on"], has_warranty_card=row["card_registered_on"] is not None,
        extensions=tuple(Extension(d(p), m) for p, m in row["extensions"]),
        delays=tuple(Delay(d(s), n, c) for s, n, c in row["delays"]),
        repairs=tuple(Repair(d(c), comp, tuple(parts), w, tuple(names)) for c, comp, parts, w, names in row["repairs"]),
    )
    return dict(row), policy, facts


def _day(text: str) -> date:
    """A date from the facts' JSON. asyncpg stores ``date.max``/``date.min`` as Postgres ``infinity``/``-infinity``
    (rows written before dates were bounded, e.g. a delay from 0001-01-01): read them back as those dates."""
    return _INFINITE.get(text) or date.fromisoformat(text)


_INFINITE = {"infinity": date.max, "-infinity": date.min}


async def policies_for(session: AsyncSession, lines: set[str]) -> dict[str, list[tuple[date, Any]]]:
    """Per product line, its policy versions (effective_from, id), newest first."""
    p = warranty_policies.c
    rows = (await session.execute(
        sa.select(p.product_line, p.effective_from, p.id).where(p.product_line.in_(lines))
        .order_by(p.effective_from.desc(), p.version.desc()))).all()
    out: dict[str, list[tuple[date, Any]]] = {}
    for line, eff, pid in rows:
        out.setdefault(line, []).append((eff, pid))
    return out
