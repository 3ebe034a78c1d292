"""Fixtures shared by every suite: the lab's settings and clients of the stack."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from services.shared.settings import LabSettings


@pytest.fixture(scope="session")
def settings() -> LabSettings:
    """The settings of the stack under test (tests/run.sh sets its ports)."""
    return LabSettings()


@pytest.fixture(scope="session")
def gateway(settings: LabSettings) -> Iterator[httpx.Client]:
    """An HTTP client of the running gateway; fails clearly when the lab is down."""
    url = settings.service_url("gateway")
    with httpx.Client(base_url=url, timeout=10.0) as client:
        try:
            client.get("/health").raise_for_status()
        except httpx.HTTPError as error:
            pytest.fail(f"the lab is not running at {url} ({error}); run the "
                        "tests with `make test`, which starts it")
        yield client


@pytest.fixture(scope="session")
def service(settings: LabSettings) -> Iterator[dict[str, httpx.Client]]:
    """HTTP clients of each service on its own port, by part name."""
    names = ("orders", "payments", "inventory")
    clients = {n: httpx.Client(base_url=settings.service_url(n), timeout=10.0)
               for n in names}
    yield clients
    for client in clients.values():
        client.close()
