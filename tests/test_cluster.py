"""A replicated cluster of three coordinators and three brokers under faults, driven by
real clients (confluent-kafka, kcat) and Kafka's CLI tools: Kafka's promise that with
replication factor 3, min.insync.replicas=2 and acks=all, no acknowledged record is lost
while at most one broker fails."""

import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from cluster import (Node, assert_every_acknowledged_record_once_in_order, produce_continuously,
                     running_cluster, wait_until)
from conftest import partition_rows, tool


@pytest.fixture
def cluster(request):
    with running_cluster(request, "potok-cluster-") as instance:
        yield instance


def run(*args, check=True):
    result = subprocess.run([tool(args[0]), *args[1:]], capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def describe(cluster, topic):
    """kafka-topics --describe, as {partition: (leader, replicas, isr)}."""
    return partition_rows(
        run("kafka-topics", "--bootstrap-server", cluster.bootstrap, "--describe", "--topic", topic).stdout
    )


def create_replicated_topic(cluster, topic="test", partitions=3):
    run("kafka-topics", "--bootstrap-server", cluster.bootstrap, "--create", "--topic", topic,
        "--partitions", str(partitions), "--replication-factor", "3")
    run("kafka-configs", "--bootstrap-server", cluster.bootstrap, "--alter", "--entity-type", "topics",
        "--entity-name", topic, "--add-config", "min.insync.replicas=2")
    wait_until("every replica is in sync",
               lambda: all(len(isr) == 3 for _, _, isr in describe(cluster, topic).values()))


def test_the_seed_steps_on_three_brokers(cluster):
    b = cluster.bootstrap
    assert run("kafka-topics", "--bootstrap-server", b, "--create", "--topic", "test",
               "--partitions", "3", "--replication-factor", "3").stdout == "Created topic test.\n"
    first = run("kafka-topics", "--bootstrap-server", b, "--describe", "--topic", "test").stdout.splitlines()
    assert "PartitionCount: 3\tReplicationFactor: 3" in first[0]
    rows = describe(cluster, "test")
    assert sorted(leader for leader, _, _ in rows.values()) == [1, 2, 3], "leaders are spread"
    for leader, replicas, isr in rows.values():
        assert sorted(replicas.split(",")) == ["1", "2", "3"]
        assert replicas.split(",")[0] == str(leader), "the preferred replica leads"
        assert isr == {"1", "2", "3"}

    run("kafka-configs", "--bootstrap-server", b, "--alter", "--entity-type", "topics",
        "--entity-name", "test", "--add-config", "min.insync.replicas=2")
    again = run("kafka-topics", "--bootstrap-server", b, "--describe", "--topic", "test").stdout
    assert "Configs: min.insync.replicas=2" in again.splitlines()[0]
    under = run("kafka-topics", "--bootstrap-server", b, "--describe", "--under-replicated-partitions").stdout
    assert under == ""

    # Every broker answers with the same metadata: produce through one, read through kcat.
    producer = Producer({"bootstrap.servers": cluster.brokers[3].bootstrap, "acks": "all"})
    for i in range(30):
        producer.produce("test", key=str(i).encode(), value=f"v{i}".encode())
    assert producer.flush(30) == 0
    out = subprocess.run(["kcat", "-b", cluster.brokers[1].bootstrap, "-C", "-t", "test", "-e", "-q",
                          "-f", "%s\n"], capture_output=True, text=True, timeout=60).stdout
    assert sorted(out.split()) == sorted(f"v{i}" for i in range(30))


def test_killing_a_leader_loses_no_acknowledged_record(cluster):
    create_replicated_topic(cluster)
    stop, acked, errors = threading.Event(), [], []
    producer = threading.Thread(target=produce_continuously,
                                args=(cluster.bootstrap, "test", stop, acked, errors))
    producer.start()
    wait_until("records are acknowledged", lambda: len(acked) > 2000)
    leader = describe(cluster, "test")[0][0]
    cluster.brokers[leader].kill()
    killed_at = time.time()
    before = len(acked)
    wait_until("acknowledgements resume after the leader died", lambda: len(acked) > before + 2000, timeout=60)
    failover = time.time() - killed_at
    stop.set()
    producer.join(90)
    assert not producer.is_alive()

    rows = describe(cluster, "test")
    assert rows[0][0] not in (leader, -1), "partition 0 has a new leader"
    assert all(str(leader) not in isr for _, _, isr in rows.values()), "the dead broker left every ISR"

    assert_every_acknowledged_record_once_in_order(cluster.bootstrap, "test", 3, acked)
    print(f"failover: acknowledgements resumed {failover:.1f}s after kill -9 of the leader")

    # The killed broker comes back, catches up and rejoins every ISR.
    cluster.brokers[leader].start()
    wait_until("the restarted broker rejoins the ISR",
               lambda: all(str(leader) in isr for _, _, isr in describe(cluster, "test").values()),
               timeout=60)


def test_two_brokers_down_refuses_acks_all_then_recovers(cluster):
    create_replicated_topic(cluster, partitions=1)
    leader = describe(cluster, "test")[0][0]
    others = [i for i in cluster.brokers if i != leader]
    run("kafka-topics", "--bootstrap-server", cluster.bootstrap, "--create", "--topic", "solo",
        "--replica-assignment", str(others[0]))
    for i in others:
        cluster.brokers[i].stop()
    wait_until("the ISR shrinks to the leader",
               lambda: describe(cluster, "test")[0][2] == {str(leader)}, timeout=60)
    under = run("kafka-topics", "--bootstrap-server", cluster.brokers[leader].bootstrap, "--describe",
                "--under-min-isr-partitions").stdout
    assert "Topic: test\tPartition: 0" in under
    unavailable = run("kafka-topics", "--bootstrap-server", cluster.brokers[leader].bootstrap, "--describe",
                      "--unavailable-partitions").stdout
    assert "Topic: solo\tPartition: 0\tLeader: none" in unavailable, unavailable
    assert "Topic: test" not in unavailable

    producer = Producer({"bootstrap.servers": cluster.brokers[leader].bootstrap, "acks": "all",
                         "retries": 0, "message.timeout.ms": 5000})
    outcome = []
    producer.produce("test", value=b"refused", on_delivery=lambda e, m: outcome.append(e))
    producer.flush(15)
    assert outcome and outcome[0] is not None
    assert outcome[0].name() in ("NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS_AFTER_APPEND"), outcome[0]

    for i in others:
        cluster.brokers[i].start()
    wait_until("every replica is back in sync",
               lambda: describe(cluster, "test")[0][2] == {"1", "2", "3"}, timeout=60)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    producer.produce("test", value=b"accepted")
    assert producer.flush(30) == 0


def create_topic(admin, name, partitions):
    """True once the topic exists (a retried creation may find it already created)."""
    try:
        admin.create_topics([NewTopic(name, partitions, 3)])[name].result(10)
    except KafkaException as error:
        if error.args[0].name() != "TOPIC_ALREADY_EXISTS":
            raise
    return True


def test_killing_the_active_coordinator_forgets_nothing(cluster):
    create_replicated_topic(cluster, "before")
    active = cluster.active_coordinator()
    active.kill()
    killed_at = time.time()
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    wait_until("a topic can be created again", lambda: create_topic(admin, "after", 2), timeout=30)
    took = time.time() - killed_at
    assert took < 15, f"metadata changes resumed only after {took:.1f}s"
    topics = admin.list_topics(timeout=10).topics
    assert {"before", "after"} <= set(topics)
    assert "min.insync.replicas=2" in run("kafka-topics", "--bootstrap-server", cluster.bootstrap,
                                          "--describe", "--topic", "before").stdout

    active.start()
    # The restarted coordinator catches up and the quorum survives losing another one.
    time.sleep(2)
    cluster.active_coordinator().kill()
    wait_until("a third topic can be created", lambda: create_topic(admin, "third", 1), timeout=30)
    assert {"before", "after", "third"} <= set(admin.list_topics(timeout=10).topics)


GROUP_MEMBER = r"""
import sys
from confluent_kafka import Consumer
consumer = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "workers",
                     "auto.offset.reset": "earliest", "enable.auto.commit": False,
                     "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
consumer.subscribe(["work"])
while True:
    message = consumer.poll(0.2)
    if message is None or message.error():
        continue
    consumer.commit(message=message, asynchronous=False)
    print(message.partition(), message.offset(), flush=True)
"""


def test_a_killed_group_member_hands_its_partitions_over(cluster):
    run("kafka-topics", "--bootstrap-server", cluster.bootstrap, "--create", "--topic", "work",
        "--partitions", "3", "--replication-factor", "3")
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})

    def produce(count):
        for i in range(count):
            producer.produce("work", key=str(i).encode(), value=b"x", partition=i % 3)
        assert producer.flush(30) == 0

    produce(150)
    outputs = [tempfile.NamedTemporaryFile("w+", prefix="member-", delete=False) for _ in range(3)]
    members = [subprocess.Popen([".venv/bin/python", "-c", GROUP_MEMBER, cluster.bootstrap],
                                stdout=out, stderr=subprocess.STDOUT) for out in outputs]

    def consumed(i):
        rows = [line.split() for line in Path(outputs[i].name).read_text().splitlines()]
        return [(int(p), int(o)) for p, o in rows if p.isdigit() and o.isdigit()]

    try:
        wait_until("all 150 records are consumed",
                   lambda: len({r for i in range(3) for r in consumed(i)}) == 150, timeout=90)
        # The first member's current partitions: those whose latest record it consumed.
        victim = next(i for i in range(3) if consumed(i))
        victim_partitions = {p for p, o in consumed(victim) if o == 49}
        assert victim_partitions
        members[victim].kill()
        members[victim].wait()
        last_committed = {p: max(o for q, o in consumed(victim) if q == p) for p in victim_partitions}
        survivors = [i for i in range(3) if i != victim]
        before_kill = {i: len(consumed(i)) for i in survivors}
        produce(150)
        wait_until("the survivors consume what followed",
                   lambda: len({r for i in survivors for r in consumed(i)} | set(consumed(victim))) == 300,
                   timeout=90)
        for partition in victim_partitions:
            resumed = min(o for i in survivors for p, o in consumed(i)[before_kill[i]:] if p == partition)
            assert resumed == last_committed[partition] + 1, "resumed from the committed offset"
    finally:
        for member in members:
            member.kill()
            member.wait()


