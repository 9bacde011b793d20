"""What notifications needs from dispatch: the engineer's display name, and the customer's reschedule.

- ``GET /v1/engineers/{id}`` -> the engineer's name (the message falls back to the engineer id without it);
- ``GET /v1/jobs/{job_id}/slots`` -> ``{"job_id", "slots": [{"start", "end", "label"}]}``: the arrival windows
  the customer may pick (roles include ``notifier``);
- ``POST /v1/jobs/{job_id}/appointment`` ``{"start", "end"}`` with an ``Idempotency-Key``: book one of them;
  409 problem+json when the slot is not (or no longer) offered. Dispatch then emits ``dispatch.job.eta_changed``
  with reason ``rescheduled`` (the customer gets a confirmation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    label: str


class SlotsUnavailable(RuntimeError):
    """Dispatch offers no slots for this job now (unknown job, not reschedulable, or dispatch is away)."""


class SlotNotOffered(RuntimeError):
    """Dispatch refused the slot (409): it is not, or no longer, offered."""


class DispatchDirectory(Protocol):
    async def engineer_name(self, engineer_id: str) -> str | None: ...

    async def slots(self, job_id: str) -> list[Slot]: ...

    async def book(self, job_id: str, slot: Slot, idempotency_key: str) -> Slot: ...


class HttpDispatch:
    def __init__(self, base_url: str, token: Callable[[], str | None], timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self._token = token
        self._names: dict[str, str] = {}

    def _headers(self, **extra: str) -> dict[str, str]:
        token = self._token()
        return {**({"Authorization": f"Bearer {token}"} if token else {}), **extra}

    async def engineer_name(self, engineer_id: str) -> str | None:
        if engineer_id in self._names:
            return self._names[engineer_id]
        try:
            r = await self._http.get(f"/v1/engineers/{engineer_id}", headers=self._headers())
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

    async def slots(self, job_id: str) -> list[Slot]:
        try:
            r = await self._http.get(f"/v1/jobs/{job_id}/slots", headers=self._headers())
        except httpx.HTTPError as exc:
            raise SlotsUnavailable(f"dispatch: {exc!r}") from exc
        if r.status_code != 200:
            raise SlotsUnavailable(f"dispatch slots: HTTP {r.status_code}")
        return [_slot(s) for s in r.json().get("slots", [])]

    async def book(self, job_id: str, slot: Slot, idempotency_key: str) -> Slot:
        body = {"start": slot.start.isoformat(), "end": slot.end.isoformat()}
        try:
            r = await self._http.post(f"/v1/jobs/{job_id}/appointment", json=body,
                                      headers=self._headers(**{"Idempotency-Key": idempotency_key}))
        except httpx.HTTPError as exc:
            raise SlotsUnavailable(f"dispatch: {exc!r}") from exc
        if r.status_code == 409:
            raise SlotNotOffered(_detail(r))
        if r.status_code >= 300:
            raise SlotsUnavailable(f"dispatch appointment: HTTP {r.status_code} {_detail(r)}")
        return slot

    async def close(self) -> None:
        await self._http.aclose()


def _slot(raw: dict[str, Any]) -> Slot:
    return Slot(start=datetime.fromisoformat(raw["start"]), end=datetime.fromisoformat(raw["end"]),
                label=str(raw.get("label") or ""))


def _detail(r: httpx.Response) -> str:
    try:
        return str(r.json().get("detail") or r.json().get("title") or "")[:200]
    except ValueError:
        return r.text[:200]
