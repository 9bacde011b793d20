"""The dealer service agreement's parts terms (issue 16): R-P1 ship-within days, R-P4 old-part return days,
R-P5 base-stock percentage, R-P9 seasonal plan lead. Pure: the configured defaults and the recorded changes
in, the typed terms in force on a date out (``aftersales_shared.terms.in_force``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from aftersales_shared.terms import InForce, TermChange, in_force


@dataclass(frozen=True)
class PartsTerms:
    """One dealer's parts terms in force on a date (``version``: the latest change that set any, or None)."""

    ship_within_days: int = 3
    return_due_days: int = 30
    base_stock_percent: Decimal = Decimal("1")
    seasonal_plan_ahead_days: int = 30
    version: int | None = None


TERM_NAMES: tuple[str, ...] = tuple(f.name for f in fields(PartsTerms) if f.name != "version")


def _typed(name: str, value: Any) -> Any:
    return Decimal(str(value)) if name == "base_stock_percent" else int(value)


def resolve(defaults: Mapping[str, Any], changes: Iterable[TermChange], on: date) -> tuple[PartsTerms, InForce]:
    """The dealer's parts terms in force on ``on``: a change dated D applies to facts of D and later only."""
    found = in_force({k: defaults.get(k, getattr(PartsTerms, k)) for k in TERM_NAMES}, changes, on)
    versions = [v for v in found.source.values() if v is not None]
    return PartsTerms(**{k: _typed(k, v) for k, v in found.values.items()},
                      version=max(versions) if versions else None), found
