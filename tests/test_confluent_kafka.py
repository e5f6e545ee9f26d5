"""confluent-kafka (librdkafka): producing with every codec, keys, headers, large records,
idempotence and every acks level; consuming from the beginning and by timestamp; the
AdminClient's topic, partition, config and record operations."""

import time
import uuid

import pytest
from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    OFFSET_BEGINNING,
    OFFSET_END,
    Producer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
)


def admin(broker):
    """One AdminClient per broker, kept alive with it: librdkafka fails pending futures of
    a client that is garbage-collected."""
    if not hasattr(broker, "admin"):
        broker.admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    return broker.admin


def create(broker, name, partitions=1, config=None):
    futures = admin(broker).create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})]
    )
    futures[name].result(10)


def produce(broker, topic, records, **config):
    """Produces (key, value, headers) tuples; returns the delivered messages in order."""
    delivered, errors = [], []

    def on_delivery(error, message):
        (errors if error else delivered).append(error or message)

    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, **config})
    for key, value, headers in records:
        producer.produce(topic, value=value, key=key, headers=headers, on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(30) == 0
    assert errors == []
    return delivered


def consume_all(broker, topic, partitions=1, expected=None, start=OFFSET_BEGINNING, **config):
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "unused-" + uuid.uuid4().hex,
            "enable.auto.commit": False,
            **config,
        }
    )
    consumer.assign([TopicPartition(topic, p, start) for p in range(partitions)])
    messages, deadline = [], time.time() + 30
    while time.time() < deadline and (expected is None or len(messages) < expected):
        message = consumer.poll(0.5)
        if message is None:
            if expected is None:
                break
            continue
        assert message.error() is None, message.error()
        messages.append(message)
    consumer.close()
    return messages


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_every_codec_round_trips(broker, codec):
    topic = f"codec-{codec}"
    records = [(f"k{i}".encode(), f"value-{i}".encode() * 20, None) for i in range(500)]
    delivered = produce(broker, topic, records, **{"compression.type": codec})
    assert [m.offset() for m in delivered] == list(range(500))
    messages = consume_all(broker, topic, expected=500)
    assert [(m.key(), m.value()) for m in messages] == [(k, v) for k, v, _ in records]
    assert [m.offset() for m in messages] == list(range(500))


def test_keys_and_headers_round_trip(broker):
    records = [
        (b"user-1", b"hello", [("trace", b"abc"), ("empty", b"")]),
        (None, b"no key", [("h", None)]),
        (b"user-2", None, []),
    ]
    produce(broker, "headers", records)
    messages = consume_all(broker, "headers", expected=3)
    assert messages[0].key() == b"user-1"
    assert messages[0].headers() == [("trace", b"abc"), ("empty", b"")]
    assert messages[1].key() is None and messages[1].headers() == [("h", None)]
    assert messages[2].value() is None


def test_one_mebibyte_records(broker):
    create(broker, "large", config={"max.message.bytes": str(4 * 1024 * 1024)})
    payload = bytes(range(256)) * 4096
    produce(
        broker,
        "large",
        [(None, payload, None) for _ in range(5)],
        **{"message.max.bytes": 4 * 1024 * 1024, "compression.type": "none"},
    )
    messages = consume_all(
        broker, "large", expected=5, **{"max.partition.fetch.bytes": 2 * 1024 * 1024}
    )
    assert [len(m.value()) for m in messages] == [len(payload)] * 5
    assert all(m.value() == payload for m in messages)


def test_a_fetch_answer_stays_within_fetch_max_bytes(broker):
    """Three partitions each holding a 900 KiB record, read by a consumer whose responses
    may be at most 1,000,000 bytes (librdkafka drops a connection whose response is larger
    than receive.message.max.bytes): each response carries one of them, not all three."""
    create(broker, "fetch-max-bytes", partitions=3)
    payload = bytes(range(256)) * 3600
    producer = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": "none"})
    for partition in range(3):
        producer.produce("fetch-max-bytes", value=payload, partition=partition)
    assert producer.flush(30) == 0
    messages = consume_all(broker, "fetch-max-bytes", partitions=3, expected=3, start=0,
                           **{"fetch.max.bytes": 1_000_000,
                              "receive.message.max.bytes": 1_000_512})
    assert sorted(m.partition() for m in messages) == [0, 1, 2]
    assert all(m.value() == payload for m in messages)


def test_a_batch_over_max_message_bytes_is_refused(broker):
    create(broker, "small", config={"max.message.bytes": "2000"})
    producer = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": "none"})
    errors = []
    producer.produce("small", b"x" * 5000, on_delivery=lambda e, m: errors.append(e))
    producer.flush(10)
    assert errors[0] is not None and errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE


