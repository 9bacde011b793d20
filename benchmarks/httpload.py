"""A lean closed-loop HTTP/1.1 load generator for the benchmarks, run in its own process.

httpx costs about as much CPU per request as the endpoint being measured, and on a 2-core machine a load
generator sharing the service's event loop (or core budget) understates the service. This client keeps
``concurrency`` keep-alive connections, each sending its next request as soon as the previous response is
read, and records per-request latency. It only parses what it needs (status line, Content-Length).

``run(...)`` starts it in a child process and returns {ok, errors, elapsed, latencies, statuses}.

``run(..., rate=R)`` is the open-loop variant: requests are due at a fixed R per second whether or not earlier
ones have been answered (as calls reach a call center), each on an idle keep-alive connection (up to
``concurrency`` connections), and a request's latency counts from when it was due, not from when a
connection became free, so a slow service cannot hide its queue by slowing the client down (no coordinated
omission). This is the measure of "a sustained rate with p99 <= X".
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

RequestFactory = Callable[[int], tuple[str, str, dict[str, str], Any]]
"""i -> (method, path, headers, json body or None)."""


def _encode(method: str, path: str, headers: dict[str, str], body: Any, host: str) -> bytes:
    data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(data)}"]
    if body is not None:
        head.append("Content-Type: application/json")
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _load(port: int, factory: RequestFactory, offset: int, concurrency: int, seconds: float,
                warmup: float, ok_statuses: tuple[int, ...]) -> dict[str, Any]:
    counter = iter(range(offset, offset + 10**9))
    lat: list[float] = []
    statuses: Counter[int] = Counter()
    host = f"127.0.0.1:{port}"
    measure_from = time.perf_counter() + warmup
    stop = measure_from + seconds

    async def conn() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (now := time.perf_counter()) < stop:
                writer.write(_encode(*factory(next(counter)), host))
                status = await _read_response(reader)
                done = time.perf_counter()
                if now >= measure_from:
                    statuses[status] += 1
                    if status in ok_statuses:
                        lat.append(done - now)
        finally:
            writer.close()

    await asyncio.gather(*(conn() for _ in range(concurrency)))
    ok = len(lat)
    return {"ok": ok, "errors": sum(statuses.values()) - ok, "elapsed": seconds, "latencies": lat,
            "statuses": dict(statuses)}


async def _open_loop(port: int, factory: RequestFactory, offset: int, concurrency: int, seconds: float,
                     warmup: float, ok_statuses: tuple[int, ...], rate: float) -> dict[str, Any]:
    lat: list[float] = []
    statuses: Counter[int] = Counter()
    late = 0
    host = f"127.0.0.1:{port}"
    idle: deque[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = deque()  # FIFO: every connection stays warm
    free = asyncio.Semaphore(concurrency)
    for _ in range(min(concurrency, 64)):  # warm connections, so connecting is not measured
        idle.append(await asyncio.open_connection("127.0.0.1", port))

    async def exchange(request: bytes) -> int:
        conn = idle.popleft() if idle else await asyncio.open_connection("127.0.0.1", port)
        try:
            conn[1].write(request)
            status = await _read_response(conn[0])
        except (asyncio.IncompleteReadError, ConnectionError):
            # the server closed a connection that sat idle past its keep-alive timeout: nothing was read,
            # so send the request again on a fresh one (it carries its Idempotency-Key anyway)
            conn[1].close()
            conn = await asyncio.open_connection("127.0.0.1", port)
            conn[1].write(request)
            status = await _read_response(conn[0])
        idle.append(conn)
        return status

    async def one(i: int, due: float, measured: bool) -> None:
        nonlocal late
        async with free:
            sent = time.perf_counter()
            try:
                status = await exchange(_encode(*factory(i), host))
            except (OSError, asyncio.IncompleteReadError):
                status = 0  # counted as an error, never as a latency
        done = time.perf_counter()
        if measured:
            statuses[status] += 1
            late += sent - due > 0.005
            if status in ok_statuses:
                lat.append(done - due)

    start = time.perf_counter()
    measure_from, total = start + warmup, int((warmup + seconds) * rate)
    tasks = set()
    for n in range(total):
        due = start + n / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        task = asyncio.create_task(one(offset + n, due, due >= measure_from))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    ok = len(lat)
    return {"ok": ok, "errors": sum(statuses.values()) - ok, "elapsed": seconds, "latencies": lat,
            "statuses": dict(statuses), "offered": rate, "late_sends": late}


def _child(q: mp.Queue, *args: Any) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a uvicorn extra we install
        pass
    rate = args[-1]
    q.put(asyncio.run(_open_loop(*args) if rate else _load(*args[:-1])))


def run(port: int, factory: RequestFactory, *, concurrency: int, seconds: float, warmup: float = 2.0,
        offset: int = 0, ok_statuses: tuple[int, ...] = (200, 201), rate: float | None = None) -> dict[str, Any]:
    """Drive the service on ``port`` from a child process; ``factory`` must be a module-level function.
    With ``rate``, open loop at that many requests per second over at most ``concurrency`` connections."""
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(q, port, factory, offset, concurrency, seconds, warmup, ok_statuses, rate))
    proc.start()
    try:
        result = q.get(timeout=seconds + warmup + 120)
    finally:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
    result["rate"] = result["ok"] / result["elapsed"]
    return result


def percentile_ms(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] * 1000 if s else float("nan")
