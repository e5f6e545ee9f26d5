"""Fixtures for the end-to-end suites: a real potok-broker process on a free loopback port
with its own data directory, driven by real Kafka clients; and a whole local cluster with
its ksql server, shared by the ksql suites."""

import gc
import json
import os
import re
import resource
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN_DIR = Path(os.environ.get("POTOK_BIN_DIR", ROOT / "target" / "debug"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class Broker:
    """One potok-broker process; `kill()` is kill -9, `restart()` keeps data and ports."""

    def __init__(self, log_dir: Path, extra: dict[str, str] | None = None,
                 open_files: int | None = None):
        self.log_dir = log_dir
        # The process's open files limit (soft and hard), when a test sets one.
        self.open_files = open_files
        self.port = free_port()
        self.metrics_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        self.extra = extra or {}
        self.output = log_dir.parent / f"broker-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        overrides = {
            "node.id": "1",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": str(self.log_dir),
            "potok.metrics.listener": f"127.0.0.1:{self.metrics_port}",
            **self.extra,
        }
        args = [str(BIN_DIR / "potok-broker"), str(ROOT / "config" / "server.properties")]
        for key, value in overrides.items():
            args += ["--override", f"{key}={value}"]
        return args

    def launch(self) -> None:
        """Starts the process without waiting for it to listen."""
        log = open(self.output, "ab")
        limit = self.open_files
        preexec = None if limit is None else \
            (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)))
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                        preexec_fn=preexec)

    def start(self) -> None:
        self.launch()
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.kill()
        self.start()

    def log_text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""


@pytest.fixture
def broker(request):
    with tempfile.TemporaryDirectory(prefix="potok-test-") as tmp:
        instance = Broker(Path(tmp) / "data", getattr(request, "param", None))
        instance.start()
        yield instance
        instance.stop()
        # Destroy the test's clients now, so they stop reconnecting to a stopped broker.
        instance.__dict__.pop("admin", None)
        gc.collect()
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print(instance.log_text()[-20000:])


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


def wait_until(check, timeout=30.0, message="condition"):
    """Calls `check` until it returns something true, and returns that."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"{message} not met within {timeout}s; last: {last!r}")


def read_all(bootstrap: str, topic: str, partitions: int, quiet_seconds: float = 3.0) -> dict:
    """Every record of `topic` from the beginning, as {(partition, offset): value}, read
    until nothing has arrived for `quiet_seconds`; an offset read twice fails."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"read-all-{topic}",
            "enable.auto.commit": False,
            "check.crcs": True,
        }
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    stored, idle_since = {}, time.time()
    while time.time() - idle_since < quiet_seconds:
        message = consumer.poll(0.2)
        if message is None:
            continue
        assert message.error() is None, message.error()
        key = (message.partition(), message.offset())
        assert key not in stored, f"offset {key} read twice"
        stored[key] = message.value()
        idle_since = time.time()
    consumer.close()
    return stored


def partition_rows(describe_text: str) -> dict[int, tuple[int, str, set[str]]]:
    """`kafka-topics --describe` output as {partition: (leader, replicas, isr)}; leader -1
    for none."""
    rows = {}
    for line in describe_text.splitlines()[1:]:
        m = re.search(r"Partition: (\d+)\tLeader: (-?\d+|none)\tReplicas: ([\d,]*)\tIsr: ([\d,]*)", line)
        if m:
            leader = -1 if m.group(2) == "none" else int(m.group(2))
            rows[int(m.group(1))] = (leader, m.group(3), set(m.group(4).split(",")) - {""})
    return rows


def pull_rows(sql: str, server: str = "http://localhost:8088") -> list:
    """The rows a pull query answers through ksql's /query."""
    request = urllib.request.Request(
        f"{server}/query", json.dumps({"ksql": sql, "streamsProperties": {}}).encode(),
        {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return [e["row"]["columns"] for e in json.loads(response.read()) if "row" in e]


def tool(name: str) -> str:
    return str(BIN_DIR / name)


@pytest.fixture(scope="module")
def ksql_cluster():
    """`potok-operator up` on examples/cluster.yaml: three coordinators, three brokers on
    127.0.0.1-3:9092, the ksql server on localhost:8088 and the console on localhost:8282;
    yields the data directory."""
    with tempfile.TemporaryDirectory(prefix="potok-ksql-") as data_dir:
        process = subprocess.Popen(
            [tool("potok-operator"), "up", "-f", str(ROOT / "examples" / "cluster.yaml"),
             "--data-dir", data_dir, "--broker-bin", str(BIN_DIR / "potok-broker"),
             "--ksql-bin", str(BIN_DIR / "potok-ksql"), "--ui-bin", str(BIN_DIR / "potok-ui")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        seen = []
        deadline = time.time() + 120
        while time.time() < deadline:
            line = process.stdout.readline()
            seen.append(line)
            if not line or line.startswith("ksql: "):
                break
        assert seen and seen[-1].startswith("ksql: http://localhost:8088"), "".join(seen)
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
        try:
            yield Path(data_dir)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=90)


def pytest_configure(config):
    config.addinivalue_line("markers", "disk_mib(size): the size of a test's small tmpfs disk")
