"""The real check: four services + a real Prometheus + scenario traffic; every panel shows data."""

from __future__ import annotations

import asyncio
import fcntl
import importlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from obs_support import (
    ROOT,
    concrete,
    load_dashboards,
    load_rules,
    panel_queries,
    render_config,
    template_vars,
)

from aftersales_shared.auth import mint_token
from aftersales_shared.config import KafkaSettings
from aftersales_shared.dev import devstack
from aftersales_shared.testing.isolation import own_kafka, service_groups, start_groups_at_end
from aftersales_shared.testing.routes import settings_class
from benchmarks import simulate

SERVICES = ["ticketing", "dispatch", "parts", "settlement", "notifications"]
PROMETHEUS = shutil.which("prometheus") or "prometheus"
OBS_DB = "aftersales_obs"

pytestmark = pytest.mark.integration


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=5)


def _fresh_database(stack: Any) -> None:
    """A database of our own (same schemas and roles), so other test sessions' truncations cannot race us."""
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(stack.pg_port), "PGUSER": "postgres",
           "PGPASSWORD": stack.pg_password, "APP_DB": OBS_DB}
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c",
                    f'DROP DATABASE IF EXISTS "{OBS_DB}" WITH (FORCE)'], env=env, check=True, capture_output=True)
    subprocess.run(["bash", str(ROOT / "deploy" / "postgres" / "init" / "10-schemas.sh")], env=env, check=True,
                   capture_output=True)


def _drop_database(stack: Any) -> None:
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(stack.pg_port), "PGUSER": "postgres",
           "PGPASSWORD": stack.pg_password}
    subprocess.run(["psql", "-X", "-q", "-d", "postgres", "-c", f'DROP DATABASE IF EXISTS "{OBS_DB}" WITH (FORCE)'],
                   env=env, capture_output=True, timeout=60)


