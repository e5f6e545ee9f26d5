"""Configuration from the environment, as a container gets it: potok-broker takes `KAFKA_*`
variables and potok-ksql `KSQL_*` ones, named as in Confluent's images, between the
properties file and `--override` flags; a variable naming no setting stops the server at
start with the variable named."""

import json
import os
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from conftest import Broker, free_port, tool, wait_for_port

# Startup errors come within a second; a debug build and two shared cores get margin.
EXIT_TIMEOUT = 20


def environment(**variables: str) -> dict[str, str]:
    """This process's environment without KAFKA_* and KSQL_* variables, plus `variables`."""
    inherited = {
        name: value for name, value in os.environ.items()
        if not name.startswith(("KAFKA_", "KSQL_"))
    }
    return {**inherited, **variables}


@pytest.fixture
def tmp():
    with tempfile.TemporaryDirectory(prefix="potok-env-") as directory:
        yield Path(directory)


def refused(command: list[str], env: dict[str, str]) -> str:
    """Runs a server expected to refuse its configuration; its output."""
    finished = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=EXIT_TIMEOUT)
    assert finished.returncode != 0, finished.stdout + finished.stderr
    return finished.stdout + finished.stderr


def test_a_broker_configured_by_kafka_variables_serves(tmp):
    port = free_port()
    properties = tmp / "server.properties"
    # What the environment and the flags leave alone comes from the file.
    properties.write_text("num.partitions=1\noffsets.topic.replication.factor=1\n")
    log = open(tmp / "broker.log", "w+")
    process = subprocess.Popen(
        [tool("potok-broker"), str(properties),
         "--override", "auto.create.topics.enable=true"],
        env=environment(
            KAFKA_NODE_ID="1",
            KAFKA_LISTENERS=f"PLAINTEXT://127.0.0.1:{port}",
            KAFKA_ADVERTISED_LISTENERS=f"PLAINTEXT://127.0.0.1:{port}",
            KAFKA_LOG_DIRS=str(tmp / "data"),
            KAFKA_NUM_PARTITIONS="5",
            # The flag wins over the environment.
            KAFKA_AUTO_CREATE_TOPICS_ENABLE="false",
            # Known to Kafka, not acted on by Potok: accepted.
            KAFKA_TRANSACTION_STATE_LOG_MIN_ISR="1",
            # Read by Confluent's images themselves: skipped.
            KAFKA_HEAP_OPTS="-Xmx1G",
            KAFKA_JMX_PORT="9101",
        ),
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        bootstrap = f"127.0.0.1:{port}"
        producer = Producer({"bootstrap.servers": bootstrap})
        producer.produce("created-by-metadata", b"hello")
        assert producer.flush(30) == 0
        admin = AdminClient({"bootstrap.servers": bootstrap})
        topic = admin.list_topics("created-by-metadata", timeout=10).topics["created-by-metadata"]
        assert len(topic.partitions) == 5
        broker_config = admin.describe_configs([ConfigResource("BROKER", "1")])
        described = list(broker_config.values())[0].result(timeout=10)
        assert described["num.partitions"].value == "5"
        assert described["auto.create.topics.enable"].value == "true"
        assert described["transaction.state.log.min.isr"].value == "1"
        assert "heap.opts" not in described
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.seek(0)
        output = log.read()
        log.close()
    assert "KAFKA_NUM_PARTITIONS" in output, output[-5000:]


def test_a_kafka_variable_naming_no_setting_stops_the_broker(tmp):
    properties = tmp / "server.properties"
    properties.write_text("node.id=1\nlisteners=PLAINTEXT://127.0.0.1:1\n")
    output = refused([tool("potok-broker"), str(properties)],
                     environment(KAFKA_LOG_DIRS=str(tmp / "data"), KAFKA_NOT_A_SETTING="1"))
    assert "KAFKA_NOT_A_SETTING" in output and "'not.a.setting'" in output, output
    output = refused([tool("potok-broker"), str(properties)],
                     environment(KAFKA_LOG_DIRS=str(tmp / "data"), KAFKA_NUM_PARTITIONS="five"))
    assert "KAFKA_NUM_PARTITIONS sets 'num.partitions' to 'five'" in output, output


def ksql_info(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/info", timeout=30) as response:
        return json.load(response)["KsqlServerInfo"]


def ksql_statement(port: int, statement: str) -> list:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/ksql", data=json.dumps({"ksql": statement}).encode(),
        headers={"Content-Type": "application/vnd.ksql.v1+json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def test_a_ksql_server_configured_by_ksql_variables_serves(tmp):
    broker = Broker(tmp / "data")
    broker.start()
    port = free_port()
    properties = tmp / "ksql-server.properties"
    properties.write_text("ksql.service.id=from_the_file_\n")
    output = open(tmp / "ksql.log", "w+")
    process = subprocess.Popen(
        [tool("potok-ksql"), str(properties),
         "--override", f"listeners=http://127.0.0.1:{port}"],
        env=environment(
            KSQL_LISTENERS="http://127.0.0.1:1",
            KSQL_BOOTSTRAP_SERVERS=broker.bootstrap,
            KSQL_KSQL_SERVICE_ID="from_the_environment_",
            KSQL_KSQL_STREAMS_AUTO_OFFSET_RESET="earliest",
            KSQL_HEAP_OPTS="-Xmx1G",
        ),
        stdout=output, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=60)
        assert ksql_info(port)["ksqlServiceId"] == "from_the_environment_"
        answer = ksql_statement(port, "SHOW PROPERTIES;")
        properties_shown = {p["name"]: p["value"] for p in answer[0]["properties"]}
        assert properties_shown["ksql.streams.auto.offset.reset"] == "earliest"
        assert ksql_statement(port, "SHOW STREAMS;")[0]["@type"] == "streams"
    finally:
        process.terminate()
        process.wait(timeout=30)
        broker.stop()
        output.seek(0)
        log = output.read()
        output.close()
    assert "panicked" not in log, log[-5000:]


def test_a_ksql_variable_naming_no_setting_stops_the_ksql_server(tmp):
    properties = tmp / "ksql-server.properties"
    properties.write_text("bootstrap.servers=127.0.0.1:1\n")
    output = refused([tool("potok-ksql"), str(properties)],
                     environment(KSQL_NOT_A_SETTING="1"))
    assert "KSQL_NOT_A_SETTING" in output and "'not.a.setting'" in output, output
    output = refused([tool("potok-ksql"), str(properties)],
                     environment(KSQL_KSQL_SERVICE_IDD="x"))
    assert "did you mean KSQL_KSQL_SERVICE_ID (ksql.service.id)?" in output, output
