"""The customer service contract's terms (issue 16 item 1): the R-T6 complaint response hours per category and the
R-T4 record terms (``RecordTerms``: years a finished ticket is kept, years its archive is kept before it is purged).
Pure: the configured defaults and the recorded changes in, the terms in force on a date out
(``aftersales_shared.terms.in_force``). Each category's hours is a term of its own: a change that sets only the
escalation hours keeps the others as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from aftersales_shared.terms import TermChange, in_force

FALLBACK_RESPONSE_HOURS = 72
"""A category no default names (the settings' map is data, the categories are the schema's)."""
_PREFIX = "response_hours."


@dataclass(frozen=True)
class ContractTerms:
    """One contract's terms in force on a date (``version``: the latest change that set any of them, or None)."""

    on: date
    response_hours: dict[str, int]
    source: dict[str, int | None]
    version: int | None = None

    def hours_for(self, category: str) -> int:
        """R-T6: the hours within which a complaint of ``category`` is answered."""
        return self.response_hours.get(category, FALLBACK_RESPONSE_HOURS)


def flatten(values: Mapping[str, Any]) -> dict[str, Any]:
    """A change as stored (``{"response_hours": {category: hours}}``) → one term per category."""
    return {f"{_PREFIX}{k}": v for k, v in (values.get("response_hours") or {}).items()}


def resolve(default_hours: Mapping[str, int], changes: Iterable[TermChange], on: date) -> ContractTerms:
    """The contract's terms in force on ``on``: a change dated D applies to facts of D and later, never before."""
    flat = [TermChange(c.effective_from, c.version, flatten(c.values)) for c in changes]
    found = in_force({f"{_PREFIX}{k}": v for k, v in default_hours.items()}, flat, on)
    n = len(_PREFIX)
    versions = [v for v in found.source.values() if v is not None]
    return ContractTerms(on=on, response_hours={k[n:]: int(v) for k, v in found.values.items()},
                         source={k[n:]: v for k, v in found.source.items()},
                         version=max(versions) if versions else None)


RECORD_TERMS: tuple[str, ...] = ("retention_years", "purge_after_years")
MIN_RETENTION_YEARS = 5  # R-T4: records are kept at least 5 years (002)


@dataclass(frozen=True)
class RecordTerms:
    """R-T4 for one contract on a date: finished tickets are archived ``retention_years`` after they closed, and the
    archive purged ``purge_after_years`` after it was archived (``version``: the latest change that set either)."""

    on: date
    retention_years: int
    purge_after_years: int
    source: dict[str, int | None]
    version: int | None = None


def resolve_records(defaults: Mapping[str, int], changes: Iterable[TermChange], on: date) -> RecordTerms:
    """The contract's record terms in force on ``on`` (a change sets either term; the other keeps its value)."""
    found = in_force({k: int(defaults[k]) for k in RECORD_TERMS}, changes, on)
    versions = [v for v in found.source.values() if v is not None]
    return RecordTerms(on=on, retention_years=max(MIN_RETENTION_YEARS, int(found.values["retention_years"])),
                       purge_after_years=int(found.values["purge_after_years"]), source=found.source,
                       version=max(versions) if versions else None)
