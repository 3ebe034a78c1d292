"""The inventory service's tables and repositories, in the `inventory` schema."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

from services.inventory.domain import EVENTS, ProductStock, Reservation
from services.shared.codec import EventCodec
from services.shared.outbox import Outbox
from services.shared.repository import Publication, Repository
from services.shared.service import Plumbing

TOPIC = "inventory-events"

plumbing = Plumbing.in_schema("inventory")
metadata, events, outbox = plumbing.metadata, plumbing.events, plumbing.outbox
positions, processed = plumbing.positions, plumbing.processed

stock_levels = Table(
    "stock_levels",
    metadata,
    Column("product_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("available", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("in_transit", Integer, nullable=False),
    Column("low_stock_threshold", Integer, nullable=False),
    Column("low_stock", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

reservations_by_order = Table(
    "reservations",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("status", Text, nullable=False),
    Column("lines", JSONB, nullable=False),
    Column("reason", Text),
    Column("correlation_id", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

store = plumbing.store
codec = EventCodec(EVENTS)
# Stock levels are internal facts; only reservations are announced on Kafka.
# A popular product's stream grows with every order: load it from a snapshot.
stocks = Repository(store, codec, ProductStock, snapshots=plumbing.snapshots)
reservations = Repository(store, codec, Reservation, Outbox(outbox),
                          Publication(TOPIC, "inventory"))
