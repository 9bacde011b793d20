"""The native local stack: a private PostgreSQL cluster and a KRaft Kafka broker on loopback.

``python -m aftersales_shared.dev.devstack up|down|destroy|status|census|env SERVICE``.

Two stacks never share state: ``make run`` / ``make stack-up`` use ``.state/run`` and the test session
uses ``.state/test`` (the test plugin points ``AFTERSALES_STATE_DIR`` there and removes it at the end of
the session unless ``KEEP_STACK=1``). Each stack has its own ports, Postgres cluster and Kafka log, so
``make run`` after ``make test`` never sees a test's rows or events. A stack is reused when already
running and stopped cleanly. Safe to call from inside a running event loop (benchmarks do).
"""

from __future__ import annotations

import base64
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

SERVICES = ("ticketing", "dispatch", "parts", "settlement", "notifications")
DB_NAME = "aftersales"


STACKS = ("run", "test")


def repo_root() -> Path:
    """The project checkout (override with AFTERSALES_ROOT)."""
    if os.environ.get("AFTERSALES_ROOT"):
        return Path(os.environ["AFTERSALES_ROOT"]).resolve()
    return Path(__file__).resolve().parents[4]


def default_state_dir(stack: str = "run") -> Path:
    """``.state/run`` (``make run``, ``make stack-up``, tokens, benchmarks) or ``.state/test`` (the tests)."""
    if stack not in STACKS:
        raise ValueError(f"unknown stack {stack!r}: one of {STACKS}")
    return repo_root() / ".state" / stack


def state_dir() -> Path:
    """The current stack's state: ``AFTERSALES_STATE_DIR`` if set, else the ``make run`` stack's."""
    return Path(os.environ.get("AFTERSALES_STATE_DIR") or default_state_dir("run"))


def kafka_libs() -> Path:
    return Path(os.environ.get("KAFKA_LIBS", repo_root() / ".cache" / "kafka" / "libs"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def new_cluster_id() -> str:
    """A KRaft cluster id (22-char url-safe base64 of a UUID) that does not start with '-'.

    Kafka's StorageTool would parse a leading dash as an option; Kafka's own Uuid avoids it the same way.
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_pg(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Run a Postgres binary as the ``postgres`` user when we are root (Postgres refuses root)."""
    if _is_root():
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    exe = shutil.which("pg_ctl")
    if exe:
        return Path(exe).resolve().parent
    raise RuntimeError("PostgreSQL server binaries not found: run `make deps` (apt-get install postgresql)")


@dataclass
class StackInfo:
    pg_port: int
    pg_password: str
    pg_dir: str
    kafka_port: int
    kafka_controller_port: int
    kafka_cluster_id: str
    kafka_pid: int | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def admin_dsn(self, db: str = DB_NAME) -> str:
        return f"postgresql://postgres:{self.pg_password}@127.0.0.1:{self.pg_port}/{db}"

    def service_password(self, service: str) -> str:
        return f"{service}-dev-password"

    def service_env(self, service: str) -> dict[str, str]:
        """Environment for one service process."""
        return {
            "DB_HOST": "127.0.0.1", "DB_PORT": str(self.pg_port), "DB_NAME": DB_NAME,
            "DB_USER": service, "DB_PASSWORD": self.service_password(service),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "AUTH_PUBLIC_KEY_FILE": str(state_dir() / "jwt" / "dev-public.pem"),
        }


def _state_file() -> Path:
    return state_dir() / "stack.json"


def load_info() -> StackInfo | None:
    try:
        return StackInfo(**json.loads(_state_file().read_text()))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


def _save(info: StackInfo) -> None:
    state_dir().mkdir(parents=True, exist_ok=True)
    _state_file().write_text(json.dumps(asdict(info), indent=2))


def _pg_dir() -> Path:
    """Postgres data lives under the project; if the postgres user cannot reach it, under /var/tmp."""
    preferred = state_dir() / "pg"
    if not _is_root():
        return preferred
    state_dir().mkdir(parents=True, exist_ok=True)  # probe the real directory, not a missing one
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(preferred.parent)],
                           capture_output=True)
    if probe.returncode == 0:
        return preferred
    return _fallback_pg_root() / "pg"


