"""ticketing service."""
