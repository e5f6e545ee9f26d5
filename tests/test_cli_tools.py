"""Kafka's command-line tools, built on potok-client: Kafka's flags, messages and text
layout, line by line."""

import re
import subprocess
import time

from conftest import tool


def run(*args, input=None, check=True):
    result = subprocess.run(
        [tool(args[0]), *args[1:]], input=input, capture_output=True, text=True, timeout=60
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_topics_create_describe_alter_delete(broker):
    b = broker.bootstrap
    created = run("kafka-topics", "--bootstrap-server", b, "--create", "--topic", "test",
                  "--partitions", "3", "--replication-factor", "1", "--config", "retention.ms=3600000")
    assert created.stdout == "Created topic test.\n"

    lines = run("kafka-topics", "--bootstrap-server", b, "--describe", "--topic", "test").stdout.splitlines()
    assert re.fullmatch(
        r"Topic: test\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: .*retention\.ms=3600000.*",
        lines[0],
    ), lines[0]
    assert lines[1:] == [
        f"\tTopic: test\tPartition: {p}\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: "
        for p in range(3)
    ]

    run("kafka-topics", "--bootstrap-server", b, "--alter", "--topic", "test", "--partitions", "4")
    described = run("kafka-topics", "--bootstrap-server", b, "--describe", "--topic", "test").stdout
    assert "PartitionCount: 4" in described

    shrink = run("kafka-topics", "--bootstrap-server", b, "--alter", "--topic", "test",
                 "--partitions", "2", check=False)
    assert shrink.returncode != 0
    assert "Topic currently has 4 partitions, which is higher than the requested 2." in shrink.stdout + shrink.stderr

    assert run("kafka-topics", "--bootstrap-server", b, "--list").stdout.splitlines() == ["test"]
    run("kafka-topics", "--bootstrap-server", b, "--delete", "--topic", "test")
    assert run("kafka-topics", "--bootstrap-server", b, "--list").stdout == ""


def test_replication_factor_above_the_broker_count_fails_as_kafka(broker):
    result = run("kafka-topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", "rf3",
                 "--partitions", "3", "--replication-factor", "3", check=False)
    assert result.returncode != 0
    assert (
        "Error while executing topic command : Unable to replicate the partition 3 time(s): "
        "The target replication factor of 3 cannot be reached because only 1 broker(s) are registered."
    ) in result.stdout + result.stderr


def test_if_not_exists_and_if_exists(broker):
    b = broker.bootstrap
    args = ["kafka-topics", "--bootstrap-server", b, "--create", "--topic", "twice", "--partitions", "1"]
    run(*args)
    again = run(*args, check=False)
    assert again.returncode != 0 and "Topic 'twice' already exists." in again.stdout + again.stderr
    run(*args, "--if-not-exists")
    run("kafka-topics", "--bootstrap-server", b, "--delete", "--topic", "absent", "--if-exists")


def test_configs_alter_and_describe(broker):
    b = broker.bootstrap
    run("kafka-topics", "--bootstrap-server", b, "--create", "--topic", "conf", "--partitions", "1")
    altered = run("kafka-configs", "--bootstrap-server", b, "--alter", "--entity-type", "topics",
                  "--entity-name", "conf", "--add-config", "min.insync.replicas=1,cleanup.policy=[compact,delete]")
    assert altered.stdout == "Completed updating config for topic conf.\n"
    described = run("kafka-configs", "--bootstrap-server", b, "--describe", "--entity-type", "topics",
                    "--entity-name", "conf").stdout.splitlines()
    assert described[0] == "Dynamic configs for topic conf are:"
    assert (
        "  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, DEFAULT_CONFIG:log.cleanup.policy=delete}"
        in described
    )
    assert any(line.startswith("  min.insync.replicas=1 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:min.insync.replicas=1") for line in described)

    run("kafka-configs", "--bootstrap-server", b, "--alter", "--entity-type", "topics",
        "--entity-name", "conf", "--delete-config", "cleanup.policy")
    described = run("kafka-configs", "--bootstrap-server", b, "--describe", "--entity-type", "topics",
                    "--entity-name", "conf").stdout
    assert "cleanup.policy" not in described

    bad = run("kafka-configs", "--bootstrap-server", b, "--alter", "--entity-type", "topics",
              "--entity-name", "conf", "--add-config", "retention.ms=soon", check=False)
    assert bad.returncode != 0
    assert "Invalid value soon for configuration retention.ms: Not a number of type LONG" in bad.stdout + bad.stderr

    every = run("kafka-configs", "--bootstrap-server", b, "--describe", "--all", "--entity-type", "topics",
                "--entity-name", "conf").stdout
    assert every.splitlines()[0] == "All configs for topic conf are:"
    assert "  retention.ms=604800000 sensitive=false synonyms={" in every


def test_console_producer_and_consumer(broker):
    b = broker.bootstrap
    run("kafka-console-producer", "--bootstrap-server", b, "--topic", "lines",
        "--property", "parse.key=true", "--property", "key.separator=:",
        input="k1:first\nk2:second\n")
    out = run("kafka-console-consumer", "--bootstrap-server", b, "--topic", "lines", "--from-beginning",
              "--max-messages", "2", "--property", "print.key=true", "--property", "print.offset=true",
              "--property", "print.partition=true")
    assert out.stdout.splitlines() == ["Partition:0\tOffset:0\tk1\tfirst", "Partition:0\tOffset:1\tk2\tsecond"]
    assert "Processed a total of 2 messages" in out.stderr

    timed = run("kafka-console-consumer", "--bootstrap-server", b, "--topic", "lines", "--partition", "0",
                "--offset", "1", "--timeout-ms", "1500")
    assert timed.stdout.splitlines() == ["second"]


def test_console_producer_headers_and_compression(broker):
    b = broker.bootstrap
    run("kafka-console-producer", "--bootstrap-server", b, "--topic", "headed", "--compression-codec", "zstd",
        "--property", "parse.headers=true", "--request-required-acks", "all",
        input="h1:v1,h2:v2\tpayload\n")
    out = run("kafka-console-consumer", "--bootstrap-server", b, "--topic", "headed", "--from-beginning",
              "--max-messages", "1", "--property", "print.headers=true").stdout
    assert out.splitlines() == ["h1:v1,h2:v2\tpayload"]


def consume_and_commit(broker, group, topic, count):
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    received, deadline = 0, time.time() + 20
    while received < count and time.time() < deadline:
        message = consumer.poll(0.2)
        if message is not None and message.error() is None:
            received += 1
    consumer.commit(asynchronous=False)
    return consumer


def test_consumer_groups_list_describe_reset_delete(broker):
    b = broker.bootstrap
    run("kafka-topics", "--bootstrap-server", b, "--create", "--topic", "orders", "--partitions", "2")
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": b})
    for i in range(10):
        producer.produce("orders", str(i).encode(), partition=i % 2)
    producer.flush(10)
    consumer = consume_and_commit(broker, "billing", "orders", 10)

    assert run("kafka-consumer-groups", "--bootstrap-server", b, "--list").stdout.splitlines() == ["billing"]
    members = run("kafka-consumer-groups", "--bootstrap-server", b, "--describe", "--group", "billing",
                  "--members", "--verbose").stdout.splitlines()
    assert members[1].split() == ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"]
    assert members[2].split()[0] == "billing" and members[2].split()[-1] == "orders(0,1)"
    state = run("kafka-consumer-groups", "--bootstrap-server", b, "--describe", "--group", "billing",
                "--state").stdout.splitlines()
    assert state[2].split() == ["billing", b, "(1)", "range", "Stable", "1"]
    consumer.close()

    described = run("kafka-consumer-groups", "--bootstrap-server", b, "--describe", "--group", "billing").stdout
    lines = described.splitlines()
    assert "Consumer group 'billing' has no active members." in lines
    header = lines.index(next(l for l in lines if l.startswith("GROUP")))
    assert lines[header].split() == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
                                     "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]
    rows = [line.split() for line in lines[header + 1:]]
    assert sum(int(r[3]) for r in rows) == 10 and all(r[5] == "0" and r[6] == "-" for r in rows)

    dry = run("kafka-consumer-groups", "--bootstrap-server", b, "--reset-offsets", "--group", "billing",
              "--topic", "orders", "--to-earliest", "--dry-run").stdout.splitlines()
    assert dry[1].split() == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
    assert [r.split() for r in dry[2:]] == [["billing", "orders", "0", "0"], ["billing", "orders", "1", "0"]]
    unchanged = run("kafka-consumer-groups", "--bootstrap-server", b, "--describe", "--group", "billing").stdout
    assert {r.split()[3] for r in unchanged.splitlines() if r.startswith("billing")} == {"5"}

    run("kafka-consumer-groups", "--bootstrap-server", b, "--reset-offsets", "--group", "billing",
        "--topic", "orders:1", "--shift-by", "-2", "--execute")
    after = run("kafka-consumer-groups", "--bootstrap-server", b, "--describe", "--group", "billing").stdout
    lags = {r.split()[2]: r.split()[5] for r in after.splitlines() if r.startswith("billing")}
    assert lags == {"0": "0", "1": "2"}

    deleted = run("kafka-consumer-groups", "--bootstrap-server", b, "--delete-offsets", "--group", "billing",
                  "--topic", "orders:0").stdout.splitlines()
    assert deleted[2].split() == ["orders", "0", "Successful"]

    gone = run("kafka-consumer-groups", "--bootstrap-server", b, "--delete", "--group", "billing")
    assert gone.stdout == "Deletion of requested consumer groups ('billing') was successful.\n"
    assert run("kafka-consumer-groups", "--bootstrap-server", b, "--list").stdout == ""


def test_consumer_groups_refuses_to_reset_an_active_group(broker):
    b = broker.bootstrap
    run("kafka-topics", "--bootstrap-server", b, "--create", "--topic", "busy", "--partitions", "1")
    run("kafka-console-producer", "--bootstrap-server", b, "--topic", "busy", input="x\n")
    consumer = consume_and_commit(broker, "active", "busy", 1)
    refused = run("kafka-consumer-groups", "--bootstrap-server", b, "--reset-offsets", "--group", "active",
                  "--topic", "busy", "--to-earliest", "--execute", check=False)
    assert refused.returncode != 0
    assert "Assignments can only be reset if the group 'active' is inactive" in refused.stdout + refused.stderr
    not_empty = run("kafka-consumer-groups", "--bootstrap-server", b, "--delete", "--group", "active", check=False)
    assert not_empty.returncode != 0 and "could not be deleted" in not_empty.stdout + not_empty.stderr
    consumer.close()


def test_console_consumer_group_resumes_where_it_stopped(broker):
    b = broker.bootstrap
    run("kafka-topics", "--bootstrap-server", b, "--create", "--topic", "resume", "--partitions", "2")
    run("kafka-console-producer", "--bootstrap-server", b, "--topic", "resume",
        input="".join(f"m{i}\n" for i in range(6)))
    first = run("kafka-console-consumer", "--bootstrap-server", b, "--topic", "resume", "--group", "readers",
                "--from-beginning", "--max-messages", "4", "--timeout-ms", "20000")
    second = run("kafka-console-consumer", "--bootstrap-server", b, "--topic", "resume", "--group", "readers",
                 "--from-beginning", "--timeout-ms", "5000")
    seen = first.stdout.splitlines() + second.stdout.splitlines()
    # Every record once: the second run starts at what the first committed, not at the beginning.
    assert len(first.stdout.splitlines()) == 4
    assert sorted(seen) == [f"m{i}" for i in range(6)]
    described = run("kafka-consumer-groups", "--bootstrap-server", b, "--describe", "--group", "readers").stdout
    lags = [r.split()[5] for r in described.splitlines() if r.startswith("readers")]
    assert lags == ["0", "0"]


def test_console_consumers_in_one_group_split_the_partitions(broker):
    b = broker.bootstrap
    run("kafka-topics", "--bootstrap-server", b, "--create", "--topic", "split", "--partitions", "4")
    command = [tool("kafka-console-consumer"), "--bootstrap-server", b, "--topic", "split", "--group", "pair",
               "--property", "print.partition=true", "--consumer-property", "heartbeat.interval.ms=500",
               "--timeout-ms", "15000"]
    members = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    deadline = time.time() + 30
    while time.time() < deadline:
        described = run("kafka-consumer-groups", "--bootstrap-server", b, "--describe", "--group", "pair",
                        "--members").stdout
        rows = [r.split() for r in described.splitlines() if r.startswith("pair")]
        if len(rows) == 2 and all(r[4] == "2" for r in rows):
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"the group never settled: {described}")
    run("kafka-console-producer", "--bootstrap-server", b, "--topic", "split", "--property", "parse.key=true",
        "--property", "key.separator=:", input="".join(f"k{i}:v{i}\n" for i in range(40)))
    outputs = [m.communicate(timeout=60)[0] for m in members]
    partitions = [{line.split("\t")[0] for line in out.splitlines()} for out in outputs]
    values = sorted(line.split("\t")[1] for out in outputs for line in out.splitlines())
    assert values == sorted(f"v{i}" for i in range(40))
    assert partitions[0].isdisjoint(partitions[1])