def _fallback_pg_root() -> Path:
    """Where Postgres data goes when the postgres user cannot traverse the checkout (one per state dir)."""
    digest = uuid.uuid5(uuid.NAMESPACE_URL, str(state_dir().resolve())).hex[:12]
    return Path(f"/var/tmp/aftersales-{digest}")


# --- PostgreSQL -------------------------------------------------------------------------------


def pg_running(info: StackInfo) -> bool:
    data = Path(info.pg_dir) / "data"
    if not (data / "PG_VERSION").exists():
        return False
    r = subprocess.run(
        (["runuser", "-u", "postgres", "--"] if _is_root() else [])
        + [str(pg_bindir() / "pg_ctl"), "status", "-D", str(data)],
        capture_output=True, text=True,
    )
    return r.returncode == 0 and port_open(info.pg_port)


def start_postgres(info: StackInfo) -> None:
    pgdir = Path(info.pg_dir)
    data, run = pgdir / "data", pgdir / "run"
    pgdir.mkdir(parents=True, exist_ok=True)
    run.mkdir(exist_ok=True)
    if _is_root():
        subprocess.run(["chown", "-R", "postgres:postgres", str(pgdir)], check=True)
    bindir = pg_bindir()
    if not (data / "PG_VERSION").exists():
        pwfile = pgdir / "pwfile"
        pwfile.write_text(info.pg_password + "\n")
        if _is_root():
            subprocess.run(["chown", "postgres:postgres", str(pwfile)], check=True)
        _as_pg([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(pwfile),
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"])
        pwfile.unlink()
    if port_open(info.pg_port):
        info.pg_port = free_port()
    opts = (f"-p {info.pg_port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={run} "
            "-c max_connections=400 -c shared_buffers=512MB -c work_mem=32MB "
            "-c maintenance_work_mem=256MB -c max_wal_size=4GB -c checkpoint_timeout=15min")
    _as_pg([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(pgdir / "postgres.log"), "-o", opts,
            "-w", "-t", "60", "start"])
    env = {**os.environ, "PGHOST": str(run), "PGPORT": str(info.pg_port), "PGUSER": "postgres"}
    script = repo_root() / "deploy" / "postgres" / "init" / "10-schemas.sh"
    if _is_root():
        subprocess.run(["runuser", "-u", "postgres", "-w", "PGHOST,PGPORT,PGUSER", "--", "bash", str(script)],
                       check=True, env=env, capture_output=True, text=True)
    else:
        subprocess.run(["bash", str(script)], check=True, env=env, capture_output=True, text=True)


def stop_postgres(info: StackInfo) -> None:
    data = Path(info.pg_dir) / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run((["runuser", "-u", "postgres", "--"] if _is_root() else [])
                       + [str(pg_bindir() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True)


# --- Kafka ------------------------------------------------------------------------------------


def _kafka_dir() -> Path:
    return state_dir() / "kafka"


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def kafka_running(info: StackInfo) -> bool:
    return _pid_alive(info.kafka_pid) and port_open(info.kafka_port)


def _write_kafka_config(info: StackInfo, kdir: Path) -> Path:
    (kdir / "data").mkdir(parents=True, exist_ok=True)
    cfg = kdir / "server.properties"
    cfg.write_text("\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{info.kafka_controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{info.kafka_port},CONTROLLER://127.0.0.1:{info.kafka_controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{info.kafka_port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={kdir / 'data'}",
        "num.partitions=4",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=8",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=true",
        "log.retention.hours=24",
        "",
    ]))
    return cfg


def start_kafka(info: StackInfo, *, timeout: float = 90, kdir: Path | None = None) -> None:
    """Format (once) and start a KRaft broker+controller; ``kdir`` defaults to the stack's."""
    kdir = kdir or _kafka_dir()
    libs = kafka_libs()
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise RuntimeError(f"Kafka jars missing in {libs}: run `make kafka-jars`")
    java = shutil.which("java") or "java"
    cfg = _write_kafka_config(info, kdir)
    cp = f"{libs}/*"
    log4j = ["-Dlog4j2.configurationFile=" + str(repo_root() / "deploy" / "kafka" / "log4j2.properties"),
             f"-Dkafka.logs.dir={kdir}"]
    if not (kdir / "data" / "meta.properties").exists():
        subprocess.run([java, *log4j, "-cp", cp, "kafka.tools.StorageTool", "format", "-t", info.kafka_cluster_id,
                        "-c", str(cfg), "--ignore-formatted"], check=True, capture_output=True, text=True)
    for p in (info.kafka_port, info.kafka_controller_port):
        if port_open(p):
            raise RuntimeError(f"port {p} is taken; remove {_state_file()} to pick new ports")
    out = open(kdir / "stdout.log", "ab")
    proc = subprocess.Popen(
        [java, "-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
         *log4j, "-cp", cp, "kafka.Kafka", str(cfg)],
        stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )
    info.kafka_pid = proc.pid
    if kdir == _kafka_dir():
        _save(info)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Kafka exited with {proc.returncode}; see {kdir / 'stdout.log'}")
        if port_open(info.kafka_port) and _kafka_answers(info.bootstrap):
            return
        time.sleep(0.3)
    raise RuntimeError(f"Kafka did not become ready in {timeout}s; see {kdir}")


def _kafka_answers(bootstrap: str) -> bool:
    """Ask the broker for metadata; works with or without an event loop running in this thread."""
    import asyncio
    import concurrent.futures

    from ..kafka import kafka_reachable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(kafka_reachable(bootstrap))
    # called from async code (a benchmark's main): asyncio.run would refuse, so ask from a worker thread
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, kafka_reachable(bootstrap)).result()


def stop_kafka(info: StackInfo, *, timeout: float = 30, save: bool = True) -> None:
    pid = info.kafka_pid
    if pid is None or not _pid_alive(pid):
        return
    os.killpg(os.getpgid(pid), signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pid):
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.2)
    if _pid_alive(pid):
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    info.kafka_pid = None
    if save:
        _save(info)


