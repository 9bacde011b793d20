"""When and how a message may go: quiet hours, the per-recipient rate limit, retries and failover."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)
QUIET_CHANNELS = frozenset({"sms"})
"""Quiet hours hold SMS only: an e-mail or a WeChat message does not ring a phone at night."""


def quiet_until(now: datetime, *, channel: str, urgent: bool, tz: ZoneInfo = SHANGHAI) -> datetime | None:
    """When a held message may go (the next 08:00 local), or None if it may go now."""
    if urgent or channel not in QUIET_CHANNELS:
        return None
    local = now.astimezone(tz)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return None
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tz)


@dataclass(frozen=True)
class RateLimit:
    per_hour: int = 10

    def next_slot(self, sent_in_last_hour: list[datetime], now: datetime, *, urgent: bool) -> datetime | None:
        """None when one more message may go now; else when the oldest of the last hour's leaves the window."""
        if urgent or len(sent_in_last_hour) < self.per_hour:
            return None
        recent = sorted(t for t in sent_in_last_hour if t > now - timedelta(hours=1))
        if len(recent) < self.per_hour:
            return None
        return recent[len(recent) - self.per_hour] + timedelta(hours=1)


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff per provider, then failover to the next route entry."""

    base_seconds: float = 2.0
    cap_seconds: float = 300.0
    attempts_per_provider: int = 3

    def backoff(self, attempt: int) -> timedelta:
        """Delay before retry number ``attempt`` (1 = the first retry)."""
        return timedelta(seconds=min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class Outcome:
    """What to do with a delivery after a failed attempt."""

    action: str  # "retry" | "failover" | "give_up"
    route_index: int
    attempts: int
    next_attempt_at: datetime | None


def after_failure(*, policy: RetryPolicy, route_len: int, route_index: int, attempts: int, permanent: bool,
                  now: datetime) -> Outcome:
    """Retry the same provider with backoff; after its attempts (or a permanent error) fail over; else give up."""
    attempts += 1
    if not permanent and attempts < policy.attempts_per_provider:
        return Outcome("retry", route_index, attempts, now + policy.backoff(attempts))
    if route_index + 1 < route_len:
        return Outcome("failover", route_index + 1, 0, now)
    return Outcome("give_up", route_index, attempts, None)


DEFAULT_CHANNELS = {"customer": ("sms", "wechat", "email"), "dealer": ("email", "sms", "wechat")}


def route(*, audience: str, preferred: list[str] | None, addresses: dict[str, str | None],
          providers: dict[str, list[str]], sms_opted_out: bool) -> list[tuple[str, str, str]]:
    """The ordered (channel, provider, address) candidates: preferred channels first, then the defaults;
    channels without an address or a provider are skipped; an opted-out number gets no SMS."""
    order = list(dict.fromkeys([*(preferred or []), *DEFAULT_CHANNELS.get(audience, ())]))
    out: list[tuple[str, str, str]] = []
    for channel in order:
        address = addresses.get(channel)
        if not address or (channel == "sms" and sms_opted_out):
            continue
        out.extend((channel, provider, address) for provider in providers.get(channel, []))
    return out
