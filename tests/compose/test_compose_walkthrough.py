"""The seed's first hour on docker-compose.yaml: the stack comes up healthy, the seed's
admin commands are typed into `docker exec -it kafka-broker1 bash`, the ksql walkthrough
into `docker exec -it ksqldb-cli ksql http://ksqldb-server:8088`, and a client on the host
produces and consumes through the published ports."""

import json
import re
import time
import urllib.request

import pexpect
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from compose.stack import BROKERS, COMPOSE, COORDINATORS, HEALTHY, fully_in_sync, run, shell
from conftest import pull_rows, wait_until

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SHELL_PROMPT = "potok-shell> "
KSQL_PROMPT = "ksql> "


class Typed:
    """A terminal program in a pseudo-terminal: type a line, read up to the next prompt.
    With `echoed`, the line's echo is awaited first: bash redraws its prompt when docker
    passes on the terminal's size, and that stray prompt must not end the next answer."""

    def __init__(self, command: str, prompt: str, echoed: bool = False):
        self.prompt = prompt
        self.echoed = echoed
        self.child = pexpect.spawn(command, encoding="utf-8", timeout=90, dimensions=(50, 200))

    def expect(self, pattern: str) -> str:
        self.child.expect(pattern)
        return ANSI.sub("", self.child.before).replace("\r", "")

    def type(self, line: str) -> str:
        self.child.sendline(line)
        if self.echoed:
            self.child.expect_exact(line)
        return self.expect(re.escape(self.prompt))

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


def test_every_service_is_up_healthy_as_the_potok_user(stack):
    ps = run([*COMPOSE, "ps"]).stdout
    for name in HEALTHY:
        assert re.search(rf"^{name}\s.*Up.*\(healthy\)", ps, re.MULTILINE), ps
    assert re.search(r"^ksqldb-cli\s.*Up", ps, re.MULTILINE), ps
    assert shell("kafka-broker1", "id -un").stdout.strip() == "potok"
    assert "meta.properties" in shell("kafka-broker1", "ls /var/lib/potok/*").stdout


def test_the_seed_admin_commands_inside_a_broker_container(stack):
    terminal = Typed("docker exec -it kafka-broker1 bash", SHELL_PROMPT, echoed=True)
    try:
        # Split by quotes so the echoed command line does not look like the prompt.
        terminal.type("PS1='potok''-shell> '")
        created = terminal.type(
            "kafka-topics --create --topic test --partitions 3 --replication-factor 3 "
            "--bootstrap-server kafka1:19092"
        )
        assert created.splitlines()[-1] == "Created topic test."
        wait_until(lambda: fully_in_sync("test", 3), message="every replica of test in sync")

        described = terminal.type("kafka-topics --describe --topic test --bootstrap-server kafka1:19092")
        lines = described.splitlines()[1:]
        assert re.match(r"Topic: test\tTopicId: \S+\tPartitionCount: 3\tReplicationFactor: 3\t", lines[0]), lines
        leaders = []
        for partition, line in enumerate(lines[1:4]):
            match = re.match(
                rf"\tTopic: test\tPartition: {partition}\tLeader: (\d)\tReplicas: (\d,\d,\d)\tIsr: (\d,\d,\d)", line
            )
            assert match, line
            leaders.append(match.group(1))
            assert sorted(match.group(2).split(",")) == ["1", "2", "3"]
        assert sorted(leaders) == ["1", "2", "3"], "leadership is spread over the three brokers"

        altered = terminal.type(
            "kafka-configs --bootstrap-server kafka1:19092 --alter --entity-type topics "
            "--entity-name test --add-config min.insync.replicas=2"
        )
        assert altered.splitlines()[-1] == "Completed updating config for topic test."
        again = terminal.type("kafka-topics --describe --topic test --bootstrap-server kafka2:19092")
        assert "Configs: min.insync.replicas=2" in again.splitlines()[1]
    finally:
        terminal.close()


