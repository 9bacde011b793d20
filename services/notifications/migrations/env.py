"""Alembic environment of the notifications service."""

from aftersales_shared.migrations import run_env
from notifications.models import metadata

run_env(metadata, "notifications")
