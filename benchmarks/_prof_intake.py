import asyncio, os, sys, functools, uuid
from benchmarks import bench_intake as b, httpload
from aftersales_shared import devstack
from aftersales_shared.auth import generate_keypair, mint_token

def ticket_req(token, i):
    return ("POST", "/v1/tickets", {"Authorization": f"Bearer {token}", "Idempotency-Key": f"bench-{uuid.uuid4().hex}"},
            b.body(f"BU-{i}", i))

async def main(info):
    admin = await b.bench_database(info)
    priv, pub = generate_keypair()
    # migrate via app start once
    port = devstack.free_port()
    workers = os.environ.get("W", "1")
    env = {**os.environ, "APP_ENV": "test", "DB_HOST": "127.0.0.1", "DB_PORT": str(info.pg_port),
           "DB_NAME": b.BENCH_DB, "DB_USER": "ticketing", "DB_PASSWORD": info.service_password("ticketing"),
           "DB_POOL_SIZE": "16", "KAFKA_BOOTSTRAP_SERVERS": info.bootstrap,
           "AUTH_PUBLIC_KEY_PEM": pub.decode(), "TICKETING_RUN_RELAY": "false", "TICKETING_RUN_CONSUMERS": "false",
           "TICKETING_LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-m", "uvicorn", "ticketing.main:create_app", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--no-access-log", "--log-level", "warning", "--workers", workers]
    proc = await asyncio.create_subprocess_exec(*cmd, env=env)
    for _ in range(600):
        if devstack.port_open(port): break
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)
    await b.seed_catalog(admin)
    await admin.execute("ANALYZE ticketing.units")
    token = mint_token(priv, sub="bench-agent", roles=["call_center"])
    if os.environ.get("PROF"):
        spy = await asyncio.create_subprocess_exec("uvx", "py-spy", "record", "-o", "/tmp/prof/intake.txt", "-f", "raw", "-d", "8", "-r", "250", "--subprocesses", "--pid", str(proc.pid))
    r = await asyncio.to_thread(httpload.run, port, functools.partial(ticket_req, token), concurrency=int(os.environ.get("C", 16)), seconds=10, offset=1)
    lat = r.pop("latencies")
    print({**r, "p50": httpload.percentile_ms(lat, 50), "p99": httpload.percentile_ms(lat, 99)})
    proc.terminate(); await proc.wait()

if __name__ == '__main__':
    info, _ = devstack.up()
    asyncio.run(main(info))
