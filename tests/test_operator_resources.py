"""Topics and KsqlStreams declared in manifests beside the cluster, kept live by
`potok-operator up`: the examples come up as declared, saving an edited manifest changes
the live topic or stream (or is refused in status, the topic left as it was), a change made
by hand drifts back at the next resync, replicas move without losing a record, and deleting
a resource removes what it made. Checked with Kafka's tools, real clients and
`potok-operator get`, as a user would."""

import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from cluster import assert_every_acknowledged_record_once_in_order, produce_continuously
from conftest import BIN_DIR, ROOT, partition_rows, tool, wait_until

BOOTSTRAP = "127.0.0.1:9092"
KSQL = "http://localhost:8088"
RESYNC_SECONDS = 3

TOPIC = """apiVersion: potok.dev/v1alpha1
kind: Topic
metadata:
  name: test
spec:
  cluster: potok
  partitions: {partitions}
  replicas: {replicas}
  config:
    min.insync.replicas: "{min_insync}"
"""


class Up:
    """`potok-operator up` on a copy of the examples, with its output collected."""

    def __init__(self, root: Path):
        self.manifests = root / "manifests"
        self.data_dir = root / "data"
        self.manifests.mkdir()
        for name in ("cluster.yaml", "topics.yaml", "streams.yaml"):
            shutil.copy(ROOT / "examples" / name, self.manifests / name)
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [tool("potok-operator"), "up", "-f", str(self.manifests), "--data-dir", str(self.data_dir),
             "--broker-bin", str(BIN_DIR / "potok-broker"), "--ksql-bin", str(BIN_DIR / "potok-ksql"),
             "--resync-interval", str(RESYNC_SECONDS)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self):
        for line in self.process.stdout:
            self.output.append(line)

    def printed(self, text: str) -> bool:
        return any(text in line for line in self.output)

    def write(self, name: str, text: str) -> None:
        (self.manifests / name).write_text(text)

    def ready(self, plural: str, name: str):
        """The stored resource's Ready condition as (status, reason, message), or None."""
        stored = self.data_dir / "resources" / plural / f"{name}.json"
        if not stored.exists():
            return None
        conditions = json.loads(stored.read_text()).get("status", {}).get("conditions", [])
        ready = [c for c in conditions if c["type"] == "Ready"]
        return (ready[0]["status"], ready[0]["reason"], ready[0]["message"]) if ready else None

    def get(self, kind: str) -> str:
        return run("potok-operator", "get", kind, "--data-dir", str(self.data_dir))