# --- the whole stack --------------------------------------------------------------------------


def up() -> tuple[StackInfo, dict[str, bool]]:
    """Start what is not running; returns the info and which parts this call started."""
    from ..auth import ensure_dev_keypair

    info = load_info()
    if info is None:
        info = StackInfo(
            pg_port=free_port(), pg_password=secrets.token_urlsafe(16), pg_dir=str(_pg_dir()),
            kafka_port=free_port(), kafka_controller_port=free_port(),
            kafka_cluster_id=new_cluster_id(),
        )
        _save(info)
    ensure_dev_keypair(state_dir() / "jwt")
    started = {"postgres": False, "kafka": False}
    try:
        if not pg_running(info):
            start_postgres(info)
            started["postgres"] = True
            _save(info)
        if not kafka_running(info):
            start_kafka(info)
            started["kafka"] = True
    except BaseException:
        down(started)  # leave nothing half-started behind
        raise
    _save(info)
    return info, started


@contextmanager
def running_stack() -> Iterator[StackInfo]:
    """For tools (benchmarks): the stack, started if needed; on exit stop only what this call started.

    Call it outside any event loop (``with running_stack() as info: asyncio.run(main(info))``); ``KEEP_STACK=1``
    leaves what it started running.
    """
    info, started = up()
    try:
        yield info
    finally:
        if os.environ.get("KEEP_STACK", "") in ("", "0", "false", "no"):
            down(started)


def down(which: dict[str, bool] | None = None) -> None:
    """Stop the stack (or just the parts named true in ``which``)."""
    info = load_info()
    if info is None:
        return
    if which is None or which.get("kafka"):
        stop_kafka(info)
    if which is None or which.get("postgres"):
        stop_postgres(info)


