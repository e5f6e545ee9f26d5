"""Declarative resources under `potok-operator up`, measured from outside as a user sees them.

1. How long a saved manifest edit takes to be live, observed through the Kafka protocol
   (confluent-kafka's AdminClient), for three kinds of edit: a Topic document added (the
   topic exists with its partitions led), a Topic's partitions raised by one, and a topic
   config changed (retention.ms). `up` rereads its manifests once a second, so every figure
   includes waiting for that read; each edit is saved at a random point of the second so
   the wait is sampled evenly (about half a second on average) rather than hidden.
2. How fast `kafka-reassign-partitions` moves a partition: one partition of 1 GiB on one
   broker (replication factor 1) reassigned to another, timed from `--execute` until
   `--verify` reports it completed; meanwhile a small acks=all producer on another topic
   reports its rate, beside the same producer's rate just before the move.

The move runs first, on the fresh cluster, then the edits. Prints figures; asserts nothing.
Every process it starts is stopped by its id and its temporary directory is removed. The
cluster uses `up`'s fixed addresses (127.0.0.1-3:9092, 9093, 9308, 9309 and 8088): it waits
until they are free before starting.

    .venv/bin/python bench/operator_bench.py [--bin-dir target/release] [--edits 50] [--move-mib 1024]
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = "127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092"
# `up`'s fixed listeners: brokers and coordinators on 127.0.0.1-3, ksql on 127.0.0.1:8088.
UP_ADDRESSES = [(f"127.0.0.{n}", port) for n in (1, 2, 3) for port in (9092, 9093, 9308, 9309)]
UP_ADDRESSES.append(("127.0.0.1", 8088))
# How often the Kafka side is asked whether an edit is live yet.
POLL = 0.02

TOPIC = """---
apiVersion: potok.dev/v1alpha1
kind: Topic
metadata:
  name: {name}
spec:
  cluster: potok
  partitions: {partitions}
  replicas: {replicas}
  config: {config}
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", default=str(ROOT / "target" / "release"))
    parser.add_argument("--edits", type=int, default=50, help="edits of each kind")
    parser.add_argument("--move-mib", type=int, default=1024, help="size of the reassigned partition")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.stdout.reconfigure(line_buffering=True)

    wait_for_free_addresses()
    root = Path(tempfile.mkdtemp(prefix="potok-operator-bench-", dir="/var/tmp"))
    up = None
    try:
        up = Up(root, Path(args.bin_dir))
        up.wait_ready()
        # Quiet: librdkafka would log every broker the cluster stops at the end.
        admin = AdminClient({"bootstrap.servers": BOOTSTRAP, "log_level": 0})
        wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 3)
        reassignment(up, admin, Path(args.bin_dir), args.move_mib)
        edit_latencies(up, admin, args.edits)
    finally:
        if up:
            up.stop()
            up.report_complaints()
        shutil.rmtree(root, ignore_errors=True)


class Up:
    """`potok-operator up` on a directory holding the example cluster and the bench's Topics."""

    def __init__(self, root: Path, bin_dir: Path):
        self.manifests = root / "manifests"
        self.manifests.mkdir()
        shutil.copy(ROOT / "examples" / "cluster.yaml", self.manifests / "cluster.yaml")
        self.topics: dict[str, tuple[int, int, dict]] = {}
        self.log = root / "up.log"
        self.process = subprocess.Popen(
            [bin_dir / "potok-operator", "up", "-f", self.manifests, "--data-dir", root / "data",
             "--broker-bin", bin_dir / "potok-broker", "--ksql-bin", bin_dir / "potok-ksql"],
            stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        self.data = root / "data"

    def wait_ready(self):
        deadline = time.monotonic() + 180
        while "Press Ctrl-C" not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"potok-operator up did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def save(self, name: str, partitions: int, replicas: int, config: dict) -> float:
        """Declares the topic and saves the manifest at once (rename, so `up` never reads
        half a file); returns when it was saved."""
        self.topics[name] = (partitions, replicas, config)
        text = "".join(TOPIC.format(name=n, partitions=p, replicas=r, config=json.dumps(c))
                       for n, (p, r, c) in self.topics.items())
        draft = self.manifests / "bench.yaml.draft"
        draft.write_text(text)
        os.replace(draft, self.manifests / "bench.yaml")
        return time.monotonic()

    def stop(self):
        """SIGTERM, as Ctrl-C: up stops its nodes; any it left are stopped by their ids."""
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)],
                                  capture_output=True, text=True).stdout.split()
        self.process.terminate()
        try:
            self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pid in children:
            try:
                os.kill(int(pid), signal.SIGKILL)
                print(f"potok-operator left process {pid} running; killed it")
            except ProcessLookupError:
                pass

    def report_complaints(self):
        lines = self.log.read_text().splitlines()
        odd = [line for line in lines
               if re.search(r"fail|error|cannot|again|panic|Ready=False", line, re.IGNORECASE)]
        print(f"\npotok-operator up printed {len(lines)} lines, {len(odd)} of them about trouble or waiting")
        for line in odd[:20]:
            print(f"  {line}")


