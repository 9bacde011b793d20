"""R-O1 the monthly parts-replacement list: every part a completed job used (from ``dispatch.job.completed``'s
``parts_used``, recorded once per job and line), with the job's dealer, product line, coverage and root cause,
the part's catalogue name and, for must-return parts, where the old part's return stands (R-P4).

One Shanghai calendar month, filterable by dealer and product line, a page as JSON or whole as CSV/XLSX; a
dealer sees only its own rows (``access.visible``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal

from .. import access
from ..models import catalogue, expected_returns, part_replacements

COLUMNS = ("replaced_at", "dealer_id", "job_id", "ticket_id", "product_line", "serial", "part_no", "part_name",
           "quantity", "old_serial", "new_serial", "old_part_kept", "coverage", "root_cause", "return_status")


def month_of(text: str) -> date:
    """``YYYY-MM`` (already validated by the boundary type) → the month's first day."""
    y, m = text.split("-")
    return date(int(y), int(m), 1)


async def record_replacements(session: AsyncSession, p: Any, *, now: datetime) -> None:
    """Keep each part a completed job used (a redelivered or re-published completion changes nothing)."""
    if not p.parts_used:
        return
    month = clock.business_date(p.at).replace(day=1)
    await session.execute(insert(part_replacements).values([{
        "job_id": p.job_id, "line_no": n, "dealer_id": p.dealer_id, "engineer_id": p.engineer_id,
        "ticket_id": p.ticket_id, "part_no": u.part_no, "quantity": u.quantity, "old_serial": u.old_serial,
        "new_serial": u.new_serial, "old_part_kept": u.old_part_kept, "serial": p.serial,
        "product_line": p.product_line, "coverage": p.coverage, "root_cause": p.root_cause, "replaced_at": p.at,
        "month": month, "created_at": now} for n, u in enumerate(p.parts_used, start=1)])
        .on_conflict_do_nothing(index_elements=["job_id", "line_no"]))


async def replacements(session: AsyncSession, *, principal: Principal, month: date, dealer_id: str | None = None,
                       product_line: str | None = None, offset: int = 0,
                       limit: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    """The month's replaced parts, oldest first (``limit`` None: every row, for the exports), and their count."""
    r, er = part_replacements.c, expected_returns.c
    where = [r.month == month, access.visible(principal, part_replacements)]
    if dealer_id:
        where.append(r.dealer_id == dealer_id)
    if product_line:
        where.append(r.product_line == product_line)
    total = (await session.execute(sa.select(sa.func.count()).select_from(part_replacements).where(*where))
             ).scalar_one()
    return_status = (sa.select(er.status).where(er.job_id == r.job_id, er.part_no == r.part_no)
                     .order_by(er.created_at.desc()).limit(1).scalar_subquery())
    q = (sa.select(r.replaced_at, r.dealer_id, r.job_id, r.ticket_id, r.product_line, r.serial, r.part_no,
                   catalogue.c.name.label("part_name"), r.quantity, r.old_serial, r.new_serial, r.old_part_kept,
                   r.coverage, r.root_cause, return_status.label("return_status"))
         .select_from(part_replacements.outerjoin(catalogue, catalogue.c.part_no == r.part_no))
         .where(*where).order_by(r.replaced_at, r.job_id, r.line_no).offset(offset).limit(limit))
    return total, [dict(x) for x in (await session.execute(q)).mappings()]
