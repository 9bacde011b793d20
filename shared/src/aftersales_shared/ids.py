"""Identifier helpers."""

from uuid import UUID

from uuid6 import uuid7


def new_id() -> UUID:
    """A time-ordered UUIDv7 (good index locality, sortable by creation)."""
    return uuid7()