def test_reset_offsets_to_datetime(broker):
    b = broker.bootstrap
    from confluent_kafka import Producer

    run("kafka-topics", "--bootstrap-server", b, "--create", "--topic", "dated", "--partitions", "1")
    producer = Producer({"bootstrap.servers": b})
    for i, ts in enumerate([1_700_000_000_000, 1_700_000_060_000, 1_700_000_120_000]):
        producer.produce("dated", str(i).encode(), timestamp=ts)
    producer.flush(10)
    consume_and_commit(broker, "dates", "dated", 3).close()
    plan = run("kafka-consumer-groups", "--bootstrap-server", b, "--reset-offsets", "--group", "dates",
               "--topic", "dated", "--to-datetime", "2023-11-14T22:14:00.000Z", "--dry-run").stdout.splitlines()
    assert plan[2].split() == ["dates", "dated", "0", "1"]
    later = run("kafka-consumer-groups", "--bootstrap-server", b, "--reset-offsets", "--group", "dates",
                "--topic", "dated", "--to-datetime", "2030-01-01T00:00:00.000Z", "--dry-run").stdout.splitlines()
    assert later[2].split() == ["dates", "dated", "0", "3"]
    bad = run("kafka-consumer-groups", "--bootstrap-server", b, "--reset-offsets", "--group", "dates",
              "--topic", "dated", "--to-datetime", "yesterday", "--dry-run", check=False)
    assert bad.returncode != 0 and "yyyy-MM-ddTHH:mm:SS.sss" in bad.stdout + bad.stderr
