"""Consumer groups with real clients: subscription through the classic rebalance protocol,
partitions moving when a member leaves or dies, committed offsets kept across restarts."""

import subprocess
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer


def create(broker, topic, partitions):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(10)


def fill(broker, topic, count, partitions):
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(count):
        producer.produce(topic, value=str(i).encode(), partition=i % partitions)
    producer.flush(10)


def member(broker, group, **config):
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            **config,
        }
    )
    return consumer


def poll_until(consumers, done, timeout=30):
    """Polls the consumers in turn until `done(received)` or the timeout. Polls do not wait:
    a consumer with nothing to read would otherwise hold up the others for its whole wait
    each round, and one with a few hundred records queued would deliver about ten a second.
    Only a round that brings nothing pauses briefly."""
    received = {id(c): [] for c in consumers}
    deadline = time.time() + timeout
    while time.time() < deadline and not done(received):
        idle = True
        for consumer in consumers:
            message = consumer.poll(0)
            if message is not None and message.error() is None:
                received[id(consumer)].append(message)
                idle = False
        if idle:
            time.sleep(0.05)
    return received


VICTIM = """
import sys
from confluent_kafka import Consumer
consumer = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
                     "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                     "enable.auto.commit": False,
                     "heartbeat.interval.ms": 500})
consumer.subscribe(["shared"])
announced = False
while True:
    consumer.poll(0.1)
    if consumer.assignment() and not announced:
        print("assigned", flush=True)
        announced = True
"""


def commit_if_any(consumer):
    """Commits what the consumer has read; auto-commit may already have done it."""
    try:
        consumer.commit(asynchronous=False)
    except KafkaException as error:
        assert error.args[0].code() == KafkaError._NO_OFFSET, error


def test_three_members_share_partitions_and_a_killed_ones_move(broker):
    create(broker, "shared", 6)
    fill(broker, "shared", 600, 6)
    group = "g-" + uuid.uuid4().hex
    victim = subprocess.Popen(
        [sys.executable, "-c", VICTIM, broker.bootstrap, group], stdout=subprocess.PIPE, text=True
    )
    consumers = [member(broker, group, **{"enable.auto.commit": False}) for _ in range(2)]
    for consumer in consumers:
        consumer.subscribe(["shared"])
    try:
        deadline = time.time() + 30
        while time.time() < deadline and sorted(len(c.assignment()) for c in consumers) != [2, 2]:
            for consumer in consumers:
                consumer.poll(0.1)
        assert sorted(len(c.assignment()) for c in consumers) == [2, 2]
        assert victim.stdout.readline().strip() == "assigned"
        victim_partitions = set(range(6)) - {tp.partition for c in consumers for tp in c.assignment()}

        # Each survivor reads its partitions to the end and commits, then the third member
        # is killed with SIGKILL: it never leaves, so only its session timeout frees its
        # partitions.
        def read_to_the_end(_):
            return all(tp.offset == 100 for c in consumers for tp in c.position(c.assignment()))

        poll_until(consumers, read_to_the_end)
        assert read_to_the_end(None)
        for consumer in consumers:
            commit_if_any(consumer)
        victim.kill()
        victim.wait()
        killed_at = time.time()
        after_kill = []
        while time.time() < killed_at + 30 and sum(len(c.assignment()) for c in consumers) < 6:
            for consumer in consumers:
                message = consumer.poll(0.1)
                if message is not None and message.error() is None:
                    after_kill.append((message.partition(), message.offset()))
        assert sum(len(c.assignment()) for c in consumers) == 6
        assert time.time() - killed_at < 20, "the dead member's session should expire in ~6 s"

        # The survivors read the victim's partitions from the start (it committed nothing)
        # and, on their own partitions, only what is new (their offsets were committed).
        own = {tp.partition for c in consumers for tp in c.assignment()} - victim_partitions
        fill(broker, "shared", 60, 6)

        def distinct(received):
            return {(m.partition(), m.offset()) for ms in received.values() for m in ms}
        expected = {(p, o) for p in victim_partitions for o in range(110)}
        expected |= {(p, o) for p in own for o in range(100, 110)}
        seen = set(after_kill)
        seen |= distinct(poll_until(consumers, lambda r: expected <= distinct(r) | seen, timeout=20))
        assert seen == expected
    finally:
        victim.kill()
        for consumer in consumers:
            consumer.close()


def test_committed_offsets_survive_a_broker_restart(broker):
    create(broker, "kept", 2)
    fill(broker, "kept", 100, 2)
    consumer = member(broker, "keeper", **{"enable.auto.commit": False})
    consumer.subscribe(["kept"])
    received = poll_until([consumer], lambda r: sum(map(len, r.values())) >= 100)
    assert sum(map(len, received.values())) == 100
    consumer.commit(asynchronous=False)
    consumer.close()

    broker.restart()
    fill(broker, "kept", 10, 2)
    consumer = member(broker, "keeper")
    committed = consumer.committed([TopicPartition("kept", 0), TopicPartition("kept", 1)], timeout=10)
    assert sorted(tp.offset for tp in committed) == [50, 50]
    consumer.subscribe(["kept"])
    received = poll_until([consumer], lambda r: sum(map(len, r.values())) >= 10)
    values = sorted(int(m.value()) for m in received[id(consumer)])
    assert values == list(range(10))
    consumer.close()


def test_kafka_python_group_consumer(broker):
    create(broker, "py-group", 3)
    fill(broker, "py-group", 90, 3)
    consumer = KafkaConsumer(
        "py-group",
        bootstrap_servers=broker.bootstrap,
        group_id="py",
        auto_offset_reset="earliest",
        consumer_timeout_ms=8000,
    )
    values = sorted(int(m.value) for m in consumer)
    consumer.commit()
    consumer.close()
    assert values == list(range(90))


def test_admin_lists_describes_and_deletes_groups(broker):
    create(broker, "described", 1)
    fill(broker, "described", 5, 1)
    consumer = member(broker, "watched")
    consumer.subscribe(["described"])
    poll_until([consumer], lambda r: sum(map(len, r.values())) >= 5)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    listed = admin.list_consumer_groups().result(10)
    assert "watched" in [g.group_id for g in listed.valid]
    [description] = admin.describe_consumer_groups(["watched"])["watched"].result(10), 
    assert description.state.name == "STABLE"
    assert len(description.members) == 1
    assert description.members[0].assignment.topic_partitions[0].topic == "described"
    consumer.commit(asynchronous=False)

    refused = admin.delete_consumer_groups(["watched"])["watched"]
    try:
        refused.result(10)
        raise AssertionError("deleting a group with members must fail")
    except Exception as error:
        assert error.args[0].code() == KafkaError.NON_EMPTY_GROUP
    consumer.close()
    admin.delete_consumer_groups(["watched"])["watched"].result(10)
    assert "watched" not in [g.group_id for g in admin.list_consumer_groups().result(10).valid]
