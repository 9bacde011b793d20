"""settlement service."""
