"""kill -9 under continuous production: after each restart every acknowledged record is
read back at the offset it was acknowledged with, unchanged, and offsets stay contiguous."""

import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import read_all

PARTITIONS = 2


def keep_producing(bootstrap, stop, acknowledged, idempotent):
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 2,
            "enable.idempotence": idempotent,
            "message.timeout.ms": 60000,
            "retry.backoff.ms": 50,
            "reconnect.backoff.max.ms": 200,
        }
    )

    def on_delivery(error, message):
        if error is None:
            acknowledged.append((message.partition(), message.offset(), message.value()))

    sequence = 0
    while not stop.is_set():
        try:
            producer.produce("crash", value=b"record-%08d" % sequence, on_delivery=on_delivery)
            sequence += 1
        except BufferError:
            pass
        producer.poll(0.001)
    producer.flush(60)


@pytest.mark.parametrize("idempotent", [True, False], ids=["idempotent", "plain"])
def test_acknowledged_records_survive_repeated_kill_9(broker, idempotent):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("crash", PARTITIONS, 1)])["crash"].result(10)
    stop, acknowledged = threading.Event(), []
    producer = threading.Thread(
        target=keep_producing, args=(broker.bootstrap, stop, acknowledged, idempotent)
    )
    producer.start()
    try:
        for _ in range(4):
            time.sleep(1.5)
            broker.kill()
            time.sleep(0.3)
            broker.start()
        time.sleep(1.5)
    finally:
        stop.set()
        producer.join(90)

    assert len(acknowledged) > 1000, "the producer made too little progress to prove anything"
    stored = read_all(broker.bootstrap, "crash", PARTITIONS)
    missing = [(p, o) for p, o, v in acknowledged if stored.get((p, o)) != v]
    assert missing == [], f"{len(missing)} acknowledged records lost or changed"
    for partition in range(PARTITIONS):
        offsets = sorted(o for p, o in stored if p == partition)
        assert offsets == list(range(len(offsets))), "offsets must be contiguous"
    if idempotent:
        values = list(stored.values())
        assert len(values) == len(set(values)), "the idempotent producer must not duplicate"


def test_a_corrupt_closed_segment_is_cut_at_its_last_good_batch(broker):
    """After kill -9, bytes flipped in a closed segment and in an index: the broker keeps
    every batch before the damage, drops the rest, says so, and appends after it."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("damaged", 1, 1, config={"segment.bytes": "65536"})])[
        "damaged"
    ].result(10)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 0})
    offsets = {}

    def on_delivery(error, message):
        assert error is None, error
        offsets[message.offset()] = message.value()

    for sequence in range(3000):
        producer.produce("damaged", value=b"record-%08d" % sequence + b"." * 90, on_delivery=on_delivery)
        if sequence % 100 == 0:
            producer.flush(10)
    producer.flush(10)
    assert len(offsets) == 3000
    broker.kill()

    partition_dir = broker.log_dir / "damaged-0"
    segments = sorted(partition_dir.glob("*.log"))
    assert len(segments) >= 4, "the topic must have rolled several segments"
    damaged = segments[1]
    damaged_base = int(damaged.stem)
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    first_index = segments[0].with_suffix(".index")
    index = bytearray(first_index.read_bytes())
    index[len(index) // 2] ^= 0x5A
    first_index.write_bytes(bytes(index))

    broker.start()
    stored = {offset: value for (_, offset), value in read_all(broker.bootstrap, "damaged", 1).items()}
    end = len(stored)
    assert damaged_base < end < int(segments[2].stem), "the log must end inside the damaged segment"
    assert sorted(stored) == list(range(end))
    assert all(stored[o] == offsets[o] for o in stored), "kept records must be unchanged"
    assert "recovery dropped" in broker.log_text()
    assert "later_segments_removed" in broker.log_text()

    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    appended = []
    producer.produce("damaged", value=b"after", on_delivery=lambda e, m: appended.append(m.offset()))
    producer.flush(10)
    assert appended == [end]


def test_sigterm_stops_promptly_and_the_next_start_trusts_the_logs(broker):
    """SIGTERM with idle connections and a long-polling consumer open: the broker exits 0
    within seconds, leaves Kafka's clean-shutdown marker, and the next start checks only
    the last segments; every record is still there."""
    import signal
    import socket

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("calm", 1, 1)])["calm"].result(10)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    for sequence in range(500):
        producer.produce("calm", value=b"calm-%04d" % sequence)
    producer.flush(10)
    idle = [socket.create_connection(("127.0.0.1", broker.port)) for _ in range(50)]
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": "calm", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition("calm", 0, 500)])
    consumer.poll(1)

    started = time.time()
    broker.process.send_signal(signal.SIGTERM)
    assert broker.process.wait(20) == 0
    assert time.time() - started < 15
    assert (broker.log_dir / ".kafka_cleanshutdown").exists()
    consumer.close()
    for connection in idle:
        connection.close()

    broker.start()
    assert "the last shutdown was clean" in broker.log_text()
    stored = read_all(broker.bootstrap, "calm", 1)
    assert [stored[(0, o)] for o in sorted(o for _, o in stored)] == [
        b"calm-%04d" % s for s in range(500)
    ]
