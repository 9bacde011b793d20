"""R-P8 parts kept available 15 years (a term: ``PARTS_AVAILABILITY_YEARS``, or a product line's own
``availability_years``) after their product lines' end of sale: the product lines' dates, and the report of
parts whose horizon falls within the next N months (the catalogue's parts to last-buy or re-source).

R-P9 the seasonal stock plan: per dealer, what its engineers replaced in last year's same window
(``part_replacements``), ``seasonal_plan_ahead_days`` (a dealer's parts term, default 30) ahead, against its
depot stock — a suggestion list, like the base stock (R-P5).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..config import PartsSettings
from ..domain.base_stock import months_back
from ..domain.horizon import part_horizon, season_window
from ..models import product_lines
from ..terms import service as dealer_terms

HORIZON_COLUMNS = ("part_no", "name", "product_lines", "available_until", "days_left", "on_hand")


async def put_product_line(session: AsyncSession, *, product_line: str, end_of_sale: date | None,
                           availability_years: int | None, actor: str, now: datetime) -> dict[str, Any]:
    """Record a product line's end of sale (and its own availability years, if its contract says so)."""
    values = {"end_of_sale": end_of_sale, "availability_years": availability_years, "updated_by": actor,
              "updated_at": now}
    row = (await session.execute(insert(product_lines).values(product_line=product_line, **values)
                                 .on_conflict_do_update(index_elements=["product_line"], set_=values)
                                 .returning(*product_lines.c))).mappings().one()
    return dict(row)


async def list_product_lines(session: AsyncSession) -> list[dict[str, Any]]:
    return [dict(r) for r in (await session.execute(
        sa.select(product_lines).order_by(product_lines.c.product_line))).mappings()]


_PARTS = sa.text("""
SELECT c.part_no, c.name, c.product_lines,
       COALESCE((SELECT sum(b.on_hand) FROM stock_balances b WHERE b.part_no = c.part_no), 0) AS on_hand,
       COALESCE(jsonb_agg(jsonb_build_object('eos', pl.end_of_sale, 'years', pl.availability_years))
                FILTER (WHERE l.line IS NOT NULL), '[]'::jsonb) AS lines
FROM catalogue_parts c
LEFT JOIN LATERAL unnest(c.product_lines) AS l(line) ON true
LEFT JOIN product_lines pl ON pl.product_line = l.line
GROUP BY c.part_no, c.name, c.product_lines
""")


async def nearing_horizon(session: AsyncSession, settings: PartsSettings, *, today: date, within_months: int,
                          offset: int = 0, limit: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Parts whose availability horizon ends within ``within_months`` (or has passed), soonest first."""
    until = months_back(today, -within_months)
    found = []
    for r in (await session.execute(_PARTS)).mappings():
        lines = [(date.fromisoformat(x["eos"]) if x["eos"] else None, x["years"] or settings.availability_years)
                 for x in r["lines"]]
        horizon = part_horizon(lines)
        if horizon is not None and horizon <= until:
            found.append({"part_no": r["part_no"], "name": r["name"], "product_lines": list(r["product_lines"]),
                          "available_until": horizon, "days_left": (horizon - today).days,
                          "on_hand": int(r["on_hand"])})
    found.sort(key=lambda x: (x["available_until"], x["part_no"]))
    return len(found), found[offset:None if limit is None else offset + limit]


async def seasonal_plan(session: AsyncSession, settings: PartsSettings, *, dealer_id: str, today: date,
                        days: int) -> dict[str, Any]:
    """R-P9: the dealer's stock suggestion for the window ``ahead_days`` from today, from last year's same window."""
    terms = await dealer_terms.terms_on(session, settings, dealer_id=dealer_id, on=today)
    w = season_window(today, ahead_days=terms.seasonal_plan_ahead_days, days=days)
    rows = (await session.execute(sa.text("""
        SELECT r.part_no, c.name, sum(r.quantity) AS used,
               COALESCE((SELECT sum(b.on_hand) FROM stock_balances b JOIN warehouses w ON w.id = b.warehouse_id
                         WHERE w.kind = 'dealer_depot' AND w.dealer_id = :d AND b.part_no = r.part_no), 0) AS on_hand
        FROM part_replacements r LEFT JOIN catalogue_parts c ON c.part_no = r.part_no
        WHERE r.dealer_id = :d AND (r.replaced_at AT TIME ZONE 'Asia/Shanghai')::date >= :s
          AND (r.replaced_at AT TIME ZONE 'Asia/Shanghai')::date < :e
        GROUP BY r.part_no, c.name ORDER BY sum(r.quantity) DESC, r.part_no"""),
        {"d": dealer_id, "s": w.last_year_start, "e": w.last_year_end})).mappings().all()
    items = [{"part_no": r["part_no"], "name": r["name"], "last_year_quantity": int(r["used"]),
              "suggested": int(r["used"]), "depot_on_hand": int(r["on_hand"]),
              "shortfall": max(int(r["used"]) - int(r["on_hand"]), 0)} for r in rows]
    return {"dealer_id": dealer_id, "ahead_days": terms.seasonal_plan_ahead_days, "window_start": w.start,
            "window_end": w.end, "last_year_start": w.last_year_start, "last_year_end": w.last_year_end,
            "items": items}
