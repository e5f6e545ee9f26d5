"""A full disk under acks=all production: the data directory sits on a small tmpfs that fills
while confluent-kafka produces. Producers get errors, never acknowledgements, for what was
not stored; the broker whose disk failed stops, a restart on a still-full disk is refused
with a message naming the directory and its free space, and once space is freed every
acknowledged record reads back once, intact and in order. With three brokers, the one whose
disk fills hands its leaderships over and production goes on. A coordinator whose metadata
log's disk fills stops, the other two go on, and once space is freed it catches up."""

import os
import subprocess
import tempfile
import re
import threading
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import KafkaException, Producer, TopicCollection
from confluent_kafka.admin import AdminClient, NewTopic

from cluster import Cluster
from conftest import Broker, free_port, read_all, wait_for_port, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")

VALUE_BYTES = 1000


class SmallDisk:
    """A tmpfs of `size_mib` mounted on a fresh directory, with ways to fill and free it."""

    def __init__(self, root: Path, size_mib: int):
        self.path = root / "disk"
        self.path.mkdir()
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(self.path)],
            check=True,
        )
        self.fillers: list[Path] = []

    def free_bytes(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def fill(self, leave_bytes: int = 0) -> None:
        """Writes filler until at most `leave_bytes` are free (all of it when 0)."""
        filler = self.path / f"filler-{len(self.fillers)}"
        self.fillers.append(filler)
        chunk = b"\0" * 65536
        with open(filler, "wb") as f:
            try:
                while self.free_bytes() > leave_bytes:
                    f.write(chunk[: max(4096, min(len(chunk), self.free_bytes() - leave_bytes))])
                    f.flush()
            except OSError:
                pass

    def free(self) -> None:
        for filler in self.fillers:
            filler.unlink(missing_ok=True)
        self.fillers.clear()

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)


@pytest.fixture
def small_disk(request):
    """48 MiB unless the test asks for more (`@pytest.mark.disk_mib(n)`)."""
    marker = request.node.get_closest_marker("disk_mib")
    with tempfile.TemporaryDirectory(prefix="potok-disk-") as tmp:
        disk = SmallDisk(Path(tmp), marker.args[0] if marker else 48)
        try:
            yield disk
        finally:
            disk.unmount()


class KeepProducing(threading.Thread):
    """acks=all, idempotent production of numbered records, noting what is acknowledged
    and what failed."""

    def __init__(self, bootstrap: str, topic: str):
        super().__init__(daemon=True)
        self.bootstrap, self.topic = bootstrap, topic
        self.stop = threading.Event()
        self.acknowledged: list[tuple[int, int, bytes]] = []
        self.failed = 0

    def on_delivery(self, error, message):
        if error is None:
            self.acknowledged.append((message.partition(), message.offset(), message.value()))
        else:
            self.failed += 1

    def run(self):
        producer = Producer(
            {
                "bootstrap.servers": self.bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "message.timeout.ms": 8000,
                "retry.backoff.ms": 100,
                "reconnect.backoff.max.ms": 500,
            }
        )
        sequence = 0
        while not self.stop.is_set():
            value = b"%010d" % sequence + b"x" * (VALUE_BYTES - 10)
            try:
                producer.produce(self.topic, value=value, on_delivery=self.on_delivery)
                sequence += 1
            except BufferError:
                producer.poll(0.05)
            producer.poll(0)
        producer.flush(30)

    def finish(self):
        self.stop.set()
        self.join(60)
        assert not self.is_alive(), "the producer did not finish"


def assert_acknowledged_records_intact(acknowledged, stored):
    missing = [(p, o) for p, o, v in acknowledged if stored.get((p, o)) != v]
    assert missing == [], f"{len(missing)} acknowledged records lost or changed: {missing[:5]}"
    values = list(stored.values())
    assert len(values) == len(set(values)), "a record was stored twice"
    for partition in {p for p, _ in stored}:
        offsets = sorted(o for p, o in stored if p == partition)
        assert offsets == list(range(offsets[0], offsets[0] + len(offsets))), "offsets have gaps"
        sequence = [stored[(partition, o)][:10] for o in offsets]
        assert sequence == sorted(sequence), "records are out of order"


