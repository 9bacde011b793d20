"""The simulator's own rules: hour-of-day arrivals, loopback only, bounded runs, graceful degradation."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from aftersales_shared.auth import generate_keypair
from aftersales_shared.dev.devstack import free_port
from benchmarks import simulate


def test_arrivals_follow_the_hour_of_day_curve() -> None:
    offsets = simulate.arrival_offsets(5000, 240.0, random.Random(3))
    assert [o for o, _ in offsets] == sorted(o for o, _ in offsets)
    assert all(0 <= o <= 240.0 for o, _ in offsets)
    hours = [h for _, h in offsets]
    night = sum(1 for h in hours if h < 6)
    late_morning = sum(1 for h in hours if 9 <= h < 12)
    assert late_morning > 5 * night


def test_refuses_non_loopback_targets(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="loopback"):
        simulate.run(simulate.Config(host="192.0.2.10", calls=1, time_budget_s=1, quiet=True))


def test_rejects_unbounded_runs() -> None:
    with pytest.raises(SystemExit):
        simulate.main(["--calls", "0"])
    with pytest.raises(SystemExit):
        simulate.main(["--duration", "1000000"])


def test_degrades_gracefully_when_the_platform_is_not_running(tmp_path: Path) -> None:
    key = tmp_path / "dev-private.pem"
    key.write_bytes(generate_keypair()[0])
    ports = {s: free_port() for s in simulate.SERVICES}
    report = simulate.run(simulate.Config(ports=ports, calls=2, time_budget_s=1, quiet=True, key_file=key))
    assert report.requests == 0
    assert report.missing, "endpoints that are not there are reported, not crashed on"
    assert "endpoints not found" in report.summary()
