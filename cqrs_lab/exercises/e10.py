"""Exercises of lesson 10, evolving events: an upcaster from v1 to v2.

The story: the shop's first release stored OrderPlaced in an older shape
(v1). Today's shape, the one in the lab's store, is v2 here. The check
takes real OrderPlaced events from the store, rewrites some into v1 with
its own downgrade, and replays the mixed history through an EventCodec
that uses the learner's upcaster.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from cqrs_lab.exercises.core import Exercise, Incorrect
from cqrs_lab.exercises.live import run_id, short
from services.orders.domain import Order, OrderPlaced
from services.shared.codec import EventCodec, UndecodableEvent

SAMPLE = 12


@dataclass(frozen=True)
class OrderPlacedV2(OrderPlaced):
    """OrderPlaced as it is today, numbered v2 in this exercise's story."""

    schema_version: ClassVar[int] = 2


def downgrade(data: Mapping[str, Any]) -> dict[str, Any]:
    """Today's OrderPlaced data in the v1 shape (the check's own inverse)."""
    total_cents = int(Decimal(str(data["total_amount"])) * 100)
    return {
        "order_id": data["order_id"],
        "customer": data["customer_id"],
        "items": [{"sku": line["product_id"], "qty": line["quantity"],
                   "price": str(line["unit_price"])}
                  for line in data["lines"]],
        "total_cents": total_cents,
    }


def codec_with(upcaster: Callable[[dict[str, Any]], dict[str, Any]]
               ) -> EventCodec:
    """A codec that knows OrderPlaced v2 and upgrades v1 with `upcaster`."""
    return EventCodec({"OrderPlaced": OrderPlacedV2},
                      {("OrderPlaced", 1): upcaster})


def legacy_auto() -> dict[str, Any]:
    """A v1 event of the first release, before manual confirmation existed."""
    return {"order_id": "00000000-0000-0000-0000-0000000000e1",
            "customer": "first-customer",
            "items": [{"sku": "book-001", "qty": 3, "price": "19.99"}],
            "total_cents": 5997}


class Upcaster(Exercise):
    """Old events still replay once an upcaster brings them up to date."""

    lesson = "10-evolving-events"
    name = "ex1"
    title = "Upcast OrderPlaced v1 to v2"
    difficulty = 2
    answer_name = "upcast_order_placed_v1"
    hints = (
        ("An upcaster is a pure function: v1 data in, v2 data out. Never "
         "change the stored events; the codec upcasts as it reads."),
        ("Renames: customer → customer_id, items → lines (sku → product_id, "
         "qty → quantity, price → unit_price), total_cents → total_amount. "
         "v1 had no confirmation: every order was confirmed automatically."),
        ("total_amount is money: str(Decimal(total_cents) / 100) keeps the "
         "cents exact, where total_cents / 100 (a float) may not."),
    )

    def verify(self, answer: Callable[[dict[str, Any]], dict[str, Any]]
               ) -> str:
        """Replays real events, some downgraded to v1, through the codec."""
        codec = codec_with(answer)
        legacy = self._decode(codec, 1, legacy_auto(), "the legacy event")
        if legacy.confirmation != "auto" or \
                legacy.total_amount != Decimal("59.97"):
            raise Incorrect(f"the first release's event decoded as {legacy!r};"
                            " expected confirmation 'auto' and total 59.97")
        # One fresh automatic order, so the sample always has a v1 candidate.
        self.lab.place_order(f"ex10-{run_id()}", [("book-001", 3, "19.99")])
        stored = self.lab.events("orders", event_type="OrderPlaced",
                                 limit=SAMPLE)
        plain = EventCodec({"OrderPlaced": OrderPlaced})
        rng = random.Random()
        old = 0
        for row in stored.itertuples():
            want = plain.decode(row.event_type, row.schema_version, row.data)
            # v1 predates manual confirmation: only "auto" orders can be v1.
            as_v1 = row.data.get("confirmation") == "auto" and (
                rng.random() < 0.5 or old == 0)
            version, data = (1, downgrade(row.data)) if as_v1 else \
                (2, dict(row.data))
            old += as_v1
            got = self._decode(codec, version, data,
                               f"order {short(row.data['order_id'])} (v{version})")
            if vars(got) != vars(want):
                wrong = [k for k in vars(want) if vars(got)[k] != vars(want)[k]]
                raise Incorrect(
                    f"order {short(row.data['order_id'])} stored as v1 "
                    f"replays with {', '.join(wrong)} = "
                    f"{[vars(got)[k] for k in wrong]}; the v2 event says "
                    f"{[vars(want)[k] for k in wrong]}")
            order = Order.rebuild([got])
            if order.total_amount != vars(want)["total_amount"]:
                raise Incorrect(f"order {short(row.data['order_id'])} "
                                f"rebuilds with total {order.total_amount}")
        return (f"replayed {len(stored)} real OrderPlaced events, {old} of "
                "them stored as v1: every one decodes as the v2 event")

    def _decode(self, codec: EventCodec, version: int, data: dict[str, Any],
                what: str) -> Any:
        try:
            return self.call(codec.decode, "OrderPlaced", version, dict(data),
                             what=f"upcasting {what}")
        except Incorrect as error:
            cause = error.__cause__
            if isinstance(cause, UndecodableEvent):
                raise Incorrect(f"{what} does not decode after your "
                                f"upcaster: {cause}".splitlines()[0]
                                + " (check the field names and types)"
                                ) from None
            raise


ex1 = Upcaster()

__all__ = ["OrderPlacedV2", "codec_with", "downgrade", "ex1"]
