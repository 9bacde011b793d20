"""``make run``: the stack plus the four services as uvicorn processes, and one dispatch planner worker; Ctrl-C
stops everything.

``python -m aftersales_shared.dev.runner``. Uses the ``make run`` stack (``.state/run``), never the tests'.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from .devstack import SERVICES, down, free_port, port_open, state_dir, up

DEFAULT_PORTS = {"ticketing": 8001, "dispatch": 8002, "parts": 8003, "settlement": 8004, "dispatch-planner": 8005,
                 "notifications": 8006}
PROCESS_ENV = {"dispatch": {"DISPATCH_RUN_PLANNER": "false"}}
"""The dispatch API process leaves planning to the planner process."""
EXTRA_PROCESSES = [("dispatch-planner", "dispatch", {"DISPATCH_PLANNER_ONLY": "true"})]
"""(name, service package, environment): one planner worker (consumer group ``planner``), its own process."""


def run_platform(argv: list[str] | None = None) -> int:
    info, started = up()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    ports: dict[str, int] = {}
    # dispatch's planner worker (issue 14) runs as its own process, as docker-compose's dispatch-planner does
    for name, svc, extra in [*((s, s, PROCESS_ENV.get(s, {})) for s in SERVICES), *EXTRA_PROCESSES]:
        port = DEFAULT_PORTS[name] if not port_open(DEFAULT_PORTS[name]) else free_port()
        ports[name] = port
        env = {**os.environ, **info.service_env(svc), "APP_ENV": "development", **extra}
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", f"{svc}.main:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log"],
            env=env, start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(port_open(p) for p in ports.values()):
        if any(p.poll() is not None for p in procs.values()):
            break
        time.sleep(0.5)
    print("\nAfter-sales platform is running (Ctrl-C stops everything):")
    print(f"  postgres   127.0.0.1:{info.pg_port}    kafka {info.bootstrap}")
    for svc, port in ports.items():
        print(f"  {svc:<11} http://127.0.0.1:{port}/docs   /metrics /healthz /readyz")
    print(f"  tokens:    make token ROLE=call_center SUB=agent-1   (key pair in {state_dir() / 'jwt'})")
    print("  traffic:   make simulate   (drives calls, engineers and parts through the running platform)\n",
          flush=True)
    stop = {"now": False}

    def _stop(*_a: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    rc = 0
    try:
        while not stop["now"]:
            dead = [s for s, p in procs.items() if p.poll() is not None]
            if dead:
                print(f"service(s) exited: {', '.join(dead)}", file=sys.stderr)
                rc = 1
                break
            time.sleep(0.5)
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        down(started)
        print("platform stopped")
    return rc


if __name__ == "__main__":
    raise SystemExit(run_platform(sys.argv[1:]))