def wait_for_free_addresses(timeout=900):
    """Waits until nothing listens on `up`'s addresses (a test suite may hold them)."""
    deadline = time.monotonic() + timeout
    while True:
        busy = [f"{host}:{port}" for host, port in UP_ADDRESSES if listening(host, port)]
        if not busy:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"addresses still in use: {', '.join(busy)}")
        print(f"waiting for {', '.join(busy)} to be free", flush=True)
        time.sleep(10)


def listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


# ---- 1. From a saved edit to a live change ----

def edit_latencies(up: Up, admin: AdminClient, edits: int):
    print(f"\n== manifest edit to live change, seen through the Kafka protocol, {edits} edits each "
          "(includes up to 1 s until up rereads the manifests)")
    created = []
    for i in range(edits):
        name = f"bench-created-{i}"
        created.append(time_edit(lambda: up.save(name, 3, 3, {}),
                                 lambda: partitions_led(admin, name) == 3))
    report("topic created (3 partitions, 3 replicas)", created)

    up.save("bench-grown", 1, 3, {})
    wait_until(lambda: partitions_led(admin, "bench-grown") == 1)
    grown = []
    for partitions in range(2, edits + 2):
        grown.append(time_edit(lambda: up.save("bench-grown", partitions, 3, {}),
                               lambda: partitions_led(admin, "bench-grown") == partitions))
    report("partitions + 1 (replicas 3)", grown)

    up.save("bench-configured", 1, 3, {"retention.ms": "3600000"})
    wait_until(lambda: topic_config(admin, "bench-configured", "retention.ms") == "3600000")
    configured = []
    for i in range(1, edits + 1):
        retention = str(3600000 + i * 1000)
        configured.append(time_edit(
            lambda: up.save("bench-configured", 1, 3, {"retention.ms": retention}),
            lambda: topic_config(admin, "bench-configured", "retention.ms") == retention))
    report("config retention.ms changed", configured)


def time_edit(save, is_live) -> float:
    """Seconds from saving an edit until `is_live`, the edit saved at a random point of
    up's one-second reading cycle."""
    time.sleep(random.uniform(0, 1))
    saved = save()
    wait_until(is_live)
    return time.monotonic() - saved


def partitions_led(admin: AdminClient, topic: str) -> int:
    """How many partitions the topic has with a leader, from a Metadata request."""
    metadata = admin.list_topics(timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return 0
    return sum(1 for p in metadata.partitions.values() if p.leader >= 0)


def topic_config(admin: AdminClient, topic: str, key: str):
    resource = ConfigResource("topic", topic)
    try:
        entries = admin.describe_configs([resource])[resource].result(timeout=10)
    except Exception:
        return None
    entry = entries.get(key)
    return entry.value if entry else None


def wait_until(check, timeout=120):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"not live after {timeout} s")
        time.sleep(POLL)


def report(what: str, seconds: list[float]):
    print(f"{what:42} median {statistics.median(seconds):.2f} s, worst {max(seconds):.2f} s, "
          f"best {min(seconds):.2f} s")


# ---- 2. Reassignment throughput ----

