"""Every table of the notifications schema, as SQLAlchemy Core tables (the sender's SQL is hand-written on
purpose and names them through ``.name``; see delivery/hotpath.py)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from aftersales_shared.db import make_metadata

SCHEMA = "notifications"
metadata = make_metadata(SCHEMA)
TS = sa.DateTime(timezone=True)

tickets = sa.Table(
    "tickets", metadata,
    sa.Column("ticket_id", sa.Text, primary_key=True),
    sa.Column("ticket_no", sa.Text),
    sa.Column("dealer_id", sa.Text),
    sa.Column("status", sa.Text),
    sa.Column("visit", sa.Integer, nullable=False, server_default="1"),
    sa.Column("job_id", sa.Text),
    sa.Column("engineer_id", sa.Text),
    sa.Column("engineer_name", sa.Text),
    sa.Column("window_start", TS),
    sa.Column("window_end", TS),
    sa.Column("customer_name_masked", sa.Text),
    sa.Column("address_masked", sa.Text),
    sa.Column("rating", sa.SmallInteger),
    sa.Column("rated_at", TS),
    sa.Column("updated_at", TS, nullable=False),
)
"""The status page's projection of a ticket (masked personal data only, R-T7)."""

contacts = sa.Table(
    "contacts", metadata,
    sa.Column("recipient_key", sa.Text, primary_key=True),  # dealer:<id> | phone:<number>
    sa.Column("email", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("wechat_openid", sa.Text),
    sa.Column("locale", sa.Text, nullable=False, server_default="zh-CN"),
    sa.Column("channels", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("sms_opt_out", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("opt_out_at", TS),
    sa.Column("opt_out_source", sa.Text),
    sa.Column("updated_at", TS, nullable=False),
)
"""Per-recipient addresses, channel preferences, locale and SMS opt-out."""

messages = sa.Table(
    "messages", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("dedup_key", sa.Text, nullable=False, unique=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("audience", sa.Text, nullable=False),
    sa.Column("urgent", sa.Boolean, nullable=False),
    sa.Column("recipient_key", sa.Text, nullable=False),
    sa.Column("ticket_id", sa.Text),
    sa.Column("dealer_id", sa.Text),
    sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("occurred_at", TS, nullable=False),
    sa.Column("variables", pg.JSONB, nullable=False),
    sa.Column("locale", sa.Text),
    sa.Column("subject", sa.Text),
    sa.Column("body", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Index("ix_messages_ticket_id", "ticket_id"),
    sa.Index("ix_messages_dealer_id_created_at", "dealer_id", "created_at"),
)
"""The audit: every message, once per (kind, visit/subject, recipient) — ``dedup_key`` is unique."""

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("message_id", sa.BigInteger, sa.ForeignKey("messages.id"), nullable=False, unique=True),
    sa.Column("recipient_key", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("route", pg.JSONB),  # [[channel, provider, address], ...]; NULL until resolved
    sa.Column("route_index", sa.Integer, nullable=False, server_default="0"),
    sa.Column("channel", sa.Text),
    sa.Column("provider", sa.Text),
    sa.Column("address", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", TS, nullable=False),
    sa.Column("hold_reason", sa.Text),
    sa.Column("last_error", sa.Text),
    sa.Column("provider_message_id", sa.Text),
    sa.Column("sent_at", TS),
    sa.Column("delivered_at", TS),
    sa.Column("receipt", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.CheckConstraint("status IN ('queued','held','sent','delivered','undelivered','failed','suppressed')",
                       name="status"),
    sa.Index("ix_deliveries_due", "next_attempt_at", postgresql_where=sa.text("status IN ('queued','held')")),
    sa.Index("ix_deliveries_recipient_sent", "recipient_key", "sent_at",
             postgresql_where=sa.text("sent_at IS NOT NULL")),
    sa.Index("ix_deliveries_provider_message_id", "provider_message_id"),
    sa.Index("ix_deliveries_failed", "updated_at", postgresql_where=sa.text("status = 'failed'")),
)
"""How each message travels: the durable queue the sender drains with FOR UPDATE SKIP LOCKED."""

dev_outbox = sa.Table(
    "dev_outbox", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("delivery_id", sa.BigInteger, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("subject", sa.Text),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)
"""Development without provider credentials: what would have been sent (never to the world)."""

replies = sa.Table(
    "replies", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("provider_ref", sa.Text, nullable=False, unique=True),  # provider's id: a re-push is a no-op
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("phone", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("rating", sa.SmallInteger),
    sa.Column("ticket_id", sa.Text),
    sa.Column("outcome", sa.Text, nullable=False),  # pending | done | ignored | failed
    sa.Column("detail", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", TS),
    sa.Column("received_at", TS, nullable=False),
    sa.Index("ix_replies_pending", "next_attempt_at", postgresql_where=sa.text("outcome = 'pending'")),
)
"""Inbound replies and what they did (opt-out, satisfaction recorded, complaint opened)."""
