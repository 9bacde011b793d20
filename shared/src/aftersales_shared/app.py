"""Build a service's FastAPI app: lifespan (migrations, relay, consumers), middleware, probes, errors."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import fastapi.encoders as fastapi_encoders
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import clock_api, deadletters, health
from .auth import TokenVerifier
from .config import ServiceSettings
from .consumer import EventConsumer, Handler
from .db import create_engine, create_raw_pool, make_sessionmaker
from .errors import install_error_handlers, problem, problem_for
from .logging import configure_logging, correlation_id
from .metrics import HTTP_IN_FLIGHT, HTTP_LATENCY, HTTP_REQUESTS
from .migrations import upgrade_to_head
from .outbox import OutboxRelay
from .problems import COMMON_RESPONSES
from .tracing import instrument_engine, setup_tracing, start_trace

log = logging.getLogger(__name__)

# Money leaves every service as an exact string ("110.50"), never a float (R-D8). Pydantic already does
# this for response models; this makes FastAPI's encoder of plain dict responses agree with it.
fastapi_encoders.ENCODERS_BY_TYPE[Decimal] = lambda d: format(d, "f")


@dataclass
class ConsumerSpec:
    """One consumer group of a service: a name, its topics and a handler per event type."""

    name: str
    topics: list[str]
    handlers: dict[str, Handler]


@dataclass
class ServiceParts:
    """Everything that differs between services."""

    title: str
    migrations_dir: Path
    routers: list[APIRouter]
    produces_topics: set[str] = field(default_factory=set)
    consumers: Callable[[ServiceSettings], list[ConsumerSpec]] = lambda _s: []
    background: Callable[[FastAPI], Iterable[Callable[[], Awaitable[None]]]] = lambda _a: []
    on_startup: Callable[[FastAPI], Awaitable[None]] | None = None
    on_shutdown: Callable[[FastAPI], Awaitable[None]] | None = None
    raw_pool_size: int = 0
    """> 0: also open an asyncpg pool (``app.state.pg``) for hot paths that bypass SQLAlchemy."""


class ObservabilityMiddleware:
    """Correlation id, trace context and HTTP metrics for every request (pure ASGI: cheap)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = incoming_tp = None
        for k, v in scope.get("headers", ()):  # ASGI header names are lower-case bytes
            if k == b"x-correlation-id":
                cid = v.decode("latin-1")
            elif k == b"traceparent":
                incoming_tp = v.decode("latin-1")
        cid = cid or str(uuid.uuid4())
        correlation_id.set(cid)
        traceparent = start_trace(incoming_tp)
        status = {"code": 500}

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-correlation-id", cid.encode()),
                                      (b"traceparent", traceparent.encode())]
            await send(message)

        in_flight = HTTP_IN_FLIGHT.labels(self.service)
        in_flight.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, _send)
        finally:
            in_flight.dec()
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            if path not in ("/metrics", "/healthz"):
                HTTP_LATENCY.labels(self.service, scope["method"], path).observe(time.perf_counter() - started)
                HTTP_REQUESTS.labels(self.service, scope["method"], path, str(status["code"])).inc()


class ProblemMiddleware:
    """Answers an exception that escaped every handler with problem+json (503/422/500 via ``errors.problem_for``)
    instead of letting it reach Starlette's ServerErrorMiddleware: that one re-raises after answering, and the
    server then closes the client's keep-alive connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def _send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, _send)
        except Exception as exc:  # noqa: BLE001 - answered below; re-raised only if a response had begun
            if started:
                raise
            response = problem_for(Request(scope), exc)
            await response(scope, receive, send)


class _BodyTooLarge(HTTPException):
    """Raised from ``receive``: an HTTPException, so FastAPI's body parsing re-raises it (not a 400) and the
    problem+json handler answers 413; a handler that swallowed it is caught below."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body exceeds {max_bytes} bytes")


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413 problem+json: at once when Content-Length says so, and
    while streaming when it lies or is absent (chunked) — the handler never sees more than the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    def _too_large(self, scope: Scope) -> Any:
        return problem(413, "Payload too large", f"the request body exceeds {self.max_bytes} bytes",
                       code="payload_too_large", instance=scope.get("path"), max_bytes=self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", ()):
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await self._too_large(scope)(scope, receive, send)
                    return
        seen = 0
        started = False

        async def _receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge(self.max_bytes)
            return message

        async def _send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, _receive, _send)
        except Exception as exc:
            # the handler may have wrapped it (FastAPI turns body-read failures into a 400): look at the causes
            cause: BaseException | None = exc
            while cause is not None and not isinstance(cause, _BodyTooLarge):
                cause = cause.__cause__ or cause.__context__
            if cause is None or started:
                raise
            await self._too_large(scope)(scope, receive, send)