def test_committed_offsets_survive_the_group_coordinators_death(cluster):
    run("kafka-topics", "--bootstrap-server", cluster.bootstrap, "--create", "--topic", "orders",
        "--partitions", "2", "--replication-factor", "3")
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(40):
        producer.produce("orders", value=str(i).encode(), partition=i % 2)
    assert producer.flush(30) == 0

    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "billing",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.assign([TopicPartition("orders", 0, 0), TopicPartition("orders", 1, 0)])
    consumed = 0
    deadline = time.time() + 30
    while consumed < 25 and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            consumed += 1
    consumer.commit(asynchronous=False)
    committed = {tp.partition: tp.offset for tp in consumer.committed(
        [TopicPartition("orders", 0), TopicPartition("orders", 1)], timeout=10)}
    consumer.close()
    assert sum(committed.values()) == 25

    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    description = admin.describe_consumer_groups(["billing"])["billing"].result(10)
    coordinator = description.coordinator.id
    cluster.brokers[coordinator].kill()

    survivors = ",".join(n.bootstrap for i, n in cluster.brokers.items() if i != coordinator)

    def committed_after_failover():
        fresh = Consumer({"bootstrap.servers": survivors, "group.id": "billing"})
        try:
            found = fresh.committed([TopicPartition("orders", 0), TopicPartition("orders", 1)], timeout=5)
            return {tp.partition: tp.offset for tp in found}
        finally:
            fresh.close()

    assert wait_until("a new coordinator serves the committed offsets",
                      lambda: committed_after_failover() == committed, timeout=60)
    out = run("kafka-consumer-groups", "--bootstrap-server", survivors, "--describe", "--group", "billing").stdout
    for partition, offset in committed.items():
        assert re.search(rf"billing\s+orders\s+{partition}\s+{offset}\s", out), out


