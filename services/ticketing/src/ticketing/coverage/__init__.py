"""A ticket's coverage after intake (issue 15): re-determined by the engineer's diagnosis, overridden by the call
center with a reason; every change audited and announced (``ticketing.ticket.coverage_changed``)."""
