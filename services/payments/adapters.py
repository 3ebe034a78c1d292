"""The payment service's tables and repository, in the `payments` schema."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, Numeric, Table, Text, Uuid

from services.payments.domain import EVENTS, Payment
from services.shared.codec import EventCodec
from services.shared.consumer import processed_table
from services.shared.eventstore import EventStore, event_tables
from services.shared.outbox import Outbox, outbox_table
from services.shared.projection import positions_table
from services.shared.repository import Publication, Repository

TOPIC = "payments-events"

metadata = MetaData(schema="payments")
events = event_tables(metadata)
outbox = outbox_table(metadata)
processed = processed_table(metadata)
positions = positions_table(metadata)

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

store = EventStore(events)
codec = EventCodec(EVENTS)
payments = Repository(store, codec, Payment, Outbox(outbox),
                      Publication(TOPIC, "payments"))
