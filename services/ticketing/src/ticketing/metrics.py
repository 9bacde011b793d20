"""Ticketing business metrics (bounded labels)."""

from prometheus_client import Counter, Gauge

TICKETS_OPENED = Counter("ticketing_tickets_opened_total", "Tickets opened", ["channel", "coverage"])
DUPLICATE_TICKETS_REFUSED = Counter("ticketing_duplicate_tickets_refused_total",
                                    "Second open tickets for a serial refused")
IDEMPOTENT_REPLAYS = Counter("ticketing_idempotent_replays_total", "POSTs answered from an Idempotency-Key")
COMPLAINTS = Counter("ticketing_complaints_total", "Complaints filed or resolved", ["event"])
CALLBACKS = Counter("ticketing_callbacks_total", "Callback tasks created or recorded", ["event"])
OPEN_BACKLOG = Gauge("ticketing_open_tickets", "Open tickets by status (refreshed from the database)", ["status"])
