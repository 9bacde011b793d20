"""A statement as CSV or XLSX: header, the dealer's lines, and totals."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook

HEADER = ["line_no", "code", "category", "description", "quantity", "unit_amount", "amount", "late_from"]


def _rows(st: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [
        ["dealer_id", st["dealer_id"]], ["quarter", st["quarter"]], ["revision", st["revision"]],
        ["status", st["status"]], [], HEADER,
    ]
    for ln in st["lines"]:
        rows.append([ln[h] for h in HEADER])
    rows.append([])
    for k in ("gross_fee", "deductions", "forfeits", "adjustments", "net_amount", "budget", "carry_in", "carry_out"):
        rows.append([k, st[k]])
    return rows


def to_csv(st: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    for r in _rows(st):
        w.writerow(["" if v is None else (format(v, "f") if hasattr(v, "as_tuple") else v) for v in r])
    return buf.getvalue()


def to_xlsx(st: dict[str, Any]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = f"{st['quarter']} r{st['revision']}"
    for r in _rows(st):
        ws.append([v for v in r])
    for row in ws.iter_rows():
        for c in row:
            if hasattr(c.value, "as_tuple"):
                c.number_format = "0.00"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
