"""No customer phone, name or address in clear in the logs of a test run (issue 13, item 4).

- :func:`personal_data_in` finds mainland mobiles and landlines written in clear (digits, ``+86``/``0086``
  prefixes, dashes, spaces, brackets) and the customer names and addresses the test fixtures use
  (:data:`KNOWN_CUSTOMER_DATA`). Masked numbers (``138****5678``, ``0571-****4321``) keep 3 + 4 digits and never
  match; ids, dates, ticket numbers and UUIDs do not either (a number glued to letters, dashes, dots, slashes or
  underscores is not a phone).
- As a pytest plugin of every test run (``-p aftersales_shared.testing.logscan`` in the pytest options;
  see pyproject.toml): from the end of collection to the end of the session every log record
  that reaches the root logger is also written, through the services' real formatter and filter
  (``logging.make_formatter`` + the ``configure_logging`` filter), to a JSON-lines file; at the end the file is
  scanned and the session fails, naming the lines, if personal data appears in clear.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from typing import Any

import pytest

from ..logging import _ContextFilter, make_formatter

_NOT_BEFORE = r"(?<![0-9A-Za-z_./*\-])"
_NOT_AFTER = r"(?![0-9A-Za-z_*\-]|\.\d)"
MOBILE_IN_CLEAR = re.compile(_NOT_BEFORE + r"(?:(?:\+|00)86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}" + _NOT_AFTER)
LANDLINE_IN_CLEAR = re.compile(
    _NOT_BEFORE + r"(?:(?:\+|00)86[- ]?\(?[1-9]\d{1,2}\)?|\(?0[1-9]\d{1,2}\)?)[- ]?\d{3,4}[- ]?\d{4}" + _NOT_AFTER)

KNOWN_CUSTOMER_DATA = (
    # customer names and addresses the suite's fixtures and journeys send to the services
    "王伟", "李娜", "Li Lei", "上海市黄浦区人民大道1号", "南京市鼓楼区中山路1号", "上海市静安区南京西路2号",
    # and the markers of the log tests themselves (tests/shared/test_no_personal_data_in_logs.py)
    "赵客户", "杭州市西湖区天目山路 181 号",
)


def personal_data_in(text: str, known: Iterable[str] = KNOWN_CUSTOMER_DATA) -> list[str]:
    """Every phone in clear and every known customer name/address found in ``text``."""
    found = [m.group(0) for m in MOBILE_IN_CLEAR.finditer(text)]
    found += [m.group(0) for m in LANDLINE_IN_CLEAR.finditer(text)]
    found += [k for k in known if k in text]
    return found


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def personal_data_in_log(lines: Iterable[str], known: Iterable[str] = KNOWN_CUSTOMER_DATA
                         ) -> list[tuple[int, list[str], str]]:
    """(line number, what was found, the line) for each JSON log line carrying personal data in clear; the values
    are scanned decoded (the formatter escapes non-ASCII), a line that is not JSON is scanned as it is."""
    known = tuple(known)
    hits = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            texts = list(_strings(json.loads(line)))
        except ValueError:
            texts = [line]
        found = [f for t in texts for f in personal_data_in(t, known)]
        if found:
            hits.append((n, found, line))
    return hits


# --- the session-wide check ---------------------------------------------------------------------------

_STATE: dict[str, Any] = {}


class _Tee(logging.FileHandler):
    """The services' formatter and filter, into a file."""

    _logscan = True


def install(path: str) -> logging.Handler:
    """Tee every record reaching the root logger into ``path`` as the services would log it."""
    handler = _Tee(path, encoding="utf-8")
    handler.setFormatter(make_formatter())
    handler.addFilter(_ContextFilter("test-run"))
    logging.getLogger().addHandler(handler)
    return handler


def pytest_collection_finish(session: pytest.Session) -> None:
    if "handler" in _STATE or session.config.getoption("collectonly"):
        return
    fd, path = tempfile.mkstemp(prefix="test-run-log-", suffix=".jsonl")
    os.close(fd)
    _STATE["path"] = path
    _STATE["handler"] = install(path)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    handler = _STATE.pop("handler", None)
    if handler is None:
        return
    logging.getLogger().removeHandler(handler)
    handler.close()
    with open(_STATE["path"], encoding="utf-8") as f:
        lines = f.read().splitlines()
    _STATE["lines"] = len(lines)
    _STATE["hits"] = hits = personal_data_in_log(lines)
    if hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        os.unlink(_STATE["path"])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    hits = _STATE.get("hits")
    if hits is None:
        return
    if not hits:
        terminalreporter.write_line(f"log scan: {_STATE['lines']} log lines of this run, no personal data in clear")
        return
    terminalreporter.section("personal data in clear in the logs of this run", red=True)
    for n, found, line in hits[:20]:
        terminalreporter.write_line(f"line {n}: {found}: {line[:400]}")
    terminalreporter.write_line(f"{len(hits)} lines in {_STATE['path']}")
