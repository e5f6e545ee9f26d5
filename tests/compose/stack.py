"""Acting on docker-compose.yaml's stack as a user does: `docker-compose`, `docker exec`
into the containers, and an idempotent producer on the host through the published ports."""

import os
import re
import subprocess
import threading
import time
from pathlib import Path

from confluent_kafka import Producer

from conftest import partition_rows

ROOT = Path(__file__).resolve().parents[2]
# Compose v1 (`docker-compose`) unless POTOK_COMPOSE names another, e.g. "docker compose".
COMPOSE = [*os.environ.get("POTOK_COMPOSE", "docker-compose").split(), "--file", str(ROOT / "docker-compose.yaml")]
BOOTSTRAP = "localhost:9092,localhost:9093,localhost:9094"
COORDINATORS = {101: "coordinator1", 102: "coordinator2", 103: "coordinator3"}
BROKERS = {1: "kafka-broker1", 2: "kafka-broker2", 3: "kafka-broker3"}
HEALTHY = [*COORDINATORS.values(), *BROKERS.values(), "ksqldb-server", "kafka-ui"]
FIGURES: list[str] = []


def run(command: list[str], timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"
    return result


def compose(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return run([*COMPOSE, *args], timeout=timeout)


def shell(container: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
    """`command` typed into bash inside `container`."""
    return run(["docker", "exec", container, "bash", "-c", command], check=check)


def health(container: str) -> str:
    result = run(["docker", "inspect", "-f", "{{.State.Health.Status}}", container], check=False)
    return result.stdout.strip()


def wait_healthy(containers: list[str], timeout: float = 240) -> None:
    deadline = time.time() + timeout
    for container in containers:
        while health(container) != "healthy":
            if time.time() > deadline:
                logs = run([*COMPOSE, "logs", "--no-color", "--tail", "40"], check=False).stdout
                raise AssertionError(f"{container} is {health(container)!r} after {timeout}s\n{logs}")
            time.sleep(1)


def metrics(container: str) -> str:
    """The node's /metrics, fetched inside its container (so a disconnected node answers)."""
    request = "GET /metrics HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n"
    result = shell(
        container,
        f'exec 3<>/dev/tcp/127.0.0.1/9308 && printf "{request}" >&3 && cat <&3',
        check=False,
    )
    return result.stdout


def gauge(text: str, name: str) -> int | None:
    match = re.search(rf"^{name} (-?\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def quorum_leader(coordinators: list[str]) -> str | None:
    """The coordinator these coordinators all name as the quorum's leader, when they agree
    and it is one of them that says it leads; None otherwise."""
    seen = {name: metrics(name) for name in coordinators}
    named = {gauge(text, "potok_quorum_leader_id") for text in seen.values()}
    if len(named) != 1 or not named <= COORDINATORS.keys():
        return None
    leader = COORDINATORS[named.pop()]
    if leader not in seen or gauge(seen[leader], "potok_quorum_is_leader") != 1:
        return None
    return leader


def active_coordinator() -> str:
    leader = quorum_leader(list(COORDINATORS.values()))
    assert leader, "the coordinators do not agree on a leader"
    return leader


def describe(topic: str) -> dict[int, tuple[int, str, set[str]]]:
    """kafka-topics --describe inside kafka-broker1, as {partition: (leader, replicas, isr)}."""
    return partition_rows(shell(
        "kafka-broker1",
        f"kafka-topics --bootstrap-server kafka1:19092 --describe --topic {topic}",
        check=False,
    ).stdout)


def fully_in_sync(topic: str, partitions: int) -> bool:
    rows = describe(topic)
    return len(rows) == partitions and all(len(isr) == 3 and leader > 0 for leader, _, isr in rows.values())


class Load:
    """An idempotent acks=all producer on the host, numbering its records, in a thread;
    remembers every acknowledgement with the time it arrived."""

    def __init__(self, topic: str):
        self.topic = topic
        self.acked: list[tuple[int, int, int, float]] = []
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._produce, daemon=True)
        self.thread.start()

    def _produce(self) -> None:
        producer = Producer({
            "bootstrap.servers": BOOTSTRAP, "acks": "all", "enable.idempotence": True,
            "linger.ms": 5, "message.timeout.ms": 120000,
        })

        def delivered(error, message):
            if error is None:
                self.acked.append((message.partition(), message.offset(), int(message.value()), time.time()))
            else:
                self.errors.append(str(error))

        n = 0
        while not self.stopping.is_set():
            try:
                producer.produce(self.topic, value=str(n).encode(), on_delivery=delivered)
                n += 1
            except BufferError:
                producer.poll(0.1)
                continue
            producer.poll(0)
            if n % 20 == 0:
                time.sleep(0.01)
        producer.flush(150)

    def wait_for_more(self, count: int, timeout: float = 90) -> None:
        target = len(self.acked) + count
        deadline = time.time() + timeout
        while len(self.acked) < target:
            assert time.time() < deadline, f"only {len(self.acked)} of {target} acknowledged; errors: {self.errors[-3:]}"
            time.sleep(0.1)

    def longest_silence(self, since: float) -> float:
        """The longest time without an acknowledgement after `since`: the unavailability."""
        times = [since] + sorted(t for *_, t in self.acked if t >= since)
        return max(b - a for a, b in zip(times, times[1:]))

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(180)
        assert not self.thread.is_alive(), "the producer did not finish"
