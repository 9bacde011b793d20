"""Live traffic simulator: `make simulate` drives a running platform so the dashboards show a living system.

A simulated business day is compressed into a short real run: customer calls arrive following an
hour-of-day curve (quiet at night, peaks late morning and mid-afternoon), the call center opens tickets,
dispatch assigns engineers who accept, travel, arrive and complete (some late, so SLA milestones are
missed), engineers request parts that the warehouse ships, and some customers complain.

Only loopback targets are allowed. Every run is bounded by --calls and --duration. Endpoints the
services do not (yet) expose are left out and reported once, so the simulator degrades gracefully.

    uv run python -m benchmarks.simulate --calls 200 --duration 300
    make simulate SIM_ARGS="--days 7 --calls 140 --duration 300"   # a week: every service's clock moves a day at a time
    uv run python -m benchmarks.simulate --ticketing-port 8001 --dispatch-port 8002 ...
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import ipaddress
import itertools
import os
import random
import secrets
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
from zoneinfo import ZoneInfo

import httpx

SERVICES = ("ticketing", "dispatch", "parts", "settlement")
SHANGHAI = ZoneInfo("Asia/Shanghai")
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
    step_s: float | None = None
    late_s: float | None = None
    key_file: Path | None = None
    days: int = 1
    settle_s: float = 3.0


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
            lines.append("endpoints not found (not exercised): " + ", ".join(sorted(self.missing)))
        return "\n".join(lines)


def _loopback_only(host: str) -> None:
    addr = ipaddress.ip_address(socket.gethostbyname(host))
    if not addr.is_loopback:
        raise SystemExit(f"refusing to drive {host} ({addr}): the simulator only targets loopback")


def _private_key(cfg: Config) -> bytes:
    from aftersales_shared.dev.devstack import state_dir  # the `make run` stack's key pair (.state/run/jwt)

    path = cfg.key_file or state_dir() / "jwt" / "dev-private.pem"
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

    def find(self, method: str, suffix: str) -> str | None:
        """The route template ending with ``suffix`` (services may mount their routers under a prefix)."""
        for m, path in sorted(self.routes):
            if m == method and (path == suffix or path.endswith(suffix)) and path.count("/") <= suffix.count("/") + 2:
                return path
        self.report.missing.add(f"{self.name} {method} …{suffix}")
        return None

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
            try:
                problem = r.json()
                why = problem.get("code") or problem.get("title") or ""
                if problem.get("field"):
                    why += f" ({problem['field']})"
            except ValueError:
                why = ""
            self.report.failures[f"{self.name} {method} {template} -> {r.status_code} {why}".rstrip()] += 1
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
    """The simulated business: product line, dealers, engineers, zones, and the tickets in flight."""

    # (region code, zone name, zone class, lat, lon): Shanghai centre, Suzhou city, a Taizhou county.
    REGIONS = [("310101", "Huangpu (in zone)", "in_zone", 31.23, 121.49),
               ("320500", "Suzhou (city)", "urban", 31.30, 120.58),
               ("321283", "Taixing (county)", "county", 32.17, 120.02)]
    CHANNELS = [("phone", 60), ("web", 20), ("email", 10), ("sms", 10)]
    SKILL = "hvac"

    def __init__(self, cfg: Config, apis: dict[str, Api], rng: random.Random, report: Report) -> None:
        self.cfg, self.apis, self.rng, self.report = cfg, apis, rng, report
        self.run_id = uuid.uuid4().hex[:6].upper()
        self.dealers = [f"D-SIM-{i + 1:02d}" for i in range(cfg.dealers)]
        self.engineers = [f"E-SIM-{i + 1:02d}" for i in range(cfg.engineers)]
        self.product_line = "SIM-AC"
        self.part_no = "SIM-COMPRESSOR"
        self.warehouse_id: str | None = None
        self.queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self.started = time.monotonic()
        self.clock_offset = timedelta(0)

    # -- the services' clock: moved forward day by day when simulating several days -------------------
    def now(self) -> datetime:
        """The platform's time (the services' shared clock, which --days moves forward)."""
        return datetime.now(UTC) + self.clock_offset

    def today(self) -> date:
        return self.now().astimezone(SHANGHAI).date()

    def read_clock(self) -> None:
        r = self.apis["dispatch"].call("GET", "/v1/admin/clock", role="admin", expect=(200,))
        if r is not None and r.status_code == 200:
            self.clock_offset = timedelta(seconds=r.json()["offset_seconds"])

    def advance_clocks(self, seconds: int) -> bool:
        """Move every service's clock forward (development/test only: a production service answers 404)."""
        moved = True
        for api in self.apis.values():
            r = api.call("POST", "/v1/admin/clock", role="admin", json={"seconds": seconds}, expect=(200,))
            moved = moved and r is not None and r.status_code == 200
        self.read_clock()
        return moved

    # -- scheduling: each job's next step runs a little later, like the real world (compressed) --------
    def later(self, delay_s: float, step: Callable[[], None]) -> None:
        heapq.heappush(self.queue, (time.monotonic() + delay_s, next(self._seq), step))

    def run_due(self, until: float) -> None:
        while self.queue and self.queue[0][0] <= until:
            _, _, step = heapq.heappop(self.queue)
            step()

    def step_delay(self) -> float:
        """Real seconds between two steps of one job (a compressed hour of field work)."""
        base = self.cfg.step_s if self.cfg.step_s is not None else max(0.2, self.cfg.time_budget_s / 60)
        return base * self.rng.uniform(0.5, 1.5)

    @staticmethod
    def trace_headers(job: dict[str, Any]) -> dict[str, str]:
        """W3C trace context and correlation id continuing the customer call's trace."""
        return {"traceparent": f"00-{job['trace']}-{secrets.token_hex(8)}-01",
                "X-Correlation-Id": job["correlation_id"]}

    # -- reference data ------------------------------------------------------------------------------
    def setup(self) -> None:
        """Reference data the flows need; a second run finds it there (409 is fine)."""
        t, d, p, s = (self.apis[n] for n in SERVICES)
        ok = (200, 201, 409)
        t.call("POST", "/v1/product-lines", role="admin", expect=ok,
               json={"code": self.product_line, "name": "Split air conditioner (simulated)", "required_skill": self.SKILL})
        t.call("POST", "/v1/product-lines/{code}/policies", role="admin", expect=ok,
               path_params={"code": self.product_line}, json={"months": 24, "effective_from": "2020-01-01"})
        d.call("PUT", "/v1/sla/calendars/{code}", role="admin", path_params={"code": "SIM-24X7"},
               json={"always_open": True, "use_statutory": False})
        for code, name, zone_class, lat, lon in self.REGIONS:
            d.call("PUT", "/v1/zones/{region_code}", role="admin", path_params={"region_code": code},
                   json={"name": name, "zone_class": zone_class, "lat": lat, "lon": lon})
        tiers = {"in_zone": (60, 120, 720), "urban": (60, 1440, 1440), "county": (60, 2880, 1440),
                 "remote": (60, 2880, 2880)}
        for zone_class, (respond, arrive, resolve) in tiers.items():
            d.call("PUT", "/v1/sla/policies", role="admin", json={
                "zone_class": zone_class, "calendar_code": "SIM-24X7", "respond_minutes": respond,
                "arrive_minutes": arrive, "resolve_minutes": resolve})
            # A premium contract with tight clocks (R-S1 "1 hour on site"): where late engineers miss SLAs.
            d.call("PUT", "/v1/sla/policies", role="admin", json={
                "contract_code": "SIM-PREMIUM", "zone_class": zone_class, "calendar_code": "SIM-24X7",
                "respond_minutes": 1, "arrive_minutes": 1, "resolve_minutes": 2, "resolve_from": "opened"})
        for i, eng in enumerate(self.engineers):
            dealer = self.dealers[i % len(self.dealers)]
            _, _, _, lat, lon = self.REGIONS[i % len(self.REGIONS)]
            d.call("PUT", "/v1/engineers/{engineer_id}", role="admin", path_params={"engineer_id": eng}, json={
                "name": f"Engineer {i + 1}", "employer": "dealer", "dealer_id": dealer, "skills": {self.SKILL: 4},
                "zones": [r[0] for r in self.REGIONS], "home_lat": lat, "home_lon": lon, "max_jobs": 20,
                "shifts": [{"weekday": wd, "start_min": 0, "end_min": 1440} for wd in range(7)]})
        part_path = p.find("POST", "/catalogue/parts")
        if part_path:
            p.call("POST", part_path, role="parts_clerk", expect=ok, json={
                "part_no": self.part_no, "name": "Compressor (simulated)", "product_lines": [self.product_line],
                "cost_price": "420.00", "list_price": "680.00", "must_return": True})
        wh_path = p.find("POST", "/warehouses")
        if wh_path:
            r = p.call("POST", wh_path, role="parts_clerk", expect=ok, json={
                "code": f"SIM-CENTRAL-{self.run_id}", "name": "Central warehouse (simulated)", "kind": "central",
                "lat": 31.2, "lon": 121.4})
            if r is not None and r.status_code == 201:
                self.warehouse_id = r.json().get("id")
        rc_path = p.find("POST", "/stock/receipts")
        if rc_path and self.warehouse_id:
            p.call("POST", rc_path, role="parts_clerk", json={
                "warehouse_id": self.warehouse_id, "part_no": self.part_no,
                "quantity": max(5, int(self.cfg.calls * self.cfg.parts_ratio * 0.7)), "reference": "sim initial stock"})
        for dealer in self.dealers:
            dealer_path = s.find("POST", "/dealers")
            if dealer_path:
                s.call("POST", dealer_path, role="admin", expect=ok,
                       json={"id": dealer, "name": f"Dealer {dealer}", "territories": [r[0] for r in self.REGIONS]})
            contract_path = s.find("POST", "/dealers/{dealer_id}/contracts")
            if contract_path:
                s.call("POST", contract_path, role="admin", expect=ok, path_params={"dealer_id": dealer}, json={
                    "effective_from": "2026-01-01", "fee_model": "d",
                    "parameters": {"repair_fee": "80.00", "home_visit_fee": "30.00", "complaint_penalty": "200.00"}})

    # -- one customer call ---------------------------------------------------------------------------
    def one_call(self, hour: int, n: int) -> None:
        """A customer calls: the unit is found (or registered), a ticket opened, the rest is scheduled."""
        t = self.apis["ticketing"]
        region, _, zone_class, lat, lon = self.rng.choice(self.REGIONS)
        dealer = self.rng.choice(self.dealers)
        premium = self.rng.random() < self.cfg.late_ratio
        serial = f"SIM{self.run_id}{n:05d}"
        sold = date.today() - timedelta(days=self.rng.choice([3, 10, 90, 300, 500, 900]))
        unit = {
            "serial": serial, "product_line": self.product_line, "customer_name": f"Customer {n}",
            "phone": f"1380000{n % 10000:04d}", "address": f"{n} Simulation Road", "region_code": region,
            "dealer_id": dealer, "contract_code": "SIM-PREMIUM" if premium else None, "sold_on": sold.isoformat()}
        r = t.call("POST", "/v1/units", role="call_center", expect=(201, 409, 422), json=unit)
        if r is not None and r.status_code == 422:
            # Reference data gone (someone reset the database): set it up again and retry this call once.
            self.report.flows["reference data re-created"] += 1
            self.setup()
            t.call("POST", "/v1/units", role="call_center", expect=(201, 409), json=unit)
        channel = self.rng.choices([c for c, _ in self.CHANNELS], [w for _, w in self.CHANNELS])[0]
        # One correlation id and one trace per customer call: its whole journey is one trace in the logs.
        ctx = {"trace": secrets.token_hex(16), "correlation_id": f"sim-{self.run_id}-{n:05d}"}
        r = t.call("POST", "/v1/tickets", role="call_center",
                   headers={"Idempotency-Key": f"sim-{serial}", **self.trace_headers(ctx)}, json={
            "serial": serial, "customer_name": f"Customer {n}", "phone": f"1380000{n % 10000:04d}",
            "address": f"{n} Simulation Road", "region_code": region, "lat": lat, "lon": lon, "channel": channel,
            "fault_description": self.rng.choice(["not cooling", "water leaking from indoor unit",
                                                  "error code E4", "loud noise from outdoor unit"]),
            "requested_action": "repair",
            "exclusions": ["misuse"] if self.rng.random() < 0.1 else []})
        if r is None or r.status_code != 201:
            return
        self.report.flows["tickets opened"] += 1
        ticket = r.json()
        job = {**ctx, "ticket_id": ticket["id"], "dealer": dealer, "lat": lat, "lon": lon, "late": premium, "tries": 0,
               "parts": self.rng.random() < self.cfg.parts_ratio,
               "complaint": self.rng.random() < self.cfg.complaint_ratio}
        self.later(self.step_delay(), lambda: self.find_job(job))

    def find_job(self, job: dict[str, Any]) -> None:
        """Dispatch creates the job from the TicketOpened event; wait for it, then assign an engineer."""
        d = self.apis["dispatch"]
        r = d.call("GET", "/v1/jobs", role="dispatcher", params={"ticket_id": job["ticket_id"]}, headers=self.trace_headers(job))
        if r is None or r.status_code != 200:
            return
        found = r.json()
        if not found:
            job["tries"] += 1
            if job["tries"] < 30:
                self.later(0.5, lambda: self.find_job(job))
            else:
                self.report.failures["dispatch: no job for a ticket after 15 s"] += 1
            return
        job.update(id=found[0]["id"], engineer=found[0].get("engineer_id"))
        if not job["engineer"]:
            # The dispatcher tries engineers until one has capacity (409 engineer_at_capacity otherwise).
            for engineer in self.rng.sample(self.engineers, min(3, len(self.engineers))):
                # the job's version as read: a job that moved meanwhile answers 409 naming its assignee
                a = d.call("POST", "/v1/jobs/{job_id}/assign", role="dispatcher", path_params={"job_id": job["id"]},
                           headers=self.trace_headers(job),
                           json={"engineer_id": engineer, "version": found[0]["version"]}, expect=(200, 409))
                if a is None:
                    return
                if a.status_code == 200:
                    job["engineer"] = engineer
                    break
            if not job["engineer"]:
                self.report.failures["dispatch: every engineer tried was at capacity"] += 1
                return
        self.report.flows["jobs assigned"] += 1
        # Late engineers arrive after the premium contract's 1-minute on-site clock ran out (if the run is long).
        late_s = self.cfg.late_s if self.cfg.late_s is not None else min(90.0, self.cfg.time_budget_s * 0.6)
        late = late_s if job["late"] else 0.0
        self.later(self.step_delay(), lambda: self.act(job, ["accept", "depart"], then=lambda: self.later(
            self.step_delay() + late, lambda: self.act(job, ["arrive"], then=lambda: self.on_site(job)))))

    def act(self, job: dict[str, Any], actions: list[str], *, then: Callable[[], None] | None = None,
            reason: str | None = None, record: dict[str, Any] | None = None) -> None:
        """Engineer app actions, as the engineer (idempotent by client_action_id)."""
        d = self.apis["dispatch"]
        for action in actions:
            body: dict[str, Any] = {"client_action_id": f"sim-{uuid.uuid4().hex[:16]}",
                                    "device_time": self.now().isoformat(), "action": action,
                                    "lat": job["lat"], "lon": job["lon"]}
            if reason:
                body["reason"] = reason
            if record and action == "complete":
                body["record"] = record
            r = d.call("POST", "/v1/jobs/{job_id}/actions", role="engineer", path_params={"job_id": job["id"]},
                       claims={"sub": job["engineer"], "engineer_id": job["engineer"]}, json=body,
                       headers=self.trace_headers(job), expect=(200, 201, 409) if action == "accept" else (200, 201))
            if r is not None and r.status_code == 409 and action == "accept" and not job.get("re_offered"):
                # The offer moved on to another engineer (expired or reassigned): that engineer picks it up.
                job["re_offered"] = True
                g = d.call("GET", "/v1/jobs/{job_id}", role="dispatcher", path_params={"job_id": job["id"]})
                if g is not None and g.status_code == 200 and g.json().get("engineer_id"):
                    job["engineer"] = g.json()["engineer_id"]
                    self.act(job, actions, then=then, reason=reason, record=record)
                return
            if r is None or r.status_code >= 300:
                return
            self.report.flows[f"engineer {action}"] += 1
        if then:
            then()

    def on_site(self, job: dict[str, Any]) -> None:
        if job["parts"] and self.apis["parts"].find("POST", "/part-requests"):
            self.request_part(job)
        else:
            self.later(self.step_delay(), lambda: self.complete(job))

    def request_part(self, job: dict[str, Any]) -> None:
        """The engineer needs a compressor: request it, pause the job, the warehouse ships it."""
        p = self.apis["parts"]
        r = p.call("POST", p.find("POST", "/part-requests") or "-", role="engineer", headers=self.trace_headers(job),
                   claims={"sub": job["engineer"], "engineer_id": job["engineer"], "dealer_id": job["dealer"]},
                   json={"lines": [{"part_no": self.part_no, "quantity": 1}], "coverage": "warranty",
                         "urgent": self.rng.random() < 0.2, "ship_to": {"address": "dealer depot"},
                         "job_id": job["id"], "ticket_id": job["ticket_id"], "dealer_id": job["dealer"],
                         "engineer_id": job["engineer"]})
        if r is None or r.status_code != 201:
            self.later(self.step_delay(), lambda: self.complete(job))
            return
        self.report.flows["parts requested"] += 1
        req = r.json().get("id")
        self.act(job, ["pause"], reason="waiting_parts")
        self.later(self.step_delay(), lambda: self.ship_part(job, req))

    def ship_part(self, job: dict[str, Any], req: str | None) -> None:
        p = self.apis["parts"]
        if req:
            for kind in ("replacement_list", "old_part_waybill"):  # R-P3 gates for in-warranty parts
                p.call("POST", p.find("POST", "/part-requests/{request_id}/documents") or "-", role="parts_clerk",
                       path_params={"request_id": req}, headers=self.trace_headers(job), json={"kind": kind, "reference": f"{kind}-{req[:8]}"})
            r = p.call("POST", p.find("POST", "/part-requests/{request_id}/ship") or "-", role="parts_clerk",
                       path_params={"request_id": req}, expect=(200, 409), headers=self.trace_headers(job),
                       json={"carrier": "SF Express", "tracking_no": f"SF{uuid.uuid4().hex[:10].upper()}"})
            if r is not None and r.status_code == 200:
                self.report.flows["parts shipped"] += 1
        self.later(self.step_delay(), lambda: self.act(job, ["resume"], then=lambda: self.complete(job)))

    def complete(self, job: dict[str, Any]) -> None:
        record = {"work_done": "replaced compressor" if job["parts"] else "cleaned and recharged",
                  "root_cause": self.rng.choice(["supplier_part", "workmanship", "customer"]),
                  "labour_minutes": self.rng.randint(30, 180), "customer_name": "customer signed",
                  "parts_used": [{"part_no": self.part_no, "quantity": 1}] if job["parts"] else []}
        self.act(job, ["complete"], record=record,
                 then=lambda: self.later(self.step_delay(), lambda: self.aftercare(job)))

    def aftercare(self, job: dict[str, Any]) -> None:
        """Callbacks on finished repairs (R-T5) and, now and then, a complaint (R-T6)."""
        t = self.apis["ticketing"]
        self.callbacks()
        if job["complaint"]:
            c = t.call("POST", "/v1/complaints", role="call_center", headers=self.trace_headers(job), json={
                "ticket_id": job["ticket_id"], "dealer_id": job["dealer"], "category": "service",
                "description": "engineer arrived late and the unit failed again"})
            if c is not None and c.status_code == 201:
                self.report.flows["complaints"] += 1
                if self.rng.random() < 0.5:
                    t.call("POST", "/v1/complaints/{complaint_id}/resolve", role="call_center",
                           path_params={"complaint_id": c.json()["id"]},
                           json={"upheld": True, "against": "dealer", "resolution": "apologised, revisit booked"})

    def callbacks(self) -> None:
        """The call center works through pending callback tasks (R-T5)."""
        t = self.apis["ticketing"]
        r = t.call("GET", "/v1/callbacks", role="call_center", params={"status": "pending", "limit": 5})
        if r is None or r.status_code != 200:
            return
        for cb in r.json()[:3]:
            done = t.call("POST", "/v1/callbacks/{callback_id}/outcome", role="call_center",
                          path_params={"callback_id": cb["id"]}, expect=(200, 409),
                          json={"reached": True, "fixed": True, "satisfaction": self.rng.choice([3, 4, 5, 5])})
            if done is not None and done.status_code == 200:
                self.report.flows["callbacks recorded"] += 1

    def close_quarter(self) -> None:
        """Finance prepares the quarter's statements for the simulated dealers (idempotent)."""
        s = self.apis["settlement"]
        path = s.find("POST", "/statement-runs")
        if not path:
            return
        today = self.today()
        r = s.call("POST", path, role="finance", expect=(200, 201, 409, 422),
                   json={"quarter": f"{today.year}Q{(today.month - 1) // 3 + 1}", "dealer_ids": self.dealers})
        if r is not None and r.status_code in (200, 201):
            self.report.flows["statement runs"] += 1

    def reports(self) -> None:
        """What the ops lead opens during the day: queue, ship commitments, statements."""
        self.apis["dispatch"].call("GET", "/v1/queue", role="dispatcher")
        self.apis["dispatch"].call("GET", "/v1/reports/sla-attainment", role="ops", params={
            "date_from": (self.today() - timedelta(days=7)).isoformat(), "date_to": self.today().isoformat()})
        p = self.apis["parts"]
        path = p.find("GET", "/ops/ship-commitments")
        if path:
            p.call("GET", path, role="ops")
        s = self.apis["settlement"]
        path = s.find("GET", "/statements")
        if path:
            s.call("GET", path, role="finance")

