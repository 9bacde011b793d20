"""JSON log lines carrying the correlation id and trace id; phone numbers and SQL parameters never in clear."""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
trace_id: ContextVar[str | None] = ContextVar("trace_id", default=None)

# Mainland mobile numbers (and +86 forms, with or without separators) are masked in any log line (R-T7) ...
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:(?:\+|00)86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
# ... and so are landlines: area code 0 + 2-3 digits (or +86 without the 0), then 7-8 digits, optionally split
# by a dash or spaces: 010-12345678, 0571 8765 4321, (021)87654321, +86 10 1234 5678, +86-571-87654321.
_LANDLINE = re.compile(
    r"(?<![0-9A-Za-z])(?:(?:\+|00)86[- ]?\(?0?([1-9]\d{1,2})\)?|\(?(0[1-9]\d{1,2})\)?)[- ]?(\d{3,4})[- ]?(\d{4})(?!\d)"
)
# Values that database errors quote from the statement's parameters or the row (SQLAlchemy's "[parameters: ...]"
# when an engine does not hide them, asyncpg's encoding errors, Postgres' DETAIL lines).
_QUOTED_VALUES = [
    (re.compile(r"\[parameters: .*?\](?=\n|$|\s*\()", re.S), "[parameters: <redacted>]"),
    (re.compile(r"(invalid input for query argument \$\d+: ).*?(?= \(|\n|$)"), r"\1<redacted>"),
    (re.compile(r"(Failing row contains )\(.*\)"), r"\1(<redacted>)"),
    # Postgres quotes the value it could not take: invalid input syntax for type integer: "...", out of range: "..."
    (re.compile(r"((?:invalid input|out of range|invalid value|not a valid)[^:\"\n]*: )\"[^\n]*?\"(?=\n|$|\s|,|\))"),
     r'\1"<redacted>"'),
    (re.compile(r"(Key \(.*?\)=)\(.*?\)(?= already exists| is not present| conflicts|\.|\n|$)"), r"\1(<redacted>)"),
]


def mask_phones(text: str) -> str:
    """Replace the middle digits of any mainland mobile or landline number with asterisks."""
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1) or m.group(2)}-****{m.group(4)}", text)


def mask_personal_data(text: str) -> str:
    """Phones masked, and the values a database error quotes (parameters, keys, failing rows) redacted."""
    for pattern, repl in _QUOTED_VALUES:
        text = pattern.sub(repl, text)
    return mask_phones(text)


def _mask_any(value: Any) -> Any:
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, dict):
        return {k: _mask_any(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_any(v) for v in value]
    return value


class MaskingJsonFormatter(JsonFormatter):
    """JSON lines with personal data masked in EVERY field: the message (whatever its arguments were), the
    formatted exception and traceback (``exc_info``), the stack and any ``extra`` value."""

    def formatException(self, ei: Any) -> Any:  # noqa: N802 - logging's name; str, or lines (exc_info_as_array)
        return _mask_any(super().formatException(ei))

    def formatStack(self, stack_info: str) -> Any:  # noqa: N802 - logging's name; str, or lines
        return _mask_any(super().formatStack(stack_info))

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {k: _mask_any(v) for k, v in super().process_log_record(log_data).items()}


def make_formatter() -> MaskingJsonFormatter:
    """The formatter every service logs with."""
    return MaskingJsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(correlation_id)s %(trace_id)s",
        rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
    )


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.correlation_id = correlation_id.get()
        record.trace_id = trace_id.get()
        if isinstance(record.msg, str):
            record.msg = mask_personal_data(record.msg)
        if record.args:
            record.args = tuple(mask_personal_data(a) if isinstance(a, str) else a for a in record.args) \
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
    handler.setFormatter(make_formatter())
    handler.addFilter(_ContextFilter(service))
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel("WARNING")
    logging.getLogger("uvicorn.access").setLevel("WARNING")
    # one INFO line per outbound HTTP call is noise (and CPU) on the hot path; failures still log
    logging.getLogger("httpx").setLevel("WARNING")
    logging.getLogger("httpcore").setLevel("WARNING")
