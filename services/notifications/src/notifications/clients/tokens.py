"""The bearer token this service presents to ticketing and dispatch."""

from __future__ import annotations

import time
from pathlib import Path

from aftersales_shared.auth import mint_token

from ..config import NotificationsSettings


class ServiceToken:
    """A configured token, or (development) one minted from the local private key and renewed before expiry."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self._static = settings.service_token.get_secret_value() if settings.service_token else None
        self._key = Path(settings.service_token_key_file).read_bytes() if settings.service_token_key_file else None
        self._roles = list(settings.service_token_roles)
        self._minted: tuple[str, float] | None = None

    def __call__(self) -> str | None:
        if self._static:
            return self._static
        if self._key is None:
            return None
        if self._minted is None or self._minted[1] < time.time():
            token = mint_token(self._key, sub="svc-notifications", roles=self._roles, ttl_seconds=3600,
                               name="notifications service")
            self._minted = (token, time.time() + 3000)
        return self._minted[0]