def test_a_stopping_broker_hands_its_leaderships_over_first(cluster):
    create_replicated_topic(cluster)
    leader = describe(cluster, "test")[0][0]
    cluster.brokers[leader].stop()
    # Without the controlled shutdown the quorum would notice only when the session lapses
    # (3 s here); with it, leadership has moved by the time the process is gone.
    rows = wait_until("leadership moved off the stopped broker",
                      lambda: (r := describe(cluster, "test")) and all(l != leader for l, _, _ in r.values()) and r,
                      timeout=1.5)
    assert all(str(leader) not in isr for _, _, isr in rows.values())
    assert "controlled shutdown: leadership handed to in-sync replicas" in cluster.brokers[leader].log_text()

    cluster.brokers[leader].start()
    wait_until("the broker rejoins every ISR",
               lambda: all(len(isr) == 3 for _, _, isr in describe(cluster, "test").values()), timeout=60)
    # Preferred-leader election (checked every 2 s here) gives partition 0 back to it.
    wait_until("the preferred replica leads again",
               lambda: describe(cluster, "test")[0][0] == leader, timeout=30)


def test_a_node_pointed_at_another_nodes_data_refuses_to_start(cluster):
    foreign = cluster.root / "foreign"
    foreign.mkdir()
    (foreign / "meta.properties").write_text("version=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\nnode.id=4\n")
    intruder = Node(cluster, 4, "broker")
    intruder.log_dir = foreign
    intruder.start(wait=False)
    assert intruder.process.wait(timeout=60) != 0
    assert re.search(r"belongs to node.id 4 of cluster AAAAAAAAAAAAAAAAAAAAAA, but this node is node.id 4 "
                     r"of cluster [A-Za-z0-9_-]{22}; point log.dirs at this node's own directory",
                     intruder.log_text()), intruder.log_text()

    # A coordinator restarted on another coordinator's directory is refused as well.
    third = cluster.coordinators[103]
    third.stop()
    third.log_dir = cluster.coordinators[102].log_dir
    third.start(wait=False)
    assert third.process.wait(timeout=60) != 0
    assert "belongs to node.id 102" in third.log_text()


