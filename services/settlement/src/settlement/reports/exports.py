"""A report as CSV or XLSX: one header row, then one row per item (amounts and rates as numbers in the
workbook, plain decimal strings in the CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

REPAIR_COLUMNS = ("job_id", "dealer_id", "ticket_id", "engineer_id", "completed_at", "product_line", "serial",
                  "coverage", "root_cause", "parts", "labour_minutes", "home_visit", "remote", "sla_met")
QUALITY_COLUMNS = ("product_line", "part_no", "root_cause", "failures", "quantity")
RATE_COLUMNS = ("dealer_id", "repairs", "callbacks", "callback_rate", "callback_target", "callback_target_met",
                "complaints_upheld", "registered_sales", "complaint_rate")


def _cell(value: Any) -> Any:
    """A value a spreadsheet cell holds: instants as ISO text (UTC offset kept), lists and maps as compact text."""
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
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if isinstance(c.value, Decimal):
                c.number_format = "0.0000"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