def destroy() -> None:
    """Stop the stack and delete its state (data, logs, keys): the next ``up`` starts from nothing."""
    info = load_info()
    down()
    targets = [state_dir()]
    if info is not None:
        targets.append(Path(info.pg_dir).parent)  # the /var/tmp fallback, when the data lived there
    for path in targets:
        if path.exists() and (path == state_dir() or path.name.startswith("aftersales-")):
            shutil.rmtree(path, ignore_errors=True)


def stop_legacy_stack() -> bool:
    """Stop a stack started before state was split into ``.state/run`` and ``.state/test``."""
    legacy = repo_root() / ".state"
    if not (legacy / "stack.json").exists() or Path(os.environ.get("AFTERSALES_STATE_DIR") or "") == legacy:
        return False
    saved = os.environ.get("AFTERSALES_STATE_DIR")
    os.environ["AFTERSALES_STATE_DIR"] = str(legacy)
    try:
        down()
        (legacy / "stack.json").unlink(missing_ok=True)
    finally:
        if saved is None:
            os.environ.pop("AFTERSALES_STATE_DIR", None)
        else:
            os.environ["AFTERSALES_STATE_DIR"] = saved
    return True


def census(info: StackInfo) -> dict[str, dict[str, int]]:
    """What the stack holds: row counts of every service table and message counts of every topic.

    ``.ci/run`` uses it to prove that ``make test`` left nothing in the ``make run`` stack.
    """
    import asyncio

    async def _count() -> dict[str, dict[str, int]]:
        import asyncpg
        from aiokafka import AIOKafkaConsumer, TopicPartition

        rows: dict[str, int] = {}
        conn = await asyncpg.connect(info.admin_dsn())
        try:
            tables = await conn.fetch(
                "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY($1::text[]) "
                "AND tablename <> 'alembic_version' ORDER BY 1, 2", list(SERVICES))
            for t in tables:
                name = f'"{t["schemaname"]}"."{t["tablename"]}"'
                rows[f'{t["schemaname"]}.{t["tablename"]}'] = await conn.fetchval(f"SELECT count(*) FROM {name}")
        finally:
            await conn.close()
        messages: dict[str, int] = {}
        consumer = AIOKafkaConsumer(bootstrap_servers=info.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            topics = sorted(t for t in await consumer.topics() if not t.startswith("__"))
            for topic in topics:
                tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
                if tps:
                    begin, end = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
                    messages[topic] = sum(end[tp] - begin[tp] for tp in tps)
                else:
                    messages[topic] = 0
        finally:
            await consumer.stop()
        return {"rows": rows, "messages": messages}

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_count())
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _count()).result()


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "status"
    info: StackInfo | None
    if cmd == "up":
        info, started = up()
        print(json.dumps({"postgres_port": info.pg_port, "kafka": info.bootstrap, "started": started}))
    elif cmd == "down":
        down()
        if stop_legacy_stack():
            print("stopped a stack left in .state/ by an older checkout")
        print(f"stack stopped (state kept in {state_dir()})")
    elif cmd == "destroy":
        destroy()
        print(f"stack stopped and {state_dir()} removed")
    elif cmd == "census":
        info = load_info()
        if info is None or not (pg_running(info) and kafka_running(info)):
            print("no running stack: run `up` first", file=sys.stderr)
            return 1
        print(json.dumps(census(info), indent=2, sort_keys=True))
    elif cmd == "status":
        info = load_info()
        if info is None:
            print("no stack")
        else:
            print(json.dumps({"state": str(state_dir()), "postgres": pg_running(info), "kafka": kafka_running(info),
                              "postgres_port": info.pg_port, "kafka_bootstrap": info.bootstrap}))
    elif cmd == "env":
        info = load_info()
        if info is None:
            print("no stack: run `up` first", file=sys.stderr)
            return 1
        for k, v in info.service_env(argv[1]).items():
            print(f"export {k}={v}")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
