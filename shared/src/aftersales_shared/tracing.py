"""W3C trace-context propagation through HTTP and Kafka headers (OpenTelemetry when enabled)."""

from __future__ import annotations

import os
import re
import secrets
from contextvars import ContextVar

from .logging import trace_id

traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def start_trace(incoming: str | None) -> str:
    """Continue the caller's trace (or start one) and make it current; returns the traceparent."""
    m = _TRACEPARENT.match(incoming or "")
    tid = m.group(1) if m else secrets.token_hex(16)
    value = f"00-{tid}-{secrets.token_hex(8)}-01"
    traceparent_var.set(value)
    trace_id.set(tid)
    return value


def current_traceparent() -> str | None:
    """The traceparent of the current unit of work, if any."""
    return traceparent_var.get()


def otel_enabled() -> bool:
    """OpenTelemetry export is off unless an OTLP endpoint is configured."""
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
