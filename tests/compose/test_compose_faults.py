"""Container faults under an idempotent acks=all producer on the host, on a topic with
replication factor 3 and min.insync.replicas=2: a partition leader killed, a broker paused,
a broker and the active coordinator cut off the network, the whole stack restarted. After
each, every acknowledged record is stored once and in order, every replica is back in sync
and the quorum has one leader. The longest wait for an acknowledgement is reported."""

import contextlib
import time
import uuid

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from compose.stack import (
    BOOTSTRAP, BROKERS, COMPOSE, COORDINATORS, FIGURES, HEALTHY, Load, active_coordinator, describe,
    fully_in_sync, quorum_leader, run, wait_healthy,
)
from conftest import read_all, wait_until

PARTITIONS = 3


@pytest.fixture
def topic(stack):
    name = "faults-" + uuid.uuid4().hex[:8]
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    admin.create_topics([NewTopic(name, PARTITIONS, 3, config={"min.insync.replicas": "2"})])[name].result(30)
    wait_until(lambda: fully_in_sync(name, PARTITIONS), timeout=60, message=f"{name} fully in sync")
    return name


@contextlib.contextmanager
def cut_off(victim: str):
    """`victim` disconnected from its network, and connected again with its aliases when
    the block ends, also when it fails, so no later test runs against a broken stack."""
    network = network_of(victim)
    aliases = aliases_of(victim, network)
    run(["docker", "network", "disconnect", network, victim])
    try:
        yield
    finally:
        run(["docker", "network", "connect", *[f"--alias={a}" for a in aliases], network, victim])


def network_of(container: str) -> str:
    template = "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}"
    return run(["docker", "inspect", "-f", template, container]).stdout.split()[0]


def aliases_of(container: str, network: str) -> list[str]:
    template = f'{{{{join (index .NetworkSettings.Networks "{network}").Aliases " "}}}}'
    hostname = run(["docker", "inspect", "-f", "{{.Config.Hostname}}", container]).stdout.strip()
    aliases = run(["docker", "inspect", "-f", template, container]).stdout.split()
    return sorted(set(aliases) | {hostname})


def recovered(name: str) -> None:
    """Waits until every replica of `name` is in sync and one coordinator leads."""
    wait_until(lambda: fully_in_sync(name, PARTITIONS), timeout=120, message="every replica back in sync")
    wait_until(lambda: quorum_leader(list(COORDINATORS.values())), timeout=60,
               message="one quorum leader all coordinators agree on")


def nothing_lost(name: str, load: Load) -> None:
    stored = read_all(BOOTSTRAP, name, PARTITIONS)
    for partition, offset, value, _ in load.acked:
        assert stored.get((partition, offset)) == str(value).encode(), (
            f"acknowledged record {value} at {partition}/{offset} is not stored there"
        )
    for partition in range(PARTITIONS):
        values = [int(v) for (p, _), v in sorted(stored.items()) if p == partition]
        assert values == sorted(set(values)), f"partition {partition}: a duplicate or out of order"


def leader_of_partition_zero(name: str) -> str:
    return BROKERS[describe(name)[0][0]]


def report(fault: str, load: Load, since: float) -> None:
    FIGURES.append(
        f"{fault}: longest wait for an acknowledgement {load.longest_silence(since):.1f}s "
        f"({len(load.acked)} records acknowledged)"
    )


def test_a_killed_partition_leader(topic):
    load = Load(topic)
    load.wait_for_more(2000)
    victim = leader_of_partition_zero(topic)
    since = time.time()
    run(["docker", "kill", victim])
    load.wait_for_more(2000)
    run(["docker", "start", victim])
    wait_healthy([victim])
    recovered(topic)
    load.stop()
    report(f"docker kill {victim} (leader of partition 0)", load, since)
    nothing_lost(topic, load)


def test_a_paused_broker(topic):
    load = Load(topic)
    load.wait_for_more(2000)
    victim = leader_of_partition_zero(topic)
    since = time.time()
    run(["docker", "pause", victim])
    load.wait_for_more(2000)
    time.sleep(5)
    run(["docker", "unpause", victim])
    recovered(topic)
    load.wait_for_more(1000)
    load.stop()
    report(f"docker pause {victim} (leader of partition 0)", load, since)
    nothing_lost(topic, load)


def test_a_broker_cut_off_the_network(topic):
    load = Load(topic)
    load.wait_for_more(2000)
    victim = leader_of_partition_zero(topic)
    since = time.time()
    with cut_off(victim):
        load.wait_for_more(2000)
    recovered(topic)
    load.wait_for_more(1000)
    load.stop()
    report(f"docker network disconnect {victim} (leader of partition 0)", load, since)
    nothing_lost(topic, load)


def test_the_active_coordinator_cut_off_the_network(topic):
    load = Load(topic)
    load.wait_for_more(2000)
    victim = active_coordinator()
    since = time.time()
    with cut_off(victim):
        connected = [name for name in COORDINATORS.values() if name != victim]
        wait_until(lambda: quorum_leader(connected), timeout=60,
                   message="the connected coordinators elect a leader")
        # The new leader's metadata reaches the brokers: a topic created now is usable.
        after = "after-" + uuid.uuid4().hex[:8]
        admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
        admin.create_topics([NewTopic(after, 1, 3)])[after].result(60)
        load.wait_for_more(2000)
    recovered(topic)
    load.stop()
    report(f"docker network disconnect {victim} (the active coordinator)", load, since)
    nothing_lost(topic, load)


def test_a_full_compose_restart(topic):
    load = Load(topic)
    load.wait_for_more(2000)
    since = time.time()
    run([*COMPOSE, "restart"], timeout=300)
    wait_healthy(HEALTHY)
    load.wait_for_more(2000, timeout=150)
    recovered(topic)
    load.stop()
    report("docker-compose restart", load, since)
    nothing_lost(topic, load)
