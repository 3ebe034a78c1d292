"""Commands sent without If-Match land even when other writers race them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import httpx

from tests.e2e.shop import restock, stock
from tests.helpers import eventually

WRITERS = 8


def test_concurrent_restocks_of_one_product_all_land(
        gateway: httpx.Client) -> None:
    """Eight restocks of one product at once: each answers 200, none is lost."""
    # Monitors are left alone by the README flows, so the count is exact.
    before = restock(gateway, "monitor-001", 1)
    barrier = Barrier(WRITERS)

    def add_one(_: int) -> httpx.Response:
        barrier.wait()
        return gateway.post("/api/inventory/monitor-001/restock",
                            json={"quantity": 1})

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        answers = list(pool.map(add_one, range(WRITERS)))

    assert [a.status_code for a in answers] == [200] * WRITERS, [
        a.text for a in answers if a.status_code != 200]
    eventually(lambda: stock(gateway, "monitor-001")["available"]
               == before + WRITERS, what="every restock in the stock level")
