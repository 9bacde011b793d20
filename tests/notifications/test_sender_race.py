"""Two sender replicas over one deliveries table never send the same delivery twice, and a restart loses
nothing (counted at the real SMTP server)."""

from __future__ import annotations

import asyncio
from collections import Counter
from uuid import uuid4

import sqlalchemy as sa

from aftersales_shared import clock
from aftersales_shared.db import create_engine, make_sessionmaker, unit_of_work
from aftersales_shared.migrations import upgrade_to_head
from aftersales_shared.testing.plugin import reset_schema
from notifications.channels.registry import build_channels
from notifications.delivery.sender import Sender
from notifications.domain.rules import Fact
from notifications.main import MIGRATIONS
from notifications.messages.service import record_event

from .conftest import uid


async def test_two_replicas_race_no_double_send(settings_for, admin_db, smtp, ticketing, dispatch, stack):
    await reset_schema(admin_db, "notifications")
    settings = settings_for(sender_batch=25, sender_concurrency=8)
    engines = [create_engine(settings.db, schema="notifications", application_name=f"race-{i}") for i in range(2)]
    sessions = [make_sessionmaker(e) for e in engines]
    await upgrade_to_head(MIGRATIONS, settings.db.sqlalchemy_url())
    dealers = [uid("RD") for _ in range(40)]
    async with unit_of_work(sessions[0]) as s:
        for d in dealers:
            await s.execute(sa.text(
                "INSERT INTO contacts (recipient_key, email, updated_at) VALUES (:k, :e, now())"),
                {"k": f"dealer:{d}", "e": f"{d.lower()}@race.test"})
        for d in dealers:
            for n in range(5):
                await record_event(s, fact=Fact("parts.request.shipped", clock.now(), dealer_id=d,
                                                subject_id=f"{d}-{n}", data={"request_id": f"{d}-{n}"}),
                                   event_id=uuid4(), now=clock.now())
    # dealer notices need neither ticketing nor dispatch
    senders = [Sender(sessions=s, channels=build_channels(settings, s), ticketing=None, dispatch=None,  # type: ignore[arg-type]
                      settings=settings) for s in sessions]

    async def drain(sender: Sender) -> int:
        total = 0
        while (n := await sender.step()) > 0:
            total += n
        return total

    handled = await asyncio.gather(*(drain(s) for s in senders))
    assert sum(handled) == 200 and all(h > 0 for h in handled), handled  # both replicas took part
    ids = Counter(m["delivery_id"] for m in smtp.messages if m["to"][0].endswith("@race.test"))
    assert len(ids) == 200 and max(ids.values()) == 1
    assert await admin_db.fetchval("SELECT count(*) FROM notifications.deliveries WHERE status = 'sent'") == 200
    for s in senders:
        await s.channels.close()
    for e in engines:
        await e.dispose()
