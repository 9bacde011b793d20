"""Live traffic simulator: `make simulate` drives a running platform so the dashboards show a living system.

A simulated business day is compressed into a short real run: customer calls arrive following an
hour-of-day curve (quiet at night, peaks late morning and mid-afternoon), the call center opens tickets,
dispatch assigns engineers who accept, travel, arrive and complete (some late, so SLA milestones are
missed), engineers request parts that the warehouse ships, and some customers complain.

Only loopback targets are allowed. Every run is bounded by --calls and --duration. Endpoints the
services do not (yet) expose are skipped and reported once, so the simulator degrades gracefully.

    uv run python -m benchmarks.simulate --calls 200 --duration 300
    uv run python -m benchmarks.simulate --ticketing-port 8001 --dispatch-port 8002 ...
"""

from __future__ import annotations

import argparse
import bisect
import ipaddress
import itertools
import os
import random
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

SERVICES = ("ticketing", "dispatch", "parts", "settlement")
DEFAULT_PORTS = {"ticketing": 8001, "dispatch": 8002, "parts": 8003, "settlement": 8004}

# Share of a day's calls arriving in each local hour (Asia/Shanghai): night trickle, 10:00 and 15:00 peaks.
HOURLY_CURVE = [0.4, 0.2, 0.2, 0.2, 0.3, 0.6, 1.2, 2.5, 4.5, 6.5, 7.5, 7.0,
                5.0, 5.5, 6.5, 7.0, 6.0, 5.0, 4.0, 3.2, 2.5, 1.8, 1.2, 0.7]


@dataclass
class Config:
    """What to simulate and how hard."""

    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    host: str = "127.0.0.1"
    calls: int = 60
    time_budget_s: float = 120.0
    seed: int = 1
    late_ratio: float = 0.2
    parts_ratio: float = 0.4
    complaint_ratio: float = 0.1
    dealers: int = 3
    engineers: int = 6
    quiet: bool = False
    key_file: Path | None = None


@dataclass
class Report:
    """What happened: request counts by service and status, and endpoints that were not there."""

    requests: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    missing: set[str] = field(default_factory=set)
    failures: Counter[str] = field(default_factory=Counter)
    flows: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        lines = [f"requests: {self.requests}",
                 "by service/status: " + ", ".join(f"{k}={v}" for k, v in sorted(self.statuses.items())),
                 "flows: " + (", ".join(f"{k}={v}" for k, v in sorted(self.flows.items())) or "none")]
        if self.failures:
            lines.append("unexpected answers: " + ", ".join(f"{k} x{v}" for k, v in self.failures.most_common(10)))
        if self.missing:
            lines.append("endpoints not found (skipped): " + ", ".join(sorted(self.missing)))
        return "\n".join(lines)


def _loopback_only(host: str) -> None:
    addr = ipaddress.ip_address(socket.gethostbyname(host))
    if not addr.is_loopback:
        raise SystemExit(f"refusing to drive {host} ({addr}): the simulator only targets loopback")


def _private_key(cfg: Config) -> bytes:
    path = cfg.key_file or Path(os.environ.get("AFTERSALES_STATE_DIR", Path(__file__).resolve().parents[1] / ".state")) / "jwt" / "dev-private.pem"
    if not path.exists():
        raise SystemExit(f"no signing key at {path}: start the platform with `make run` first")
    return path.read_bytes()


class Api:
    """HTTP to one service with per-role tokens; knows the service's routes from its OpenAPI document."""

    def __init__(self, name: str, base: str, report: Report, mint: Callable[..., str]) -> None:
        self.name, self.report, self.mint = name, report, mint
        self.http = httpx.Client(base_url=base, timeout=15)
        self.routes: set[tuple[str, str]] = set()
        self._tokens: dict[tuple[Any, ...], str] = {}
        try:
            doc = self.http.get("/openapi.json").json()
            self.routes = {(m.upper(), p) for p, ops in doc.get("paths", {}).items() for m in ops}
        except (httpx.HTTPError, ValueError):
            self.routes = set()

    def has(self, method: str, path: str) -> bool:
        ok = (method, path) in self.routes
        if not ok:
            self.report.missing.add(f"{self.name} {method} {path}")
        return ok

    def _headers(self, roles: tuple[str, ...], claims: dict[str, Any]) -> dict[str, str]:
        key = (roles, tuple(sorted(claims.items())))
        if key not in self._tokens:
            self._tokens[key] = self.mint(sub=claims.pop("sub", f"sim-{roles[0]}"), roles=list(roles), **claims)
        return {"Authorization": f"Bearer {self._tokens[key]}", "X-Correlation-Id": str(uuid.uuid4())}

    def call(self, method: str, template: str, *, role: str | tuple[str, ...] = "admin", expect: tuple[int, ...] = (200, 201, 202, 204),
             path_params: dict[str, Any] | None = None, **kw: Any) -> httpx.Response | None:
        """One request; None when the route does not exist or the service is unreachable."""
        if not self.has(method, template):
            return None
        roles = (role,) if isinstance(role, str) else role
        claims = dict(kw.pop("claims", {}))
        headers = {**self._headers(roles, dict(claims)), **kw.pop("headers", {})}
        try:
            r = self.http.request(method, template.format(**(path_params or {})), headers=headers, **kw)
        except httpx.HTTPError as exc:
            self.report.failures[f"{self.name} {method} {template}: {type(exc).__name__}"] += 1
            return None
        self.report.requests += 1
        self.report.statuses[f"{self.name}/{r.status_code}"] += 1
        if r.status_code not in expect:
            self.report.failures[f"{self.name} {method} {template} -> {r.status_code}"] += 1
        return r

    def probe(self) -> None:
        """Readiness and an unknown path, the way load balancers and stray clients do."""
        for path in ("/readyz", "/healthz"):
            try:
                r = self.http.get(path)
                self.report.requests += 1
                self.report.statuses[f"{self.name}/{r.status_code}"] += 1
            except httpx.HTTPError as exc:
                self.report.failures[f"{self.name} GET {path}: {type(exc).__name__}"] += 1

    def close(self) -> None:
        self.http.close()


