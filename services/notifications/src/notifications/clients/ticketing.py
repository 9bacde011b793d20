"""What notifications needs from ticketing: the customer's contact, satisfaction, complaints.

Ticketing's API for the ``notifier`` role (the service token's only role; ticketing grants it these three):
- ``GET /v1/tickets/{id}/contact`` -> ticket no., customer name, phone, address, status, in clear (R-T7);
- ``POST /v1/tickets/{id}/satisfaction`` {score, channel, comment} completes the open callback (R-T5);
  idempotent (the same rating again is 200), 409 ``no_callback`` before a completed repair, 409 otherwise when
  the callback was recorded with another rating;
- ``POST /v1/complaints`` (category ``service``) for a reply that reads as a complaint (R-T6).
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

    async def record_satisfaction(self, ticket_id: str, rating: int, comment: str | None,
                                  channel: str = "sms") -> str: ...

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
        r = await self._call("GET", f"/v1/tickets/{ticket_id}/contact")
        if r.status_code == 404:
            return None
        if r.status_code >= 400:
            raise TicketingRefused(f"ticketing contact: HTTP {r.status_code} {r.text[:200]}")
        t = r.json()
        return TicketContact(ticket_id=str(t.get("id", ticket_id)), ticket_no=t.get("ticket_no"), phone=t.get("phone"),
                             customer_name=t.get("customer_name"), address=t.get("address"),
                             dealer_id=t.get("dealer_id"), status=t.get("status"))

    async def record_satisfaction(self, ticket_id: str, rating: int, comment: str | None,
                                  channel: str = "sms") -> str:
        body: dict[str, Any] = {"score": rating, "channel": channel}
        if comment:
            body["comment"] = comment[:2000]
        r = await self._call("POST", f"/v1/tickets/{ticket_id}/satisfaction", json=body)
        if r.status_code == 409:
            code = (r.json() if r.headers.get("content-type", "").endswith("json") else {}).get("code")
            return "no_pending_callback" if code == "no_callback" else "already_recorded"
        if r.status_code >= 400:
            raise TicketingRefused(f"ticketing satisfaction: HTTP {r.status_code} {r.text[:200]}")
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
