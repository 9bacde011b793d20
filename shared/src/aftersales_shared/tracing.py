"""Tracing: W3C trace context through HTTP and Kafka headers; OpenTelemetry spans when enabled.

OpenTelemetry is off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (or a test passes an exporter).
When it is on, FastAPI, httpx and SQLAlchemy are instrumented and each consumed event runs in a
CONSUMER span whose parent is the producer's ``traceparent`` header, so one ticket's journey is one
trace across services. Either way the trace id is in every JSON log line.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .logging import trace_id

traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def otel_enabled() -> bool:
    """OpenTelemetry export is off unless an OTLP endpoint is configured."""
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def _otel_traceparent() -> str | None:
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - OTel is a dependency, but tracing must never break a request
        return None
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def start_trace(incoming: str | None) -> str:
    """Adopt the active OTel span, else continue the caller's trace (or start one); returns traceparent."""
    value = _otel_traceparent()
    if value is None:
        m = _TRACEPARENT.match(incoming or "")
        # trace ids need uniqueness, not secrecy: the fast PRNG keeps this off the hot path's syscalls
        tid = m.group(1) if m else f"{random.getrandbits(128):032x}"
        value = f"00-{tid}-{random.getrandbits(64):016x}-01"
    traceparent_var.set(value)
    trace_id.set(value[3:35])
    return value


def current_traceparent() -> str | None:
    """The traceparent to put on outgoing messages."""
    return _otel_traceparent() or traceparent_var.get()


def setup_tracing(app: Any, service: str, *, exporter: Any = None) -> Any:
    """Instrument a service's FastAPI app and httpx when OTel is enabled; returns its tracer or None."""
    if exporter is None and not otel_enabled():
        return None
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls="healthz,readyz,metrics")
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    app.state.tracer_provider = provider
    app.state.tracer = provider.get_tracer("aftersales")
    return app.state.tracer


def instrument_engine(app: Any, engine: Any) -> None:
    """Add SQLAlchemy spans when the app has tracing on."""
    provider = getattr(app.state, "tracer_provider", None)
    if provider is not None:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, tracer_provider=provider)


@contextmanager
def consume_span(tracer: Any, topic: str, event_type: str, headers: dict[str, str]) -> Iterator[None]:
    """The span of one consumed event, child of the producer's trace; a no-op without a tracer."""
    if tracer is None:
        start_trace(headers.get("traceparent"))
        yield
        return
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind

    parent = propagate.extract({"traceparent": headers["traceparent"]} if headers.get("traceparent") else {})
    with tracer.start_as_current_span(f"{topic} process", context=parent, kind=SpanKind.CONSUMER,
                                      attributes={"messaging.system": "kafka", "messaging.destination.name": topic,
                                                  "messaging.event_type": event_type}):
        start_trace(None)
        yield
