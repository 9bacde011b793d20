"""SLA clocks (R-S1..R-S5, R-S7): policies, deadlines with pauses, warnings and breaches once each."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from .calendar import BusinessCalendar, require_aware

Milestone = Literal["respond", "arrive", "resolve"]
MILESTONES: tuple[Milestone, ...] = ("respond", "arrive", "resolve")
PAUSE_REASONS = frozenset({"waiting_customer", "waiting_parts"})
ZONE_CLASSES = ("in_zone", "urban", "county", "remote")


@dataclass(frozen=True)
class SlaPolicy:
    """Targets for one (contract, zone class); every duration is configuration."""

    contract_code: str | None
    zone_class: str
    calendar_code: str
    respond: timedelta
    arrive: timedelta
    resolve: timedelta
    resolve_from: Literal["opened", "arrived"] = "arrived"  # R-S5: resolution usually follows arrival
    warn_fractions: tuple[float, ...] = (0.5, 0.8)
    pause_reasons: frozenset[str] = PAUSE_REASONS

    def __post_init__(self) -> None:
        for name in MILESTONES:
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} duration must be positive")
        if any(not (0 < f < 1) for f in self.warn_fractions):
            raise ValueError("warning fractions must lie strictly between 0 and 1")

    def duration(self, milestone: Milestone) -> timedelta:
        return getattr(self, milestone)


def select_policy(policies: Iterable[SlaPolicy], contract_code: str | None, zone_class: str) -> SlaPolicy:
    """The contract's policy for the zone class, else the default (contract None) for that zone class."""
    default = None
    for p in policies:
        if p.zone_class != zone_class:
            continue
        if contract_code is not None and p.contract_code == contract_code:
            return p
        if p.contract_code is None:
            default = p
    if default is None:
        raise LookupError(f"no SLA policy for contract {contract_code!r} and zone class {zone_class!r}")
    return default


@dataclass(frozen=True)
class Pause:
    """A stop of the clock; ``end`` None while still paused."""

    start: datetime
    end: datetime | None = None
    reason: str = "waiting_customer"


def _pauses_sorted(pauses: Sequence[Pause], now: datetime | None) -> list[tuple[datetime, datetime | None]]:
    out = []
    for p in sorted(pauses, key=lambda p: p.start):
        end = p.end if p.end is not None else now
        out.append((require_aware(p.start, "pause start"), require_aware(end, "pause end") if end else None))
    return out


def elapsed(calendar: BusinessCalendar, start: datetime, until: datetime, pauses: Sequence[Pause] = ()) -> timedelta:
    """Business time the clock ran in [start, until), excluding paused spans (an open pause runs to ``until``)."""
    start, until = require_aware(start, "start"), require_aware(until, "until")
    total = calendar.business_between(start, until)
    cursor = start
    for ps, pe in _pauses_sorted(pauses, until):
        pe = until if pe is None else min(pe, until)
        ps = max(ps, cursor)
        if pe <= ps:
            continue
        total -= calendar.business_between(ps, pe)
        cursor = pe
    return max(total, timedelta(0))


def deadline(
    calendar: BusinessCalendar, start: datetime, duration: timedelta, pauses: Sequence[Pause] = (),
    *, now: datetime | None = None,
) -> datetime:
    """When ``duration`` of running clock is used up. An open pause is taken to end at ``now``
    (the projection if resumed now); without ``now`` an open pause raises."""
    start = require_aware(start, "start")
    remaining = duration
    cursor = start
    for ps, pe in _pauses_sorted(pauses, now):
        if pe is not None and pe <= cursor:
            continue
        ps = max(ps, cursor)
        due = calendar.add(cursor, remaining)
        if due <= ps:
            return due
        remaining -= calendar.business_between(cursor, ps)
        if pe is None:
            raise ValueError("the clock is paused: pass now to project the deadline")
        cursor = pe
    return calendar.add(cursor, remaining)


@dataclass(frozen=True)
class ClockState:
    """One milestone's clock for a job."""

    milestone: Milestone
    started_at: datetime | None  # None: not started yet (resolve before arrival)
    duration: timedelta
    met_at: datetime | None = None


@dataclass(frozen=True)
class MilestoneStatus:
    milestone: Milestone
    deadline: datetime | None
    used: float  # share of the allowed time used so far (or at completion)
    met: bool | None  # None while still open
    breached: bool


def status(calendar: BusinessCalendar, clock: ClockState, pauses: Sequence[Pause], now: datetime) -> MilestoneStatus:
    """Where the milestone stands at ``now`` (or at completion when it was met)."""
    now = require_aware(now, "now")
    if clock.started_at is None:
        return MilestoneStatus(clock.milestone, None, 0.0, None, False)
    until = clock.met_at or now
    used_time = elapsed(calendar, clock.started_at, until, pauses)
    used = used_time / clock.duration
    due = deadline(calendar, clock.started_at, clock.duration, pauses, now=until)
    if clock.met_at is not None:
        ok = used_time <= clock.duration
        return MilestoneStatus(clock.milestone, due, used, ok, not ok)
    return MilestoneStatus(clock.milestone, due, used, None, used_time > clock.duration)


@dataclass(frozen=True)
class Alert:
    milestone: Milestone
    kind: Literal["warning", "breach"]
    fraction: float | None
    deadline: datetime
    key: str


def alert_key(milestone: str, fraction: float | None) -> str:
    return f"{milestone}:breach" if fraction is None else f"{milestone}:{fraction:g}"


