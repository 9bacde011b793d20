"""The one Idempotency-Key rule of every service: one header, one length range, one replay header.

A client that retries a POST sends the same ``Idempotency-Key``; the service answers the retry with the stored
response and ``Idempotent-Replayed: true``. A key reused with a different body is refused.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from .errors import Unprocessable

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MIN_LENGTH = 8
MAX_LENGTH = 200

IdempotencyKey = Annotated[
    str | None,
    Header(alias=HEADER, min_length=MIN_LENGTH, max_length=MAX_LENGTH,
           description=f"Makes a retried POST safe: {MIN_LENGTH}-{MAX_LENGTH} characters, unique per request"),
]
"""The header as a FastAPI parameter (length checked, 422 naming ``Idempotency-Key`` otherwise)."""


def check_key(key: str | None) -> str | None:
    """The same check for a route that reads its headers itself."""
    if key is not None and not MIN_LENGTH <= len(key) <= MAX_LENGTH:
        raise Unprocessable(f"an {HEADER} is {MIN_LENGTH} to {MAX_LENGTH} characters", field=HEADER)
    return key


def replay_headers(replayed: bool) -> dict[str, str]:
    """The header that tells a client whether the answer is a replay of an earlier one."""
    return {REPLAY_HEADER: "true" if replayed else "false"}