def reassignment(up: Up, admin: AdminClient, bin_dir: Path, move_mib: int):
    brokers = sorted(admin.list_topics(timeout=10).brokers)
    source, target = brokers[0], brokers[1]
    print(f"\n== reassignment: 1 partition of {move_mib} MiB, replication factor 1, broker {source} -> {target}")
    create(admin, NewTopic("bench-moved", num_partitions=1, replica_assignment=[[source]]))
    create(admin, NewTopic("bench-side", num_partitions=3, replication_factor=3))

    started = time.monotonic()
    fill("bench-moved", move_mib)
    filled = time.monotonic() - started
    print(f"filled with acks=1, 128 KiB records: {move_mib * 2**20 / filled / 1e6:.0f} MB/s")

    side = SideProducer("bench-side")
    side.start()
    time.sleep(10)
    before = side.figures_since(time.monotonic() - 10)

    plan = up.data.parent / "move.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": "bench-moved", "partition": 0, "replicas": [target]}]}))
    tool = [bin_dir / "kafka-reassign-partitions", "--bootstrap-server", BOOTSTRAP,
            "--reassignment-json-file", plan]
    started = time.monotonic()
    subprocess.run([*tool, "--execute"], check=True, capture_output=True)
    verifications = 0
    while True:
        verifications += 1
        verify = subprocess.run([*tool, "--verify"], capture_output=True, text=True)
        if "Reassignment of partition bench-moved-0 is completed." in verify.stdout:
            break
        if "still in progress" not in verify.stdout:
            raise SystemExit(f"--verify said: {verify.stdout}{verify.stderr}")
        time.sleep(0.2)
    moving = time.monotonic() - started
    during = side.figures_since(started)
    side.stop()

    moved = log_bytes(up.data / broker_name(target) / "bench-moved-0")
    print(f"moved {moved / 1e6:.0f} MB in {moving:.1f} s: {moved / moving / 1e6:.0f} MB/s "
          f"(--execute to --verify completed, {verifications} --verify runs 0.2 s apart)")
    print(f"acks=all producer on bench-side (1 KiB records, 16 in flight, RF 3): "
          f"before {before}; during the move {during}")


def create(admin: AdminClient, topic: NewTopic):
    admin.create_topics([topic])[topic.topic].result(timeout=30)
    wait_until(lambda: partitions_led(admin, topic.topic) > 0)


def fill(topic: str, mib: int):
    """Writes `mib` MiB to partition 0 as fast as librdkafka will: 128 KiB records, large batches."""
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "1", "linger.ms": 5,
                         "batch.size": 1000000, "queue.buffering.max.kbytes": 262144})
    value = os.urandom(128 * 1024)
    for _ in range(mib * 8):
        while True:
            try:
                producer.produce(topic, value, partition=0)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(120) != 0:
        raise SystemExit("the fill did not finish")


class SideProducer(threading.Thread):
    """A small acks=all producer: 1 KiB records, at most 16 unacknowledged, records each
    acknowledgement's time and latency."""

    def __init__(self, topic: str):
        super().__init__(daemon=True)
        self.topic = topic
        self.acks: list[tuple[float, float]] = []
        self.failures = 0
        self.stopping = threading.Event()

    def run(self):
        producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all", "linger.ms": 0})
        in_flight = [0]

        def delivered(error, _message, sent):
            in_flight[0] -= 1
            if error:
                self.failures += 1
            else:
                now = time.monotonic()
                self.acks.append((now, now - sent))

        value = b"x" * 1024
        while not self.stopping.is_set():
            while in_flight[0] < 16:
                sent = time.monotonic()
                producer.produce(self.topic, value, on_delivery=lambda e, m, s=sent: delivered(e, m, s))
                in_flight[0] += 1
            producer.poll(0.05)
        producer.flush(30)

    def figures_since(self, start: float) -> str:
        acks = [a for a in self.acks if a[0] >= start]
        if not acks:
            return "no acknowledgements"
        span = time.monotonic() - start
        latencies = sorted(latency for _, latency in acks)
        p99 = latencies[int(len(latencies) * 0.99)]
        return (f"{len(acks) / span:,.0f} records/s, p50 {statistics.median(latencies) * 1000:.1f} ms, "
                f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.0f} ms ({self.failures} failed so far)")

    def stop(self):
        self.stopping.set()
        self.join(60)


def broker_name(node_id: int) -> str:
    """up's directory for a broker: brokers 1, 2, 3 are potok-broker-0, -1, -2."""
    return f"potok-broker-{node_id - 1}"


def log_bytes(partition_dir: Path) -> int:
    return sum(f.stat().st_size for f in partition_dir.glob("*.log"))


if __name__ == "__main__":
    main()
