"""Service durations learned from completed jobs (issue 14, item 1): storage of ``domain.durations``.

On each ``dispatch.job.completed`` (``consumers.on_job_completed``) the job's product line x fault class and the
line as a whole ("" fault class) are re-learned from the last ``DISPATCH_DURATION_WINDOW`` on-site completions'
labour minutes (remote resolutions have no service on site): a trimmed mean, used only from
``DISPATCH_DURATION_MIN_SAMPLES`` completions on. Recomputed from ``service_records`` each time, so a redelivered
event, or ``relearn_all`` (a periodic or one-off recompute, e.g. after changing the window), gives the same value.
What a plan uses per key (``effective``): a manual override (``service_durations.override``) wins, then the learned
value, then the configured one; no row: the caller's ``DISPATCH_DEFAULT_SERVICE_MINUTES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..config import DispatchConfig
from ..domain.durations import effective_minutes, learn
from ..models import Job, LearnedDuration, ServiceDuration, ServiceRecord
from .process_cache import ProcessCache


@dataclass(frozen=True)
class DurationView:
    product_line: str
    fault_class: str  # "" = any fault class of the line
    minutes: int | None  # configured
    override: bool
    learned_minutes: int | None
    samples: int
    effective_minutes: int | None


async def samples(session: AsyncSession, product_line: str, fault_class: str, window: int) -> list[int]:
    """Labour minutes of the last ``window`` on-site completions of the line (x fault class unless "")."""
    q = (sa.select(ServiceRecord.labour_minutes).join(Job, Job.id == ServiceRecord.job_id)
         .where(Job.product_line == product_line, ServiceRecord.remote.is_(False)))
    if fault_class:
        q = q.where(Job.fault_class == fault_class)
    q = q.order_by(ServiceRecord.completed_at.desc(), ServiceRecord.job_id.desc()).limit(window)
    return list((await session.scalars(q)).all())


async def relearn(session: AsyncSession, cfg: DispatchConfig, product_line: str, fault_class: str,
                  now: datetime) -> LearnedDuration:
    got = learn(await samples(session, product_line, fault_class, cfg.duration_window),
                min_samples=cfg.duration_min_samples, trim=cfg.duration_trim)
    stmt = insert(LearnedDuration).values(product_line=product_line, fault_class=fault_class, minutes=got.minutes,
                                          samples=got.samples, computed_at=now)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[LearnedDuration.product_line, LearnedDuration.fault_class],
        set_={"minutes": stmt.excluded.minutes, "samples": stmt.excluded.samples,
              "computed_at": stmt.excluded.computed_at}))
    forget()
    row = await session.get(LearnedDuration, (product_line, fault_class), populate_existing=True)
    assert row is not None
    return row


async def learn_from_completion(session: AsyncSession, cfg: DispatchConfig, *, job_id: str, now: datetime) -> None:
    """A job was completed: re-learn its line x fault class and its line (idempotent: from the stored records)."""
    job = await session.get(Job, job_id)
    if job is None:
        return
    for fault_class in dict.fromkeys((job.fault_class or "", "")):
        await relearn(session, cfg, job.product_line, fault_class, now)


async def relearn_all(session: AsyncSession, cfg: DispatchConfig, now: datetime) -> int:
    """Re-learn every product line (and line x fault class) that has completions; the number of keys."""
    pairs = (await session.execute(
        sa.select(Job.product_line, sa.func.coalesce(Job.fault_class, "")).join(
            ServiceRecord, ServiceRecord.job_id == Job.id).distinct())).all()
    keys = {(line, fc) for line, fc in pairs} | {(line, "") for line, _ in pairs}
    for line, fc in sorted(keys):
        await relearn(session, cfg, line, fc, now)
    return len(keys)


async def table(session: AsyncSession) -> list[DurationView]:
    """Every key configured or learned: configured, override, learned and sample count, and what a plan uses."""
    conf = {(d.product_line, d.fault_class): d for d in await session.scalars(sa.select(ServiceDuration))}
    learned = {(d.product_line, d.fault_class): d for d in await session.scalars(sa.select(LearnedDuration))}
    out = []
    for key in sorted(conf.keys() | learned.keys()):
        c, lr = conf.get(key), learned.get(key)
        minutes, override = (c.minutes, c.override) if c else (None, False)
        lm, n = (lr.minutes, lr.samples) if lr else (None, 0)
        out.append(DurationView(key[0], key[1], minutes, override, lm, n,
                                effective_minutes(minutes, lm, override=override)))
    return out


async def effective(session: AsyncSession) -> dict[tuple[str, str], int]:
    """(product line, fault class) -> the minutes a plan uses (keys with nothing usable are left out)."""
    return {(v.product_line, v.fault_class): v.effective_minutes for v in await table(session)
            if v.effective_minutes is not None}


_CACHE: ProcessCache[dict[tuple[str, str], int]] = ProcessCache()


async def cached(session: AsyncSession, cfg: DispatchConfig) -> dict[tuple[str, str], int]:
    """:func:`effective`, kept in this process for ``cfg.live_cache`` (the live path reads it every decision): a
    change made in this process (``upsert``, ``relearn``) clears it, another process's is seen within the TTL."""
    return await _CACHE.get(lambda: effective(session), cfg.live_cache)


def forget() -> None:
    """Changed in this process: the next :func:`cached` reads again."""
    _CACHE.forget()
