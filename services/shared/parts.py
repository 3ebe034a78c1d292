"""The single list of the lab's parts: what runs, on which port setting.

The launcher, the compose file and the docs all follow this table; a test
checks that `infra/docker-compose.yml` agrees with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["postgres", "kafka", "service"]


@dataclass(frozen=True)
class Part:
    """One process of the lab: its name, kind, port setting and entry point."""

    name: str
    kind: Kind
    port_setting: str
    app: str | None = None
    description: str = ""

    @property
    def env_var(self) -> str:
        """The environment variable that moves this part's port."""
        return f"CQRS_LAB_{self.port_setting.upper()}"


POSTGRES = Part("postgres", "postgres", "postgres_port", None, "PostgreSQL")
KAFKA = Part("kafka", "kafka", "kafka_port", None, "Apache Kafka (KRaft)")

SERVICES: tuple[Part, ...] = (
    Part("orders", "service", "orders_port", "services.orders.api:app",
         "order service"),
    Part("payments", "service", "payments_port", "services.payments.api:app",
         "payment service"),
    Part("inventory", "service", "inventory_port", "services.inventory.api:app",
         "inventory service"),
    Part("traces", "service", "traces_port", "services.traces.collector:app",
         "trace collector (trace BFF)"),
    Part("dashboard", "service", "dashboard_port",
         "services.traces.dashboard:app", "trace dashboard"),
    Part("gateway", "service", "gateway_port", "services.gateway.api:app",
         "API gateway"),
)

PARTS: tuple[Part, ...] = (POSTGRES, KAFKA, *SERVICES)

# Topics the services need; each is created with several partitions.
TOPICS: tuple[str, ...] = (
    "orders-events",
    "payments-events",
    "inventory-events",
    "dead-letter",
)


def part(name: str) -> Part:
    """The part called `name`, or a ValueError listing the known names."""
    for candidate in PARTS:
        if candidate.name == name:
            return candidate
    known = ", ".join(p.name for p in PARTS)
    raise ValueError(f"unknown part {name!r}; known parts: {known}")