def test_followers_waiting_on_a_leader_start_fetching_a_new_topic_at_once(request):
    """A follower's fetch waits at its leader for up to replica.fetch.wait.max.ms while no
    records come. A topic created meanwhile must not wait for that poll to end: with a 30 s
    wait, acks=all records to a new topic (which every in-sync follower must fetch first)
    are still acknowledged well within the producer's 20 s timeout. Kafka requires the
    wait to be at most replica.lag.time.max.ms, else idle followers leave the ISR while
    they wait."""
    with running_cluster(request, "potok-fetch-wait-",
                         extra={"replica.fetch.wait.max.ms": "30000",
                                "replica.lag.time.max.ms": "60000"}) as instance:
        create_replicated_topic(instance, "idle")
        # Followers fetched the idle topic once and now wait on its leaders.
        time.sleep(2)
        create_replicated_topic(instance, "fresh")
        producer = Producer({"bootstrap.servers": instance.bootstrap, "acks": "all",
                             "message.timeout.ms": 20000})
        delivered = []
        for partition in range(3):
            producer.produce("fresh", value=f"record {partition}".encode(), partition=partition,
                             on_delivery=lambda error, message: delivered.append(error))
        assert producer.flush(30) == 0
        assert delivered == [None, None, None]
        assert all(len(isr) == 3 for _, _, isr in describe(instance, "fresh").values())
