"""kafka-reassign-partitions against three brokers: Kafka's flags, JSON files and messages
for --generate, --execute, --verify, --list and --cancel; a partition moved while an acks=all
producer keeps writing loses nothing; a move that cannot finish is cancelled back to its old
replicas; bad input is refused with Kafka's errors and a non-zero exit."""

import json
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from confluent_kafka import Producer

from cluster import (Cluster, assert_every_acknowledged_record_once_in_order, produce_continuously,
                     wait_until)
from conftest import partition_rows, tool

# A killed broker stays registered and unfenced this long, so a reassignment can still be
# started towards it, as towards a broker that has just died in a real cluster.
SLOW_FENCING = {"broker.session.timeout.ms": "20000"}

ROLLBACK_NOTE = "Save this to use as the --reassignment-json-file option during rollback"


@pytest.fixture(scope="module")
def cluster(request):
    with tempfile.TemporaryDirectory(prefix="potok-reassign-") as tmp:
        instance = Cluster(Path(tmp), extra=SLOW_FENCING)
        try:
            instance.start()
            yield instance
        finally:
            instance.stop()
            if request.session.testsfailed:
                print(instance.logs())


def run(*args, check=True):
    result = subprocess.run([tool(args[0]), *args[1:]], capture_output=True, text=True, timeout=90)
    assert "panicked" not in result.stderr, result.stderr
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def reassign(cluster, *args, check=True):
    return run("kafka-reassign-partitions", "--bootstrap-server", cluster.bootstrap, *args, check=check)


def write_json(directory: Path, name: str, content) -> str:
    path = directory / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def moves(*partitions):
    """A reassignment file's content: (topic, partition, replicas) per partition."""
    return {"version": 1, "partitions": [
        {"topic": t, "partition": p, "replicas": r} for t, p, r in partitions]}


def create_topic(cluster, topic, assignment):
    run("kafka-topics", "--bootstrap-server", cluster.bootstrap, "--create", "--topic", topic,
        "--replica-assignment", assignment)
    wait_until(f"{topic} is in sync", lambda: all(
        len(isr) == len(replicas.split(","))
        for _, replicas, isr in describe(cluster, topic).values()))


def describe(cluster, topic):
    return partition_rows(
        run("kafka-topics", "--bootstrap-server", cluster.bootstrap, "--describe", "--topic", topic).stdout)


def test_generate_prints_current_and_proposed_assignments(cluster, tmp_path):
    create_topic(cluster, "generated", "1:2,2:3,3:1")
    topics = write_json(tmp_path, "topics.json", {"topics": [{"topic": "generated"}], "version": 1})
    out = reassign(cluster, "--generate", "--topics-to-move-json-file", topics,
                   "--broker-list", "1,2,3").stdout.splitlines()
    assert out[0] == "Current partition replica assignment"
    assert out[2] == ""
    assert out[3] == "Proposed partition reassignment configuration"
    current, proposed = json.loads(out[1]), json.loads(out[4])
    assert current == {"version": 1, "partitions": [
        {"topic": "generated", "partition": 0, "replicas": [1, 2], "log_dirs": ["any", "any"]},
        {"topic": "generated", "partition": 1, "replicas": [2, 3], "log_dirs": ["any", "any"]},
        {"topic": "generated", "partition": 2, "replicas": [3, 1], "log_dirs": ["any", "any"]},
    ]}
    assert [p["partition"] for p in proposed["partitions"]] == [0, 1, 2]
    for p in proposed["partitions"]:
        assert p["topic"] == "generated" and p["log_dirs"] == ["any", "any"]
        assert len(set(p["replicas"])) == 2 and set(p["replicas"]) <= {1, 2, 3}
    leaders = sorted(p["replicas"][0] for p in proposed["partitions"])
    assert leaders == [1, 2, 3], "leaders go round-robin"

    narrow = reassign(cluster, "--generate", "--topics-to-move-json-file", topics,
                      "--broker-list", "1,2").stdout.splitlines()
    for p in json.loads(narrow[4])["partitions"]:
        assert sorted(p["replicas"]) == [1, 2]


def test_execute_moves_a_partition_while_a_producer_writes(cluster, tmp_path):
    create_topic(cluster, "moving", "1:2")
    stop, acked, errors = threading.Event(), [], []
    producer = threading.Thread(target=produce_continuously,
                                args=(cluster.bootstrap, "moving", stop, acked, errors))
    producer.start()
    try:
        wait_until("records are acknowledged", lambda: len(acked) > 200)
        plan = write_json(tmp_path, "plan.json", moves(("moving", 0, [2, 3])))
        out = reassign(cluster, "--execute", "--reassignment-json-file", plan).stdout.splitlines()
        assert out[0] == "Current partition replica assignment"
        assert out[1] == ""
        assert json.loads(out[2]) == {"version": 1, "partitions": [
            {"topic": "moving", "partition": 0, "replicas": [1, 2], "log_dirs": ["any", "any"]}]}
        assert out[3:] == ["", ROLLBACK_NOTE, "Successfully started partition reassignment for moving-0"]

        def verified():
            status = reassign(cluster, "--verify", "--reassignment-json-file", plan).stdout
            return status if "is completed" in status else None

        assert wait_until("the move completes", verified, timeout=60).splitlines() == [
            "Status of partition reassignment:",
            "Reassignment of partition moving-0 is completed.",
        ]
        seen = len(acked)
        wait_until("records are acknowledged after the move", lambda: len(acked) > seen + 200)
    finally:
        stop.set()
        producer.join(90)
    assert errors == []
    leader, replicas, isr = describe(cluster, "moving")[0]
    assert replicas == "2,3" and isr == {"2", "3"} and leader in (2, 3)
    assert_every_acknowledged_record_once_in_order(cluster.bootstrap, "moving", 1, acked)

    rollback = write_json(tmp_path, "rollback.json", moves(("moving", 0, [1, 2])))
    assert reassign(cluster, "--verify", "--reassignment-json-file", rollback,
                    "--preserve-throttles").stdout.splitlines() == [
        "Status of partition reassignment:",
        "There is no active reassignment of partition moving-0, but replica set is 2,3 rather than 1,2.",
    ]
    assert reassign(cluster, "--list").stdout == "No partition reassignments found.\n"


