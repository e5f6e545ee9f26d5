"""kafka-python: admin, produce and consume with the client's own protocol implementation
(API versions negotiated through ApiVersions)."""

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError


def test_admin_create_list_delete(broker):
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    client.create_topics([NewTopic("py-admin", num_partitions=2, replication_factor=1)])
    assert "py-admin" in client.list_topics()
    try:
        client.create_topics([NewTopic("py-admin", num_partitions=2, replication_factor=1)])
        raise AssertionError("creating an existing topic must fail")
    except TopicAlreadyExistsError:
        pass
    described = client.describe_topics(["py-admin"])
    assert len(described[0]["partitions"]) == 2
    client.delete_topics(["py-admin"])
    assert "py-admin" not in client.list_topics()
    client.close()


def test_produce_and_consume(broker):
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    client.create_topics([NewTopic("py-data", num_partitions=1, replication_factor=1)])
    client.close()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
    futures = [producer.send("py-data", key=b"k%d" % i, value=b"v%d" % i) for i in range(300)]
    producer.flush()
    assert [f.get(timeout=10).offset for f in futures] == list(range(300))
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, consumer_timeout_ms=5000)
    partition = TopicPartition("py-data", 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    received = [(m.key, m.value, m.offset) for m in consumer]
    consumer.close()
    assert received == [(b"k%d" % i, b"v%d" % i, i) for i in range(300)]


def test_gzip_from_kafka_python(broker):
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type="gzip")
    for i in range(50):
        producer.send("py-gzip", value=b"%d" % i)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, consumer_timeout_ms=5000)
    partition = TopicPartition("py-gzip", 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    assert [int(m.value) for m in consumer] == list(range(50))
    consumer.close()


def test_describe_log_dirs_reports_partition_sizes(broker):
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for _ in range(20):
        producer.send("py-sized", value=b"x" * 1000)
    producer.flush()
    producer.close()
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    [described] = client.describe_log_dirs()
    client.close()
    [log_dir] = described["log_dirs"]
    assert log_dir["error_code"] == 0
    assert log_dir["log_dir"] == str(broker.log_dir)
    sizes = {
        (topic["name"], p["partition_index"]): p["partition_size"]
        for topic in log_dir["topics"]
        for p in topic["partitions"]
    }
    assert sizes[("py-sized", 0)] > 20_000
