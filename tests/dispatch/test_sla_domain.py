"""Pure SLA engine: calendars, deadlines, pauses, alerts; named after rules and known product failures."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.domain.calendar import CALENDAR_24X7, BusinessCalendar
from dispatch.domain.sla import (
    ClockState,
    JobClocks,
    Pause,
    SlaPolicy,
    compute_deadlines,
    deadline,
    due_alerts,
    elapsed,
    milestones_met,
    select_policy,
    status,
)

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
OFFICE = BusinessCalendar(code="office", intervals=((8 * 60, 12 * 60), (13 * 60, 17 * 60)))
PLAIN_9_TO_5 = BusinessCalendar(code="plain", intervals=((8 * 60, 17 * 60),), use_statutory=False)


def sh(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def policy(zone="in_zone", contract=None, cal="24x7", respond=1, arrive=2, resolve=12, **kw):
    return SlaPolicy(contract, zone, cal, respond * H, arrive * H, resolve * H, **kw)


# --- rule-named tests -------------------------------------------------------------------------

def test_R_S1_respond_within_1h():
    p = policy(respond=1)
    d = compute_deadlines(p, CALENDAR_24X7, JobClocks(opened_at=sh(2026, 3, 2, 10)), now=sh(2026, 3, 2, 10))
    assert d["respond"] == sh(2026, 3, 2, 11)


def test_R_S2_arrive_within_2h_in_zone():
    p = policy("in_zone", arrive=2)
    d = compute_deadlines(p, CALENDAR_24X7, JobClocks(opened_at=sh(2026, 3, 2, 23)), now=sh(2026, 3, 2, 23))
    assert d["arrive"] == sh(2026, 3, 3, 1)


def test_R_S3_arrive_within_24h_urban_core_provinces():
    p = policy("urban", arrive=24)
    d = compute_deadlines(p, CALENDAR_24X7, JobClocks(opened_at=sh(2026, 3, 6, 9)), now=sh(2026, 3, 6, 9))
    assert d["arrive"] == sh(2026, 3, 7, 9)


def test_R_S4_arrive_within_48h_county():
    p = policy("county", arrive=48)
    d = compute_deadlines(p, CALENDAR_24X7, JobClocks(opened_at=sh(2026, 3, 6, 9)), now=sh(2026, 3, 6, 9))
    assert d["arrive"] == sh(2026, 3, 8, 9)


def test_R_S5_resolve_clock_starts_at_arrival():
    p = policy(resolve=12)
    jc = JobClocks(opened_at=sh(2026, 3, 2, 8), arrived_at=sh(2026, 3, 2, 9))
    assert compute_deadlines(p, CALENDAR_24X7, jc, now=sh(2026, 3, 2, 9))["resolve"] == sh(2026, 3, 2, 21)
    not_arrived = JobClocks(opened_at=sh(2026, 3, 2, 8))
    assert compute_deadlines(p, CALENDAR_24X7, not_arrived, now=sh(2026, 3, 2, 9))["resolve"] is None


def test_R_S7_service_hours_report_outside_hours_starts_at_next_opening():
    # Friday 18:00 report, 1 h of service hours: Monday 09:00
    assert PLAIN_9_TO_5.add(sh(2026, 3, 6, 18), H) == sh(2026, 3, 9, 9)


def test_R_S7_statutory_holiday_and_swapped_working_weekend():
    # 2026 National Day: Oct 1-7 off (plain weekdays would be open); Sat 2026-10-10 is a working day
    assert not OFFICE.is_working_day(date(2026, 10, 1))
    assert OFFICE.is_working_day(date(2026, 10, 10))
    assert OFFICE.add(sh(2026, 9, 30, 16), 2 * H) == sh(2026, 10, 8, 9)


def test_R_S7_24x7_counts_weekends_and_holidays():
    assert CALENDAR_24X7.add(sh(2026, 10, 1, 10), 48 * H) == sh(2026, 10, 3, 10)


def test_R_S7_per_calendar_override_beats_statutory():
    cal = BusinessCalendar(code="x", overrides={date(2026, 10, 2): True, date(2026, 3, 3): False})
    assert cal.is_working_day(date(2026, 10, 2))
    assert not cal.is_working_day(date(2026, 3, 3))


def test_R_S7_year_unknown_to_library_falls_back_to_weekdays():
    cal = BusinessCalendar(code="x")
    assert cal.is_working_day(date(2099, 6, 1))  # Monday
    assert not cal.is_working_day(date(2099, 6, 6))  # Saturday


# --- known failures of other products -----------------------------------------------------------

def test_known_failure_paused_time_lost_when_paused_ticket_resolved():
    # arrived 10:00, paused 11:00 waiting for parts, resolved while still paused at 20:00: only 1 h used
    p = policy(resolve=4)
    jc = JobClocks(opened_at=sh(2026, 3, 2, 9), arrived_at=sh(2026, 3, 2, 10), resolved_at=sh(2026, 3, 2, 20),
                   pauses=(Pause(sh(2026, 3, 2, 11), None, "waiting_parts"),))
    assert milestones_met(p, CALENDAR_24X7, jc, now=sh(2026, 3, 2, 20))["resolve"] is True
    clock = ClockState("resolve", sh(2026, 3, 2, 10), 4 * H, sh(2026, 3, 2, 20))
    assert elapsed(CALENDAR_24X7, clock.started_at, clock.met_at, jc.pauses) == H


def test_known_failure_wrong_deadline_for_ticket_created_on_non_working_day():
    # Saturday 2026-03-07 10:00, 2 service hours in an 08-12/13-17 calendar: Monday 10:00, not Saturday noon
    assert OFFICE.add(sh(2026, 3, 7, 10), 2 * H) == sh(2026, 3, 9, 10)
    # created on a statutory holiday (Labour Day 2026-05-01)
    assert OFFICE.add(sh(2026, 5, 1, 9), H) == sh(2026, 5, 6, 9)


def test_known_failure_24x7_calendar_counted_as_closed_at_midnight():
    assert CALENDAR_24X7.is_open(sh(2026, 3, 2, 0, 0))
    assert CALENDAR_24X7.add(sh(2026, 3, 2, 23, 30), H) == sh(2026, 3, 3, 0, 30)
    cal = BusinessCalendar(code="allday", intervals=((0, 1440),), use_statutory=False, weekdays=frozenset(range(7)))
    assert cal.is_open(sh(2026, 3, 3, 0, 0))
    assert cal.add(sh(2026, 3, 2, 23, 30), H) == sh(2026, 3, 3, 0, 30)
    assert cal.business_between(sh(2026, 3, 2, 23), sh(2026, 3, 3, 1)) == 2 * H


def test_known_failure_deadline_failed_right_after_creation_for_user_in_other_timezone():
    ny = ZoneInfo("America/New_York")
    opened = sh(2026, 3, 2, 10)
    seen_from_ny = opened.astimezone(ny)  # same instant, other wall clock (previous evening)
    clock = ClockState("arrive", opened, 2 * H)
    st_ = status(OFFICE, clock, (), seen_from_ny + timedelta(minutes=1))
    assert not st_.breached and st_.used < 0.05
    assert st_.deadline == sh(2026, 3, 2, 12)
    with pytest.raises(ValueError):
        status(OFFICE, clock, (), datetime(2026, 3, 2, 10, 1))  # naive: refused, never guessed


def test_known_failure_lunch_break_inside_service_hours():
    assert OFFICE.add(sh(2026, 3, 2, 11), 2 * H) == sh(2026, 3, 2, 14)
    assert OFFICE.business_between(sh(2026, 3, 2, 11), sh(2026, 3, 2, 14)) == 2 * H
    assert not OFFICE.is_open(sh(2026, 3, 2, 12, 30))
    # a report during lunch starts at 13:00
    assert OFFICE.add(sh(2026, 3, 2, 12, 15), H) == sh(2026, 3, 2, 14)


def test_known_failure_changed_policy_not_applied_to_open_tickets():
    jc = JobClocks(opened_at=sh(2026, 3, 2, 9))
    old = compute_deadlines(policy(arrive=24), CALENDAR_24X7, jc, now=sh(2026, 3, 2, 10))
    new = compute_deadlines(policy(arrive=2), CALENDAR_24X7, jc, now=sh(2026, 3, 2, 10))
    assert old["arrive"] == sh(2026, 3, 3, 9) and new["arrive"] == sh(2026, 3, 2, 11)
    # a calendar change too: 24x7 -> office hours moves the deadline
    assert compute_deadlines(policy(arrive=2), OFFICE, jc, now=sh(2026, 3, 2, 10))["arrive"] == sh(2026, 3, 2, 11)
    assert compute_deadlines(policy(arrive=4), OFFICE, jc, now=sh(2026, 3, 2, 10))["arrive"] == sh(2026, 3, 2, 14)


# --- pauses and alerts --------------------------------------------------------------------------

def test_pause_resumes_exactly():
    pauses = (Pause(sh(2026, 3, 2, 10), sh(2026, 3, 2, 10, 37), "waiting_customer"),)
    assert deadline(CALENDAR_24X7, sh(2026, 3, 2, 9), 2 * H, pauses) == sh(2026, 3, 2, 11, 37)


def test_pause_outside_service_hours_costs_nothing_extra():
    pauses = (Pause(sh(2026, 3, 2, 12), sh(2026, 3, 2, 13), "waiting_parts"),)  # over lunch
    assert deadline(OFFICE, sh(2026, 3, 2, 11), 2 * H, pauses) == sh(2026, 3, 2, 14)


def test_open_pause_needs_now_to_project():
    pauses = (Pause(sh(2026, 3, 2, 10), None),)
    with pytest.raises(ValueError):
        deadline(CALENDAR_24X7, sh(2026, 3, 2, 9), 2 * H, pauses)
    assert deadline(CALENDAR_24X7, sh(2026, 3, 2, 9), 2 * H, pauses, now=sh(2026, 3, 2, 15)) == sh(2026, 3, 2, 16)


def test_warnings_and_breach_emitted_once_each():
    clock = ClockState("arrive", sh(2026, 3, 2, 9), 2 * H)
    sent: set[str] = set()
    fired = []
    for minutes in range(0, 200, 5):
        alerts, keys = due_alerts(CALENDAR_24X7, clock, (), sh(2026, 3, 2, 9) + timedelta(minutes=minutes),
                                  (0.5, 0.8), sent)
        sent |= keys
        fired += [(a.kind, a.fraction) for a in alerts]
    assert fired == [("warning", 0.5), ("warning", 0.8), ("breach", None)]


def test_late_check_emits_only_highest_warning():
    clock = ClockState("arrive", sh(2026, 3, 2, 9), 2 * H)
    alerts, keys = due_alerts(CALENDAR_24X7, clock, (), sh(2026, 3, 2, 10, 50), (0.5, 0.8), set())
    assert [(a.kind, a.fraction) for a in alerts] == [("warning", 0.8)]
    assert keys == {"arrive:0.5", "arrive:0.8"}


def test_met_milestone_never_alerts():
    clock = ClockState("arrive", sh(2026, 3, 2, 9), 2 * H, met_at=sh(2026, 3, 2, 10))
    assert due_alerts(CALENDAR_24X7, clock, (), sh(2026, 3, 3, 9), (0.5,), set()) == ([], set())


def test_select_policy_contract_then_default():
    default = policy("urban", None, arrive=24)
    premium = policy("urban", "PREMIUM", arrive=4)
    assert select_policy([default, premium], "PREMIUM", "urban") is premium
    assert select_policy([default, premium], "OTHER", "urban") is default
    with pytest.raises(LookupError):
        select_policy([default], None, "county")


def test_bad_calendar_and_policy_rejected():
    with pytest.raises(ValueError):
        BusinessCalendar(code="x", intervals=((600, 500),))
    with pytest.raises(ValueError):
        BusinessCalendar(code="x", intervals=((480, 720), (700, 900)))
    with pytest.raises(ValueError):
        policy(arrive=0)
    with pytest.raises(ValueError):
        policy(warn_fractions=(1.2,))


# --- properties ---------------------------------------------------------------------------------

instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 1),
                        timezones=st.just(UTC))
durations = st.integers(min_value=0, max_value=60 * 24 * 5).map(lambda m: timedelta(minutes=m))
calendars = st.sampled_from([CALENDAR_24X7, OFFICE, PLAIN_9_TO_5])


@settings(max_examples=150, deadline=None)
@given(calendars, instants, durations, durations)
def test_property_deadline_monotonic_in_duration(cal, start, d1, d2):
    lo, hi = sorted((d1, d2))
    assert cal.add(start, lo) <= cal.add(start, hi)


@settings(max_examples=150, deadline=None)
@given(calendars, instants, durations)
def test_property_add_then_measure_roundtrips(cal, start, d):
    assert cal.business_between(start, cal.add(start, d)) == d


@settings(max_examples=150, deadline=None)
@given(calendars, instants, durations.filter(lambda d: d > timedelta(0)),
       st.integers(0, 3000), st.integers(0, 3000))
def test_property_pause_never_shortens(cal, start, d, offset, length):
    p = Pause(start + timedelta(minutes=offset), start + timedelta(minutes=offset + length))
    assert deadline(cal, start, d, (p,)) >= deadline(cal, start, d)


@settings(max_examples=100, deadline=None)
@given(calendars, instants, durations.filter(lambda d: d > timedelta(0)), st.integers(0, 3000),
       st.integers(0, 3000))
def test_property_clock_used_at_deadline_equals_duration(cal, start, d, offset, length):
    p = Pause(start + timedelta(minutes=offset), start + timedelta(minutes=offset + length))
    due = deadline(cal, start, d, (p,))
    assert elapsed(cal, start, due, (p,)) == d


@settings(max_examples=100, deadline=None)
@given(instants, durations)
def test_property_24x7_is_plain_addition(start, d):
    assert CALENDAR_24X7.add(start, d) == start + d
