"""One settings object for the whole lab, read from CQRS_LAB_* variables."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_PASSWORD = "cqrs-lab-dev"


def _default_state_dir() -> Path:
    return Path.cwd() / ".lab"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "cqrs-lab"


class LabSettings(BaseSettings):
    """Ports, hosts, folders and knobs of the lab; every field has a variable."""

    model_config = SettingsConfigDict(env_prefix="CQRS_LAB_", extra="ignore")

    host: str = "127.0.0.1"
    state_dir: Path = Field(default_factory=_default_state_dir)
    # Kafka's jars live here, outside the state folder, so `reset` keeps them.
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    mode: Literal["development", "production"] = "development"

    gateway_port: int = 3005
    orders_port: int = 3001
    payments_port: int = 3002
    inventory_port: int = 3003
    traces_port: int = 8080
    dashboard_port: int = 3000
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    postgres_port: int = 5432

    # Later instances of a scaled service listen on port + step * (n - 1).
    instance_port_step: int = 100

    # Where to reach a part when it is not on `host` (compose service names).
    gateway_host: str | None = None
    orders_host: str | None = None
    payments_host: str | None = None
    inventory_host: str | None = None
    traces_host: str | None = None
    dashboard_host: str | None = None

    kafka_heap: str = "512m"
    kafka_partitions: int = 3
    kafka_bootstrap: str | None = None

    postgres_host: str | None = None
    postgres_user: str = "cqrs_lab"
    postgres_password: str = DEV_PASSWORD
    postgres_db: str = "cqrs_lab"
    # Off trades the last few hundred milliseconds of commits on a crash of
    # the database host for several times the write rate; killing a service
    # or stopping PostgreSQL cleanly still loses nothing.
    postgres_synchronous_commit: Literal["on", "off"] = "off"

    # Spans go to the lab's trace collector unless an OTLP/HTTP endpoint
    # (Jaeger, an OpenTelemetry Collector...) is named here.
    tracing: bool = True
    otlp_endpoint: str | None = None
    # The collector drops whole traces past either bound. A span takes about
    # 1 KB on disk and an order makes about 80, so the cap keeps about
    # 12,000 orders (1 GB): enough for the dashboard's 10,000 traces.
    trace_retention_hours: int = 24
    trace_max_spans: int = 1_000_000

    confirmation_mode: Literal["auto", "manual"] = "auto"
    payment_decline_above: Decimal = Decimal("5000.00")
    consumer_max_attempts: int = 3

    def service_url(self, part: str) -> str:
        """Base URL of a service part, such as `orders` or `gateway`."""
        host = getattr(self, f"{part}_host") or self.host
        return f"http://{host}:{getattr(self, f'{part}_port')}"

    @property
    def bootstrap_servers(self) -> str:
        """Kafka's bootstrap address as clients should use it."""
        return self.kafka_bootstrap or f"{self.host}:{self.kafka_port}"

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of the lab's database (asyncpg driver)."""
        host = self.postgres_host or self.host
        return (
            f"postgresql+asyncpg://{self.postgres_user}:{self.postgres_password}"
            f"@{host}:{self.postgres_port}/{self.postgres_db}"
        )

    def check_secrets(self) -> None:
        """Refuse the development password outside development mode."""
        if self.mode != "development" and self.postgres_password == DEV_PASSWORD:
            raise ValueError(
                "CQRS_LAB_POSTGRES_PASSWORD is the development default; "
                "set a real password or use CQRS_LAB_MODE=development"
            )


@lru_cache
def get_settings() -> LabSettings:
    """The settings of this process, read once from the environment."""
    settings = LabSettings()
    settings.check_secrets()
    return settings
