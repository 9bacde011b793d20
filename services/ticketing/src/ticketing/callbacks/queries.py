"""The monthly dealer report (R-T5, R-T6, R-O1): one statement over callbacks and complaints, months counted in
Shanghai; tested by ``tests/ticketing/test_complaints_callbacks.py``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

_REPORT = sa.text("""
WITH bounds AS (
  SELECT (CAST(:month || '-01' AS timestamp) AT TIME ZONE 'Asia/Shanghai') AS lo,
         ((CAST(:month || '-01' AS timestamp) + interval '1 month') AT TIME ZONE 'Asia/Shanghai') AS hi
), cb AS (
  SELECT coalesce(c.dealer_id, '') AS dealer_id, count(*) AS repairs,
         count(*) FILTER (WHERE c.status = 'done') AS called,
         count(*) FILTER (WHERE c.reached) AS reached, count(*) FILTER (WHERE c.fixed) AS fixed,
         avg(c.satisfaction) AS satisfaction, count(c.satisfaction) AS rated
  FROM callbacks c, bounds b WHERE c.repair_completed_at >= b.lo AND c.repair_completed_at < b.hi
  GROUP BY 1
), cp AS (
  SELECT coalesce(m.dealer_id, '') AS dealer_id, count(*) AS complaints, count(*) FILTER (WHERE m.upheld) AS upheld
  FROM complaints m, bounds b WHERE m.filed_at >= b.lo AND m.filed_at < b.hi GROUP BY 1
), r AS (
  SELECT nullif(coalesce(cb.dealer_id, cp.dealer_id), '') AS dealer_id, coalesce(cb.repairs, 0) AS repairs,
         coalesce(cb.called, 0) AS callbacks, coalesce(cb.reached, 0) AS reached, coalesce(cb.fixed, 0) AS fixed,
         cb.satisfaction, coalesce(cb.rated, 0) AS rated, coalesce(cp.complaints, 0) AS complaints,
         coalesce(cp.upheld, 0) AS upheld_complaints
  FROM cb FULL OUTER JOIN cp ON cb.dealer_id = cp.dealer_id
)
SELECT * FROM r WHERE CAST(:dealer AS text) IS NULL OR r.dealer_id = :dealer
ORDER BY 1 NULLS LAST
""")


async def dealer_month_rows(session: AsyncSession, *, month: str, dealer_id: str | None) -> list[Any]:
    """Per dealer (or only ``dealer_id``): repairs, callbacks, reached, fixed, satisfaction, complaints."""
    return list((await session.execute(_REPORT, {"month": month, "dealer": dealer_id})).mappings().all())
