"""R-S6: the spare unit's status machine (``domain/spare_lifecycle.py``) and its pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftersales_shared.events import dispatch as ev
from dispatch.domain import spare_lifecycle as lc

T0 = datetime(2026, 11, 30, 8, tzinfo=UTC)


def test_R_S6_only_an_available_spare_is_lent_and_converted_is_final():
    assert {s for (s, a) in lc.TRANSITIONS if a == "lend"} == {lc.AVAILABLE}
    for gone in lc.CONVERTED:
        assert not any(s == gone for (s, _a) in lc.TRANSITIONS)
    with pytest.raises(lc.IllegalSpareMove):
        lc.move(lc.LENT, "lend")
    assert lc.move(lc.LENT, "remind").events == (ev.SpareUnitOverdue,)
    assert lc.target(lc.move(lc.LENT, "remind"), lc.LENT) == lc.LENT
    assert lc.target(lc.move(lc.LENT, lc.collect_action("faulty")), lc.LENT) == lc.IN_REPAIR
    assert lc.target(lc.move(lc.LENT, lc.collect_action("fair")), lc.LENT) == lc.AVAILABLE


def test_R_S6_due_back_overdue_and_resolve_at_risk():
    due = lc.due_back(T0, timedelta(hours=2))
    assert not lc.is_overdue(lc.LENT, due, T0 + timedelta(hours=1))
    assert lc.is_overdue(lc.LENT, due, due) and not lc.is_overdue(lc.AVAILABLE, due, due)
    pause = [{"start": T0.isoformat(), "end": None, "reason": "waiting_parts"}]
    assert lc.resolve_at_risk([], pause, 240, T0 + timedelta(minutes=119), parts_wait_fraction=0.5) is None
    assert lc.resolve_at_risk([], pause, 240, T0 + timedelta(minutes=120), parts_wait_fraction=0.5) == "waiting_parts"
    assert lc.resolve_at_risk(["resolve:0.8"], [], 240, T0, parts_wait_fraction=0.5) == "resolve_warning"
    assert lc.resolve_at_risk(["arrive:breach"], [], 240, T0, parts_wait_fraction=0.5) is None