def run(*args, check=True):
    result = subprocess.run([tool(args[0]), *args[1:]], capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def describe():
    return partition_rows(run("kafka-topics", "--bootstrap-server", BOOTSTRAP, "--describe", "--topic", "test"))


def topic_configs():
    text = run("kafka-configs", "--bootstrap-server", BOOTSTRAP, "--describe", "--entity-type", "topics",
               "--entity-name", "test")
    return dict(part.split("=", 1) for line in text.splitlines()[1:] for part in line.split()[:1])


def ksql(statement: str):
    request = urllib.request.Request(
        f"{KSQL}/ksql", json.dumps({"ksql": statement, "streamsProperties": {}}).encode(),
        {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def stream_names():
    return [s["name"] for s in ksql("LIST STREAMS;")[0]["streams"]]


@pytest.fixture(scope="module")
def up():
    with tempfile.TemporaryDirectory(prefix="potok-resources-") as tmp:
        instance = Up(Path(tmp))
        try:
            wait_until(lambda: instance.printed("Press Ctrl-C"), timeout=120, message="up is ready")
            yield instance
        finally:
            instance.process.terminate()
            instance.process.wait(timeout=90)
            print("".join(instance.output[-60:]))


def test_the_examples_come_up_as_declared(up):
    wait_until(lambda: (up.ready("topics", "test") or ("",))[0] == "True", message="topic test is ready")
    rows = describe()
    assert sorted(rows) == [0, 1, 2]
    assert all(len(replicas.split(",")) == 3 and len(isr) == 3 for _, replicas, isr in rows.values())
    assert topic_configs()["min.insync.replicas"] == "2"
    wait_until(lambda: "PAYMENTS" in stream_names(), message="the payments stream exists")
    table = up.get("topics").splitlines()
    assert table[0].split() == ["NAME", "CLUSTER", "TOPIC", "PARTITIONS", "REPLICAS", "READY", "AGE"]
    assert table[1].split()[:6] == ["test", "potok", "test", "3", "3", "True"]
    assert up.get("ks").splitlines()[1].split()[:6] == ["payments", "potok", "PAYMENTS", "STREAM", "<none>", "True"]
    assert up.printed("topic/test: Ready=True Created")


def test_partitions_grow_and_a_decrease_is_refused_in_status(up):
    up.write("topics.yaml", TOPIC.format(partitions=6, replicas=3, min_insync=2))
    wait_until(lambda: len(describe()) == 6, message="the topic has 6 partitions")
    wait_until(lambda: up.ready("topics", "test")[:2] == ("True", "Updated"), message="status says updated")

    up.write("topics.yaml", TOPIC.format(partitions=4, replicas=3, min_insync=2))
    wait_until(lambda: up.ready("topics", "test")[1] == "Invalid", message="the decrease is refused")
    assert "spec.partitions may not decrease" in up.ready("topics", "test")[2]
    time.sleep(RESYNC_SECONDS + 1)
    assert len(describe()) == 6, "the topic keeps its 6 partitions"
    up.write("topics.yaml", TOPIC.format(partitions=6, replicas=3, min_insync=2))
    wait_until(lambda: up.ready("topics", "test")[0] == "True", message="6 again is accepted")


def test_min_insync_replicas_is_applied_and_refused_above_the_replicas(up):
    up.write("topics.yaml", TOPIC.format(partitions=6, replicas=3, min_insync=3))
    wait_until(lambda: topic_configs()["min.insync.replicas"] == "3", message="min.insync.replicas is 3")
    up.write("topics.yaml", TOPIC.format(partitions=6, replicas=3, min_insync=4))
    wait_until(lambda: up.ready("topics", "test")[1] == "Invalid", message="4 over 3 replicas is refused")
    assert "may not be above spec.replicas" in up.ready("topics", "test")[2]
    assert topic_configs()["min.insync.replicas"] == "3"
    up.write("topics.yaml", TOPIC.format(partitions=6, replicas=3, min_insync=2))
    wait_until(lambda: topic_configs()["min.insync.replicas"] == "2", message="min.insync.replicas back to 2")


def test_replicas_move_down_and_back_without_losing_a_record(up):
    stop, acked, errors = threading.Event(), [], []
    producer = threading.Thread(target=produce_continuously, args=(BOOTSTRAP, "test", stop, acked, errors))
    producer.start()
    try:
        wait_until(lambda: len(acked) > 1000, message="records are acknowledged")
        started = time.time()
        up.write("topics.yaml", TOPIC.format(partitions=6, replicas=2, min_insync=2))
        wait_until(lambda: all(len(r.split(",")) == 2 for _, r, _ in describe().values()), timeout=60,
                   message="every partition has 2 replicas")
        wait_until(lambda: up.ready("topics", "test")[0] == "True", timeout=60, message="ready at 2 replicas")
        down = time.time() - started
        before = len(acked)
        started = time.time()
        up.write("topics.yaml", TOPIC.format(partitions=6, replicas=3, min_insync=2))
        wait_until(lambda: all(len(r.split(",")) == 3 and len(isr) == 3 for _, r, isr in describe().values()),
                   timeout=90, message="every partition has 3 replicas in sync")
        wait_until(lambda: up.ready("topics", "test")[0] == "True", timeout=60, message="ready at 3 replicas")
        back = time.time() - started
        wait_until(lambda: len(acked) > before + 1000, message="production went on")
    finally:
        stop.set()
        producer.join(90)
    assert up.printed("topic/test: Ready=False Reassigning")
    with urllib.request.urlopen("http://127.0.0.1:9309/metrics", timeout=10) as response:
        assert "\npotok_quorum_reassigning_partitions 0\n" in response.read().decode()
    assert_every_acknowledged_record_once_in_order(BOOTSTRAP, "test", 6, acked)
    print(f"replicas 3 -> 2 live in {down:.1f}s, 2 -> 3 in {back:.1f}s; {len(acked)} records, {len(errors)} errors")


def restarts_in_order(output):
    """The roll's lines, in the order printed: (broker, "restarted"|"back")."""
    events = []
    for line in output:
        for word, event in (("restarted for its new config", "restarted"), ("back in sync", "back")):
            if line.startswith("potok-broker-") and word in line:
                events.append((line.split(":")[0], event))
    return events


def test_a_broker_config_change_rolls_the_brokers_one_at_a_time(up):
    run("kafka-topics", "--bootstrap-server", BOOTSTRAP, "--create", "--topic", "rolled", "--partitions", "3",
        "--replication-factor", "3", "--config", "min.insync.replicas=2")
    stop, acked, errors = threading.Event(), [], []
    producer = threading.Thread(target=produce_continuously, args=(BOOTSTRAP, "rolled", stop, acked, errors))
    producer.start()
    try:
        wait_until(lambda: len(acked) > 1000, message="records are acknowledged")
        started = time.time()
        cluster = (ROOT / "examples" / "cluster.yaml").read_text()
        up.write("cluster.yaml", cluster.replace('num.partitions: "3"', 'num.partitions: "4"'))
        wait_until(lambda: up.printed("kafkacluster/potok: the cluster matches its spec"), timeout=240,
                   message="every broker restarted")
        rolled = time.time() - started
        before = len(acked)
        wait_until(lambda: len(acked) > before + 1000, message="production goes on after the roll")
    finally:
        stop.set()
        producer.join(90)
    events = restarts_in_order(up.output)
    brokers = [broker for broker, event in events if event == "restarted"]
    assert sorted(brokers) == ["potok-broker-0", "potok-broker-1", "potok-broker-2"], events
    for i in range(0, len(events), 2):
        assert events[i][1] == "restarted" and events[i + 1] == (events[i][0], "back"), \
            f"each broker is back in sync before the next restarts: {events}"
    assert not errors, f"acks=all writes failed during the roll: {errors[:3]}"
    assert_every_acknowledged_record_once_in_order(BOOTSTRAP, "rolled", 3, acked)
    properties = (up.data_dir / "potok-broker-1.properties").read_text()
    assert "num.partitions=4" in properties
    print(f"rolled 3 brokers in {rolled:.1f}s under acks=all production; {len(acked)} records")


def test_a_broker_is_added_and_a_removed_one_is_drained_first(up):
    cluster = (ROOT / "examples" / "cluster.yaml").read_text().replace('num.partitions: "3"', 'num.partitions: "4"')
    up.write("cluster.yaml", cluster.replace("brokers:\n    replicas: 3", "brokers:\n    replicas: 4"))
    wait_until(lambda: up.printed("potok-broker-3: started, a new broker"), timeout=60, message="broker 4 starts")
    wait_until(lambda: len(AdminClient({"bootstrap.servers": BOOTSTRAP}).list_topics(timeout=10).brokers) == 4,
               timeout=60, message="broker 4 has registered and is unfenced")
    run("kafka-topics", "--bootstrap-server", BOOTSTRAP, "--create", "--topic", "spread", "--partitions", "4",
        "--replication-factor", "3")
    rows = partition_rows(run("kafka-topics", "--bootstrap-server", BOOTSTRAP, "--describe", "--topic", "spread"))
    assert any("4" in replicas.split(",") for _, replicas, _ in rows.values()), rows

    up.write("cluster.yaml", cluster)
    wait_until(lambda: up.printed("potok-broker-3: stopped and removed"), timeout=120,
               message="broker 4 is drained and stopped")
    assert up.printed("potok-broker-3: draining: moving")
    rows = partition_rows(run("kafka-topics", "--bootstrap-server", BOOTSTRAP, "--describe", "--topic", "spread"))
    assert all("4" not in replicas.split(",") and len(isr) == 3 for _, replicas, isr in rows.values()), rows


def test_a_config_changed_by_hand_drifts_back(up):
    run("kafka-configs", "--bootstrap-server", BOOTSTRAP, "--alter", "--entity-type", "topics",
        "--entity-name", "test", "--add-config", "retention.ms=1000")
    assert topic_configs().get("retention.ms") == "1000"
    wait_until(lambda: "retention.ms" not in topic_configs(), timeout=RESYNC_SECONDS * 5,
               message="the hand-made retention.ms is removed at resync")


def test_a_stream_is_applied_queried_refused_when_broken_and_deleted(up):
    ksql("INSERT INTO payments (name, amount) VALUES ('Bob', 7);")
    request = urllib.request.Request(
        f"{KSQL}/query", json.dumps({"ksql": "SELECT * FROM payments EMIT CHANGES LIMIT 1;",
                                     "streamsProperties": {"ksql.streams.auto.offset.reset": "earliest"}}).encode(),
        {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        rows = [e["row"]["columns"] for e in json.loads(response.read()) if "row" in e]
    assert rows == [["Bob", 7]]

    broken = "\n---\n".join([(ROOT / "examples" / "streams.yaml").read_text(), """apiVersion: potok.dev/v1alpha1
kind: KsqlStream
metadata:
  name: broken
spec:
  cluster: potok
  sql: CREATE STREAM broken AS SELECT * FROM nowhere;
"""])
    up.write("streams.yaml", broken)
    wait_until(lambda: (up.ready("ksqlstreams", "broken") or ("",))[0] == "False", message="broken is reported")
    status, reason, message = up.ready("ksqlstreams", "broken")
    assert reason == "StatementFailed" and "NOWHERE" in message, message

    up.write("streams.yaml", "")
    wait_until(lambda: "PAYMENTS" not in stream_names(), message="the stream is dropped")
    wait_until(lambda: up.ready("ksqlstreams", "payments") is None, message="payments leaves the store")
    listed = run("kafka-topics", "--bootstrap-server", BOOTSTRAP, "--list").split()
    assert "payments" in listed, "deleteTopicOnDelete: false keeps the topic"
    assert up.printed("ksqlstream/payments: deleted")


def test_deleting_the_topic_resource_deletes_the_topic(up):
    up.write("topics.yaml", "")
    wait_until(lambda: "test" not in run("kafka-topics", "--bootstrap-server", BOOTSTRAP, "--list").split(),
               message="topic test is deleted")
    wait_until(lambda: up.get("topics") == "No resources found in default namespace.\n",
               message="the Topic leaves the store")
    assert up.printed("topic/test: deleted; topic test deleted")