def arrival_offsets(n: int, duration_s: float, rng: random.Random) -> list[tuple[float, int]]:
    """n call arrivals over a compressed day: (seconds from start, local hour), sorted."""
    cum = list(itertools.accumulate(HOURLY_CURVE))
    out = []
    for _ in range(n):
        hour = bisect.bisect(cum, rng.random() * cum[-1])
        minute = rng.random()
        out.append(((hour + minute) / 24 * duration_s, hour))
    return sorted(out)


class World:
    """The simulated business: product lines, dealers, engineers, and the tickets in flight."""

    def __init__(self, cfg: Config, apis: dict[str, Api], rng: random.Random) -> None:
        self.cfg, self.apis, self.rng = cfg, apis, rng
        self.run_id = uuid.uuid4().hex[:6]
        self.dealers = [f"D-SIM-{i + 1:02d}" for i in range(cfg.dealers)]
        self.engineers = [f"E-SIM-{i + 1:02d}" for i in range(cfg.engineers)]
        self.product_line = "SIM-AC"
        self.report = next(iter(apis.values())).report

    def setup(self) -> None:
        """Reference data the flows need (idempotent: 409 on a second run is fine)."""
        for step in SETUP_STEPS:
            step(self)

    def one_call(self, hour: int) -> None:
        """A customer call and everything that follows from it."""
        for flow in CALL_FLOWS:
            flow(self, hour)


SETUP_STEPS: list[Callable[[World], None]] = []
CALL_FLOWS: list[Callable[[World, int], None]] = []


def run(cfg: Config) -> Report:
    """Drive the platform for at most cfg.time_budget_s seconds and cfg.calls calls."""
    _loopback_only(cfg.host)
    from aftersales_shared.auth import mint_token

    key = _private_key(cfg)
    report = Report()
    rng = random.Random(cfg.seed)
    apis = {s: Api(s, f"http://{cfg.host}:{cfg.ports[s]}", report, lambda **kw: mint_token(key, **kw))
            for s in SERVICES}
    down = [s for s, a in apis.items() if not a.routes]
    if down and not cfg.quiet:
        print(f"not reachable (no /openapi.json): {', '.join(down)}", file=sys.stderr)
    world = World(cfg, apis, rng)
    started = time.monotonic()
    try:
        world.setup()
        for offset, hour in arrival_offsets(cfg.calls, cfg.time_budget_s * 0.8, rng):
            wait = started + offset - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if time.monotonic() - started > cfg.time_budget_s:
                break
            world.one_call(hour)
            for api in apis.values():
                api.probe()
            report.flows["calls"] += 1
    finally:
        for api in apis.values():
            api.close()
    if not cfg.quiet:
        print(report.summary())
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="simulate", description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=int(os.environ.get("SIM_CALLS", 60)), help="customer calls to simulate")
    p.add_argument("--duration", type=float, default=float(os.environ.get("SIM_DURATION", 120)),
                   help="real seconds the compressed day lasts (upper bound of the run)")
    p.add_argument("--late-ratio", type=float, default=0.2, help="share of jobs where the engineer arrives late")
    p.add_argument("--parts-ratio", type=float, default=0.4, help="share of jobs that need a spare part")
    p.add_argument("--complaint-ratio", type=float, default=0.1, help="share of tickets that end in a complaint")
    p.add_argument("--dealers", type=int, default=3)
    p.add_argument("--engineers", type=int, default=6)
    p.add_argument("--seed", type=int, default=int(time.time()))
    p.add_argument("--host", default=os.environ.get("SIM_HOST", "127.0.0.1"), help="loopback address only")
    for s in SERVICES:
        p.add_argument(f"--{s}-port", type=int, default=int(os.environ.get(f"SIM_{s.upper()}_PORT", DEFAULT_PORTS[s])))
    a = p.parse_args(argv)
    if a.calls < 1 or a.calls > 100_000 or a.duration <= 0 or a.duration > 24 * 3600:
        p.error("--calls must be 1..100000 and --duration 0..86400 seconds")
    cfg = Config(ports={s: getattr(a, f"{s}_port") for s in SERVICES}, host=a.host, calls=a.calls,
                 time_budget_s=a.duration, seed=a.seed, late_ratio=a.late_ratio, parts_ratio=a.parts_ratio,
                 complaint_ratio=a.complaint_ratio, dealers=a.dealers, engineers=a.engineers)
    print(f"simulating {cfg.calls} calls over {cfg.time_budget_s:.0f}s against "
          + ", ".join(f"{s}:{p}" for s, p in cfg.ports.items()))
    report = run(cfg)
    return 0 if report.requests else 1


if __name__ == "__main__":
    sys.exit(main())
