"""Issue 14, live decision latency: a held job's core ``Job`` is built once per row version (``xmin``) in a process
and reused by later decisions; a changed row (new ``xmin``), changed reference tables (service durations, tools,
parts: the per-process caches' new objects) or other settings build it again, so no decision ever routes a job
as it was before a change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from aftersales_shared.auth import AuthSettings
from dispatch.config import DispatchConfig, DispatchSettings
from dispatch.jobs import live

OPENED = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def row(xmin: str, **kw):
    base = dict(id="J-cache-1", engineer_id="E1", status="accepted", planned_arrival=None, earliest_start=None,
                booked_end=None, arrive_due=OPENED + timedelta(hours=24), opened_at=OPENED, lat=31.2, lon=121.4,
                service_minutes=None, product_line="hvac", fault_class="leak", required_skills=None,
                required_skill="hvac", required_tools=None, unserved_cost=None, pinned_engineer_id=None,
                arrived_at=None, last_action_at=OPENED, zone_class="county", expected_parts=None,
                restock_centre_id=None, restock_parts=None, xmin=xmin)
    return SimpleNamespace(**{**base, **kw})


def cfg() -> DispatchConfig:
    return DispatchConfig.from_settings(DispatchSettings(environment="test", auth=AuthSettings(public_key_pem=None)))


def test_issue14_a_held_job_is_built_once_per_row_version_and_again_after_any_change():
    c = cfg()
    tools: dict = {}
    parts: dict = {}
    ref = live.Reference({("hvac", "leak", 0): 45}, tools, parts, {})
    first = live.held_core(row("100"), c, ref, parts=False)
    assert first.service_minutes == 45
    assert live.held_core(row("100"), c, ref, parts=False) is first  # same row version: not built again
    # the row changed (new xmin): built from the new row
    moved = live.held_core(row("101", service_minutes=70), c, ref, parts=False)
    assert moved is not first and moved.service_minutes == 70
    # the durations table was reloaded (a new object): built again with the new minutes
    ref2 = live.Reference({("hvac", "leak", 0): 30}, tools, parts, {})
    again = live.held_core(row("100"), c, ref2, parts=False)
    assert again is not first and again.service_minutes == 30
    # with and without parts are different builds; other settings too
    assert live.held_core(row("100"), c, ref2, parts=True) is not again
    assert live.held_core(row("100"), c, live.Reference(ref2.durations, {}, parts, {}), parts=False) is not again
    assert live.held_core(row("100"), cfg(), ref2, parts=False) is not again
    # a row without a version (an ORM object) is built every time
    bare = row("100")
    del bare.xmin
    assert live.held_core(bare, c, ref2, parts=False) is not live.held_core(bare, c, ref2, parts=False)
