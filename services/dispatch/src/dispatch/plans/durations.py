"""Service durations learned from completed jobs (issue 14, item 1): storage of ``domain.durations``.

On each ``dispatch.job.completed`` (``consumers.on_job_completed``) the job's product line x fault class and the
line as a whole ("" fault class) are re-learned from the last ``DISPATCH_DURATION_WINDOW`` on-site completions'
labour minutes (remote resolutions have no service on site): a trimmed mean, used only from
``DISPATCH_DURATION_MIN_SAMPLES`` completions on. Recomputed from ``service_records`` each time, so a redelivered
event, or ``relearn_all`` (a periodic or one-off recompute, e.g. after changing the window), gives the same value.
What a plan uses per key (``effective``): a manual override (``service_durations.override``) wins, then the learned
value, then the configured one; no row: the caller's ``DISPATCH_DEFAULT_SERVICE_MINUTES``.
By skill level (issue 14): every key also has a ``skill_level`` (1..5; 0 = any level). A completion is learned at
level 0 and at the level of the engineer who did it in the job's required skill, each with its own minimum sample
count. That level is the one he had when he completed it (``jobs.completed_skill_level``, recorded in the completion's
transaction, dispatch_0021); a job completed before it was recorded falls back to his level now. At a level, the
configured row is the level's, else the level-less one (with its override flag), the learned value the level's,
else the level-less one; then override, learned, configured as above (``domain.durations.effective_at_level``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..config import DispatchConfig
from ..domain.durations import Source, effective_at_level, effective_minutes, learn
from ..models import Engineer, Job, LearnedDuration, ServiceDuration, ServiceRecord
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
    skill_level: int = 0  # 0 = any level (the fallback of every level)


Key = tuple[str, str, int]
"""(product line, fault class ("" = any), skill level (0 = any))"""


def level_of(skills: object, skill: str) -> int:
    """An engineer's level (1..5) in ``skill``; 0 when he has none (or no engineer)."""
    level = skills.get(skill) if isinstance(skills, dict) else None
    return int(level) if isinstance(level, int) and 1 <= level <= 5 else 0


async def samples(session: AsyncSession, product_line: str, fault_class: str, window: int,
                  level: int = 0) -> list[int]:
    """Labour minutes of the last ``window`` on-site completions of the line (x fault class unless ""); with a
    ``level``, only those done by an engineer of that level in the job's required skill (at completion; his level now
    for a job completed before that was recorded)."""
    q = (sa.select(ServiceRecord.labour_minutes).join(Job, Job.id == ServiceRecord.job_id)
         .where(Job.product_line == product_line, ServiceRecord.remote.is_(False)))
    if fault_class:
        q = q.where(Job.fault_class == fault_class)
    if level:  # the level recorded at completion; a job completed before it was recorded: the engineer's now
        q = q.outerjoin(Engineer, Engineer.id == ServiceRecord.engineer_id).where(sa.func.coalesce(
            sa.cast(Job.completed_skill_level, sa.Text), Engineer.skills.op("->>")(Job.required_skill)) == str(level))
    q = q.order_by(ServiceRecord.completed_at.desc(), ServiceRecord.job_id.desc()).limit(window)
    return list((await session.scalars(q)).all())


async def relearn(session: AsyncSession, cfg: DispatchConfig, product_line: str, fault_class: str,
                  now: datetime, level: int = 0) -> LearnedDuration:
    got = learn(await samples(session, product_line, fault_class, cfg.duration_window, level),
                min_samples=cfg.duration_min_samples, trim=cfg.duration_trim)
    stmt = insert(LearnedDuration).values(product_line=product_line, fault_class=fault_class, skill_level=level,
                                          minutes=got.minutes, samples=got.samples, computed_at=now)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[LearnedDuration.product_line, LearnedDuration.fault_class, LearnedDuration.skill_level],
        set_={"minutes": stmt.excluded.minutes, "samples": stmt.excluded.samples,
              "computed_at": stmt.excluded.computed_at}))
    forget()
    row = await session.get(LearnedDuration, (product_line, fault_class, level), populate_existing=True)
    assert row is not None
    return row


