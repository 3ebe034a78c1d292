"""Checks that the system did nothing twice and lost nothing, straight from SQL.

The fault tests and the soak benchmark ask the same questions of the event
stores after a storm; an instructor can ask them of a learner's stack too.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

SCHEMAS = ("orders", "inventory", "payments")

# Each query lists what must not exist; its label says what went wrong.
DUPLICATES = {
    "stock reserved twice for an order": (
        "SELECT data->>'product_id', data->>'order_id', count(*) "
        "FROM inventory.events WHERE event_type = 'StockAllocated' "
        "GROUP BY 1, 2 HAVING count(*) > 1"),
    "payment taken twice": (
        "SELECT data->>'order_id', count(*) FROM payments.events "
        "WHERE event_type = 'PaymentApproved' GROUP BY 1 HAVING count(*) > 1"),
    "order event recorded twice": (
        "SELECT stream_id, event_type, count(*) FROM orders.events "
        "GROUP BY 1, 2 HAVING count(*) > 1"),
}

GAPS = ("SELECT stream_id, count(*), max(version) FROM {}.events "
        "GROUP BY stream_id "
        "HAVING count(*) <> max(version) OR min(version) <> 1")


async def duplicated_effects(engine: AsyncEngine) -> dict[str, int]:
    """How many effects happened twice, by kind; empty when none did."""
    found: dict[str, int] = {}
    async with engine.connect() as conn:
        for label, query in DUPLICATES.items():
            rows = (await conn.execute(text(query))).all()
            if rows:
                found[label] = len(rows)
    return found


async def streams_with_gaps(engine: AsyncEngine) -> dict[str, list[str]]:
    """Streams whose versions are not exactly 1..n, by service schema."""
    found: dict[str, list[str]] = {}
    async with engine.connect() as conn:
        for schema in SCHEMAS:
            rows = (await conn.execute(text(GAPS.format(schema)))).all()
            if rows:
                found[schema] = [row[0] for row in rows]
    return found