def test_idempotent_producer_writes_each_record_once_in_order(broker):
    create(broker, "idempotent", partitions=3)
    records = [(f"key-{i % 7}".encode(), str(i).encode(), None) for i in range(3000)]
    produce(broker, "idempotent", records, **{"enable.idempotence": True, "acks": "all"})
    messages = consume_all(broker, "idempotent", partitions=3, expected=3000)
    assert sorted(int(m.value()) for m in messages) == list(range(3000))
    for partition in range(3):
        values = [int(m.value()) for m in messages if m.partition() == partition]
        assert values == sorted(values)


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_every_acks_level(broker, acks):
    topic = f"acks-{acks}"
    create(broker, topic)
    produce(broker, topic, [(None, str(i).encode(), None) for i in range(200)], acks=acks)
    messages = consume_all(broker, topic, expected=200)
    assert [int(m.value()) for m in messages] == list(range(200))


def test_consume_by_timestamp(broker):
    create(broker, "timed")
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    base = 1_700_000_000_000
    for i in range(10):
        producer.produce("timed", value=str(i).encode(), timestamp=base + i * 1000)
        producer.flush(10)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "timed"})
    found = consumer.offsets_for_times([TopicPartition("timed", 0, base + 4500)], timeout=10)
    assert found[0].offset == 5
    beyond = consumer.offsets_for_times([TopicPartition("timed", 0, base + 99_000)], timeout=10)
    assert beyond[0].offset in (-1, OFFSET_END)
    consumer.close()
    messages = consume_all(broker, "timed", start=found[0].offset, expected=5)
    assert [int(m.value()) for m in messages] == [5, 6, 7, 8, 9]
    assert messages[0].timestamp()[1] == base + 5000


def test_create_describe_and_delete_topics(broker):
    client = admin(broker)
    client.create_topics([NewTopic("orders", 3, 1)])["orders"].result(10)
    metadata = client.list_topics(timeout=10)
    assert len(metadata.topics["orders"].partitions) == 3
    assert metadata.topics["orders"].partitions[0].leader == 1

    with pytest.raises(KafkaException) as exists:
        client.create_topics([NewTopic("orders", 3, 1)])["orders"].result(10)
    assert exists.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS

    with pytest.raises(KafkaException) as bad_name:
        client.create_topics([NewTopic("bad/name", 1, 1)])["bad/name"].result(10)
    assert bad_name.value.args[0].code() == KafkaError.TOPIC_EXCEPTION

    with pytest.raises(KafkaException) as too_many:
        client.create_topics([NewTopic("replicated", 1, 3)])["replicated"].result(10)
    assert too_many.value.args[0].code() == KafkaError.INVALID_REPLICATION_FACTOR
    assert "only 1 broker(s) are registered" in too_many.value.args[0].str()

    client.create_topics([NewTopic("checked", 2, 1)], validate_only=True)["checked"].result(10)
    assert "checked" not in client.list_topics(timeout=10).topics

    client.delete_topics(["orders"])["orders"].result(10)
    assert "orders" not in client.list_topics(timeout=10).topics
    with pytest.raises(KafkaException) as missing:
        client.delete_topics(["orders"])["orders"].result(10)
    assert missing.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_deleted_then_recreated_topic_starts_empty(broker):
    produce(broker, "again", [(None, b"old", None)])
    admin(broker).delete_topics(["again"])["again"].result(10)
    create(broker, "again")
    produce(broker, "again", [(None, b"new", None)])
    assert [m.value() for m in consume_all(broker, "again", expected=1)] == [b"new"]


def test_describe_configs_reports_defaults_sources_and_synonyms(broker):
    create(broker, "configured", config={"retention.ms": "3600000"})
    resource = ConfigResource(ConfigResource.Type.TOPIC, "configured")
    configs = admin(broker).describe_configs([resource])[resource].result(10)
    retention = configs["retention.ms"]
    assert retention.value == "3600000"
    assert retention.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert [s.name for s in retention.synonyms.values()][0] == "retention.ms"
    segment = configs["segment.bytes"]
    assert segment.value == "1073741824"
    cleanup = configs["cleanup.policy"]
    assert cleanup.value == "delete" and cleanup.is_default
    assert "max.message.bytes" in configs and "min.insync.replicas" in configs


def test_incremental_alter_configs(broker):
    create(broker, "altered")
    client = admin(broker)
    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        "altered",
        incremental_configs=[
            ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND),
        ],
    )
    client.incremental_alter_configs([resource])[resource].result(10)
    described = client.describe_configs([ConfigResource("topic", "altered")])
    configs = list(described.values())[0].result(10)
    assert configs["retention.ms"].value == "1000"
    assert configs["cleanup.policy"].value == "delete,compact"

    delete = ConfigResource(
        ConfigResource.Type.TOPIC,
        "altered",
        incremental_configs=[
            ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)
        ],
    )
    client.incremental_alter_configs([delete])[delete].result(10)
    configs = list(client.describe_configs([ConfigResource("topic", "altered")]).values())[0].result(10)
    assert configs["retention.ms"].value == "604800000"