def test_a_host_client_uses_the_published_ports(stack):
    admin = AdminClient({"bootstrap.servers": "localhost:9092"})
    metadata = admin.list_topics(timeout=30)
    assert sorted(f"{b.host}:{b.port}" for b in metadata.brokers.values()) == [
        "localhost:9092", "localhost:9093", "localhost:9094"
    ]
    admin.create_topics([NewTopic("from-the-host", 3, 3)])["from-the-host"].result(30)
    producer = Producer({"bootstrap.servers": "localhost:9092", "acks": "all"})
    failures = []
    for i in range(300):
        producer.produce("from-the-host", key=str(i).encode(), value=f"record {i}".encode(), partition=i % 3,
                         on_delivery=lambda error, _: error and failures.append(error))
    assert producer.flush(60) == 0
    assert failures == []

    consumer = Consumer({"bootstrap.servers": "localhost:9094", "group.id": "host-reader",
                         "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition("from-the-host", p, 0) for p in range(3)])
    values = set()
    deadline = time.time() + 60
    while len(values) < 300 and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            values.add(message.value().decode())
    consumer.close()
    assert values == {f"record {i}" for i in range(300)}


def test_the_ksql_walkthrough_in_the_cli_container(stack):
    terminal = Typed("docker exec -it ksqldb-cli ksql http://ksqldb-server:8088", KSQL_PROMPT)
    try:
        banner = terminal.expect(re.escape(KSQL_PROMPT))
        assert "located at http://ksqldb-server:8088" in banner
        created = terminal.type(
            "CREATE STREAM payments (name VARCHAR, amount INTEGER) "
            "WITH (kafka_topic='payments', value_format='json', partitions=1);"
        )
        assert "Stream created" in created
        for name, amount in [("Alice", 10), ("Bob", 20), ("Alice", 5), ("Bob", 7), ("Carol", 1)]:
            assert "Error" not in terminal.type(f"INSERT INTO payments (name, amount) VALUES ('{name}', {amount});")

        terminal.type("SET 'auto.offset.reset' = 'earliest';")
        terminal.child.sendline("SELECT ROWOFFSET, * FROM payments WHERE name='Bob' EMIT CHANGES;")
        terminal.expect(r"\|\s*3\s*\|\s*Bob\s*\|\s*7\s*\|")
        terminal.child.sendcontrol("c")
        stopped = terminal.expect(re.escape(KSQL_PROMPT))
        assert "Query terminated" in stopped

        table = terminal.type(
            "CREATE TABLE payments_table AS SELECT name, count(*) AS cnt, sum(amount) AS sum, "
            "avg(amount) AS avg FROM payments GROUP BY name EMIT CHANGES;"
        )
        assert "Created query with ID CTAS_PAYMENTS_TABLE_" in table
        expected = [["Alice", 2, 15, 7.5], ["Bob", 2, 27, 13.5], ["Carol", 1, 1, 1.0]]
        wait_until(lambda: sorted(pull_rows("SELECT * FROM payments_table;")) == expected, timeout=60,
                   message="the table materialized")
        shown = terminal.type("SELECT * FROM payments_table;")
        header = next(line for line in shown.splitlines() if "NAME" in line)
        assert [c.strip() for c in header.strip("|").split("|")] == ["NAME", "CNT", "SUM", "AVG"]
        assert re.search(r"\|\s*Bob\s*\|\s*2\s*\|\s*27\s*\|\s*13\.5\s*\|", shown), shown
    finally:
        terminal.close()


def test_the_console_on_8282_shows_the_stacks_cluster(stack):
    """The seed opens http://localhost:8282: the dashboard renders, and the console reaches
    the three brokers over the internal listener and the ksql server by its service name."""
    with urllib.request.urlopen("http://localhost:8282/", timeout=10) as page:
        assert page.url.endswith("/clusters/local")
        assert "brokers online" in page.read().decode()

    def brokers():
        with urllib.request.urlopen("http://localhost:8282/api/clusters/local/brokers", timeout=10) as answer:
            return sorted((b["id"], b["host"]) for b in json.load(answer))

    wait_until(lambda: brokers() == [(1, "kafka1"), (2, "kafka2"), (3, "kafka3")],
               message="the console lists the three brokers")
    with urllib.request.urlopen("http://localhost:8282/api/clusters", timeout=10) as answer:
        assert json.load(answer) == [{
            "name": "local",
            "bootstrapServers": "kafka1:19092,kafka2:19092,kafka3:19092",
            "ksql": True,
            "readOnly": False,
        }]
