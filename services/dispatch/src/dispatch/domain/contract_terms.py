"""The customer service contract's terms (issue 16, dispatch side): the R-S8 routing times, the R-S6 spare-unit
entitlement and loan term, the R-S9 liquidated damages owed to the customer when the manufacturer's own staff miss
a milestone. Pure: the configured defaults and the recorded changes in, the typed terms in force on a date out
(``aftersales_shared.terms.in_force``: a change dated D applies to facts of D and later, never to earlier ones).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from aftersales_shared.money import to_fen
from aftersales_shared.terms import InForce, TermChange, in_force


@dataclass(frozen=True)
class ContractTerms:
    """One customer contract's terms in force on a date (``version``: the latest change that set any, or None)."""

    routing_flag_minutes: int = 120  # R-S8: unrouted this long → flagged for a check
    routing_escalate_minutes: int = 240  # R-S8: still unrouted this long → escalated
    spare_entitled: bool | None = None  # R-S6; None: as the SLA policy says (sla_policies.spare_entitled)
    spare_due_back_hours: int = 168  # R-S6: a spare lent under this contract is due back after
    sla_penalty: str = "none"  # R-S9: none | percent | fixed
    sla_penalty_percent: Decimal = Decimal("10")
    sla_penalty_amount: Decimal = Decimal("0")
    sla_service_value: Decimal | None = None  # the value the % is taken of (None: no % damages can be computed)
    sla_penalty_milestones: tuple[str, ...] = ("arrive", "resolve")
    # R-S10 + R-S9: a missed PM visit's damages (none | percent of sla_service_value | fixed), default none
    pm_missed_penalty: str = "none"
    pm_missed_percent: Decimal = Decimal("0")
    pm_missed_amount: Decimal = Decimal("0")
    retention_years: int = 5  # R-T4: closed jobs and their service records are kept this long (at least 5)
    version: int | None = None

    @property
    def route_flag(self) -> timedelta:
        return timedelta(minutes=self.routing_flag_minutes)

    @property
    def route_escalate(self) -> timedelta:
        return timedelta(minutes=self.routing_escalate_minutes)


TERM_NAMES: tuple[str, ...] = tuple(f.name for f in fields(ContractTerms) if f.name != "version")
_DECIMALS = frozenset({"sla_penalty_percent", "sla_penalty_amount", "sla_service_value", "pm_missed_percent",
                       "pm_missed_amount"})
_INTS = frozenset({"routing_flag_minutes", "routing_escalate_minutes", "spare_due_back_hours", "retention_years"})


def _typed(name: str, value: Any) -> Any:
    """A term's value as stored (JSON: amounts as strings) → its Python type."""
    if value is None:
        return None
    if name in _DECIMALS:
        return Decimal(str(value))
    if name in _INTS:
        return int(value)
    if name == "spare_entitled":
        return bool(value)
    if name == "sla_penalty_milestones":
        return tuple(value)
    return str(value)


def resolve(defaults: Mapping[str, Any], changes: Iterable[TermChange], on: date) -> tuple[ContractTerms, InForce]:
    """The contract's terms in force on ``on`` (and where each value came from)."""
    found = in_force({k: defaults.get(k, getattr(ContractTerms, k)) for k in TERM_NAMES}, changes, on)
    versions = [v for v in found.source.values() if v is not None]
    terms = ContractTerms(**{k: _typed(k, v) for k, v in found.values.items()},
                          version=max(versions) if versions else None)
    return terms, found


@dataclass(frozen=True)
class Credit:
    """What one breached milestone owes the customer's contract."""

    basis: str  # percent | fixed
    amount: Decimal
    percent: Decimal | None = None
    service_value: Decimal | None = None


def _damages(penalty: str, percent: Decimal, amount: Decimal, service_value: Decimal | None) -> Credit | None:
    """A % of the service value or a fixed amount, to the fen; None when it charges nothing."""
    if penalty == "fixed":
        fixed = to_fen(amount)
        return Credit("fixed", fixed) if fixed > 0 else None
    if penalty == "percent" and service_value is not None:
        share = to_fen(service_value * percent / Decimal(100))
        return Credit("percent", share, percent, to_fen(service_value)) if share > 0 else None
    return None


def breach_credit(terms: ContractTerms, milestone: str) -> Credit | None:
    """R-S9: the liquidated damages one breached milestone owes the customer, to the fen; None when the terms
    charge nothing (no penalty, a milestone they do not cover, no service value for a %, or a zero amount)."""
    if milestone not in terms.sla_penalty_milestones:
        return None
    return _damages(terms.sla_penalty, terms.sla_penalty_percent, terms.sla_penalty_amount, terms.sla_service_value)


def pm_missed_credit(terms: ContractTerms) -> Credit | None:
    """R-S10 + R-S9: the damages one missed PM visit owes, by the ``pm_missed_*`` terms (a % of the contract's
    service value, or a fixed amount), to the fen; None when they charge nothing (the default)."""
    return _damages(terms.pm_missed_penalty, terms.pm_missed_percent, terms.pm_missed_amount, terms.sla_service_value)


def routing_due(terms: ContractTerms, elapsed: timedelta) -> tuple[bool, bool]:
    """R-S8 for a job unrouted for ``elapsed`` under ``terms`` (those in force at its opening): (flag, escalate)."""
    return elapsed >= terms.route_flag, elapsed >= terms.route_escalate
