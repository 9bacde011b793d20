"""The sender's SQL (hand-written, batched: one claim, one read of contacts, one write per batch).

Covered by tests/notifications/test_sender.py (the two-replica race, quiet hours, failover, opt-out) and by
``make bench-notify``.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..models import contacts, deliveries, messages, tickets

CLAIM = sa.text(f"""
SELECT d.id, d.status, d.route, d.route_index, d.attempts, d.total_attempts, d.recipient_key,
       m.id AS message_id, m.kind, m.audience, m.urgent, m.ticket_id, m.dealer_id, m.variables, m.locale,
       m.subject, m.body, m.occurred_at
FROM {deliveries.name} d JOIN {messages.name} m ON m.id = d.message_id
WHERE d.status IN ('queued', 'held') AND d.next_attempt_at <= :now
ORDER BY d.next_attempt_at, d.id
LIMIT :n
FOR UPDATE OF d SKIP LOCKED
""")
"""Rows locked here stay locked until the batch's results are committed: a second replica skips them, and a
crash releases them to be sent again (at-least-once to the provider; the SMTP Message-ID and Aliyun OutId
carry the delivery id so a duplicate from a crash can be recognised)."""

CONTACTS = sa.select(contacts).where(contacts.c.recipient_key.in_(sa.bindparam("keys", expanding=True)))
TICKETS = sa.select(tickets).where(tickets.c.ticket_id.in_(sa.bindparam("ids", expanding=True)))
OPTED_OUT = sa.select(contacts.c.phone).where(contacts.c.phone.in_(sa.bindparam("phones", expanding=True)),
                                              contacts.c.sms_opt_out)

SENT_LAST_HOUR = sa.text(f"""
SELECT recipient_key, array_agg(sent_at) AS sent FROM {deliveries.name}
WHERE recipient_key = ANY(:keys) AND sent_at > :since
GROUP BY recipient_key
""")

UPDATE_MESSAGE = sa.text(f"""
UPDATE {messages.name} SET locale = :locale, subject = :subject, body = :body, variables = CAST(:variables AS jsonb)
WHERE id = :id
""")

UPDATE_DELIVERY = sa.text(f"""
UPDATE {deliveries.name} SET status = :status, route = CAST(:route AS jsonb), route_index = :route_index,
  channel = :channel, provider = :provider, address = :address, attempts = :attempts,
  total_attempts = :total_attempts, next_attempt_at = :next_attempt_at, hold_reason = :hold_reason,
  last_error = :last_error, provider_message_id = :provider_message_id, sent_at = :sent_at, updated_at = :now
WHERE id = :id
""")

UPDATE_TICKET_VIEW = sa.text(f"""
UPDATE {tickets.name} SET ticket_no = coalesce(ticket_no, :ticket_no),
  engineer_name = coalesce(:engineer_name, engineer_name),
  customer_name_masked = coalesce(:customer_name_masked, customer_name_masked),
  address_masked = coalesce(:address_masked, address_masked)
WHERE ticket_id = :ticket_id
""")
