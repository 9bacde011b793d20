"""A parts report as CSV or XLSX: one header row, then one row per item."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook


def _cell(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def to_csv(columns: Sequence[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if (v := _cell(r[c])) is None else (format(v, "f") if isinstance(v, Decimal) else v)
                    for c in columns])
    return buf.getvalue()


def to_xlsx(title: str, columns: Sequence[str], rows: list[dict[str, Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(list(columns))
    for r in rows:
        ws.append([_cell(r[c]) for c in columns])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