def _wait(url: str, *, timeout: float, procs: dict[str, subprocess.Popen[bytes]], logs: dict[str, Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [n for n, p in procs.items() if p.poll() is not None]
        if dead:
            tails = "\n".join(f"--- {n} ---\n{logs[n].read_text()[-2500:]}" for n in dead)
            raise AssertionError(f"{', '.join(dead)} exited while waiting for {url}:\n{tails}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not ready in {timeout}s")


def _drain(ports: dict[str, int], *, timeout: float) -> None:
    """Wait until the consumers have caught up with what the shared broker already holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lag = 0.0
        for port in ports.values():
            for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text.splitlines():
                if line.startswith("consumer_lag_messages{"):
                    lag += float(line.rsplit(" ", 1)[1])
        if lag == 0:
            return
        time.sleep(0.5)


@contextmanager
def _exclusive(stack: Any, timeout: float = 180) -> Iterator[None]:
    """One live-dashboard run per stack at a time: they share a database name."""
    with open(Path(tempfile.gettempdir()) / f"aftersales-obs-live-{stack.kafka_cluster_id}.lock", "w") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError("another live-dashboard run holds the lock") from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture
def platform(stack: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The four services as uvicorn processes on free ports, and a Prometheus scraping them every second."""
    assert shutil.which(PROMETHEUS), "prometheus is missing: `make deps` installs Debian's prometheus package"
    with _exclusive(stack):
        yield from _platform(stack, tmp_path)


def _groups(group_prefix: str) -> dict[str, list[str]]:
    """Every consumer group the four services join under ``group_prefix``, with its topics."""
    groups: dict[str, list[str]] = {}
    for svc in SERVICES:
        settings_cls = settings_class(svc)
        settings = settings_cls(service_name=svc, kafka=KafkaSettings(group_prefix=group_prefix))
        groups.update(service_groups(settings, importlib.import_module(f"{svc}.consumers").consumer_specs(settings)))
    return groups


def _platform(stack: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    _fresh_database(stack)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs: dict[str, Path] = {}
    ports = {svc: devstack.free_port() for svc in SERVICES}
    # Consumer groups of this run's own, committed at the topics' end: the services hear the scenario's events
    # only, never what earlier tests or runs left on the shared broker.
    group_prefix = own_kafka("obs-live")["group_prefix"]
    asyncio.run(start_groups_at_end(stack.bootstrap, _groups(group_prefix)))
    try:
        for svc, port in ports.items():
            env = {**os.environ, **stack.service_env(svc), "DB_NAME": OBS_DB, "APP_ENV": "development",
                   "KAFKA_GROUP_PREFIX": group_prefix, "KAFKA_RELAY_POLL_INTERVAL_MS": "200"}
            if svc == "notifications":  # it reads contacts from ticketing/dispatch with a locally minted token
                env.update(NOTIFICATIONS_TICKETING_URL=f"http://127.0.0.1:{ports['ticketing']}",
                           NOTIFICATIONS_DISPATCH_URL=f"http://127.0.0.1:{ports['dispatch']}",
                           NOTIFICATIONS_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
                           NOTIFICATIONS_SERVICE_TOKEN_KEY_FILE=str(devstack.state_dir() / "jwt" / "dev-private.pem"))
            logs[svc] = tmp_path / f"{svc}.log"
            procs[svc] = (subprocess.Popen(
                [sys.executable, "-m", "uvicorn", f"{svc}.main:create_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(port), "--no-access-log"],
                env=env, start_new_session=True, stdout=logs[svc].open("wb"), stderr=subprocess.STDOUT,
            ))
        prom_port = devstack.free_port()
        config = render_config(tmp_path / "prom", {s: f"127.0.0.1:{p}" for s, p in ports.items()})
        logs["prometheus"] = tmp_path / "prometheus.log"
        procs["prometheus"] = (subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            start_new_session=True, stdout=logs["prometheus"].open("wb"), stderr=subprocess.STDOUT,
        ))
        for port in ports.values():
            _wait(f"http://127.0.0.1:{port}/readyz", timeout=180, procs=procs, logs=logs)
        _wait(f"http://127.0.0.1:{prom_port}/-/ready", timeout=120, procs=procs, logs=logs)
        _drain(ports, timeout=45)
        yield {"ports": ports, "prometheus": f"http://127.0.0.1:{prom_port}", "logs": logs}
    finally:
        _stop(list(procs.values()))
        _drop_database(stack)


def _query(prom: httpx.Client, expr: str) -> tuple[str | None, int]:
    """(error or None, number of result series) for an instant query."""
    r = prom.get("/api/v1/query", params={"query": expr})
    body = r.json()
    if body.get("status") != "success":
        return f"{body.get('errorType')}: {body.get('error')}", 0
    result = body["data"]["result"]
    return None, len(result) if isinstance(result, list) else 1


def test_every_panel_and_alert_query_works_against_live_services(platform: dict[str, Any]) -> None:
    ports = platform["ports"]
    # A busy, unlucky day: many parts jobs, some late premium jobs, many complaints, so every panel has data.
    scenario = {"late_ratio": 0.2, "parts_ratio": 0.5, "complaint_ratio": 0.6, "quiet": True,
                "step_s": 0.3, "late_s": 2.0}
    report = simulate.run(simulate.Config(ports=ports, calls=10, seed=7, time_budget_s=25, **scenario))
    print(report.summary())
    assert report.requests > 0

    dashboards = load_dashboards()
    queries = [(q, concrete(q.expr, template_vars(dashboards[q.dashboard]))) for q in panel_queries(dashboards)]
    with httpx.Client(base_url=platform["prometheus"], timeout=10) as prom:
        # Scrapes run every second; give Prometheus time to see the scenario's effects, then judge (a deadline:
        # the loop ends as soon as every panel has data, and a busy 2-core machine may need minutes).
        deadline = time.monotonic() + 120
        while True:
            problems = []
            for q, expr in queries:
                error, n = _query(prom, expr)
                if error or n == 0:
                    problems.append(f"{q.dashboard} / {q.panel} [{q.ref}]: {error or 'no data'}\n    {expr}")
            if not problems or time.monotonic() > deadline:
                break
            simulate.run(simulate.Config(ports=ports, calls=2, seed=int(time.time()), time_budget_s=8, **scenario))
            time.sleep(2)
        for rule in load_rules():
            error, _ = _query(prom, rule.expr)
            if error:
                problems.append(f"alert {rule.alert}: {error}\n    {rule.expr}")
        up = prom.get("/api/v1/query", params={"query": 'up{job="aftersales"}'}).json()["data"]["result"]
    assert {s["metric"]["app"]: s["value"][1] for s in up} == {s: "1" for s in SERVICES}
    # `make simulate` is the same code behind a CLI; a tiny run through it must succeed too.
    argv = ["--calls", "1", "--duration", "3", "--step-seconds", "0.2", "--seed", "1"]
    for svc, port in ports.items():
        if svc in simulate.SERVICES:  # the simulator drives the four; notifications hears their events
            argv += [f"--{svc}-port", str(port)]
    assert simulate.main(argv) == 0
    # `make simulate SIM_ARGS="--days 2"` plays a second day: every service's clock moves forward one day
    driven = {s: p for s, p in ports.items() if s in simulate.SERVICES}
    two_days = simulate.run(simulate.Config(ports=driven, calls=2, seed=3, time_budget_s=4, quiet=True, days=2,
                                            settle_s=0.5))
    assert two_days.flows["days played"] == 1
    key = (devstack.state_dir() / "jwt" / "dev-private.pem").read_bytes()
    admin = {"Authorization": "Bearer " + mint_token(key, sub="obs-live", roles=["admin"])}
    for svc, port in driven.items():
        moved = httpx.get(f"http://127.0.0.1:{port}/v1/admin/clock", headers=admin, timeout=10).json()
        assert moved["offset_seconds"] >= 86_400, (svc, moved)
    assert not problems, "panels or alerts failing against live data:\n" + "\n".join(problems)
