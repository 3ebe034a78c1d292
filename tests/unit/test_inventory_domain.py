"""Inventory domain: product stock, and the all-or-nothing reservation."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from services.inventory.domain import (
    COMMANDS,
    EVENTS,
    InvalidQuantity,
    InventoryError,
    OutOfStock,
    ProductAdded,
    ProductStock,
    Reservation,
    ReservationStatus,
    ReservedLine,
    StockAdded,
    StockAllocated,
    StockDeallocated,
    StockDispatched,
    StockInTransit,
    StockReleased,
    StockReservationRejected,
    StockReserved,
    UnknownProduct,
    merge_lines,
    reservation_stream,
    reserve_stock,
    stock_stream,
)
from services.shared.aggregate import Event

ORDER_ID = UUID("00000000-0000-0000-0000-0000000000a1")
OTHER_ORDER = UUID("00000000-0000-0000-0000-0000000000a2")


def stock(product_id: str, *events: Event, available: int = 10) -> ProductStock:
    history: list[Event] = [ProductAdded(product_id, product_id.title(), 2)]
    if available:
        history.append(StockAdded(product_id, available))
    return ProductStock.rebuild([*history, *events])


def stocks(*items: ProductStock) -> dict[str, ProductStock | None]:
    return {item.product_id: item for item in items}


# Product stock


def test_add_product_records_product_added_then_initial_stock() -> None:
    laptop = ProductStock.add_product("laptop-001", "Laptop", 5, 25)

    assert laptop.take_pending() == [
        ProductAdded("laptop-001", "Laptop", 5),
        StockAdded("laptop-001", 25),
    ]
    assert laptop.available == 25
    assert laptop.name == "Laptop"


def test_add_product_without_initial_stock_records_only_product_added() -> None:
    limited = ProductStock.add_product("limited-001", "Signed", 0, 0)

    assert limited.take_pending() == [ProductAdded("limited-001", "Signed", 0)]
    assert limited.available == 0


def test_add_product_fails_with_negative_initial_stock() -> None:
    with pytest.raises(InvalidQuantity, match="initial stock"):
        ProductStock.add_product("laptop-001", "Laptop", 5, -1)


def test_add_stock_records_stock_added() -> None:
    laptop = stock("laptop-001")

    laptop.add_stock(5)

    assert laptop.take_pending() == [StockAdded("laptop-001", 5)]
    assert laptop.available == 15


@pytest.mark.parametrize("quantity", [0, -3, True, 2.0])
def test_add_stock_fails_with_non_positive_or_non_integer(
    quantity: object,
) -> None:
    laptop = stock("laptop-001")

    with pytest.raises(InvalidQuantity):
        laptop.add_stock(quantity)  # type: ignore[arg-type]

    assert laptop.take_pending() == []


def test_allocate_moves_available_units_to_reserved() -> None:
    laptop = stock("laptop-001")

    laptop.allocate(ORDER_ID, 3)

    assert laptop.take_pending() == [StockAllocated("laptop-001", ORDER_ID, 3)]
    assert laptop.available == 7
    assert laptop.reserved == {ORDER_ID: 3}
    assert laptop.reserved_total == 3


def test_allocate_twice_for_the_same_order_records_nothing() -> None:
    laptop = stock("laptop-001", StockAllocated("laptop-001", ORDER_ID, 3))

    laptop.allocate(ORDER_ID, 3)

    assert laptop.take_pending() == []
    assert laptop.available == 7


def test_allocate_fails_when_out_of_stock() -> None:
    laptop = stock("laptop-001", available=1)

    with pytest.raises(OutOfStock) as caught:
        laptop.allocate(ORDER_ID, 3)

    assert (caught.value.requested, caught.value.available) == (3, 1)
    assert str(caught.value) == (
        "out of stock: laptop-001 (requested 3, available 1)"
    )
    assert laptop.take_pending() == []


def test_deallocate_returns_reserved_units_to_available() -> None:
    laptop = stock("laptop-001", StockAllocated("laptop-001", ORDER_ID, 3))

    laptop.deallocate(ORDER_ID)

    assert laptop.take_pending() == [
        StockDeallocated("laptop-001", ORDER_ID, 3, "reserved")
    ]
    assert laptop.available == 10
    assert laptop.reserved == {}


def test_take_back_returns_in_transit_units_to_available() -> None:
    laptop = stock(
        "laptop-001",
        StockAllocated("laptop-001", ORDER_ID, 3),
        StockDispatched("laptop-001", ORDER_ID, 3),
    )

    laptop.take_back(ORDER_ID, 3)

    assert laptop.take_pending() == [
        StockDeallocated("laptop-001", ORDER_ID, 3, "in_transit")
    ]
    assert laptop.available == 10
    assert laptop.in_transit == 0


def test_take_back_refuses_more_than_is_in_transit() -> None:
    laptop = stock("laptop-001", StockAllocated("laptop-001", ORDER_ID, 1),
                   StockDispatched("laptop-001", ORDER_ID, 1))

    with pytest.raises(InvalidQuantity, match="only 1 are in transit"):
        laptop.take_back(ORDER_ID, 2)


def test_snapshot_restores_the_same_state() -> None:
    laptop = stock("laptop-001", StockAllocated("laptop-001", ORDER_ID, 3))

    restored = ProductStock.from_snapshot(laptop.snapshot(), laptop.version)

    assert restored.snapshot() == laptop.snapshot()
    assert restored.version == laptop.version


def test_deallocate_without_allocation_records_nothing() -> None:
    laptop = stock("laptop-001")

    laptop.deallocate(ORDER_ID)

    assert laptop.take_pending() == []


def test_dispatch_moves_reserved_units_into_transit() -> None:
    laptop = stock("laptop-001", StockAllocated("laptop-001", ORDER_ID, 3))

    laptop.dispatch(ORDER_ID)

    assert laptop.take_pending() == [
        StockDispatched("laptop-001", ORDER_ID, 3)
    ]
    assert laptop.reserved == {}
    assert laptop.in_transit == 3
    assert laptop.available == 7


def test_dispatch_without_reservation_records_nothing() -> None:
    laptop = stock("laptop-001")

    laptop.dispatch(ORDER_ID)

    assert laptop.take_pending() == []


def test_low_stock_when_available_falls_to_the_threshold() -> None:
    assert stock("mouse-001", available=3).low_stock is False
    assert stock("mouse-001", available=2).low_stock is True


def test_product_stock_rebuild_reproduces_the_live_state() -> None:
    live = ProductStock.add_product("laptop-001", "Laptop", 5, 25)
    live.allocate(ORDER_ID, 2)
    live.allocate(OTHER_ORDER, 4)
    live.dispatch(ORDER_ID)
    live.deallocate(OTHER_ORDER)
    live.add_stock(3)

    replayed = ProductStock.rebuild(live.take_pending())

    assert vars(replayed) == vars(live)


# Reservation


def test_reserve_stock_allocates_every_line_and_records_reserved() -> None:
    laptop, mouse = stock("laptop-001"), stock("mouse-001")
    lines = [ReservedLine("laptop-001", 1), ReservedLine("mouse-001", 2)]

    reservation = reserve_stock(ORDER_ID, lines, stocks(laptop, mouse))

    assert reservation.take_pending() == [StockReserved(ORDER_ID, tuple(lines))]
    assert reservation.status is ReservationStatus.RESERVED
    assert laptop.take_pending() == [StockAllocated("laptop-001", ORDER_ID, 1)]
    assert mouse.take_pending() == [StockAllocated("mouse-001", ORDER_ID, 2)]


def test_reserve_stock_merges_lines_of_the_same_product() -> None:
    mouse = stock("mouse-001")
    lines = [ReservedLine("mouse-001", 1), ReservedLine("mouse-001", 2)]

    reservation = reserve_stock(ORDER_ID, lines, stocks(mouse))

    assert reservation.lines == (ReservedLine("mouse-001", 3),)
    assert mouse.reserved == {ORDER_ID: 3}


def test_reserve_stock_fails_when_out_of_stock_and_allocates_nothing() -> None:
    laptop, mouse = stock("laptop-001", available=1), stock("mouse-001")
    lines = [ReservedLine("mouse-001", 2), ReservedLine("laptop-001", 3)]

    reservation = reserve_stock(ORDER_ID, lines, stocks(laptop, mouse))

    assert reservation.take_pending() == [
        StockReservationRejected(
            ORDER_ID,
            "out of stock: laptop-001 (requested 3, available 1)",
            "laptop-001",
        )
    ]
    assert reservation.status is ReservationStatus.REJECTED
    assert mouse.take_pending() == [] and mouse.available == 10
    assert laptop.take_pending() == [] and laptop.available == 1


def test_reserve_stock_fails_when_merged_lines_exceed_stock() -> None:
    mouse = stock("mouse-001", available=3)
    lines = [ReservedLine("mouse-001", 2), ReservedLine("mouse-001", 2)]

    reservation = reserve_stock(ORDER_ID, lines, stocks(mouse))

    assert reservation.status is ReservationStatus.REJECTED
    assert mouse.take_pending() == []


def test_reserve_stock_fails_for_an_unknown_product_naming_it() -> None:
    mouse = stock("mouse-001")
    lines = [ReservedLine("mouse-001", 1), ReservedLine("unicorn-001", 1)]
    known: dict[str, ProductStock | None] = {
        "mouse-001": mouse,
        "unicorn-001": None,
    }

    reservation = reserve_stock(ORDER_ID, lines, known)

    [rejected] = reservation.take_pending()
    assert isinstance(rejected, StockReservationRejected)
    assert rejected.product_id == "unicorn-001"
    assert "unicorn-001" in rejected.reason
    assert mouse.take_pending() == []


def test_second_order_for_a_one_of_a_kind_product_is_rejected() -> None:
    limited = stock("limited-001", available=1)
    lines = [ReservedLine("limited-001", 1)]

    first = reserve_stock(ORDER_ID, lines, stocks(limited))
    second = reserve_stock(OTHER_ORDER, lines, stocks(limited))

    assert first.status is ReservationStatus.RESERVED
    assert second.status is ReservationStatus.REJECTED


def test_reserve_stock_fails_without_lines() -> None:
    with pytest.raises(InvalidQuantity):
        reserve_stock(ORDER_ID, [], {})


def test_merge_lines_fails_with_non_positive_quantity() -> None:
    with pytest.raises(InvalidQuantity):
        merge_lines([ReservedLine("mouse-001", 0)])


def reserved_order() -> tuple[Reservation, ProductStock, ProductStock]:
    laptop, mouse = stock("laptop-001"), stock("mouse-001")
    lines = [ReservedLine("laptop-001", 1), ReservedLine("mouse-001", 2)]
    reservation = reserve_stock(ORDER_ID, lines, stocks(laptop, mouse))
    for aggregate in (reservation, laptop, mouse):
        aggregate.take_pending()
    return reservation, laptop, mouse


def test_release_returns_stock_and_records_stock_released() -> None:
    reservation, laptop, mouse = reserved_order()

    reservation.release(stocks(laptop, mouse), "order cancelled")

    assert reservation.take_pending() == [
        StockReleased(ORDER_ID, reservation.lines, "order cancelled")
    ]
    assert reservation.status is ReservationStatus.RELEASED
    assert (laptop.available, mouse.available) == (10, 10)


def test_release_of_stock_in_transit_returns_it_too() -> None:
    reservation, laptop, mouse = reserved_order()
    reservation.dispatch(stocks(laptop, mouse))

    reservation.release(stocks(laptop, mouse), "returned")

    assert laptop.take_pending()[-1] == StockDeallocated(
        "laptop-001", ORDER_ID, 1, "in_transit"
    )
    assert reservation.status is ReservationStatus.RELEASED


def test_release_twice_records_nothing() -> None:
    reservation, laptop, mouse = reserved_order()
    reservation.release(stocks(laptop, mouse), "order cancelled")
    for aggregate in (reservation, laptop, mouse):
        aggregate.take_pending()

    reservation.release(stocks(laptop, mouse), "order cancelled")

    assert reservation.take_pending() == []
    assert laptop.take_pending() == [] and mouse.take_pending() == []


def test_release_of_a_rejected_reservation_records_nothing() -> None:
    reservation = Reservation.rebuild(
        [StockReservationRejected(ORDER_ID, "out of stock", "laptop-001")]
    )

    reservation.release({}, "order cancelled")

    assert reservation.take_pending() == []


def test_release_fails_when_a_stock_is_missing() -> None:
    reservation, laptop, _ = reserved_order()

    with pytest.raises(UnknownProduct, match="mouse-001"):
        reservation.release(stocks(laptop), "order cancelled")


def test_dispatch_sends_reserved_stock_into_transit() -> None:
    reservation, laptop, mouse = reserved_order()

    reservation.dispatch(stocks(laptop, mouse))

    assert reservation.take_pending() == [
        StockInTransit(ORDER_ID, reservation.lines)
    ]
    assert reservation.status is ReservationStatus.IN_TRANSIT
    assert laptop.in_transit == 1
    assert mouse.in_transit == 2


def test_dispatch_twice_records_nothing() -> None:
    reservation, laptop, mouse = reserved_order()
    reservation.dispatch(stocks(laptop, mouse))
    for aggregate in (reservation, laptop, mouse):
        aggregate.take_pending()

    reservation.dispatch(stocks(laptop, mouse))

    assert reservation.take_pending() == []
    assert laptop.take_pending() == [] and mouse.take_pending() == []


def test_dispatch_of_a_released_reservation_records_nothing() -> None:
    reservation, laptop, mouse = reserved_order()
    reservation.release(stocks(laptop, mouse), "order cancelled")
    reservation.take_pending()

    reservation.dispatch(stocks(laptop, mouse))

    assert reservation.take_pending() == []


def test_reservation_rebuild_reproduces_the_live_state() -> None:
    laptop = stock("laptop-001")
    lines = [ReservedLine("laptop-001", 2)]
    live = reserve_stock(ORDER_ID, lines, stocks(laptop))
    live.dispatch(stocks(laptop))
    live.release(stocks(laptop), "returned")

    replayed = Reservation.rebuild(live.take_pending())

    assert vars(replayed) == vars(live)


def test_new_reservation_has_no_status() -> None:
    assert Reservation().status is None


# Helpers


def test_streams_prefix_their_ids() -> None:
    order_id = uuid4()

    assert stock_stream("mouse-001") == "stock-mouse-001"
    assert reservation_stream(order_id) == f"reservation-{order_id}"


def test_errors_share_the_inventory_base() -> None:
    assert issubclass(OutOfStock, InventoryError)
    assert issubclass(UnknownProduct, InventoryError)
    assert issubclass(InvalidQuantity, InventoryError)


def test_registries_list_every_message_by_type_name() -> None:
    assert set(EVENTS) == {
        "ProductAdded",
        "StockAdded",
        "StockAllocated",
        "StockDeallocated",
        "StockDispatched",
        "StockReserved",
        "StockReservationRejected",
        "StockReleased",
        "StockInTransit",
    }
    assert set(COMMANDS) == {
        "ReserveStock",
        "ReleaseStock",
        "DispatchStock",
        "AddStock",
    }
