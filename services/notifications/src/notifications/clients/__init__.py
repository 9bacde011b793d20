"""Clients of the other services' HTTP APIs, each behind a named interface (a Protocol) so tests and the
lead can see exactly what this service needs from them."""
