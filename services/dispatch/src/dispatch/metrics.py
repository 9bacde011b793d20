"""Business metrics of dispatch (bounded labels: milestone, zone class, contract code)."""

from prometheus_client import Counter, Gauge, Histogram

SLA_MILESTONES = Counter(
    "dispatch_sla_milestones_total", "SLA milestones reached, met or missed",
    ["milestone", "zone_class", "contract", "outcome"],
)
SLA_ALERTS = Counter("dispatch_sla_alerts_total", "SLA warnings and breaches emitted", ["milestone", "kind"])
TIME_TO_ARRIVE = Histogram(
    "dispatch_time_to_arrive_seconds", "Ticket opened to engineer on site", ["zone_class"],
    buckets=(900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 345600),
)
TIME_TO_RESOLVE = Histogram(
    "dispatch_time_to_resolve_seconds", "Ticket opened to job completed", ["zone_class"],
    buckets=(3600, 7200, 14400, 28800, 86400, 172800, 345600, 604800),
)
FIRST_TIME_FIX = Counter("dispatch_first_time_fix_total", "Completed jobs by first-time fix", ["fixed_first_time"])
JOBS_WAITING = Gauge("dispatch_jobs_waiting_assignment", "Jobs queued without an engineer")
ROUTING_ESCALATIONS = Counter("dispatch_routing_escalations_total", "R-S8 escalations of unrouted jobs")
ASSIGN_DECISION = Histogram(
    "dispatch_assignment_decision_seconds", "Candidate search + ranking for one job",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)
OLDEST_WAITING_AGE = Gauge("dispatch_oldest_unassigned_job_age_seconds",
                           "Age of the oldest job still waiting for an engineer (0 when none)")
JOBS_CREATED = Counter("dispatch_jobs_created_total", "Jobs created from opened tickets", ["channel", "zone_class"])
JOBS_UNKNOWN_CONTRACT = Counter("dispatch_jobs_unknown_contract_total",
                                "Jobs that arrived naming an unregistered contract code (dispatched on default terms)")
RETENTION_ARCHIVED = Counter("dispatch_retention_archived_total", "R-T4: closed jobs archived past retention")
