"""Effective-dated contract terms: which value of each term is in force on a date (pure, no I/O, no clock).

A contract's terms are data (DESIGN.md: "contract numbers are data"): each term has a default from the
service's configuration, and a contract records *changes*, each setting some terms from its
``effective_from`` date. On a date D a term takes the value of the latest change (by ``effective_from``, then
by ``version``) dated on or before D that sets it, else its default. A change never rewrites the past: a fact
of D is settled with the terms in force on D, and a change dated after D does not touch it.

Services wrap this in their own typed terms (``settlement/domain/terms.py``, ``parts/domain/terms.py``); this
module knows nothing of any service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class TermChange:
    """One recorded change: from ``effective_from`` on, the terms in ``values`` take these values."""

    effective_from: date
    version: int
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InForce:
    """The terms in force on a date, with where each value came from (``None``: the configured default)."""

    on: date
    values: dict[str, Any]
    source: dict[str, int | None]


def in_force(defaults: Mapping[str, Any], changes: Iterable[TermChange], on: date) -> InForce:
    """The value of every term of ``defaults`` on ``on``: the latest change dated on or before it that sets
    the term (ties on the date go to the higher version), else the default. Terms not in ``defaults`` are
    ignored (a change may not invent a term)."""
    values = dict(defaults)
    source: dict[str, int | None] = dict.fromkeys(defaults)
    for ch in sorted((c for c in changes if c.effective_from <= on), key=lambda c: (c.effective_from, c.version)):
        for k, v in ch.values.items():
            if k in values:
                values[k] = v
                source[k] = ch.version
    return InForce(on=on, values=values, source=source)
