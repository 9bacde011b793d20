"""``domain.sla.next_due`` (issue 14, item 5): the instant the SLA watcher looks at a job is exactly the first
instant ``due_alerts`` has something to emit, so reading only jobs whose instant has come loses nothing.

R-S1 (respond), R-S2..R-S4 (arrive), R-S5 (resolve from arrival), R-S7 (calendars), pauses excluded."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from dispatch.domain.calendar import CALENDAR_24X7, BusinessCalendar
from dispatch.domain.sla import (
    ClockState,
    JobClocks,
    Pause,
    SlaPolicy,
    _alert_amount,
    due_alerts,
    next_due,
)

SH = ZoneInfo("Asia/Shanghai")
M = timedelta(minutes=1)
OFFICE = BusinessCalendar(code="office", intervals=((8 * 60, 12 * 60), (13 * 60, 17 * 60)))
PLAIN_9_TO_5 = BusinessCalendar(code="plain", intervals=((9 * 60, 17 * 60),), use_statutory=False)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SH)


def policy(respond=60, arrive=120, resolve=720, fractions=(0.5, 0.8), resolve_from="arrived"):
    return SlaPolicy(None, "in_zone", "x", respond * M, arrive * M, resolve * M, resolve_from=resolve_from,
                     warn_fractions=fractions)


def test_R_S1_next_due_is_the_first_warning_then_the_next_then_the_breach():
    p = policy(respond=60, arrive=600, resolve=600)
    job = JobClocks(opened_at=T0)
    assert next_due(p, CALENDAR_24X7, job, [], T0) == T0 + 30 * M
    assert next_due(p, CALENDAR_24X7, job, ["respond:0.5"], T0) == T0 + 48 * M
    assert next_due(p, CALENDAR_24X7, job, ["respond:0.5", "respond:0.8"], T0) == T0 + 60 * M + timedelta(
        microseconds=1)  # a breach is strictly after the deadline


def test_R_S7_next_due_waits_for_the_next_opening():
    p = policy(respond=60, arrive=6000, resolve=6000, fractions=())
    friday_late = datetime(2026, 3, 6, 16, 30, tzinfo=SH)  # 30 min of service hours left on Friday
    at = next_due(p, PLAIN_9_TO_5, JobClocks(opened_at=friday_late), [], friday_late)
    assert at == datetime(2026, 3, 9, 9, 30, 0, 1, tzinfo=SH)  # Monday, the breach one tick after the deadline


def test_R_S5_resolve_clock_has_no_alert_before_arrival_and_met_milestones_none():
    p = policy(respond=60, arrive=120, resolve=600, fractions=())
    job = JobClocks(opened_at=T0, responded_at=T0 + M, arrived_at=T0 + 10 * M)
    assert next_due(p, CALENDAR_24X7, job, [], T0 + 10 * M) == T0 + 610 * M + timedelta(microseconds=1)
    done = JobClocks(opened_at=T0, responded_at=T0 + M, arrived_at=T0 + 10 * M, resolved_at=T0 + 20 * M)
    assert next_due(p, CALENDAR_24X7, done, [], T0 + 20 * M) is None
    assert next_due(p, CALENDAR_24X7, JobClocks(opened_at=T0),
                    ["respond:breach", "arrive:breach"], T0) is None  # resolve not started: nothing pending


def test_paused_job_waits_for_the_resume_unless_the_alert_fell_due_before_the_pause():
    p = policy(respond=60, arrive=6000, resolve=6000, fractions=(0.5,))
    paused_early = JobClocks(opened_at=T0, pauses=(Pause(T0 + 10 * M),))
    assert next_due(p, CALENDAR_24X7, paused_early, [], T0 + 40 * M) is None
    resumed = JobClocks(opened_at=T0, pauses=(Pause(T0 + 10 * M, T0 + 70 * M),))
    assert next_due(p, CALENDAR_24X7, resumed, [], T0 + 70 * M) == T0 + 90 * M
    paused_late = JobClocks(opened_at=T0, pauses=(Pause(T0 + 40 * M),))  # the warning was due at 30 min
    assert next_due(p, CALENDAR_24X7, paused_late, [], T0 + 50 * M) == T0 + 30 * M


def test_alert_amount_is_the_least_clock_the_float_comparison_accepts():
    for minutes in (1, 7, 60, 61, 1439, 4320):
        duration = minutes * M
        for f in (0.1, 0.2, 1 / 3, 0.5, 0.7, 0.8, 0.9, 0.99):
            a = _alert_amount(duration, f)
            assert a / duration >= f
            assert (a - timedelta(microseconds=1)) / duration < f
        assert _alert_amount(duration, None) == duration + timedelta(microseconds=1)


CALENDARS = st.sampled_from([CALENDAR_24X7, OFFICE, PLAIN_9_TO_5])
FRACTIONS = st.sampled_from([(0.5, 0.8), (0.25, 0.5, 0.75), (1 / 3, 2 / 3), (0.9,), ()])
# instants after the report, in microseconds: whole minutes (to land on the boundaries) or anywhere
MINUTES = st.integers(0, 240) | st.integers(0, 6 * 24 * 60)
INSTANTS = MINUTES.map(lambda m: m * 60 * 10**6) | st.integers(0, 6 * 24 * 3600 * 10**6)


@settings(max_examples=300, deadline=None)
@given(cal=CALENDARS, fractions=FRACTIONS, respond=st.integers(1, 240), arrive=st.integers(1, 3000),
       resolve=st.integers(1, 3000), resolve_from=st.sampled_from(["opened", "arrived"]),
       ticks=st.lists(INSTANTS, max_size=40), responded=st.none() | INSTANTS, arrived=st.none() | INSTANTS,
       pause=st.none() | st.tuples(INSTANTS, st.none() | INSTANTS),
       jitter=st.integers(0, 999_999))
@example(cal=CALENDAR_24X7, fractions=(0.5, 0.8), respond=60, arrive=120, resolve=600, resolve_from="arrived",
         ticks=[30 * 60 * 10**6], responded=None, arrived=None, pause=None, jitter=0)  # a tick on the crossing
def test_property_watching_by_next_due_emits_exactly_what_checking_every_tick_emits(
        cal, fractions, respond, arrive, resolve, resolve_from, ticks, responded, arrived, pause, jitter):
    """Two watchers over one job's life: the reference looks at the job at every tick (today's scan, when it
    reaches the job); the new one only when ``next_due`` has come, recomputing it whenever the job changes
    (milestones, pause, resume) and after each look. They emit the same alerts at the same ticks."""
    watch_both(policy(respond, arrive, resolve, fractions, resolve_from), cal, T0 + timedelta(microseconds=jitter),
               ticks, responded, arrived, pause)


def test_every_minute_of_a_week_on_each_calendar_watching_by_next_due_misses_nothing():
    """Ticks on every minute (so on every whole-minute crossing and window edge) of jobs reported at awkward
    times: at an opening, at a closing, at lunch, on a Friday evening, with a pause over the weekend."""
    minute = 60 * 10**6
    for cal in (CALENDAR_24X7, OFFICE, PLAIN_9_TO_5):
        for opened in (datetime(2026, 3, 2, 8, 0, tzinfo=SH), datetime(2026, 3, 2, 11, 45, tzinfo=SH),
                       datetime(2026, 3, 6, 16, 50, tzinfo=SH)):
            for respond, arrive, fractions in ((60, 120, (0.5, 0.8)), (45, 600, (1 / 3, 2 / 3)), (10, 30, ())):
                watch_both(policy(respond, arrive, 240, fractions), cal, opened,
                           [m * minute for m in range(0, 4 * 24 * 60, 1 if cal is CALENDAR_24X7 else 7)],
                           responded=25 * minute, arrived=200 * minute, pause=(50 * minute, 3 * 24 * 60 * minute))


def watch_both(p, cal, opened, ticks, responded, arrived, pause):
    at = lambda us: opened + timedelta(microseconds=us)  # noqa: E731
    changes: list[tuple[int, str]] = []
    if responded is not None:
        changes.append((responded, "respond"))
    if responded is not None and arrived is not None:
        changes.append((max(responded, arrived), "arrive"))
    if pause is not None:
        changes.append((pause[0], "pause"))
        if pause[1] is not None:
            changes.append((pause[0] + pause[1], "resume"))
    state: dict = {"responded_at": None, "arrived_at": None, "pauses": ()}
    timeline = sorted([(s, 1, kind) for s, kind in changes] + [(s, 0, "tick") for s in ticks])

    def clocks() -> JobClocks:
        return JobClocks(opened_at=opened, **state)

    sent_ref: set[str] = set()
    sent_new: set[str] = set()
    due = next_due(p, cal, clocks(), sent_new, opened)
    for s, _order, kind in timeline:
        now = at(s)
        if kind == "tick":
            ref = []
            for c in clocks().clocks(p):
                alerts, keys = due_alerts(cal, c, state["pauses"], now, p.warn_fractions, sent_ref)
                sent_ref |= keys
                ref += [(a.milestone, a.kind, a.fraction) for a in alerts]
            new = []
            if due is not None and due <= now:
                for c in clocks().clocks(p):
                    alerts, keys = due_alerts(cal, c, state["pauses"], now, p.warn_fractions, sent_new)
                    sent_new |= keys
                    new += [(a.milestone, a.kind, a.fraction) for a in alerts]
                due = next_due(p, cal, clocks(), sent_new, now)
                assert due is None or due > now
            assert new == ref, (s, due)
            continue
        if kind == "respond":
            state["responded_at"] = now
        elif kind == "arrive":
            state["arrived_at"] = now
        elif kind == "pause":
            state["pauses"] = (Pause(now),)
        elif kind == "resume":
            state["pauses"] = (Pause(state["pauses"][0].start, now),)
        due = next_due(p, cal, clocks(), sent_new, now)
    assert sent_new == sent_ref


def test_clock_state_without_start_never_due():
    assert due_alerts(CALENDAR_24X7, ClockState("resolve", None, 60 * M), (), T0, (0.5,), ()) == ([], set())
