"""Two instances of each consumer service share the work and do nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from cqrs_lab.consistency import duplicated_effects, streams_with_gaps
from cqrs_lab.stack import Stack
from services.shared.db import create_engine
from services.shared.settings import LabSettings
from tests.e2e.shop import place, restock, unique, wait_for_status
from tests.helpers import eventually

pytestmark = pytest.mark.stack

SCALED = ("inventory", "payments")
PRODUCTS = ("book-001", "shirt-001", "pants-001")


@pytest.fixture(scope="module")
def two_of_each(settings: LabSettings) -> Iterator[Stack]:
    """Inventory and payments at two instances each, back to one afterwards."""
    stack = Stack(settings)
    try:
        for name in SCALED:
            asyncio.run(stack.scale(name, 2))
        yield stack
    finally:
        for name in SCALED:
            asyncio.run(stack.scale(name, 1))


def partitions(stack: Stack, instance: str) -> set[str]:
    """The partitions one instance's consumer holds right now."""
    url = f"http://{stack.settings.host}:{stack.instance(instance).port}"
    answer = httpx.get(url + "/admin/consumer", timeout=5.0).json()
    return set(answer["partitions"])


def test_two_instances_split_the_partitions_of_their_group(
        two_of_each: Stack) -> None:
    """Each instance holds some partitions, and no partition is held twice."""
    for name in SCALED:

        # The two answers are read a moment apart, so while the group is
        # rebalancing the first may still list partitions the second has
        # just been given. The group must settle into a clean split.
        # name is bound now, so the probe asks about this pass's service.
        def split(name: str = name) -> tuple[set[str], set[str]] | None:
            first = partitions(two_of_each, name)
            second = partitions(two_of_each, f"{name}-2")
            clean = first and second and not first & second
            return (first, second) if clean else None

        first, second = eventually(
            split, 60.0, what=f"{name}'s two instances splitting partitions")
        assert first and second and first.isdisjoint(second)


def test_every_saga_finishes_once_with_two_instances(
        two_of_each: Stack, gateway: httpx.Client,
        settings: LabSettings) -> None:
    """Orders spread over all partitions finish, with no effect doubled."""
    for product in PRODUCTS:
        restock(gateway, product, 100)
    run = unique("scaled")
    orders = [place(gateway, {"customerId": f"{run}-{n}", "items": [
        {"productId": PRODUCTS[n % 3], "quantity": 1, "unitPrice": 10}]})
        for n in range(30)]

    for order_id in orders:
        wait_for_status(gateway, order_id, "ready_for_delivery")

    doubled, gaps = asyncio.run(consistency(settings))
    assert doubled == {}
    assert gaps == {}


async def consistency(settings: LabSettings
                      ) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Effects done twice and streams with gaps, from the event stores."""
    engine = create_engine(settings)
    try:
        return await duplicated_effects(engine), await streams_with_gaps(engine)
    finally:
        await engine.dispose()
