"""A local multi-process cluster for the end-to-end suites, shaped like the seed's: three
coordinators (ids 101-103) and three brokers (ids 1-3), each a potok-broker process on
loopback ports with its own data directory and log file. Nodes can be killed (-9),
stopped (SIGTERM) and restarted with their data."""

import contextlib
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import BIN_DIR, ROOT, free_port, wait_for_port

# Short timeouts so failover tests run in seconds; the semantics are Kafka's.
FAST_FAILOVER = {
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
    "replica.lag.time.max.ms": "5000",
    "leader.imbalance.check.interval.seconds": "2",
    "group.initial.rebalance.delay.ms": "0",
    "offsets.topic.num.partitions": "6",
    "offsets.topic.replication.factor": "3",
    "default.replication.factor": "3",
}


class Node:
    def __init__(self, cluster: "Cluster", node_id: int, roles: str):
        self.cluster = cluster
        self.node_id = node_id
        self.roles = roles
        self.port = free_port()
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log_dir = cluster.root / f"node-{node_id}"
        self.output = cluster.root / f"node-{node_id}.log"
        # Settings of this node alone, over the cluster's.
        self.extra: dict[str, str] = {}
        self.process: subprocess.Popen | None = None

    def start(self, wait: bool = True) -> None:
        listeners = []
        if "broker" in self.roles:
            listeners.append(f"PLAINTEXT://127.0.0.1:{self.port}")
        if "coordinator" in self.roles:
            listeners.append(f"CONTROLLER://127.0.0.1:{self.controller_port}")
        overrides = {
            "node.id": str(self.node_id),
            "process.roles": self.roles,
            "controller.quorum.voters": self.cluster.voters(),
            "listeners": ",".join(listeners),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": str(self.log_dir),
            "potok.metrics.listener": "",
            **FAST_FAILOVER,
            **self.cluster.extra,
            **self.extra,
        }
        args = [str(BIN_DIR / "potok-broker"), str(ROOT / "config" / "server.properties")]
        for key, value in overrides.items():
            args += ["--override", f"{key}={value}"]
        log = open(self.output, "ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        wait_for_port(self.port if "broker" in self.roles else self.controller_port, timeout=60)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.running():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.running():
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""


class Cluster:
    def __init__(self, root: Path, extra: dict[str, str] | None = None,
                 broker_ids: tuple[int, ...] = (1, 2, 3)):
        self.root = root
        self.extra = extra or {}
        self.coordinators = {i: Node(self, i, "coordinator") for i in (101, 102, 103)}
        self.brokers = {i: Node(self, i, "broker") for i in broker_ids}
        self.nodes = {**self.coordinators, **self.brokers}

    def voters(self) -> str:
        return ",".join(
            f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.coordinators.values()
        )

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.brokers.values())

    def start(self) -> None:
        # Brokers wait for a quorum before listening, so start every node first.
        for node in self.nodes.values():
            node.start(wait=False)
        for node in self.nodes.values():
            node.wait_ready()

    def active_coordinator(self) -> Node:
        """The coordinator that most recently announced it leads the quorum."""
        latest = None
        for node in self.coordinators.values():
            if not node.running():
                continue
            for line in node.log_text().splitlines():
                if "leading the metadata quorum" in line:
                    stamp = line.split()[0]
                    if latest is None or stamp > latest[0]:
                        latest = (stamp, node)
        if latest is None:
            raise AssertionError("no coordinator leads the quorum")
        return latest[1]

    def stop(self) -> None:
        # Brokers first, so their controlled shutdowns still find a quorum.
        for group in (self.brokers, self.coordinators):
            for node in group.values():
                if node.running():
                    node.process.terminate()
            for node in group.values():
                node.stop()

    def logs(self) -> str:
        return "\n".join(
            f"===== node {n.node_id} =====\n{n.log_text()[-15000:]}" for n in self.nodes.values()
        )


@contextlib.contextmanager
def running_cluster(request, prefix: str, **options):
    """A started `Cluster(**options)` in a temporary directory, stopped afterwards; its
    nodes' logs are printed when the test using it failed."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        instance = Cluster(Path(tmp), **options)
        try:
            instance.start()
            yield instance
        finally:
            instance.stop()
        if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
            print(instance.logs())


def wait_until(what: str, condition, timeout: float = 30.0, interval: float = 0.2):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = condition()
            if last:
                return last
        except Exception as error:  # a client error while the cluster settles
            last = error
        time.sleep(interval)
    raise AssertionError(f"timed out waiting until {what} (last: {last!r})")


def produce_continuously(bootstrap, topic, stop, acked, errors):
    """An idempotent acks=all producer sending numbered records until `stop` is set."""
    producer = Producer({
        "bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
        "linger.ms": 5, "message.timeout.ms": 60000,
    })

    def delivered(error, message):
        if error is None:
            acked.append((message.partition(), message.offset(), message.value().decode()))
        else:
            errors.append(error)

    n = 0
    while not stop.is_set():
        producer.produce(topic, value=str(n).encode(), on_delivery=delivered)
        producer.poll(0)
        n += 1
        if n % 50 == 0:
            time.sleep(0.01)
    producer.flush(60)


def consume_all(bootstrap, topic, partitions):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{time.time()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    admin_highs = {}
    for p in range(partitions):
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        admin_highs[p] = high
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    seen = {p: [] for p in range(partitions)}
    deadline = time.time() + 60
    while time.time() < deadline and any(len(seen[p]) < admin_highs[p] for p in seen):
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        seen[message.partition()].append((message.offset(), message.value().decode()))
    consumer.close()
    return seen


def assert_every_acknowledged_record_once_in_order(bootstrap, topic, partitions, acked):
    """What `acks=all` promises: every acknowledged record is stored, and each partition
    holds each record once, in the order it was produced."""
    seen = consume_all(bootstrap, topic, partitions)
    for partition, offset, value in acked:
        assert (offset, value) in seen[partition], f"acknowledged record {partition}/{offset} lost"
    for partition, records in seen.items():
        offsets = [offset for offset, _ in records]
        assert offsets == sorted(set(offsets)), "each record once, in order"
        values = [int(v) for _, v in records]
        assert values == sorted(values), f"partition {partition} out of producer order"
        assert len(set(values)) == len(values), f"partition {partition} holds a duplicate"
