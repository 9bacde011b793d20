"""JSON log lines carrying the correlation id and trace id; phone numbers never in clear."""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
trace_id: ContextVar[str | None] = ContextVar("trace_id", default=None)

# Mainland mobile numbers (and +86 forms) are masked in any log message (R-T7).
_PHONE = re.compile(r"(?<!\d)(\+?86[- ]?)?(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_phones(text: str) -> str:
    """Replace the middle digits of any mainland mobile number with asterisks."""
    return _PHONE.sub(lambda m: f"{m.group(2)}****{m.group(4)}", text)


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.correlation_id = correlation_id.get()
        record.trace_id = trace_id.get()
        if isinstance(record.msg, str):
            record.msg = mask_phones(record.msg)
        if record.args:
            record.args = tuple(mask_phones(a) if isinstance(a, str) else a for a in record.args) \
                if isinstance(record.args, tuple) else record.args
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON lines to stdout for ``service``; idempotent."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_aftersales", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stdout)
    handler._aftersales = True  # type: ignore[attr-defined]
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(correlation_id)s %(trace_id)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_ContextFilter(service))
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel("WARNING")
    logging.getLogger("uvicorn.access").setLevel("WARNING")
    # one INFO line per outbound HTTP call is noise (and CPU) on the hot path; failures still log
    logging.getLogger("httpx").setLevel("WARNING")
    logging.getLogger("httpcore").setLevel("WARNING")
