"""Expected service duration learned from completed jobs' labour minutes (issue 14, item 1): pure.

A robust estimate (a trimmed mean: the ``trim`` share of the shortest and of the longest samples left out, so a
forgotten timer or a two-minute "no fault found" does not move it) over the last completions, used only once
there are ``min_samples`` of them. Which value a plan uses: a manual override wins; else the learned value when
there is one; else the configured value; else nothing (the caller's default).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SKILL_LEVELS = range(1, 6)
"""An engineer's levels in a skill (1..5; 0 = any level / none)."""


@dataclass(frozen=True)
class Learned:
    minutes: int | None  # None: fewer samples than the minimum
    samples: int


def trimmed_mean(samples: Sequence[int], trim: float) -> float:
    """Mean of the samples without the ``floor(n * trim)`` smallest and largest (0 <= trim < 0.5)."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= trim < 0.5:
        raise ValueError("trim must be in [0, 0.5)")
    xs = sorted(samples)
    k = math.floor(len(xs) * trim)
    kept = xs[k:len(xs) - k]
    return sum(kept) / len(kept)


def learn(samples: Sequence[int], *, min_samples: int, trim: float = 0.1) -> Learned:
    """The learned minutes (rounded half up) of these completions, or None below ``min_samples``."""
    if min_samples < 1:
        raise ValueError("min_samples must be at least 1")
    if len(samples) < min_samples:
        return Learned(None, len(samples))
    return Learned(math.floor(trimmed_mean(samples, trim) + 0.5), len(samples))


def effective_minutes(configured: int | None, learned: int | None, *, override: bool) -> int | None:
    """What a plan uses: a manual override wins, then the learned value, then the configured one."""
    if override and configured is not None:
        return configured
    return learned if learned is not None else configured


@dataclass(frozen=True)
class Source:
    """What is configured and learned for one product line x fault class at one skill level (or at none)."""

    configured: int | None = None
    override: bool = False
    learned: int | None = None


def effective_at_level(level: Source, any_level: Source) -> int | None:
    """What a plan uses for an engineer of this level (issue 14: by skill level): the configured row of the level,
    else the level-less row (the fallback of every level), with its override flag; the learned value of the level
    (with its own minimum sample count), else the level-less learned value; then :func:`effective_minutes`."""
    conf = level if level.configured is not None else any_level
    learned = level.learned if level.learned is not None else any_level.learned
    return effective_minutes(conf.configured, learned, override=conf.override)
