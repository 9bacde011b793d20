"""The job status machine (domain/job_lifecycle.py): every move, exhaustively."""

import pytest

from aftersales_shared.events import dispatch as ev
from dispatch.domain import job_lifecycle as lc

STATUSES = lc.OPEN_STATUSES + lc.TERMINAL
# what the engineer app may do from which status (the rule the 79-line if-chain used to encode)
APP_FROM = {
    "accept": {"offered"}, "decline": {"offered"}, "depart": {"accepted"}, "arrive": {"accepted", "en_route"},
    "pause": {"accepted", "en_route", "on_site"}, "resume": {"paused"},
    "remote_resolve": {"accepted", "en_route", "on_site"}, "lend_spare": {"on_site", "paused"},
    "collect_spare": {"on_site", "accepted", "en_route"}, "complete": {"on_site"},
}
SYSTEM_FROM = {"offer": {"queued"}, "expire": {"offered"}, "assign": {"queued", "offered", "accepted"},
               "cancel": set(lc.OPEN_STATUSES), "parts_delivered": {"paused"}, "unassign": {"offered", "accepted"}}


@pytest.mark.parametrize("action", lc.APP_ACTIONS + lc.SYSTEM_MOVES)
@pytest.mark.parametrize("status", STATUSES)
def test_every_status_action_pair_is_either_a_move_or_refused(status, action):
    assert lc.allowed(status, action) == (status in {**APP_FROM, **SYSTEM_FROM}[action])
    if not lc.allowed(status, action):
        with pytest.raises(lc.IllegalMove):
            lc.move(status, action)


def test_terminal_statuses_are_final_and_every_move_leads_to_a_status():
    for (status, _action), m in lc.TRANSITIONS.items():
        assert status not in lc.TERMINAL
        assert m.to in STATUSES or m.to in (lc.STAY, lc.BEFORE_PAUSE)
        assert all(issubclass(e, ev.IntegrationEvent) for e in m.events)


def test_pseudo_statuses_resolve():
    assert lc.target(lc.move("paused", "resume"), "paused", before_pause="en_route") == "en_route"
    assert lc.target(lc.move("paused", "resume"), "paused", before_pause=None) == "on_site"
    assert lc.target(lc.move("paused", "lend_spare"), "paused", before_pause="on_site") == "paused"
    assert lc.target(lc.move("on_site", "complete"), "on_site", before_pause=None) == "completed"


def test_events_of_the_moves():
    assert lc.move("on_site", "complete").events == (ev.JobCompleted,)
    assert lc.move("en_route", "remote_resolve").events == (ev.JobRemoteResolved, ev.JobCompleted)
    assert lc.move("queued", "offer").events == (ev.JobOffered, ev.JobAssigned)
    assert lc.move("offered", "expire").events == ()
    assert lc.move("offered", "decline") == lc.Move("queued", (ev.JobDeclined,))


def test_capacity_is_held_exactly_while_an_engineer_has_the_job():
    assert [s for s in STATUSES if lc.holds_capacity(s)] == ["offered", "accepted", "en_route", "on_site", "paused"]