async def learn_from_completion(session: AsyncSession, cfg: DispatchConfig, *, job_id: str, now: datetime) -> None:
    """A job was completed: re-learn its line x fault class and its line, at any level and at the level of the
    engineer who did it in the job's required skill (idempotent: from the stored records)."""
    job = await session.get(Job, job_id)
    if job is None:
        return
    level = job.completed_skill_level
    if level is None:  # completed before the level was recorded (dispatch_0021): the engineer's level now
        level = level_of(await session.scalar(sa.select(Engineer.skills).join(
            ServiceRecord, ServiceRecord.engineer_id == Engineer.id).where(ServiceRecord.job_id == job_id)),
            job.required_skill)
    for fault_class in dict.fromkeys((job.fault_class or "", "")):
        for lvl in dict.fromkeys((0, level)):
            await relearn(session, cfg, job.product_line, fault_class, now, lvl)


async def relearn_all(session: AsyncSession, cfg: DispatchConfig, now: datetime) -> int:
    """Re-learn every product line (and line x fault class), at any level and at each level that has
    completions; the number of keys."""
    rows = (await session.execute(
        sa.select(Job.product_line, sa.func.coalesce(Job.fault_class, ""), Job.required_skill, Engineer.skills,
                  Job.completed_skill_level)
        .join(ServiceRecord, ServiceRecord.job_id == Job.id)
        .outerjoin(Engineer, Engineer.id == ServiceRecord.engineer_id).distinct())).all()
    keys: set[Key] = set()
    for line, fc, skill, skills, done_at in rows:
        for lvl in {0, level_of(skills, skill) if done_at is None else done_at}:
            keys |= {(line, fc, lvl), (line, "", lvl)}
    for line, fc, lvl in sorted(keys):
        await relearn(session, cfg, line, fc, now, lvl)
    return len(keys)


async def table(session: AsyncSession) -> list[DurationView]:
    """Every key configured or learned: configured, override, learned and sample count, and what a plan uses
    (at a level: that level's values over the level-less ones, ``domain.durations.effective_at_level``)."""
    conf = {(d.product_line, d.fault_class, d.skill_level): d
            for d in await session.scalars(sa.select(ServiceDuration))}
    learned = {(d.product_line, d.fault_class, d.skill_level): d
               for d in await session.scalars(sa.select(LearnedDuration))}

    def source(key: Key) -> Source:
        c, lr = conf.get(key), learned.get(key)
        return Source(c.minutes if c else None, c.override if c else False, lr.minutes if lr else None)

    out = []
    for key in sorted(conf.keys() | learned.keys()):
        lr = learned.get(key)
        here = source(key)
        eff = (effective_minutes(here.configured, here.learned, override=here.override) if key[2] == 0
               else effective_at_level(here, source((key[0], key[1], 0))))
        out.append(DurationView(key[0], key[1], here.configured, here.override, here.learned,
                                lr.samples if lr else 0, eff, key[2]))
    return out


async def effective(session: AsyncSession) -> dict[Key, int]:
    """(product line, fault class, skill level) -> the minutes a plan uses (keys with nothing usable are left
    out; level 0: any level)."""
    return {(v.product_line, v.fault_class, v.skill_level): v.effective_minutes for v in await table(session)
            if v.effective_minutes is not None}


_CACHE: ProcessCache[dict[Key, int]] = ProcessCache()


async def cached(session: AsyncSession, cfg: DispatchConfig) -> dict[Key, int]:
    """:func:`effective`, kept in this process for ``cfg.live_cache`` (the live path reads it every decision): a
    change made in this process (``upsert``, ``relearn``) clears it, another process's is seen within the TTL."""
    return await _CACHE.get(lambda: effective(session), cfg.live_cache)


def forget() -> None:
    """Changed in this process: the next :func:`cached` reads again."""
    _CACHE.forget()