def test_bad_input_is_refused_with_kafkas_errors(cluster, tmp_path):
    create_topic(cluster, "steady", "1:2")

    def refused(*args):
        result = reassign(cluster, *args, check=False)
        assert result.returncode == 1, result.stdout + result.stderr
        return (result.stdout + result.stderr).strip()

    unknown = write_json(tmp_path, "unknown.json", {"topics": [{"topic": "nope"}], "version": 1})
    assert refused("--generate", "--topics-to-move-json-file", unknown,
                   "--broker-list", "1,2,3") == "Error: Topic nope not found."
    missing_topic = write_json(tmp_path, "missing.json", moves(("nope", 0, [1, 2])))
    assert refused("--execute", "--reassignment-json-file", missing_topic) == "Error: Topic nope not found."
    missing_partition = write_json(tmp_path, "partition.json", moves(("steady", 7, [1, 2])))
    assert refused("--execute", "--reassignment-json-file", missing_partition) == \
        "Error: Unable to find partition: steady-7"

    duplicate = write_json(tmp_path, "duplicate.json", moves(("steady", 0, [2, 2])))
    assert refused("--execute", "--reassignment-json-file", duplicate) == (
        "Error: Partition replica lists may not contain duplicate entries: "
        "steady-0 contains multiple entries for 2")
    nowhere = write_json(tmp_path, "nowhere.json", moves(("steady", 0, [1, 9])))
    assert refused("--execute", "--reassignment-json-file", nowhere) == "Error: Unknown broker id 9"
    malformed = write_json(tmp_path, "malformed.json", '{"version":1,"partitions":[')
    assert refused("--execute", "--reassignment-json-file", malformed).startswith(
        "Error: The input string is not a valid JSON")
    log_dir = write_json(tmp_path, "logdir.json", {"version": 1, "partitions": [
        {"topic": "steady", "partition": 0, "replicas": [1, 2], "log_dirs": ["/data", "any"]}]})
    assert "moving replicas between log directories is not supported" in refused(
        "--execute", "--reassignment-json-file", log_dir)

    throttled = refused("--execute", "--reassignment-json-file", duplicate, "--throttle", "1000000")
    assert throttled.startswith("--throttle is not supported: Potok brokers do not throttle replication")
    assert refused("--execute") == 'Missing required argument "[reassignment-json-file]"'
    assert refused("--list", "--broker-list", "1") == 'Option "[broker-list]" can\'t be used with action "[list]"'
    assert refused("--verify", "--list").startswith("Command must include exactly one action")

    leader, replicas, _ = describe(cluster, "steady")[0]
    assert replicas == "1,2", "nothing was moved"


def test_list_and_cancel_a_move_that_cannot_finish(cluster, tmp_path):
    create_topic(cluster, "stuck", "1:2")
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(50):
        producer.produce("stuck", value=str(i).encode())
    assert producer.flush(30) == 0

    cluster.brokers[3].kill()
    try:
        plan = write_json(tmp_path, "plan.json", moves(("stuck", 0, [1, 3])))
        started = reassign(cluster, "--execute", "--reassignment-json-file", plan).stdout
        assert started.endswith("Successfully started partition reassignment for stuck-0\n")

        listed = reassign(cluster, "--list").stdout.splitlines()
        assert listed[0] == "Current partition reassignments:"
        assert listed[1].startswith("stuck-0: replicas: ")
        assert sorted(listed[1].split(": ")[2].split(".")[0].split(",")) == ["1", "2", "3"]
        assert listed[1].endswith(" adding: 3. removing: 2.")
        assert reassign(cluster, "--verify", "--reassignment-json-file", plan).stdout.splitlines() == [
            "Status of partition reassignment:",
            "Reassignment of partition stuck-0 is still in progress.",
        ]

        other = write_json(tmp_path, "other.json", moves(("stuck", 0, [2, 1])))
        blocked = reassign(cluster, "--execute", "--reassignment-json-file", other, check=False)
        assert blocked.returncode == 1
        assert blocked.stdout.startswith("Cannot execute because there is an existing partition assignment.")

        cancelled = reassign(cluster, "--cancel", "--reassignment-json-file", plan).stdout.splitlines()
        assert cancelled == [
            "Successfully cancelled partition reassignment for: stuck-0",
            "None of the specified partition moves are active.",
        ]
        wait_until("the old replicas are back", lambda: describe(cluster, "stuck")[0][1] == "1,2")
        assert reassign(cluster, "--list").stdout == "No partition reassignments found.\n"
        assert reassign(cluster, "--cancel", "--reassignment-json-file", plan).stdout.splitlines() == [
            "None of the specified partition reassignments are active.",
            "None of the specified partition moves are active.",
        ]
    finally:
        cluster.brokers[3].start()

    consumer_view = run("kafka-console-consumer", "--bootstrap-server", cluster.bootstrap, "--topic", "stuck",
                        "--from-beginning", "--max-messages", "50", "--timeout-ms", "20000").stdout
    assert sorted(int(v) for v in consumer_view.split()) == list(range(50))
