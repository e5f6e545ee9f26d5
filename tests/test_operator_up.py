"""`potok-operator up` as a user runs it: the example manifest's three coordinators, three
brokers, ksql server and console start as local processes, the walkthrough's admin steps work against
them, Ctrl-C stops everything, and the next start finds the same data. A node that keeps
dying is restarted ever more slowly while the rest of the cluster serves on."""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import BIN_DIR, ROOT, tool, wait_until


def start_up(data_dir, *extra, manifest=ROOT / "examples" / "cluster.yaml"):
    return subprocess.Popen(
        [tool("potok-operator"), "up", "-f", str(manifest), "--data-dir", str(data_dir),
         "--broker-bin", str(BIN_DIR / "potok-broker"), "--ksql-bin", str(BIN_DIR / "potok-ksql"),
         "--ui-bin", str(BIN_DIR / "potok-ui"), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def wait_for_bootstrap(process) -> str:
    deadline = time.time() + 90
    seen = []
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("Bootstrap servers: "):
            return line.split(": ", 1)[1].strip()
    raise AssertionError("potok-operator up did not become ready:\n" + "".join(seen))


def interrupt(process) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return output


def port_free(address: str) -> bool:
    host, port = address.split(":")
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) != 0


def run(*args):
    result = subprocess.run([tool(args[0]), *args[1:]], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def data_dir():
    with tempfile.TemporaryDirectory(prefix="potok-up-") as tmp:
        yield Path(tmp)


def test_up_runs_the_example_cluster_and_stops_on_ctrl_c(data_dir):
    process = start_up(data_dir)
    try:
        bootstrap = wait_for_bootstrap(process)
        assert bootstrap == "127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092"

        assert run("kafka-topics", "--bootstrap-server", "127.0.0.1:9092", "--create", "--topic", "test",
                   "--partitions", "3", "--replication-factor", "3") == "Created topic test.\n"
        described = run("kafka-topics", "--bootstrap-server", "127.0.0.1:9092", "--describe", "--topic", "test")
        rows = re.findall(r"Partition: (\d)\tLeader: (\d)\tReplicas: ([\d,]+)\tIsr: ([\d,]+)", described)
        assert sorted(leader for _, leader, _, _ in rows) == ["1", "2", "3"]
        run("kafka-configs", "--bootstrap-server", "127.0.0.1:9092", "--alter", "--entity-type", "topics",
            "--entity-name", "test", "--add-config", "min.insync.replicas=2")
        assert "min.insync.replicas=2" in run("kafka-topics", "--bootstrap-server", "127.0.0.1:9092",
                                              "--describe", "--topic", "test")

        coordinator_metrics = urllib.request.urlopen("http://127.0.0.1:9309/metrics", timeout=10).read().decode()
        assert re.search(r"^potok_quorum_brokers\{state=\"live\"\} 3$", coordinator_metrics, re.M), coordinator_metrics
        assert "potok_quorum_current_term" in coordinator_metrics
        broker_metrics = urllib.request.urlopen("http://127.0.0.2:9308/metrics", timeout=10).read().decode()
        assert "potok_requests_total" in broker_metrics
        info = urllib.request.urlopen("http://localhost:8088/info", timeout=10).read().decode()
        assert '"serverStatus":"RUNNING"' in info
        # The console shows the cluster under its name, with every node's metrics scraped.
        brokers = json.load(urllib.request.urlopen("http://localhost:8282/api/clusters/potok/brokers", timeout=10))
        assert [b["id"] for b in brokers] == [1, 2, 3]
        wait_until(lambda: json.load(urllib.request.urlopen(
            "http://localhost:8282/api/clusters/potok/metrics", timeout=10))["serversUp"] == 7,
            timeout=30, message="the console scraping three coordinators, three brokers and ksql")

        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
        for i in range(20):
            producer.produce("test", value=f"record-{i}".encode())
        assert producer.flush(30) == 0

        # A node that dies is restarted, as Kubernetes restarts a pod.
        subprocess.run(["pkill", "-9", "-f", "potok-broker-1.properties"], check=True)
        line = ""
        while "potok-broker-1 exited" not in line:
            line = process.stdout.readline()
            assert line, "potok-operator up ended instead of restarting the node"
        assert "restarting it" in line
        deadline = time.time() + 60
        while time.time() < deadline and not all(
            len(isr.split(",")) == 3 for isr in re.findall(r"Isr: ([\d,]+)", run(
                "kafka-topics", "--bootstrap-server", "127.0.0.1:9092", "--describe", "--topic", "test"))):
            time.sleep(0.5)
        described = run("kafka-topics", "--bootstrap-server", "127.0.0.1:9092", "--describe", "--topic", "test")
        assert all(len(isr.split(",")) == 3 for isr in re.findall(r"Isr: ([\d,]+)", described)), described

        second = subprocess.run([tool("potok-operator"), "up", "--data-dir", str(data_dir)],
                                capture_output=True, text=True, timeout=30)
        assert second.returncode == 1
        assert "a cluster is already running from" in second.stderr
    finally:
        output = interrupt(process)
    assert "Stopped." in output
    assert all(port_free(a) for a in ["127.0.0.1:9092", "127.0.0.2:9092", "127.0.0.3:9092", "127.0.0.1:9093",
                                      "127.0.0.1:8088", "127.0.0.1:8282"])
    assert (data_dir / "logs" / "potok-broker-0.log").exists()

    # A second start reuses the data: the topic and its records are still there.
    process = start_up(data_dir)
    try:
        bootstrap = wait_for_bootstrap(process)
        out = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", "test", "-e", "-q", "-f", "%s\n"],
                             capture_output=True, text=True, timeout=60).stdout
        assert sorted(out.split()) == sorted(f"record-{i}" for i in range(20))
    finally:
        interrupt(process)


def test_up_explains_a_bad_manifest(data_dir):
    manifest = data_dir / "bad.yaml"
    manifest.write_text((ROOT / "examples" / "cluster.yaml").read_text().replace(
        "  coordinators:\n    replicas: 3", "  coordinators:\n    replicas: 2"))
    result = subprocess.run([tool("potok-operator"), "up", "-f", str(manifest), "--data-dir", str(data_dir / "d")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "spec.coordinators.replicas must be 1, 3, 5 or 7: a Raft quorum needs an odd number of voters" in result.stderr
    missing = subprocess.run([tool("potok-operator"), "up", "-f", str(data_dir / "nope.yaml")],
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode == 1
    assert "cannot read" in missing.stderr and "nope.yaml" in missing.stderr


class Output:
    """The operator's output from here on, read by a thread of its own as it comes."""

    def __init__(self, process):
        self.lines = []
        self.thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.thread.start()

    def _read(self, process):
        for line in process.stdout:
            self.lines.append(line)

    def text(self) -> str:
        return "".join(list(self.lines))


def pids_matching(pattern) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def node_pids(data_dir, node) -> list[int]:
    """The processes running `node` of the cluster in `data_dir` (by its properties file)."""
    return pids_matching(re.escape(str(data_dir.resolve() / f"{node}.properties")))


def test_a_node_that_keeps_dying_is_restarted_with_backoff_while_the_rest_serve(data_dir):
    # A lower cap than the default minute keeps the six restarts within the test's time.
    process = start_up(data_dir, "--max-restart-delay", "4")
    output = None
    try:
        bootstrap = wait_for_bootstrap(process)
        output = Output(process)
        run("kafka-topics", "--bootstrap-server", "127.0.0.1:9092", "--create", "--topic", "survivors",
            "--partitions", "3", "--replication-factor", "3")

        victim = "potok-broker-1"
        for kills in range(1, 7):
            pid = wait_until(lambda: node_pids(data_dir, victim), timeout=30,
                             message=f"{victim} running before kill {kills}")[0]
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: output.text().count(f"{victim} exited") >= kills, timeout=30,
                       message=f"kill {kills} of {victim} reported")
        assert process.poll() is None, output.text()

        text = output.text()
        exits = re.findall(r"^(\S+) exited \((.*)\); restarting it in (\d+)s", text, re.M)
        assert [name for name, _, _ in exits] == [victim] * 6, text
        assert {status for _, status, _ in exits} == {"signal: 9 (SIGKILL)"}, text
        assert [int(delay) for _, _, delay in exits] == [1, 2, 4, 4, 4, 4], text
        assert f"last lines of {victim}:" in text, text

        # The other brokers serve a replicated topic meanwhile.
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
        for i in range(30):
            producer.produce("survivors", value=f"survivor-{i}".encode())
        assert producer.flush(60) == 0
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "survivors-check",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.assign([TopicPartition("survivors", p, 0) for p in range(3)])
        values = set()
        deadline = time.time() + 60
        while time.time() < deadline and len(values) < 30:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                values.add(message.value().decode())
        consumer.close()
        assert values == {f"survivor-{i}" for i in range(30)}

        # The node comes back and catches up.
        wait_until(lambda: f"{victim} started again" in output.text() and node_pids(data_dir, victim),
                   timeout=30, message=f"{victim} restarted")

        def fully_replicated():
            described = run("kafka-topics", "--bootstrap-server", "127.0.0.1:9092", "--describe",
                            "--topic", "survivors")
            isrs = re.findall(r"Isr: ([\d,]+)", described)
            return len(isrs) == 3 and all(len(isr.split(",")) == 3 for isr in isrs)

        wait_until(fully_replicated, timeout=60, message=f"{victim} back in every ISR")
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=90)
        if output is not None:
            output.thread.join(timeout=10)
    text = output.text() if output else ""
    assert process.returncode == 0, text
    assert "Stopped." in text
    assert pids_matching(re.escape(str(data_dir.resolve())) + "/") == [], "nodes outlived the operator"
    assert all(port_free(a) for a in ["127.0.0.1:9092", "127.0.0.2:9092", "127.0.0.3:9092", "127.0.0.1:9093",
                                      "127.0.0.1:8088"])
