"""The status machines in domain/ (pure): every status × move answered by the tables, and what the tables promise."""

import pytest

import aftersales_shared.events.ticketing  # noqa: F401 - registers ticketing's event types
from aftersales_shared.events import registry
from ticketing.domain import callback_lifecycle, complaint_lifecycle, remedy_lifecycle, ticket_lifecycle
from ticketing.domain.ticket_lifecycle import JOB_STEP_MOVES, MOVES, OPEN_STATUSES, TICKET_STATUSES, can_move


@pytest.mark.parametrize("status", TICKET_STATUSES)
@pytest.mark.parametrize("move", sorted(MOVES))
def test_every_ticket_status_and_move_is_decided_by_the_table(status, move):
    m = MOVES[move]
    assert can_move(status, move) == (status in m.allowed_from and status != m.to)


def test_finished_tickets_only_reopen_and_open_tickets_never_do():
    for status in ("closed", "cancelled"):
        assert [m for m in MOVES if can_move(status, m)] == ["reopen"]
    assert not any(can_move(s, "reopen") for s in OPEN_STATUSES)
    assert not any(can_move(s, "open") for s in TICKET_STATUSES)  # intake is the only way in
    assert not can_move(None, "cancel")


def test_every_dispatch_step_maps_to_a_move_between_open_statuses():
    for step, move in JOB_STEP_MOVES.items():
        assert step.startswith("dispatch.job.") and MOVES[move].to in OPEN_STATUSES


@pytest.mark.parametrize("table", [ticket_lifecycle.MOVES, complaint_lifecycle.MOVES, callback_lifecycle.MOVES,
                                   remedy_lifecycle.MOVES])
def test_every_event_a_move_names_is_a_registered_ticketing_event(table):
    for move in table.values():
        for event_type in move.emits:
            assert event_type.startswith("ticketing.") and registry.get(event_type) is not None, event_type


def test_status_changed_accompanies_every_move_but_intake_and_is_registered():
    assert registry.get(ticket_lifecycle.STATUS_CHANGED) is not None
