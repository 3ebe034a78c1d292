"""Kafka through aiokafka: keys, headers, and committed offsets of a group."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from services.shared.settings import LabSettings
from tests.integration.conftest import NewTopic
from tests.integration.support import unique


def _group_consumer(settings: LabSettings, topic: str,
                    group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(topic, bootstrap_servers=settings.bootstrap_servers,
                            group_id=group, enable_auto_commit=False,
                            auto_offset_reset="earliest")


async def test_a_group_resumes_at_its_committed_offset_without_redelivery(
        settings: LabSettings, new_topic: NewTopic,
        producer: AIOKafkaProducer) -> None:
    topic = await new_topic()
    group = unique("it-group")
    sent = await producer.send_and_wait(
        topic, b'{"n":1}', key=b"order-1",
        headers=[("event_type", b"Tested"), ("trace", b"abc")])
    tp = TopicPartition(topic, sent.partition)

    first = _group_consumer(settings, topic, group)
    await first.start()
    try:
        record = await asyncio.wait_for(first.getone(), 30)
        assert (record.key, record.value) == (b"order-1", b'{"n":1}')
        assert list(record.headers) == [("event_type", b"Tested"),
                                        ("trace", b"abc")]
        assert (record.partition, record.offset) == (tp.partition, sent.offset)
        await first.commit({tp: record.offset + 1})
    finally:
        await first.stop()

    second = _group_consumer(settings, topic, group)
    await second.start()
    try:
        assert await second.committed(tp) == record.offset + 1
        # The same key lands on the same partition, right after the first.
        await producer.send_and_wait(topic, b'{"n":2}', key=b"order-1")
        fresh = await asyncio.wait_for(second.getone(), 30)
        assert (fresh.value, fresh.offset) == (b'{"n":2}', record.offset + 1)
    finally:
        await second.stop()
