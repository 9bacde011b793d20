"""The columns of settlement's reports as CSV/XLSX; the writers are the platform's one
(``aftersales_shared.exports``: amounts and rates as numbers in the workbook, plain decimal strings in the CSV)."""

from __future__ import annotations

from aftersales_shared.exports import to_csv, to_xlsx

__all__ = ["QUALITY_COLUMNS", "RATE_COLUMNS", "REPAIR_COLUMNS", "to_csv", "to_xlsx"]

REPAIR_COLUMNS = ("job_id", "dealer_id", "ticket_id", "engineer_id", "completed_at", "product_line", "serial",
                  "coverage", "root_cause", "parts", "labour_minutes", "home_visit", "remote", "sla_met")
QUALITY_COLUMNS = ("product_line", "part_no", "root_cause", "failures", "quantity")
RATE_COLUMNS = ("dealer_id", "repairs", "callbacks", "callback_rate", "callback_target", "callback_target_met",
                "complaints_upheld", "registered_sales", "complaint_rate")
