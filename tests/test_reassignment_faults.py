"""Partition reassignment under faults, on four brokers with an idempotent acks=all
producer running throughout: a replica being added is killed, the leader being removed is
killed, and a move that cannot finish is cancelled. Each time the move finishes or is
undone cleanly, the replicas end where Kafka says, removed replicas delete their copy, and
every acknowledged record is stored once and in order."""

import json
import subprocess
import threading
import time

import pytest

from cluster import (assert_every_acknowledged_record_once_in_order, produce_continuously,
                     running_cluster, wait_until)
from conftest import partition_rows, tool

TOPIC = "moving"


@pytest.fixture
def cluster(request):
    with running_cluster(request, "potok-reassign-", broker_ids=(1, 2, 3, 4)) as instance:
        yield instance


def run(*args, check=True):
    result = subprocess.run([tool(args[0]), *args[1:]], capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def replicas(cluster):
    """Partition 0's (leader, replicas, isr) as kafka-topics --describe prints them."""
    text = run("kafka-topics", "--bootstrap-server", cluster.bootstrap, "--describe",
               "--topic", TOPIC).stdout
    return partition_rows(text)[0]


def reassign(cluster, tmp_path, action, target):
    plan = tmp_path / "reassignment.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": TOPIC, "partition": 0, "replicas": target}]}))
    return run("kafka-reassign-partitions", "--bootstrap-server", cluster.bootstrap,
               "--reassignment-json-file", str(plan), action).stdout


def partition_dir(cluster, broker):
    return cluster.brokers[broker].log_dir / f"{TOPIC}-0"


@pytest.fixture
def production(cluster):
    """A topic on brokers 1, 2, 3 (min.insync.replicas=2) and a producer writing to it."""
    run("kafka-topics", "--bootstrap-server", cluster.bootstrap, "--create", "--topic", TOPIC,
        "--replica-assignment", "1:2:3")
    run("kafka-configs", "--bootstrap-server", cluster.bootstrap, "--alter", "--entity-type",
        "topics", "--entity-name", TOPIC, "--add-config", "min.insync.replicas=2")
    wait_until("every replica is in sync", lambda: len(replicas(cluster)[2]) == 3)
    stop, acked, errors = threading.Event(), [], []
    producer = threading.Thread(target=produce_continuously,
                                args=(cluster.bootstrap, TOPIC, stop, acked, errors))
    producer.start()
    wait_until("records are acknowledged", lambda: len(acked) > 2000)

    def finish():
        stop.set()
        producer.join(90)
        assert not producer.is_alive()
        assert_every_acknowledged_record_once_in_order(cluster.bootstrap, TOPIC, 1, acked)
        return len(acked)

    yield acked, finish
    stop.set()
    producer.join(90)


def still_in_progress(cluster, tmp_path, target):
    return "is still in progress" in reassign(cluster, tmp_path, "--verify", target)


def test_a_move_survives_the_death_of_its_new_replica_and_of_the_removed_leader(
        cluster, production, tmp_path):
    acked, finish = production
    cluster.brokers[4].kill()
    started = reassign(cluster, tmp_path, "--execute", [2, 3, 4])
    assert "Successfully started partition reassignment" in started
    assert still_in_progress(cluster, tmp_path, [2, 3, 4]), "broker 4 is down and cannot catch up"
    leader, listed, _ = replicas(cluster)
    assert (leader, set(listed.split(","))) == (1, {"1", "2", "3", "4"})
    described = run("kafka-topics", "--bootstrap-server", cluster.bootstrap, "--describe", "--topic", TOPIC).stdout
    assert "\tAdding Replicas: 4\tRemoving Replicas: 1\t" in described, described
    assert "ReplicationFactor: 3\t" in described

    before = len(acked)
    cluster.brokers[1].kill()
    wait_until("acknowledgements resume without the removed leader",
               lambda: len(acked) > before + 2000, timeout=60)
    assert replicas(cluster)[0] in (2, 3)
    assert still_in_progress(cluster, tmp_path, [2, 3, 4])

    moved_at = time.time()
    cluster.brokers[4].start()
    wait_until("the reassignment completes once broker 4 is back",
               lambda: "is completed" in reassign(cluster, tmp_path, "--verify", [2, 3, 4]),
               timeout=60)
    print(f"reassignment: completed {time.time() - moved_at:.1f}s after the new replica restarted")
    leader, listed, isr = replicas(cluster)
    assert listed == "2,3,4" and isr == {"2", "3", "4"} and leader in (2, 3, 4)
    assert partition_dir(cluster, 4).exists()

    cluster.brokers[1].start()
    wait_until("the removed broker deletes its copy", lambda: not partition_dir(cluster, 1).exists())
    count = finish()
    assert count > before + 2000


def test_a_move_that_cannot_finish_is_cancelled_and_nothing_is_lost(cluster, production, tmp_path):
    acked, finish = production
    cluster.brokers[4].kill()
    reassign(cluster, tmp_path, "--execute", [1, 2, 4])
    assert still_in_progress(cluster, tmp_path, [1, 2, 4])
    cancelled = reassign(cluster, tmp_path, "--cancel", [1, 2, 4])
    assert "Successfully cancelled partition reassignment" in cancelled
    leader, listed, isr = replicas(cluster)
    assert set(listed.split(",")) == {"1", "2", "3"} and isr == {"1", "2", "3"}
    listing = run("kafka-reassign-partitions", "--bootstrap-server", cluster.bootstrap, "--list").stdout
    assert TOPIC not in listing

    cluster.brokers[4].start()
    time.sleep(3)
    assert not partition_dir(cluster, 4).exists(), "broker 4 never became a replica"
    before = len(acked)
    wait_until("production goes on", lambda: len(acked) > before + 1000)
    finish()
