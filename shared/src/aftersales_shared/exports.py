"""A report as CSV or XLSX, the same way in every service: one header row, then one row per item. Instants are ISO
text (UTC offset kept), lists of parts ``part_no x quantity``, maps compact JSON; amounts and rates are plain
decimal strings in the CSV and numbers in the workbook (read back with openpyxl in the services' tests)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cell(value: Any) -> Any:
    """A value a spreadsheet cell (or a CSV field) holds."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(f"{p['part_no']}x{p.get('quantity', 1)}" if isinstance(p, dict) else str(p) for p in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def to_csv(columns: Sequence[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if (v := cell(r[c])) is None else (format(v, "f") if isinstance(v, Decimal) else v)
                    for c in columns])
    return buf.getvalue()


def to_xlsx(title: str, columns: Sequence[str], rows: list[dict[str, Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]  # Excel's limit on a sheet name
    ws.append(list(columns))
    for r in rows:
        ws.append([cell(r[c]) for c in columns])
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if isinstance(c.value, Decimal):
                c.number_format = "0.0000"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