def _play_day(world: World, apis: dict[str, Api], report: Report, rng: random.Random, *, calls: int,
              budget_s: float) -> None:
    """One business day compressed into ``budget_s`` real seconds: calls on the hourly curve, then the field work."""
    started = time.monotonic()
    deadline = started + budget_s
    arrivals = arrival_offsets(calls, budget_s * 0.6, rng)
    for n, (offset, hour) in enumerate(arrivals):
        while time.monotonic() < started + offset:
            world.run_due(time.monotonic())
            time.sleep(0.05)
        if time.monotonic() > deadline:
            break
        world.one_call(hour, n)
        report.flows["calls"] += 1
        if n % 5 == 0:
            world.reports()
            world.callbacks()
            for api in apis.values():
                api.probe()
    # Let jobs in the field finish, but never past the day's budget.
    while world.queue and time.monotonic() < deadline:
        world.run_due(time.monotonic())
        time.sleep(0.05)


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
    world = World(cfg, apis, rng, report)
    try:
        world.setup()
        world.read_clock()
        per_day = max(1, cfg.calls // cfg.days)
        for day in range(cfg.days):
            _play_day(world, apis, report, rng, calls=per_day, budget_s=cfg.time_budget_s / cfg.days)
            if day + 1 < cfg.days:
                if not world.advance_clocks(86_400):
                    print("the services' clock cannot be moved (production?): stopping after one day",
                          file=sys.stderr)
                    break
                report.flows["days played"] += 1
                time.sleep(cfg.settle_s)  # background jobs (SLA, ship-by, returns due) see the new day
        world.callbacks()
        world.close_quarter()
        report.flows["steps left unfinished"] = len(world.queue)
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
    p.add_argument("--step-seconds", type=float, default=None,
                   help="real seconds between two steps of a job (default: duration/60)")
    p.add_argument("--late-seconds", type=float, default=None,
                   help="extra real seconds a late engineer takes to arrive (default: min(90, 0.6 x duration))")
    p.add_argument("--days", type=int, default=int(os.environ.get("SIM_DAYS", 1)),
                   help="business days to play: between two days every service's clock moves forward one day "
                        "(development/test only), so a week (7) or a quarter (90) plays in minutes")
    p.add_argument("--seed", type=int, default=int(time.time()))
    p.add_argument("--host", default=os.environ.get("SIM_HOST", "127.0.0.1"), help="loopback address only")
    for s in SERVICES:
        p.add_argument(f"--{s}-port", type=int, default=int(os.environ.get(f"SIM_{s.upper()}_PORT", DEFAULT_PORTS[s])))
    a = p.parse_args(argv)
    if a.calls < 1 or a.calls > 100_000 or a.duration <= 0 or a.duration > 24 * 3600:
        p.error("--calls must be 1..100000 and --duration 0..86400 seconds")
    if not 1 <= a.days <= 400:
        p.error("--days must be 1..400")
    cfg = Config(ports={s: getattr(a, f"{s}_port") for s in SERVICES}, host=a.host, calls=a.calls,
                 time_budget_s=a.duration, seed=a.seed, late_ratio=a.late_ratio, parts_ratio=a.parts_ratio,
                 complaint_ratio=a.complaint_ratio, dealers=a.dealers, engineers=a.engineers,
                 step_s=a.step_seconds, late_s=a.late_seconds, days=a.days)
    print(f"simulating {cfg.calls} calls over {cfg.days} day(s) in {cfg.time_budget_s:.0f}s against "
          + ", ".join(f"{s}:{p}" for s, p in cfg.ports.items()))
    report = run(cfg)
    return 0 if report.requests else 1


if __name__ == "__main__":
    sys.exit(main())
