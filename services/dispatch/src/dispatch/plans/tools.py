"""Tools as data (issue 14, item 1 "per engineer and day: ... tools"): what an engineer carries, what a job needs.

An engineer's tools: a set of names (``engineers.tools``, ``PUT /v1/engineers/{id}/tools``). A job's required tools:
its own ``required_tools`` when a dispatcher named them (``[]`` = none, ``PATCH /v1/jobs/{id}/planning``), else its
product line x fault class's (``fault_class_tools``, ``PUT /v1/fault-classes/{line}/{class}/tools``), else none.
An engineer without every tool a job needs may not serve it: in a plan (``routing.Engineer.qualifies``) and in a
live insertion (the candidate query and the core). The fault-class table is kept per process for
``DISPATCH_LIVE_CACHE_SECONDS`` (the live path reads it every decision); a change made in this process clears it.
Each write replaces the whole set under a transaction-scoped advisory lock on its key (racing writes end as one).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import NotFound

from ..config import DispatchConfig
from ..models import Engineer, FaultClassTool
from .process_cache import ProcessCache

ToolTable = dict[tuple[str, str], frozenset[str]]


async def _lock(session: AsyncSession, *key: str) -> None:
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended("/".join(key), 0))))


# --- what an engineer carries ---------------------------------------------------------------------

async def engineer_tools(session: AsyncSession, *, engineer_id: str) -> list[str]:
    tools = await session.scalar(sa.select(Engineer.tools).where(Engineer.id == engineer_id))
    if tools is None:
        raise NotFound(f"engineer {engineer_id} not found", field="engineer_id")
    return sorted(tools)


async def put_engineer_tools(session: AsyncSession, *, engineer_id: str, tools: Iterable[str]) -> list[str]:
    """Replace the engineer's tools (a set: duplicates collapse)."""
    got = await session.execute(sa.update(Engineer).where(Engineer.id == engineer_id)
                                .values(tools=sorted(set(tools))).returning(Engineer.tools)
                                .execution_options(synchronize_session="fetch"))
    row = got.first()
    if row is None:
        raise NotFound(f"engineer {engineer_id} not found", field="engineer_id")
    return list(row[0])


# --- what a job needs -----------------------------------------------------------------------------

async def fault_class_tools(session: AsyncSession, *, product_line: str, fault_class: str) -> list[str]:
    return list((await session.scalars(sa.select(FaultClassTool.tool).where(
        FaultClassTool.product_line == product_line, FaultClassTool.fault_class == fault_class)
        .order_by(FaultClassTool.tool))).all())


async def put_fault_class_tools(session: AsyncSession, *, product_line: str, fault_class: str,
                                tools: Iterable[str], now: datetime) -> list[str]:
    await _lock(session, "fault_class_tools", product_line, fault_class)
    await session.execute(sa.delete(FaultClassTool).where(
        FaultClassTool.product_line == product_line, FaultClassTool.fault_class == fault_class))
    session.add_all(FaultClassTool(product_line=product_line, fault_class=fault_class, tool=t, updated_at=now)
                    for t in sorted(set(tools)))
    await session.flush()
    forget()
    return await fault_class_tools(session, product_line=product_line, fault_class=fault_class)


async def tool_table(session: AsyncSession) -> ToolTable:
    out: dict[tuple[str, str], set[str]] = {}
    for line, fc, tool in (await session.execute(sa.select(
            FaultClassTool.product_line, FaultClassTool.fault_class, FaultClassTool.tool))).all():
        out.setdefault((line, fc), set()).add(tool)
    return {k: frozenset(v) for k, v in out.items()}


def required_tools(job: Any, table: ToolTable) -> tuple[frozenset[str], str]:
    """The tools the job needs and where that comes from (``job`` | ``fault_class`` | ``none``); ``job`` is a row
    or anything with ``required_tools``, ``product_line`` and ``fault_class``."""
    if job.required_tools is not None:
        return frozenset(job.required_tools), "job"
    named = table.get((job.product_line, job.fault_class or ""))
    return (named, "fault_class") if named else (frozenset(), "none")


_CACHE: ProcessCache[ToolTable] = ProcessCache()


async def cached(session: AsyncSession, cfg: DispatchConfig) -> ToolTable:
    """:func:`tool_table`, kept in this process for ``cfg.live_cache``."""
    return await _CACHE.get(lambda: tool_table(session), cfg.live_cache)


def forget() -> None:
    """Changed in this process: the next :func:`cached` reads again."""
    _CACHE.forget()