def due_alerts(
    calendar: BusinessCalendar, clock: ClockState, pauses: Sequence[Pause], now: datetime,
    warn_fractions: Sequence[float], already_sent: Iterable[str],
) -> tuple[list[Alert], set[str]]:
    """Alerts to emit now and every key to remember as sent. Each key fires at most once; when several
    warnings were crossed since the last check only the highest is emitted (no alert storms)."""
    sent = set(already_sent)
    if clock.started_at is None or clock.met_at is not None:
        return [], set()
    st = status(calendar, clock, pauses, now)
    assert st.deadline is not None
    new_keys: set[str] = set()
    alerts: list[Alert] = []
    breach_key = alert_key(clock.milestone, None)
    if st.breached:
        for f in warn_fractions:
            k = alert_key(clock.milestone, f)
            if k not in sent:
                new_keys.add(k)
        if breach_key not in sent:
            new_keys.add(breach_key)
            alerts.append(Alert(clock.milestone, "breach", None, st.deadline, breach_key))
        return alerts, new_keys
    crossed = [f for f in sorted(warn_fractions) if st.used >= f and alert_key(clock.milestone, f) not in sent]
    if crossed:
        new_keys.update(alert_key(clock.milestone, f) for f in crossed)
        top = crossed[-1]
        alerts.append(Alert(clock.milestone, "warning", top, st.deadline, alert_key(clock.milestone, top)))
    return alerts, new_keys


@dataclass(frozen=True)
class JobClocks:
    """The inputs that fix a job's deadlines; recomputed whenever policy or calendar changes."""

    opened_at: datetime
    responded_at: datetime | None = None
    arrived_at: datetime | None = None
    resolved_at: datetime | None = None
    pauses: tuple[Pause, ...] = field(default_factory=tuple)

    def clocks(self, policy: SlaPolicy) -> list[ClockState]:
        resolve_start = self.opened_at if policy.resolve_from == "opened" else self.arrived_at
        return [
            ClockState("respond", self.opened_at, policy.respond, self.responded_at),
            ClockState("arrive", self.opened_at, policy.arrive, self.arrived_at),
            ClockState("resolve", resolve_start, policy.resolve, self.resolved_at),
        ]


ONE_TICK = timedelta(microseconds=1)
"""The smallest step of time (datetimes count microseconds)."""


def _alert_amount(duration: timedelta, fraction: float | None) -> timedelta:
    """The least running clock at which :func:`status` reports the alert: a warning once ``used >= fraction``
    (exactly as ``elapsed / duration`` compares, float division included), a breach once ``used_time > duration``
    (one tick past it)."""
    if fraction is None:
        return duration + ONE_TICK
    total = duration // ONE_TICK
    ticks = max(0, math.ceil(total * fraction))
    while ticks > 0 and (ticks - 1) / total >= fraction:
        ticks -= 1
    while ticks / total < fraction:
        ticks += 1
    return ticks * ONE_TICK


def next_alert_at(
    calendar: BusinessCalendar, clock: ClockState, pauses: Sequence[Pause], now: datetime,
    warn_fractions: Sequence[float], already_sent: Iterable[str],
) -> datetime | None:
    """When this milestone's next unsent warning or breach falls due (the first instant :func:`due_alerts`
    emits it: the same arithmetic, to the microsecond), or None: the clock has not started, is met, has sent
    its breach, or is paused before reaching it (the resume computes it again). A past instant: overdue."""
    if clock.started_at is None or clock.met_at is not None:
        return None
    sent = set(already_sent)
    if alert_key(clock.milestone, None) in sent:
        return None
    pending = [f for f in sorted(warn_fractions) if alert_key(clock.milestone, f) not in sent]
    amount = _alert_amount(clock.duration, pending[0] if pending else None)
    open_starts = [require_aware(p.start, "pause start") for p in pauses if p.end is None]
    # an open pause is projected to end now (never before it began): only an instant before it is real
    at = deadline(calendar, clock.started_at, amount, pauses, now=max([require_aware(now, "now"), *open_starts]))
    if open_starts and at > min(open_starts):
        return None
    return at


def next_due(
    policy: SlaPolicy, calendar: BusinessCalendar, job: JobClocks, already_sent: Iterable[str], now: datetime,
) -> datetime | None:
    """The job's ``next_due_at``: the earliest instant any of its milestones has a warning or breach to emit
    (R-S1..R-S5 under the calendar, R-S7, paused time excluded), None when nothing is pending. The SLA watcher
    looks only at open jobs whose instant has come, so this is recomputed whenever deadlines, pauses,
    milestones or the sent alerts change."""
    sent = frozenset(already_sent)
    instants = [at for c in job.clocks(policy)
                if (at := next_alert_at(calendar, c, job.pauses, now, policy.warn_fractions, sent)) is not None]
    return min(instants, default=None)


def compute_deadlines(
    policy: SlaPolicy, calendar: BusinessCalendar, job: JobClocks, now: datetime,
) -> dict[str, datetime | None]:
    """Deadline per milestone under the given policy and calendar (None: clock not started)."""
    return {c.milestone: status(calendar, c, job.pauses, now).deadline for c in job.clocks(policy)}


def milestones_met(policy: SlaPolicy, calendar: BusinessCalendar, job: JobClocks, now: datetime) -> dict[str, bool]:
    """For completed milestones: met or not, counting paused time as not elapsed."""
    out: dict[str, bool] = {}
    for c in job.clocks(policy):
        st = status(calendar, c, job.pauses, now)
        if st.met is not None:
            out[c.milestone] = st.met
    return out