def stray_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def test_a_full_disk_loses_no_acknowledged_record(small_disk):
    broker = Broker(small_disk.path / "data")
    broker.output = small_disk.path.parent / "broker.log"
    broker.start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic("full", 1, 1, config={"segment.bytes": "2097152"})])[
            "full"
        ].result(10)
        small_disk.fill(leave_bytes=12 * 1024 * 1024)
        producer = KeepProducing(broker.bootstrap, "full")
        producer.start()
        wait_until(lambda: broker.process.poll() is not None, 90, "the broker stopping on a full disk")
        assert broker.process.returncode != 0
        producer.finish()
        log = broker.log_text()
        assert "No space left on device" in log, log[-3000:]
        assert str(small_disk.path / "data") in log and "bytes free of" in log, log[-3000:]
        assert producer.failed > 0, "records that were not stored must fail, not be acknowledged"
        assert len(producer.acknowledged) > 5000

        small_disk.fill()
        broker.launch()
        assert broker.process.wait(60) != 0, "a broker must not start on a disk without room"
        refusal = broker.log_text()[len(log):]
        assert "No space left on device" in refusal and "bytes free of" in refusal, refusal
        assert str(small_disk.path / "data") in refusal, refusal
        assert stray_files(small_disk.path) == []

        small_disk.free()
        broker.start()
        stored = read_all(broker.bootstrap, "full", 1)
        assert_acknowledged_records_intact(producer.acknowledged, stored)

        resumed, after = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"}), []
        for sequence in range(200):
            resumed.produce(
                "full",
                value=b"%010d" % (9_000_000_000 + sequence),
                on_delivery=lambda e, m: after.append((m.partition(), m.offset(), m.value())),
            )
        resumed.flush(30)
        assert len(after) == 200 and after[0][1] == max(o for _, o in stored) + 1
        assert_acknowledged_records_intact(
            producer.acknowledged + after, read_all(broker.bootstrap, "full", 1)
        )
    finally:
        broker.stop()
        if broker.process and broker.process.returncode not in (0, None, -15):
            print(broker.log_text()[-20000:])


# Room enough that broker 3, restarted on its freed disk, can catch up on everything.
@pytest.mark.disk_mib(512)
def test_one_brokers_full_disk_moves_leadership_and_loses_nothing(small_disk, tmp_path):
    cluster = Cluster(tmp_path)
    failing = cluster.brokers[3]
    failing.log_dir = small_disk.path / "data"
    cluster.start()
    try:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        admin.create_topics(
            [NewTopic("shared", 3, 3, config={"min.insync.replicas": "2"})]
        )["shared"].result(20)
        producer = KeepProducing(cluster.bootstrap, "shared")
        producer.start()
        wait_until(lambda: len(producer.acknowledged) > 2000, 60, "production under way")
        small_disk.fill(leave_bytes=4 * 1024 * 1024)
        wait_until(lambda: not failing.running(), 90, "broker 3 stopping on its full disk")
        assert "No space left on device" in failing.log_text()
        acknowledged_at_failure = len(producer.acknowledged)
        wait_until(
            lambda: len(producer.acknowledged) > acknowledged_at_failure + 2000,
            60,
            "production going on through the other brokers",
        )
        producer.finish()

        small_disk.free()
        failing.start(wait=False)
        wait_for_port(failing.port, timeout=60)
        stored = read_all(cluster.bootstrap, "shared", 3)
        assert_acknowledged_records_intact(producer.acknowledged, stored)

        def back_in_sync():
            topic = admin.describe_topics(TopicCollection(["shared"]))["shared"].result(10)
            return all(3 in [r.id for r in p.isr] for p in topic.partitions)

        wait_until(back_in_sync, 90, "broker 3 back in every ISR")
    finally:
        cluster.stop()
        failing.kill()


def quorum_metric(node, name: str) -> float | None:
    """One of a coordinator's `potok_quorum_*` gauges, or None while it does not answer."""
    try:
        with urllib.request.urlopen(node.metrics_url, timeout=5) as answer:
            text = answer.read().decode()
    except OSError:
        return None
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


def test_a_coordinators_full_disk_stops_it_and_the_quorum_goes_on(small_disk, tmp_path):
    cluster = Cluster(tmp_path)
    for node in cluster.coordinators.values():
        port = free_port()
        node.extra["potok.metrics.listener"] = f"127.0.0.1:{port}"
        node.metrics_url = f"http://127.0.0.1:{port}/metrics"
    failing = cluster.coordinators[103]
    failing.log_dir = small_disk.path / "metadata"
    cluster.start()
    try:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        created = []

        def create_topic() -> bool:
            name = f"topic-{len(created)}"
            try:
                admin.create_topics([NewTopic(name, 1, 3)])[name].result(20)
            except KafkaException:
                return False
            created.append(name)
            return True

        wait_until(create_topic, 30, "a first topic created")
        small_disk.fill()
        wait_until(lambda: create_topic() and not failing.running(), 60,
                   "coordinator 103 stopping on its full disk")
        log = failing.log_text()
        assert "the metadata log in" in log and "No space left on device" in log, log[-2000:]
        assert failing.process.returncode != 0
        for _ in range(3):
            wait_until(create_topic, 30, "a topic created by the other two coordinators")

        small_disk.free()
        failing.start()
        leader = next(n for n in cluster.coordinators.values() if n is not failing)
        wait_until(
            lambda: quorum_metric(failing, "potok_quorum_topics") == len(created)
            and quorum_metric(failing, "potok_quorum_applied_index")
            == quorum_metric(leader, "potok_quorum_applied_index"),
            60,
            "coordinator 103 caught up with every topic",
        )
        assert stray_files(small_disk.path) == []
    finally:
        cluster.stop()
        failing.kill()
