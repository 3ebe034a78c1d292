"""The inventory service's tables and repositories, in the `inventory` schema."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

from services.inventory.domain import EVENTS, ProductStock, Reservation
from services.shared.codec import EventCodec
from services.shared.consumer import processed_table
from services.shared.eventstore import EventStore, event_tables, snapshot_table
from services.shared.outbox import Outbox, outbox_table
from services.shared.projection import positions_table
from services.shared.repository import Publication, Repository

TOPIC = "inventory-events"

metadata = MetaData(schema="inventory")
events = event_tables(metadata)
outbox = outbox_table(metadata)
processed = processed_table(metadata)
positions = positions_table(metadata)
snapshots = snapshot_table(metadata)

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

store = EventStore(events)
codec = EventCodec(EVENTS)
# Stock levels are internal facts; only reservations are announced on Kafka.
# A popular product's stream grows with every order: load it from a snapshot.
stocks = Repository(store, codec, ProductStock, snapshots=snapshots)
reservations = Repository(store, codec, Reservation, Outbox(outbox),
                          Publication(TOPIC, "inventory"))
