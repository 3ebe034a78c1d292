"""The order service's tables and repository, in the `orders` schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    Numeric,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

from services.orders.domain import EVENTS, Order
from services.shared.codec import EventCodec
from services.shared.outbox import Outbox
from services.shared.repository import Publication, Repository
from services.shared.service import Plumbing

TOPIC = "orders-events"

plumbing = Plumbing.in_schema("orders")
metadata, events, outbox = plumbing.metadata, plumbing.events, plumbing.outbox
positions, processed = plumbing.positions, plumbing.processed

# Read models: what queries read. Only the projection writes them.
order_summaries = Table(
    "order_summaries",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("total_amount", Numeric(12, 2), nullable=False),
    Column("items", JSONB, nullable=False),
    Column("confirmation", Text, nullable=False),
    Column("reason", Text),
    Column("correlation_id", Text),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

order_history = Table(
    "order_history",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("correlation_id", Text),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
)

store = plumbing.store
codec = EventCodec(EVENTS)
orders = Repository(store, codec, Order, Outbox(outbox),
                    Publication(TOPIC, "orders"))
