"""The sender: drains the ``deliveries`` table in batches, one unit of work per batch.

A batch is claimed with ``FOR UPDATE SKIP LOCKED`` and stays locked while it is sent, so two replicas never
send the same delivery and nothing is lost across a restart (an unfinished batch is simply claimed again).
Per delivery: resolve the recipient once (address, locale, route of channel/provider candidates), then
honour opt-out, quiet hours and the rate limit, send, and record the outcome (retry with capped backoff,
failover to the next provider or channel, or give up).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aftersales_shared import clock
from aftersales_shared.db import unit_of_work

from ..channels.base import ChannelError, Outgoing
from ..channels.registry import Channels
from ..clients.dispatch import DispatchDirectory
from ..clients.ticketing import TicketContact, TicketingDirectory, TicketingRefused, TicketingUnavailable
from ..config import NotificationsSettings
from ..domain import delivery_lifecycle, links, policy, templates
from ..domain.masking import mask_address, mask_name
from ..domain.ticket_view import window_text
from ..metrics import DELIVERIES, LATENCY, PROVIDER_ERRORS, PROVIDER_SENT
from . import hotpath as q

log = logging.getLogger(__name__)


@dataclass
class Work:
    """One claimed delivery and what the batch decides for it."""

    row: dict[str, Any]
    route: list[list[str]] | None
    route_index: int
    attempts: int
    total_attempts: int
    status: str = "queued"
    next_attempt_at: datetime | None = None
    hold_reason: str | None = None
    last_error: str | None = None
    provider_message_id: str | None = None
    sent_at: datetime | None = None
    message_update: dict[str, Any] | None = None
    outgoing: Outgoing | None = None
    outcomes: list[tuple[str, str]] = field(default_factory=list)  # (channel, outcome) for metrics

    @property
    def id(self) -> int:
        return int(self.row["id"])

    def candidate(self) -> list[str] | None:
        if not self.route or self.route_index >= len(self.route):
            return None
        return self.route[self.route_index]


class Sender:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], channels: Channels,
                 ticketing: TicketingDirectory, dispatch: DispatchDirectory, settings: NotificationsSettings) -> None:
        self.sessions, self.channels, self.ticketing, self.dispatch = sessions, channels, ticketing, dispatch
        self.settings = settings
        self.retry = policy.RetryPolicy(settings.retry_base_s, settings.retry_cap_s, settings.attempts_per_provider)
        self.rate = policy.RateLimit(settings.rate_limit_per_hour)
        self._sem = asyncio.Semaphore(settings.sender_concurrency)
        self._secret = settings.link_secret.get_secret_value().encode()

    async def run_forever(self) -> None:
        """The background job: batches back to back while there is work, a short sleep when idle."""
        n = await self.step()
        if n < self.settings.sender_batch:
            await asyncio.sleep(self.settings.sender_idle_poll_ms / 1000)

    async def step(self, now: datetime | None = None) -> int:
        """Claim, decide, send and record one batch; returns how many deliveries it handled."""
        async with unit_of_work(self.sessions) as session:
            now = now or clock.now()
            rows = (await session.execute(q.CLAIM, {"now": now, "n": self.settings.sender_batch})).mappings().all()
            if not rows:
                return 0
            work = [Work(row=dict(r), route=r["route"], route_index=r["route_index"], attempts=r["attempts"],
                         total_attempts=r["total_attempts"], status=r["status"]) for r in rows]
            await self._resolve(session, [w for w in work if w.route is None], now)
            await self._decide(session, [w for w in work if w.status in ("queued", "held")], now)
            await asyncio.gather(*(self._send(w, now) for w in work if w.outgoing is not None))
            await self._write(session, work, now)
        for w in work:
            for channel, outcome in w.outcomes:
                DELIVERIES.labels(channel, outcome).inc()
        return len(work)

    # --- resolution: address, locale, route, rendered text ------------------------------------------------

    async def _resolve(self, session: AsyncSession, work: list[Work], now: datetime) -> None:
        if not work:
            return
        ticket_ids = sorted({w.row["ticket_id"] for w in work if w.row["audience"] == "customer"})
        found = await asyncio.gather(*(self._contact(t) for t in ticket_ids))
        contacts_by_ticket = dict(zip(ticket_ids, found, strict=True))
        views = {r["ticket_id"]: dict(r) for r in (await session.execute(q.TICKETS, {"ids": ticket_ids})).mappings()}
        engineers = sorted({v["engineer_id"] for v in views.values() if v.get("engineer_id")})
        names = dict(zip(engineers, await asyncio.gather(*(self.dispatch.engineer_name(e) for e in engineers)),
                         strict=True))
        keys = {f"dealer:{w.row['dealer_id']}" for w in work if w.row["audience"] == "dealer"}
        keys |= {f"phone:{c.phone}" for c in contacts_by_ticket.values() if isinstance(c, TicketContact) and c.phone}
        prefs = {r["recipient_key"]: dict(r) for r in
                 (await session.execute(q.CONTACTS, {"keys": sorted(keys)})).mappings()} if keys else {}
        for t, c in contacts_by_ticket.items():
            if isinstance(c, TicketContact):
                view = views.get(t) or {}
                await session.execute(q.UPDATE_TICKET_VIEW, {
                    "ticket_id": t, "ticket_no": c.ticket_no,
                    "engineer_name": names.get(view.get("engineer_id") or ""),
                    "customer_name_masked": mask_name(c.customer_name), "address_masked": mask_address(c.address)})
        for w in work:
            row = w.row
            variables = dict(row["variables"] or {})
            if row["audience"] == "customer":
                contact = contacts_by_ticket.get(row["ticket_id"])
                if isinstance(contact, Exception) or contact is None:
                    self._fail(w, now, str(contact or "ticket unknown to ticketing"),
                               permanent=not isinstance(contact, TicketingUnavailable), channel="-")
                    continue
                pref = prefs.get(f"phone:{contact.phone}") or {}
                view = views.get(row["ticket_id"]) or {}
                eng = view.get("engineer_id")
                variables.update({
                    "ticket_no": contact.ticket_no or variables.get("ticket_no"),
                    "engineer_name": names.get(eng or "") or view.get("engineer_name")
                    or (f"（工号 {eng}）" if eng else None),
                    "window": window_text(view.get("window_start"), view.get("window_end"), policy.SHANGHAI),
                    "link": self.link(row["ticket_id"], now),
                })
                addresses = {"sms": contact.phone, "email": pref.get("email"), "wechat": pref.get("wechat_openid")}
                opted_out = bool(pref.get("sms_opt_out"))
            else:
                pref = prefs.get(f"dealer:{row['dealer_id']}") or {}
                addresses = {"sms": pref.get("phone"), "email": pref.get("email"), "wechat": pref.get("wechat_openid")}
                opted_out = bool(pref.get("sms_opt_out"))
            locale = pref.get("locale") or templates.DEFAULT_LOCALE
            subject, body = templates.render(row["kind"], locale, variables)
            w.message_update = {"id": row["message_id"], "locale": locale, "subject": subject, "body": body,
                                "variables": json.dumps(variables, default=str, ensure_ascii=False)}
            w.row.update(locale=locale, subject=subject, body=body, variables=variables)
            route = policy.route(audience=row["audience"], preferred=list(pref.get("channels") or []),
                                 addresses=addresses, providers=self.channels.by_channel, sms_opted_out=opted_out)
            w.route = [list(c) for c in route]
            w.route_index = 0
            if not route:
                outcome = "opted_out" if opted_out and addresses.get("sms") else "failed"
                w.status = "suppressed" if outcome == "opted_out" else "failed"
                w.last_error = "opted out of SMS and no other channel" if opted_out else "no address on any channel"
                w.outcomes.append(("-", outcome))

    async def _contact(self, ticket_id: str) -> TicketContact | Exception | None:
        try:
            return await self.ticketing.contact(ticket_id)
        except (TicketingUnavailable, TicketingRefused) as exc:
            return exc

    def link(self, ticket_id: str, now: datetime) -> str:
        token = links.sign(ticket_id, expires_at=now + timedelta(days=self.settings.link_ttl_days),
                           secret=self._secret)
        return f"{self.settings.public_base_url.rstrip('/')}/s/{token}"

    # --- decisions: opt-out, quiet hours, rate limit ---------------------------------------------------------

    async def _decide(self, session: AsyncSession, work: list[Work], now: datetime) -> None:
        if not work:
            return
        phones = sorted({c[2] for w in work for c in (w.route or []) if c[0] == "sms"})
        opted = {r[0] for r in await session.execute(q.OPTED_OUT, {"phones": phones})} if phones else set()
        keys = sorted({w.row["recipient_key"] for w in work if not w.row["urgent"]})
        sent: dict[str, list[datetime]] = {}
        if keys:
            for r in await session.execute(q.SENT_LAST_HOUR, {"keys": keys, "since": now - timedelta(hours=1)}):
                sent[r[0]] = list(r[1])
        for w in work:
            cand = w.candidate()
            while cand is not None and cand[0] == "sms" and cand[2] in opted:
                w.outcomes.append(("sms", "opted_out"))
                w.route_index += 1
                w.attempts = 0
                cand = w.candidate()
            if cand is None:
                if w.route:  # every candidate was an opted-out number
                    w.status, w.last_error = "suppressed", "opted out"
                continue
            channel, provider, address = cand
            urgent = bool(w.row["urgent"])
            hold = policy.quiet_until(now, channel=channel, urgent=urgent)
            reason = "quiet_hours"
            if hold is None:
                hold = self.rate.next_slot(sent.get(w.row["recipient_key"], []), now, urgent=urgent)
                reason = "rate_limited"
            if hold is not None:
                w.status, w.next_attempt_at, w.hold_reason = "held", hold, reason
                w.outcomes.append((channel, "held"))
                continue
            sent.setdefault(w.row["recipient_key"], []).append(now)
            w.outgoing = Outgoing(delivery_id=w.id, channel=channel, address=address, subject=w.row["subject"] or "",
                                  body=w.row["body"] or "", kind=w.row["kind"],
                                  locale=w.row["locale"] or templates.DEFAULT_LOCALE,
                                  variables=dict(w.row["variables"] or {}))

    # --- sending ------------------------------------------------------------------------------------------

    async def _send(self, w: Work, now: datetime) -> None:
        assert w.outgoing is not None
        channel, provider_name, _address = w.candidate() or ["-", "-", ""]
        provider = self.channels.providers.get(provider_name)
        if provider is None:
            self._fail(w, now, f"provider {provider_name} is not configured", permanent=True, channel=channel)
            return
        async with self._sem:
            try:
                accepted = await provider.send(w.outgoing)
            except ChannelError as exc:
                PROVIDER_ERRORS.labels(channel, provider_name).inc()
                self._fail(w, now, exc.detail, permanent=exc.permanent, channel=channel)
                return
            except Exception as exc:  # noqa: BLE001 - an adapter bug must not lose the batch
                PROVIDER_ERRORS.labels(channel, provider_name).inc()
                log.exception("provider %s crashed", provider_name)
                self._fail(w, now, repr(exc), permanent=False, channel=channel)
                return
        PROVIDER_SENT.labels(channel, provider_name).inc()
        delivery_lifecycle.move(w.status, "sent")
        w.status, w.sent_at, w.provider_message_id = "sent", clock.now(), accepted.provider_message_id
        w.hold_reason = w.last_error = None
        w.total_attempts += 1
        w.outcomes.append((channel, "sent"))
        LATENCY.labels(channel).observe(max(0.0, (w.sent_at - w.row["occurred_at"]).total_seconds()))

    def _fail(self, w: Work, now: datetime, error: str, *, permanent: bool, channel: str) -> None:
        out = policy.after_failure(policy=self.retry, route_len=len(w.route or [None]), route_index=w.route_index,
                                   attempts=w.attempts, permanent=permanent, now=now)
        w.last_error, w.total_attempts = error[:1000], w.total_attempts + 1
        w.outgoing = None
        if out.action == "give_up":
            w.status, w.next_attempt_at = "failed", None
            w.outcomes.append((channel, "failed"))
            log.warning("delivery %s failed for good: %s", w.id, error)
            return
        w.status, w.route_index, w.attempts, w.next_attempt_at = "queued", out.route_index, out.attempts, \
            out.next_attempt_at
        w.hold_reason = None
        w.outcomes.append((channel, "failover" if out.action == "failover" else "retried"))

    # --- results ------------------------------------------------------------------------------------------

    async def _write(self, session: AsyncSession, work: list[Work], now: datetime) -> None:
        updates = [w.message_update for w in work if w.message_update]
        if updates:
            await session.execute(q.UPDATE_MESSAGE, updates)
        rows = []
        for w in work:
            cand = w.candidate()
            rows.append({
                "id": w.id, "status": w.status, "route": json.dumps(w.route) if w.route is not None else None,
                "route_index": w.route_index, "channel": cand[0] if cand else None,
                "provider": cand[1] if cand else None, "address": cand[2] if cand else None,
                "attempts": w.attempts, "total_attempts": w.total_attempts,
                "next_attempt_at": w.next_attempt_at or now, "hold_reason": w.hold_reason,
                "last_error": w.last_error, "provider_message_id": w.provider_message_id, "sent_at": w.sent_at,
                "now": now,
            })
        await session.execute(q.UPDATE_DELIVERY, rows)
