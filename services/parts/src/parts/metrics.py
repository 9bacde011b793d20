"""Parts business metrics (bounded labels)."""

from prometheus_client import Counter, Gauge

REQUESTS_AT_RISK = Gauge("parts_requests_at_risk", "Open requests with less than the at-risk window to ship-by")
REQUESTS_BREACHED = Gauge("parts_requests_breached", "Open requests past their ship-by time (R-P1)")
BACKORDERS = Gauge("parts_backordered_requests", "Requests waiting for stock")
RETURNS_OVERDUE = Gauge("parts_returns_overdue", "Old-part returns missed (chargeback raised, R-P4)")
ALLOCATIONS = Counter("parts_allocations_total", "Request lines allocated or backordered", ["outcome"])
