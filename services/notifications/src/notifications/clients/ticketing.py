"""What notifications needs from ticketing: the customer's contact, satisfaction, complaints.

Today's ticketing API (all with a service token that ticketing accepts as ``call_center``):
- ``GET /v1/tickets/{id}`` -> ticket no., customer name, phone, address, status (contact);
- ``GET /v1/callbacks?status=pending&ticket_id=...`` then ``POST /v1/callbacks/{id}/outcome`` (satisfaction;
  ticketing ignores the ``ticket_id`` filter today, so the client also filters);
- ``POST /v1/complaints`` (category ``service``) for a reply that reads as a complaint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class TicketContact:
    ticket_id: str
    ticket_no: str | None
    phone: str | None
    customer_name: str | None
    address: str | None
    dealer_id: str | None
    status: str | None


class TicketingUnavailable(RuntimeError):
    """Ticketing did not answer (or answered 5xx): try again later."""


class TicketingRefused(RuntimeError):
    """Ticketing answered 4xx: retrying will not help."""


class TicketingDirectory(Protocol):
    async def contact(self, ticket_id: str) -> TicketContact | None: ...

    async def record_satisfaction(self, ticket_id: str, rating: int, comment: str | None) -> str: ...

    async def open_complaint(self, ticket_id: str | None, text: str) -> str: ...


class HttpTicketing:
    """``TicketingDirectory`` over ticketing's HTTP API."""

    def __init__(self, base_url: str, token: Callable[[], str | None], timeout: float = 5.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._token = token

    def _headers(self) -> dict[str, str]:
        token = self._token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _call(self, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            r = await self._http.request(method, url, headers=self._headers(), **kw)
        except httpx.HTTPError as exc:
            raise TicketingUnavailable(f"ticketing: {exc!r}") from exc
        if r.status_code >= 500:
            raise TicketingUnavailable(f"ticketing: HTTP {r.status_code}")
        return r

    async def contact(self, ticket_id: str) -> TicketContact | None:
        r = await self._call("GET", f"/v1/tickets/{ticket_id}")
        if r.status_code == 404:
            return None
        if r.status_code >= 400:
            raise TicketingRefused(f"ticketing contact: HTTP {r.status_code} {r.text[:200]}")
        t = r.json()
        return TicketContact(ticket_id=str(t.get("id", ticket_id)), ticket_no=t.get("ticket_no"), phone=t.get("phone"),
                             customer_name=t.get("customer_name"), address=t.get("address"),
                             dealer_id=t.get("dealer_id"), status=t.get("status"))

    async def record_satisfaction(self, ticket_id: str, rating: int, comment: str | None) -> str:
        r = await self._call("GET", "/v1/callbacks", params={"status": "pending", "ticket_id": ticket_id, "limit": 500})
        if r.status_code >= 400:
            raise TicketingRefused(f"ticketing callbacks: HTTP {r.status_code}")
        pending = [c for c in r.json() if str(c.get("ticket_id")) == ticket_id]
        if not pending:
            return "no_pending_callback"
        body: dict[str, Any] = {"reached": True, "satisfaction": rating}
        if comment:
            body["comment"] = comment[:2000]
        r = await self._call("POST", f"/v1/callbacks/{pending[0]['id']}/outcome", json=body)
        if r.status_code == 409:
            return "already_recorded"
        if r.status_code >= 400:
            raise TicketingRefused(f"ticketing callback outcome: HTTP {r.status_code} {r.text[:200]}")
        return "recorded"

    async def open_complaint(self, ticket_id: str | None, text: str) -> str:
        body: dict[str, Any] = {"category": "service", "description": f"客户短信回复：{text}"[:4000]}
        if ticket_id:
            body["ticket_id"] = ticket_id
        r = await self._call("POST", "/v1/complaints", json=body)
        if r.status_code >= 400:
            raise TicketingRefused(f"ticketing complaint: HTTP {r.status_code} {r.text[:200]}")
        return str(r.json().get("id"))

    async def close(self) -> None:
        await self._http.aclose()
