"""The payment service's tables and repository, in the `payments` schema."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Numeric, Table, Text, Uuid

from services.payments.domain import EVENTS, Payment
from services.shared.codec import EventCodec
from services.shared.outbox import Outbox
from services.shared.repository import Publication, Repository
from services.shared.service import Plumbing

TOPIC = "payments-events"

plumbing = Plumbing.in_schema("payments")
metadata, events, outbox = plumbing.metadata, plumbing.events, plumbing.outbox
positions, processed = plumbing.positions, plumbing.processed

payments_by_order = Table(
    "payments",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("payment_id", Uuid),
    Column("customer_id", Text),
    Column("status", Text, nullable=False),
    Column("amount", Numeric(12, 2)),
    Column("reason", Text),
    Column("correlation_id", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

store = plumbing.store
codec = EventCodec(EVENTS)
payments = Repository(store, codec, Payment, Outbox(outbox),
                      Publication(TOPIC, "payments"))
