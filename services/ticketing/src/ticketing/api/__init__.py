"""HTTP resources of the ticketing service."""