@pytest.mark.parametrize(
    "key,value,message",
    [
        ("no.such.config", "1", "Unknown topic config name: no.such.config"),
        ("retention.ms", "soon", "Not a number of type LONG"),
        ("min.insync.replicas", "0", "Value must be at least 1"),
        ("compression.type", "zip", "String must be one of"),
    ],
)
def test_invalid_configs_are_refused_with_invalid_config(broker, key, value, message):
    create(broker, "strict")
    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        "strict",
        incremental_configs=[ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)],
    )
    with pytest.raises(KafkaException) as refused:
        admin(broker).incremental_alter_configs([resource])[resource].result(10)
    assert refused.value.args[0].code() == KafkaError.INVALID_CONFIG
    assert message in refused.value.args[0].str()
    with pytest.raises(KafkaException) as at_create:
        admin(broker).create_topics([NewTopic("strict2", 1, 1, config={key: value})])["strict2"].result(10)
    assert at_create.value.args[0].code() == KafkaError.INVALID_CONFIG


def test_legacy_alter_configs_replaces_the_set(broker):
    create(broker, "legacy", config={"retention.ms": "5000"})
    resource = ConfigResource("topic", "legacy", set_config={"segment.bytes": "1048576"})
    admin(broker).alter_configs([resource])[resource].result(10)
    configs = list(admin(broker).describe_configs([ConfigResource("topic", "legacy")]).values())[0].result(10)
    assert configs["segment.bytes"].value == "1048576"
    assert configs["retention.ms"].value == "604800000"


def test_create_partitions_only_grows(broker):
    create(broker, "growing", partitions=2)
    client = admin(broker)
    client.create_partitions([NewPartitions("growing", 5)])["growing"].result(10)
    assert len(client.list_topics(timeout=10).topics["growing"].partitions) == 5
    with pytest.raises(KafkaException) as shrink:
        client.create_partitions([NewPartitions("growing", 3)])["growing"].result(10)
    assert shrink.value.args[0].code() == KafkaError.INVALID_PARTITIONS
    produce(broker, "growing", [(None, b"x", None)])


def test_delete_records_and_list_offsets(broker):
    create(broker, "trimmed")
    base = int(time.time() * 1000)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        producer.produce("trimmed", value=str(i).encode(), timestamp=base + (500 if i == 6 else i))
    producer.flush(10)
    client = admin(broker)
    partition = TopicPartition("trimmed", 0)
    latest = client.list_offsets({partition: OffsetSpec.latest()})[partition].result(10)
    assert latest.offset == 10
    newest = client.list_offsets({partition: OffsetSpec.max_timestamp()})[partition].result(10)
    assert newest.offset == 6
    deleted = client.delete_records([TopicPartition("trimmed", 0, 4)])
    assert list(deleted.values())[0].result(10).low_watermark == 4
    earliest = client.list_offsets({partition: OffsetSpec.earliest()})[partition].result(10)
    assert earliest.offset == 4
    messages = consume_all(broker, "trimmed", expected=6)
    assert [int(m.value()) for m in messages] == [4, 5, 6, 7, 8, 9]


def test_describe_cluster(broker):
    cluster = admin(broker).describe_cluster().result(10)
    assert [node.id for node in cluster.nodes] == [1]
    assert cluster.controller.id == 1
    assert len(cluster.cluster_id) == 22


def test_authorized_operations_are_every_operation_when_asked(broker):
    """With no ACLs, a client asking what it may do is told everything, as Kafka answers
    without an authorizer; a client not asking is told nothing."""
    create(broker, "operations")
    client = admin(broker)
    topic = client.describe_topics(TopicCollection(["operations"]),
                                   include_authorized_operations=True)["operations"].result(10)
    assert {op.name for op in topic.authorized_operations} == {
        "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS"}
    cluster = client.describe_cluster(include_authorized_operations=True).result(10)
    assert {op.name for op in cluster.authorized_operations} == {
        "CREATE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE",
        "ALTER", "DESCRIBE"}
    assert client.describe_cluster().result(10).authorized_operations is None

    group = "operations-group"
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    consumer.subscribe(["operations"])
    wait = time.time() + 30
    while not consumer.assignment() and time.time() < wait:
        consumer.poll(0.2)
    described = client.describe_consumer_groups([group], include_authorized_operations=True)
    operations = described[group].result(10).authorized_operations
    consumer.close()
    assert {op.name for op in operations} == {"READ", "DESCRIBE", "DELETE"}


def test_auto_created_topic_gets_the_default_partitions(broker):
    produce(broker, "auto-created", [(None, b"x", None)])
    topics = admin(broker).list_topics(timeout=10).topics
    assert len(topics["auto-created"].partitions) == 1
