"""``make run``: the stack plus the four services as uvicorn processes; Ctrl-C stops everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from .devstack import SERVICES, down, free_port, port_open, state_dir, up

DEFAULT_PORTS = {"ticketing": 8001, "dispatch": 8002, "parts": 8003, "settlement": 8004, "notifications": 8005}


def run_platform(argv: list[str]) -> int:
    info, started = up()
    procs: dict[str, subprocess.Popen] = {}
    ports = {}
    for svc in SERVICES:
        port = DEFAULT_PORTS[svc] if not port_open(DEFAULT_PORTS[svc]) else free_port()
        ports[svc] = port
        env = {**os.environ, **info.service_env(svc), "APP_ENV": "development"}
        if svc == "notifications":  # reads contacts from ticketing/dispatch with a locally minted service token
            env.update(NOTIFY_TICKETING_URL=f"http://127.0.0.1:{ports['ticketing']}",
                       NOTIFY_DISPATCH_URL=f"http://127.0.0.1:{ports['dispatch']}",
                       NOTIFY_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
                       NOTIFY_SERVICE_TOKEN_KEY_FILE=str(state_dir() / "jwt" / "dev-private.pem"))
        procs[svc] = subprocess.Popen(
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
