"""Fixtures of the integration suite: real PostgreSQL and Kafka, unique names.

Every test works in its own schema and on its own topics, named with a
random suffix, and removes them afterwards, so runs never see each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.shared.db import create_engine
from services.shared.settings import LabSettings
from services.shared.topics import ensure_topics
from tests.integration.support import unique

NewTopic = Callable[[], Awaitable[str]]


@pytest.fixture
async def engine(settings: LabSettings) -> AsyncIterator[AsyncEngine]:
    """An engine on the lab's database, disposed after the test."""
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def schema(engine: AsyncEngine) -> AsyncIterator[str]:
    """A schema name of this test alone; dropped with its tables at the end."""
    name = unique("it")
    yield name
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


@pytest.fixture
async def new_topic(settings: LabSettings) -> AsyncIterator[NewTopic]:
    """Creates topics with three partitions; deletes them after the test."""
    created: list[str] = []

    async def create() -> str:
        name = unique("it-topic")
        await ensure_topics(settings.bootstrap_servers, 3, (name,))
        created.append(name)
        return name

    yield create
    if created:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
        await admin.start()
        try:
            await admin.delete_topics(created)
        finally:
            await admin.close()


@pytest.fixture
async def producer(settings: LabSettings) -> AsyncIterator[AIOKafkaProducer]:
    """An idempotent producer, as the services use."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers,
                                enable_idempotence=True)
    await producer.start()
    yield producer
    await producer.stop()
