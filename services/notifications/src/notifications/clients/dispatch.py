"""What notifications needs from dispatch: the engineer's display name.

Dispatch has no per-engineer read today; the client asks ``GET /v1/engineers/{id}`` (to be added by dispatch,
readable with a service token) and the message falls back to the engineer id when it is missing.
Reschedule slots (``GET/POST /v1/jobs/{id}/slots``) do not exist yet either; the status page leaves them out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import httpx


class DispatchDirectory(Protocol):
    async def engineer_name(self, engineer_id: str) -> str | None: ...


class HttpDispatch:
    def __init__(self, base_url: str, token: Callable[[], str | None], timeout: float = 5.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._token = token
        self._names: dict[str, str] = {}

    async def engineer_name(self, engineer_id: str) -> str | None:
        if engineer_id in self._names:
            return self._names[engineer_id]
        token = self._token()
        try:
            r = await self._http.get(f"/v1/engineers/{engineer_id}",
                                     headers={"Authorization": f"Bearer {token}"} if token else {})
        except httpx.HTTPError:
            return None  # a name is nice to have: the message says the id instead
        if r.status_code != 200:
            return None
        name = r.json().get("name")
        if name:
            if len(self._names) > 10_000:
                self._names.clear()
            self._names[engineer_id] = name
        return name

    async def close(self) -> None:
        await self._http.aclose()
