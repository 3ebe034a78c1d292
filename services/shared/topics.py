"""Creates the lab's Kafka topics when they are missing, from any process."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from services.shared.parts import TOPICS

logger = logging.getLogger(__name__)


async def ensure_topics(bootstrap_servers: str, partitions: int,
                        names: tuple[str, ...] = TOPICS) -> list[str]:
    """Creates the named topics that do not exist yet; returns the new ones."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in names if name not in existing]
        if missing:
            await _create(admin, missing, partitions)
    finally:
        await admin.close()
    return missing


async def _create(admin: AIOKafkaAdminClient, names: list[str],
                  partitions: int) -> None:
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    except TopicAlreadyExistsError:
        # Another process created them between our listing and our request.
        return
    logger.info("created topics names=%s partitions=%s", names, partitions)