def create_service_app(settings: ServiceSettings, parts: ServiceParts, *, trace_exporter: Any = None) -> FastAPI:
    """A service app whose lifespan migrates, then runs the outbox relay and consumers."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level)
        if settings.run_migrations_on_start:
            await upgrade_to_head(parts.migrations_dir, settings.db.sqlalchemy_url())
        engine = create_engine(settings.db, schema=settings.db_schema, application_name=settings.service_name)
        app.state.engine = engine
        instrument_engine(app, engine)
        app.state.sessions = make_sessionmaker(engine)
        app.state.pg = None
        if parts.raw_pool_size:
            app.state.pg = await create_raw_pool(settings.db, schema=settings.db_schema,
                                                 application_name=settings.service_name, size=parts.raw_pool_size)
        stoppers: list[Callable[[], Awaitable[None]]] = []
        relay = None
        if settings.run_relay:
            relay = OutboxRelay(
                service=settings.service_name, schema=settings.db_schema, dsn=settings.db.asyncpg_dsn(),
                bootstrap=settings.kafka.bootstrap_servers, batch_size=settings.kafka.relay_batch_size,
                poll_interval=settings.kafka.relay_poll_interval_ms / 1000,
                retention_hours=settings.kafka.outbox_retention_hours,
                partitions=settings.kafka.topic_partitions, topics=parts.produces_topics,
            )
            relay.start()
            stoppers.append(relay.stop)
        app.state.relay = relay
        consumers: list[EventConsumer] = []
        if settings.run_consumers:
            for spec in parts.consumers(settings):
                c = EventConsumer(
                    service=settings.service_name, name=spec.name, topics=spec.topics, handlers=spec.handlers,
                    sessions=app.state.sessions, bootstrap=settings.kafka.bootstrap_servers,
                    group_prefix=settings.kafka.group_prefix, max_retries=settings.kafka.consumer_max_retries,
                    retry_backoff_ms=settings.kafka.consumer_retry_backoff_ms,
                    transient_backoff_ms=settings.kafka.consumer_transient_backoff_ms,
                    transient_backoff_max_ms=settings.kafka.consumer_transient_backoff_max_ms,
                    partitions=settings.kafka.topic_partitions, offset_reset=settings.kafka.new_group_offset,
                    tracer=getattr(app.state, "tracer", None),
                )
                c.start()
                consumers.append(c)
                stoppers.append(c.stop)
        app.state.consumers = consumers
        if parts.on_startup:
            await parts.on_startup(app)
        jobs = parts.background(app) if settings.run_background else ()
        tasks = [asyncio.create_task(_forever(job)) for job in jobs]
        tasks.append(asyncio.create_task(health.watch_dependencies(app), name="dependency-watch"))
        # everything loaded so far lives as long as the process: keep it out of the collector's full passes,
        # which otherwise walk it on every gen-2 collection under load
        gc.freeze()
        gc.set_threshold(settings.gc_young_threshold, *gc.get_threshold()[1:])
        log.info("%s started", settings.service_name)
        try:
            yield
        finally:
            if parts.on_shutdown:
                await parts.on_shutdown(app)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(stop() for stop in stoppers), return_exceptions=True)
            if app.state.pg is not None:
                await app.state.pg.close()
            await engine.dispose()
            log.info("%s stopped", settings.service_name)

    app = FastAPI(title=parts.title, version="1.0.0", lifespan=lifespan, responses=COMMON_RESPONSES,
                  description=f"{parts.title}. Errors are RFC 9457 application/problem+json.")
    # known before the lifespan runs, so probes and the clock answer even while a service is starting
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings.auth)
    # innermost first: ProblemMiddleware answers what no exception handler took, BodyLimitMiddleware refuses
    # oversized bodies, ObservabilityMiddleware (outermost) sees the final status of every request
    app.add_middleware(ProblemMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(ObservabilityMiddleware, service=settings.service_name)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(clock_api.router)
    app.include_router(deadletters.router)
    for r in parts.routers:
        app.include_router(r)
    app.state.tracer = setup_tracing(app, settings.service_name, exporter=trace_exporter)
    return app


async def _forever(job: Callable[[], Awaitable[None]]) -> None:
    """Run a periodic background job, logging (not dying on) its failures."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            log.exception("background job %s failed", getattr(job, "__name__", job))
            await asyncio.sleep(1)


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commits when the endpoint returns, rolls back on error."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        async with session.begin():
            yield session


# scope="function": the commit finishes before the response is sent, so a failed commit is never a 2xx.
DbSession = Annotated[AsyncSession, Depends(db_session, scope="function")]


def settings_of(request: Request) -> Any:
    """The running service's settings."""
    return request.app.state.settings
