"""Tickets (R-T1, R-T2, R-T4): group-committed intake, search, lifecycle, following dispatch's jobs."""
