"""The console's JSON API as a script meets it, against the shared `potok-operator up`
cluster: every endpoint's answer checked against what Kafka's own client (confluent-kafka)
sees, each change made and undone, and bad input answered with a status, Kafka's error name
and a message naming the thing."""

import json
import re
import urllib.parse

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from conftest import wait_until
from ui.conftest import BOOTSTRAP, CLUSTER, USERS, Console


@pytest.fixture(scope="module")
def admin(cluster):
    return AdminClient({"bootstrap.servers": BOOTSTRAP})


def produce(topic: str, records: list[tuple[bytes | None, bytes]], partition: int | None = None):
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all"})
    for key, value in records:
        if partition is None:
            producer.produce(topic, key=key, value=value)
        else:
            producer.produce(topic, key=key, value=value, partition=partition)
    assert producer.flush(30) == 0


def error_of(response, status: int, code: str) -> str:
    """The message of an error answer, after checking its status, shape and code."""
    assert response.status == status, (response.status, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error", "message"}, body
    assert body["error"] == code, body
    return body["message"]


def config_rows(response) -> dict:
    assert response.status == 200, response.text
    rows = response.json()
    assert [r["name"] for r in rows] == sorted(r["name"] for r in rows)
    return {row["name"]: row for row in rows}


# Reading the cluster.


def test_the_configured_cluster_and_who_asks(console):
    response = console.request("GET", "/api/clusters")
    assert response.status == 200
    assert response.json() == [{"name": CLUSTER, "bootstrapServers": "127.0.0.1:9092",
                                "ksql": True, "readOnly": False}]
    me = console.request("GET", "/api/me").json()
    assert me["username"] is None and me["role"] == "admin" and me["messages"] is True
    assert re.fullmatch(r"[0-9a-f]{32}", me["csrfToken"]), me
    assert console.request("GET", "/healthz").text == "ok"


def test_overview_counts_what_kafka_reports(console, admin):
    metadata = admin.list_topics(timeout=30)
    overview = console.api("GET", "/overview").json()
    assert sorted(overview["brokersOnline"]) == sorted(metadata.brokers)
    assert overview["controller"] in metadata.brokers
    assert overview["clusterId"] == metadata.cluster_id
    assert overview["topics"] == len(metadata.topics)
    assert overview["partitions"] == sum(len(t.partitions) for t in metadata.topics.values())
    assert (overview["underReplicated"], overview["underMinIsr"], overview["offline"]) == (0, 0, 0)


def test_the_live_overview_streams_the_figures_and_rates(console, admin):
    with console.events(f"/api/clusters/{CLUSTER}/overview/live") as live:
        assert live.status == 200 and live.content_type.startswith("text/event-stream")
        name, first = next(iter(live))
    assert name == "overview" and first["error"] is None, first
    assert sorted(first["brokersOnline"]) == sorted(admin.list_topics(timeout=30).brokers)
    assert {"bytesInPerSec", "bytesOutPerSec", "quorumLeader", "coordinatorsUp", "topics",
            "partitions"} <= set(first)


def test_the_charts_fill_from_the_servers_metrics(console):
    produce("ui-api-metrics", [(None, b"m" * 1000)] * 50)

    def filled():
        history = console.api("GET", "/metrics").json()
        series = {s["name"]: s["points"] for s in history["series"]}
        return history if series["bytes_in"] and any(v > 0 for _, v in series["bytes_in"]) else None
    history = wait_until(filled, message="the bytes-in chart has a point above zero")
    assert history["intervalSeconds"] == 1
    assert [s["name"] for s in history["series"]] == ["bytes_in", "bytes_out", "requests", "produce_p99",
                                                        "consumer_lag"]
    assert history["servers"] == 7 and history["serversUp"] == 7, history
    assert history["quorumLeader"] is not None and history["lastError"] is None, history
    assert history["coordinatorsUp"] == 3, history
    with console.events(f"/api/clusters/{CLUSTER}/overview/live") as live:
        _, figures = next(iter(live))
    assert figures["coordinatorsUp"] == 3 and figures["quorumLeader"] == history["quorumLeader"], figures
    message = error_of(console.request("GET", "/api/clusters/nowhere/metrics"), 404, "NOT_FOUND")
    assert "nowhere" in message


def test_an_unknown_cluster_is_a_page_for_pages_and_json_for_the_api(console):
    page = console.request("GET", "/clusters/nowhere/topics")
    assert page.status == 404 and page.headers["content-type"].startswith("text/html"), page.headers
    assert "no cluster named &#39;nowhere&#39;" in page.text or "no cluster named 'nowhere'" in page.text, page.text
    message = error_of(console.request("GET", "/api/clusters/nowhere/topics"), 404, "NOT_FOUND")
    assert "this console knows local" in message, message


def test_the_console_counts_its_own_requests(console):
    console.request("GET", "/api/clusters")
    exposition = console.request("GET", "/metrics")
    assert exposition.status == 200 and exposition.headers["content-type"].startswith("text/plain")
    assert re.search(r"^potok_ui_requests_total\{.*\} \d+", exposition.text, re.M), exposition.text[:2000]


def test_brokers_with_their_addresses_and_counts(console, admin):
    metadata = admin.list_topics(timeout=30)
    brokers = console.api("GET", "/brokers").json()
    assert [b["id"] for b in brokers] == sorted(metadata.brokers)
    for broker in brokers:
        known = metadata.brokers[broker["id"]]
        assert (broker["host"], broker["port"]) == (known.host, known.port)
        assert broker["logSizeBytes"] is not None and broker["logSizeBytes"] >= 0, broker
    partitions = [p for t in metadata.topics.values() for p in t.partitions.values()]
    assert sum(b["leaders"] for b in brokers) == len(partitions)
    assert sum(b["replicas"] for b in brokers) == sum(len(p.replicas) for p in partitions)


def test_a_dynamic_broker_config_is_set_and_reset(console, admin):
    broker = console.api("GET", "/brokers").json()[0]["id"]
    path = f"/brokers/{broker}/configs"
    before = config_rows(console.api("GET", path))
    assert before["min.insync.replicas"]["value"] == "2"
    assert before["min.insync.replicas"]["source"] == "STATIC_BROKER_CONFIG"
    assert "log.cleaner.delete.retention.ms" not in before or \
        not before["log.cleaner.delete.retention.ms"]["source"].startswith("DYNAMIC")

    after = config_rows(console.api("PATCH", path, {"log.cleaner.delete.retention.ms": "86400123"}))
    row = after["log.cleaner.delete.retention.ms"]
    assert row["value"] == "86400123" and row["source"] == "DYNAMIC_DEFAULT_BROKER_CONFIG", row
    assert row["readOnly"] is False
    described = admin.describe_configs([ConfigResource(ResourceType.BROKER, str(broker))])
    seen = list(described.values())[0].result(30)
    assert seen["log.cleaner.delete.retention.ms"].value == "86400123"

    reset = config_rows(console.api("PATCH", path, {"log.cleaner.delete.retention.ms": None}))
    assert "log.cleaner.delete.retention.ms" not in reset or \
        not reset["log.cleaner.delete.retention.ms"]["source"].startswith("DYNAMIC"), reset

    message = error_of(console.api("PATCH", path, {"broker.id": "7"}), 400, "INVALID_CONFIG")
    assert message == "Cannot update these configs dynamically: Set(broker.id)"
    message = error_of(console.api("GET", "/brokers/abc/configs"), 400, "INVALID_REQUEST")
    assert "'abc' is not a broker id" in message


def test_each_broker_describes_its_own_configs(console):
    for broker in console.api("GET", "/brokers").json():
        rows = config_rows(console.api("GET", f"/brokers/{broker['id']}/configs"))
        assert rows["min.insync.replicas"]["value"] == "2", broker


# A topic's life.


def test_a_topic_is_created_described_grown_configured_and_deleted(console, admin):
    name = "ui-api-orders"
    created = console.api("POST", "/topics", {"name": name, "partitions": 2, "replicationFactor": 3,
                                               "configs": {"retention.ms": "3600000"}})
    assert created.status == 201, created.text
    detail = created.json()
    assert detail["name"] == name and detail["internal"] is False
    assert detail["replicationFactor"] == 3
    assert [p["partition"] for p in detail["partitions"]] == [0, 1]
    brokers = set(admin.list_topics(timeout=30).brokers)
    for partition in detail["partitions"]:
        assert len(partition["replicas"]) == 3 and set(partition["replicas"]) == brokers
        assert partition["leader"] in partition["replicas"]
        assert partition["earliestOffset"] == 0 and partition["latestOffset"] == 0
    assert name in admin.list_topics(timeout=30).topics

    produce(name, [(b"k", b"one"), (b"k", b"two"), (b"k", b"three")], partition=1)
    described = console.api("GET", f"/topics/{name}").json()
    assert described["messages"] == 3
    assert [p["latestOffset"] for p in described["partitions"]] == [0, 3]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9_-]{22}",
                        described["id"]), described["id"]

    listed = {t["name"]: t for t in console.api("GET", "/topics").json()}
    assert listed[name]["partitions"] == 2 and listed[name]["replicationFactor"] == 3
    assert listed[name]["messages"] == 3 and listed[name]["underReplicated"] == 0
    found = console.api("GET", "/topics?search=API-ORD").json()
    assert [t["name"] for t in found] == [name]
    assert console.api("GET", "/topics?search=no-such-thing").json() == []

    grown = console.api("POST", f"/topics/{name}/partitions", {"count": 4})
    assert grown.status == 200, grown.text
    assert [p["partition"] for p in grown.json()["partitions"]] == [0, 1, 2, 3]
    assert len(admin.list_topics(name, timeout=30).topics[name].partitions) == 4
    message = error_of(console.api("POST", f"/topics/{name}/partitions", {"count": 2}),
                       400, "INVALID_PARTITIONS")
    assert "4" in message and "2" in message, message

    configs = config_rows(console.api("GET", f"/topics/{name}/configs"))
    assert configs["retention.ms"]["value"] == "3600000"
    assert configs["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert configs["min.insync.replicas"]["source"] == "STATIC_BROKER_CONFIG"
    changed = config_rows(console.api("PATCH", f"/topics/{name}/configs", {"min.insync.replicas": "3"}))
    assert changed["min.insync.replicas"]["value"] == "3"
    assert changed["min.insync.replicas"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert changed["min.insync.replicas"]["default"] == "2"
    seen = list(admin.describe_configs([ConfigResource(ResourceType.TOPIC, name)]).values())[0].result(30)
    assert seen["min.insync.replicas"].value == "3"
    reset = config_rows(console.api("PATCH", f"/topics/{name}/configs",
                                    {"min.insync.replicas": None, "retention.ms": None}))
    assert reset["min.insync.replicas"]["value"] == "2"
    assert reset["min.insync.replicas"]["source"] == "STATIC_BROKER_CONFIG"
    assert reset["retention.ms"]["source"] != "DYNAMIC_TOPIC_CONFIG"

    deleted = console.api("DELETE", f"/topics/{name}")
    assert deleted.status == 204 and deleted.text == ""
    wait_until(lambda: name not in admin.list_topics(timeout=30).topics, message="the topic is gone")
    wait_until(lambda: console.api("GET", f"/topics/{name}").status == 404,
               message="the console no longer describes the topic")


def test_internal_topics_are_listed_only_when_asked(console):
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "ui-api-internal",
                         "enable.auto.commit": False})
    produce("ui-api-internal", [(None, b"x")], partition=0)
    consumer.assign([TopicPartition("ui-api-internal", 0, 0)])
    message = None
    deadline_polls = 60
    while message is None and deadline_polls:
        message = consumer.poll(0.5)
        deadline_polls -= 1
    assert message is not None and message.error() is None
    consumer.commit(message=message, asynchronous=False)
    consumer.close()
    everything = {t["name"]: t for t in console.api("GET", "/topics").json()}
    assert everything["__consumer_offsets"]["internal"] is True
    external = [t["name"] for t in console.api("GET", "/topics?internal=false").json()]
    assert "__consumer_offsets" not in external and "ui-api-internal" in external


# Bad input, in the user's terms.


def test_unknown_topics_are_404_naming_the_topic(console):
    answers = {}
    for method, path in [("GET", "/topics/no-such-topic"), ("GET", "/topics/no-such-topic/configs"),
                         ("PATCH", "/topics/no-such-topic/configs"), ("DELETE", "/topics/no-such-topic"),
                         ("POST", "/topics/no-such-topic/partitions")]:
        body = {"retention.ms": "1000"} if method == "PATCH" else {"count": 5} if method == "POST" else None
        answers[f"{method} {path}"] = error_of(console.api(method, path, body), 404, "UNKNOWN_TOPIC_OR_PARTITION")
    unnamed = {request: message for request, message in answers.items() if "no-such-topic" not in message}
    assert not unnamed, f"messages that do not name the topic: {unnamed}"


def test_a_topic_that_exists_is_409(console):
    body = {"name": "ui-api-twice", "partitions": 1, "replicationFactor": 1}
    assert console.api("POST", "/topics", body).status == 201
    message = error_of(console.api("POST", "/topics", body), 409, "TOPIC_ALREADY_EXISTS")
    assert message == "Topic 'ui-api-twice' already exists."
    assert console.api("DELETE", "/topics/ui-api-twice").status == 204


def test_bad_config_values_are_400_with_kafkas_message(console):
    assert console.api("POST", "/topics", {"name": "ui-api-configs", "partitions": 1}).status == 201
    message = error_of(console.api("PATCH", "/topics/ui-api-configs/configs", {"min.insync.replicas": "abc"}),
                       400, "INVALID_CONFIG")
    assert "abc" in message and "min.insync.replicas" in message, message
    message = error_of(console.api("PATCH", "/topics/ui-api-configs/configs", {"no.such.config": "1"}),
                       400, "INVALID_CONFIG")
    assert "no.such.config" in message, message
    message = error_of(console.api("PATCH", "/topics/ui-api-configs/configs", {}), 400, "INVALID_REQUEST")
    assert "no config to change" in message
    message = error_of(console.api("POST", "/topics", {"name": "ui-api-bad", "configs": {"cleanup.policy": "sometimes"}}),
                       400, "INVALID_CONFIG")
    assert "sometimes" in message and "cleanup.policy" in message, message
    assert console.api("DELETE", "/topics/ui-api-configs").status == 204


def test_impossible_topics_are_400(console):
    message = error_of(console.api("POST", "/topics", {"name": "ui-api-zero", "partitions": 0}),
                       400, "INVALID_PARTITIONS")
    assert message, message
    message = error_of(console.api("POST", "/topics", {"name": "ui-api-five", "replicationFactor": 5}),
                       400, "INVALID_REPLICATION_FACTOR")
    assert "5" in message and "3" in message, message
    error_of(console.api("POST", "/topics", {"name": "bad name!"}), 400, "INVALID_TOPIC_EXCEPTION")
    message = error_of(console.api("POST", "/topics", {"name": "  "}), 400, "INVALID_REQUEST")
    assert "name" in message


def test_malformed_json_is_400(console):
    message = error_of(console.api("POST", "/topics", data=b'{"name": "x",'), 400, "INVALID_REQUEST")
    assert "JSON" in message or "EOF" in message, message
    message = error_of(console.api("POST", "/topics", {"name": "x", "partitons": 3}), 400, "INVALID_REQUEST")
    assert "partitons" in message, message
    message = error_of(console.api("PATCH", "/topics/x/configs", data=b"[1, 2]"), 400, "INVALID_REQUEST")
    assert message
    message = error_of(console.api("POST", "/topics/x/partitions", {"count": "many"}), 400, "INVALID_REQUEST")
    assert "count" in message, message


def test_an_unknown_cluster_is_404(console):
    message = error_of(console.request("GET", "/api/clusters/nowhere/topics"), 404, "NOT_FOUND")
    assert message == f"no cluster named 'nowhere'; this console knows {CLUSTER}"
    error_of(console.request("POST", "/api/clusters/nowhere/topics", {"name": "x"}), 404, "NOT_FOUND")
    assert console.request("GET", "/clusters/nowhere/topics").status == 404


# Changes from other sites are refused.


def test_a_change_from_a_foreign_origin_is_403(console):
    token = console.request("GET", "/api/me").json()["csrfToken"]
    refused = console.api("POST", "/topics", {"name": "ui-api-csrf"},
                          headers={"Origin": "http://evil.example", "X-CSRF-Token": token})
    message = error_of(refused, 403, "FORBIDDEN")
    assert "http://evil.example" in message
    assert console.api("GET", "/topics/ui-api-csrf").status == 404


def test_a_change_with_a_cookie_but_no_csrf_token_is_403(console):
    refused = console.api("POST", "/topics", {"name": "ui-api-csrf"}, headers={"Cookie": "potok_session=abc"})
    assert "CSRF" in error_of(refused, 403, "FORBIDDEN")
    stale = console.api("POST", "/topics", {"name": "ui-api-csrf"},
                        headers={"Cookie": "potok_session=abc", "X-CSRF-Token": "0" * 32})
    assert "CSRF" in error_of(stale, 403, "FORBIDDEN")
    assert console.api("GET", "/topics/ui-api-csrf").status == 404
    token = console.request("GET", "/api/me").json()["csrfToken"]
    accepted = console.api("POST", "/topics", {"name": "ui-api-csrf", "partitions": 1},
                           headers={"Origin": console.url, "X-CSRF-Token": token})
    assert accepted.status == 201, accepted.text
    assert console.api("DELETE", "/topics/ui-api-csrf").status == 204


# Records.


def test_records_are_produced_searched_downloaded_and_followed(console):
    topic = "ui-api-records"
    assert console.api("POST", "/topics", {"name": topic, "partitions": 3}).status == 201
    sent = console.api("POST", f"/topics/{topic}/messages",
                       {"key": "order-1", "value": '{"item": "book", "price": 12.5}',
                        "headers": [{"key": "source", "value": "console"}], "partition": 1})
    assert sent.status == 201, sent.text
    produced = sent.json()
    assert produced["partition"] == 1 and produced["offset"] == 0 and produced["timestamp"] > 0

    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "ui-api-records-reader"})
    consumer.assign([TopicPartition(topic, 1, 0)])
    message = wait_until(lambda: (lambda m: m if m is not None and m.error() is None else None)(consumer.poll(0.5)),
                         message="the produced record is read back")
    consumer.close()
    assert message.key() == b"order-1" and message.value() == b'{"item": "book", "price": 12.5}'
    assert message.headers() == [("source", b"console")]

    produce(topic, [(b"k2", b"plain text"), (None, bytes([0, 1, 254, 255]))], partition=2)
    result = console.api("GET", f"/topics/{topic}/messages?seek=earliest").json()
    assert result["truncated"] is False and result["scanned"] == 3
    records = {(r["partition"], r["offset"]): r for r in result["records"]}
    first = records[(1, 0)]
    assert (first["key"], first["keyFormat"]) == ("order-1", "text")
    assert first["value"] == '{"item": "book", "price": 12.5}' and first["valueFormat"] == "json"
    assert first["headers"] == [{"key": "source", "value": "console"}]
    assert first["timestamp"] == produced["timestamp"] and first["timestampType"] == "CREATE_TIME"
    assert (records[(2, 0)]["value"], records[(2, 0)]["valueFormat"]) == ("plain text", "text")
    binary = records[(2, 1)]
    assert (binary["key"], binary["keyFormat"]) == (None, "null")
    assert (binary["value"], binary["valueFormat"], binary["valueSize"]) == ("0001feff", "hex", 4)

    only = console.api("GET", f"/topics/{topic}/messages?filter=book").json()["records"]
    assert [(r["partition"], r["offset"]) for r in only] == [(1, 0)]
    partition = console.api("GET", f"/topics/{topic}/messages?partition=2&seek=offset&offset=1").json()["records"]
    assert [(r["partition"], r["offset"]) for r in partition] == [(2, 1)]
    newest = console.api("GET", f"/topics/{topic}/messages?seek=latest&limit=1").json()["records"]
    assert len(newest) == 1

    csv = console.api("GET", f"/topics/{topic}/messages?format=csv")
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv"), csv.headers
    assert csv.headers["content-disposition"] == f'attachment; filename="{topic}-messages.csv"', csv.headers
    lines = csv.text.splitlines()
    assert lines[0].split(",")[:3] == ["partition", "offset", "timestamp"], lines[0]
    assert len(lines) == 4 and "order-1" in csv.text and "plain text" in csv.text, csv.text
    exported = console.api("GET", f"/topics/{topic}/messages?format=json")
    assert exported.headers["content-disposition"] == f'attachment; filename="{topic}-messages.json"'
    assert sorted(exported.json(), key=lambda r: (r["partition"], r["offset"])) == \
        sorted(result["records"], key=lambda r: (r["partition"], r["offset"]))

    with console.events(f"/api/clusters/{CLUSTER}/topics/{topic}/messages/live") as live:
        assert live.status == 200 and live.content_type.startswith("text/event-stream")
        produce(topic, [(b"live", b"arrives now")], partition=0)
        name, data = next(iter(live))
        assert name == "records", (name, data)
        assert [(r["partition"], r["key"], r["value"]) for r in data] == [(0, "live", "arrives now")]
    assert console.api("DELETE", f"/topics/{topic}").status == 204


def test_a_search_right_after_a_live_tail_was_left_still_answers(console):
    """A browser that leaves the live tail drops the stream while its consumer waits for
    a Fetch; the searches after it must not be answered with that Fetch's response."""
    topic = "ui-api-tail-left"
    assert console.api("POST", "/topics", {"name": topic, "partitions": 1}).status == 201
    produce(topic, [(b"k", b"before")])
    answers = []
    for round_ in range(3):
        with console.events(f"/api/clusters/{CLUSTER}/topics/{topic}/messages/live") as live:
            assert live.status == 200
            produce(topic, [(b"k", f"live {round_}".encode())])
            assert next(iter(live))[0] == "records"
        search = console.api("GET", f"/topics/{topic}/messages")
        answers.append((search.status, search.json().get("message")))
    assert answers == [(200, None)] * 3, answers
    assert console.api("DELETE", f"/topics/{topic}").status == 204


def test_the_live_tail_follows_partitions_added_while_it_runs(console):
    topic = "ui-api-tail-grows"
    assert console.api("POST", "/topics", {"name": topic, "partitions": 1}).status == 201
    with console.events(f"/api/clusters/{CLUSTER}/topics/{topic}/messages/live") as live:
        assert live.status == 200
        assert console.api("POST", f"/topics/{topic}/partitions", {"count": 2}).status == 200
        produce(topic, [(b"new", b"in the added partition")], partition=1)
        name, data = next(iter(live))
        assert name == "records", (name, data)
        assert [(r["partition"], r["offset"], r["key"]) for r in data] == [(1, 0, "new")]
    assert console.api("DELETE", f"/topics/{topic}").status == 204


def test_bad_record_requests_are_answered_in_the_users_terms(console):
    topic = "ui-api-records-bad"
    assert console.api("POST", "/topics", {"name": topic, "partitions": 3}).status == 201
    too_big = console.api("POST", f"/topics/{topic}/messages", {"value": "x" * (1024 * 1024 + 1)})
    message = error_of(too_big, 413, "MESSAGE_TOO_LARGE")
    assert "1048576" in message and "produce.max.bytes" in message, message
    message = error_of(console.api("POST", f"/topics/{topic}/messages", {"value": "v", "partition": 9}),
                       400, "INVALID_REQUEST")
    assert "9" in message and topic in message, message
    message = error_of(console.api("GET", f"/topics/{topic}/messages?partition=9"), 400, "INVALID_REQUEST")
    assert message == f"topic '{topic}' has no partition 9; its partitions are 0 to 2"
    message = error_of(console.api("GET", f"/topics/{topic}/messages?seek=sideways"), 400, "INVALID_REQUEST")
    assert "sideways" in message
    message = error_of(console.api("GET", f"/topics/{topic}/messages?order=random"), 400, "INVALID_REQUEST")
    assert message == "order must be oldest or newest; got 'random'"
    error_of(console.api("POST", f"/topics/{topic}/messages", {"valu": "typo"}), 400, "INVALID_REQUEST")
    for method, body in [("GET", None), ("POST", {"value": "v"})]:
        message = error_of(console.api(method, "/topics/no-such-topic/messages", body), 404,
                           "UNKNOWN_TOPIC_OR_PARTITION")
        assert "no-such-topic" in message, (method, message)
    assert console.api("DELETE", f"/topics/{topic}").status == 204


# Consumer groups.


def consumed(consumer, count: int) -> list:
    """The next `count` records `consumer` reads, committed."""
    records = []
    for _ in range(120):
        if len(records) == count:
            break
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            records.append(message)
    assert len(records) == count, f"read {len(records)} of {count}"
    consumer.commit(message=records[-1], asynchronous=False)
    return records


def test_a_consumer_groups_lag_members_live_view_reset_and_delete(console):
    topic, group = "ui-api-lag", "ui-api-group"
    assert console.api("POST", "/topics", {"name": topic, "partitions": 1}).status == 201
    produce(topic, [(None, f"record {i}".encode()) for i in range(10)])
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": group, "client.id": "ui-api-client",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    try:
        consumed(consumer, 4)
        detail = wait_until(lambda: (lambda d: d if d.get("state") == "Stable" and d["members"] else None)(
            console.api("GET", f"/consumer-groups/{group}").json()), message="the group is Stable")
        assert detail["groupId"] == group and detail["protocolType"] == "consumer"
        [member] = detail["members"]
        assert member["clientId"] == "ui-api-client"
        assert member["assignment"] == [{"topic": topic, "partition": 0}]
        assert detail["offsets"] == [{"topic": topic, "partition": 0, "committed": 4, "end": 10, "lag": 6,
                                      "memberId": member["memberId"]}]
        assert detail["lag"] == 6
        listed = {g["groupId"]: g for g in console.api("GET", "/consumer-groups").json()}
        assert listed[group] == {"groupId": group, "state": "Stable", "protocolType": "consumer",
                                 "members": 1, "topics": [topic], "lag": 6}

        refused = console.api("POST", f"/consumer-groups/{group}/offsets", {"to": "earliest"})
        assert group in error_of(refused, 409, "NON_EMPTY_GROUP")
        assert group in error_of(console.api("DELETE", f"/consumer-groups/{group}"), 409, "NON_EMPTY_GROUP")

        with console.events(f"/api/clusters/{CLUSTER}/consumer-groups/{group}/live") as live:
            assert live.status == 200 and live.content_type.startswith("text/event-stream")
            events = iter(live)
            name, first = next(events)
            assert name == "group" and first["lag"] == 6
            consumed(consumer, 6)
            lags = []
            for name, data in events:
                assert name == "group", data
                lags.append(data["lag"])
                if data["lag"] == 0:
                    break
            assert lags[-1] == 0 and len(lags) <= 5, lags
    finally:
        consumer.close()

    wait_until(lambda: console.api("GET", f"/consumer-groups/{group}").json()["state"] == "Empty",
               message="the group is Empty once its consumer left")
    reset = console.api("POST", f"/consumer-groups/{group}/offsets", {"to": "earliest"})
    assert reset.status == 200, reset.text
    assert [(r["topic"], r["partition"], r["committed"], r["lag"]) for r in reset.json()] == [(topic, 0, 0, 10)]
    moved = console.api("POST", f"/consumer-groups/{group}/offsets",
                        {"to": "offset", "topic": topic, "partition": 0, "offset": 7})
    assert [(r["committed"], r["lag"]) for r in moved.json()] == [(7, 3)], moved.text
    assert console.api("GET", f"/consumer-groups/{group}").json()["lag"] == 3

    message = error_of(console.api("POST", f"/consumer-groups/{group}/offsets", {"to": "yesterday"}),
                       400, "INVALID_REQUEST")
    assert "'yesterday'" in message
    message = error_of(console.api("POST", f"/consumer-groups/{group}/offsets", {"to": "offset"}),
                       400, "INVALID_REQUEST")
    assert '"offset"' in message
    message = error_of(console.api("POST", f"/consumer-groups/{group}/offsets",
                                   {"to": "earliest", "topic": "no-such-topic"}), 404, "UNKNOWN_TOPIC_OR_PARTITION")
    assert "no-such-topic" in message

    deleted = console.api("DELETE", f"/consumer-groups/{group}")
    assert deleted.status == 204, deleted.text
    message = error_of(console.api("GET", f"/consumer-groups/{group}"), 404, "GROUP_ID_NOT_FOUND")
    assert message == f"consumer group '{group}' does not exist"
    assert group not in [g["groupId"] for g in console.api("GET", "/consumer-groups").json()]
    assert console.api("DELETE", f"/topics/{topic}").status == 204


def test_an_unknown_group_is_404_naming_it(console):
    message = error_of(console.api("GET", "/consumer-groups/no-such-group"), 404, "GROUP_ID_NOT_FOUND")
    assert message == "consumer group 'no-such-group' does not exist"
    error_of(console.api("DELETE", "/consumer-groups/no-such-group"), 404, "GROUP_ID_NOT_FOUND")


# ksql.


def ksql_events(console, sql: str, properties: dict | None = None):
    query = urllib.parse.urlencode({"sql": sql, **({"properties": json.dumps(properties)} if properties else {})})
    return console.events(f"/api/clusters/{CLUSTER}/ksql/query?{query}")


def pull(console, sql: str) -> tuple[dict, list]:
    """The header and rows of a query that ends (a pull query)."""
    header, rows = None, []
    with ksql_events(console, sql) as stream:
        assert stream.status == 200, stream.error().text
        for name, data in stream:
            if name == "header":
                header = data
            elif name == "rows":
                rows.extend(data)
            elif name == "end":
                break
            else:
                raise AssertionError((name, data))
    return header, rows


def test_ksql_statements_push_and_pull_queries(console):
    created = console.api("POST", "/ksql", {"sql": "CREATE STREAM ui_api_clicks (page VARCHAR, n INTEGER) "
                                                   "WITH (kafka_topic='ui_api_clicks', value_format='json', partitions=1);"})
    assert created.status == 200, created.text
    assert created.json()[0]["commandStatus"]["message"] == "Stream created"
    streams = {s["name"]: s for s in console.api("GET", "/ksql/streams").json()}
    clicks = streams["UI_API_CLICKS"]
    assert clicks["kind"] == "STREAM" and clicks["topic"] == "ui_api_clicks"
    assert clicks["valueFormat"] == "JSON" and clicks["windowed"] is False
    assert [(c["name"], c["type"]) for c in clicks["columns"]] == [("PAGE", "STRING"), ("N", "INTEGER")]

    with ksql_events(console, "SELECT * FROM ui_api_clicks EMIT CHANGES;") as stream:
        assert stream.status == 200, stream.error().text
        events = iter(stream)
        name, header = next(events)
        assert name == "header", header
        assert header["push"] is True and header["columnNames"] == ["PAGE", "N"]
        assert header["columnTypes"] == ["STRING", "INTEGER"] and header["queryId"]
        produce("ui_api_clicks", [(None, b'{"page": "home", "n": 1}'), (None, b'{"page": "about", "n": 2}'),
                                  (None, b'{"page": "home", "n": 3}')])
        rows = []
        for name, data in events:
            assert name == "rows", (name, data)
            rows.extend(data)
            if len(rows) >= 3:
                break
        assert rows == [["home", 1], ["about", 2], ["home", 3]]

    created = console.api("POST", "/ksql", {"sql": "CREATE TABLE ui_api_views AS SELECT page, COUNT(*) AS views "
                                                   "FROM ui_api_clicks GROUP BY page EMIT CHANGES;",
                                            "properties": {"auto.offset.reset": "earliest"}})
    assert created.status == 200, created.text
    query_id = created.json()[0]["commandStatus"]["queryId"]
    assert re.fullmatch(r"CTAS_UI_API_VIEWS_\d+", query_id), query_id
    assert "UI_API_VIEWS" in [t["name"] for t in console.api("GET", "/ksql/tables").json()]
    running = {q["id"]: q for q in console.api("GET", "/ksql/queries").json()}
    assert running[query_id]["sinks"] == ["UI_API_VIEWS"], running

    header, rows = wait_until(lambda: (lambda r: r if sorted(r[1]) == [["about", 1], ["home", 2]] else None)(
        pull(console, "SELECT * FROM ui_api_views;")), message="the table counts both pages")
    assert header["push"] is False and header["columnNames"] == ["PAGE", "VIEWS"]

    stopped = console.api("DELETE", f"/ksql/queries/{query_id}")
    assert stopped.status == 200, stopped.text
    assert query_id not in [q["id"] for q in console.api("GET", "/ksql/queries").json()]


def test_ksql_errors_keep_ksqls_words(console):
    message = error_of(console.api("POST", "/ksql", {"sql": "SELEC * FROM x;"}), 400, "KSQL_ERROR")
    assert message.startswith("line 1:1: Syntax Error"), message
    message = error_of(console.api("POST", "/ksql", {"sql": "CREATE STREAM s2 AS SELECT * FROM missing;"}),
                       400, "KSQL_ERROR")
    assert message == "Source `MISSING` does not exist."
    assert error_of(console.api("POST", "/ksql", {"sql": "  "}), 400, "INVALID_REQUEST") == "there is no statement to run"
    error_of(console.api("POST", "/ksql", data=b'{"sql": '), 400, "INVALID_REQUEST")
    with ksql_events(console, "SELECT * FROM missing EMIT CHANGES;") as stream:
        assert error_of(stream.error(), 400, "KSQL_ERROR") == "Source `MISSING` does not exist."
    with ksql_events(console, "SHOW STREAMS; SHOW TABLES;") as stream:
        error_of(stream.error(), 400, "INVALID_REQUEST")
    message = error_of(console.api("DELETE", "/ksql/queries/x;%20DROP%20STREAM%20s"), 400, "INVALID_REQUEST")
    assert "is not a query id" in message


# The console behind its login form.


@pytest.fixture(scope="module")
def secured_topic(console):
    """A topic with one record, for the secured console's readers."""
    name = "ui-api-secured"
    assert console.api("POST", "/topics", {"name": name, "partitions": 1}).status == 201
    produce(name, [(b"k", b"for readers")])
    yield name
    console.api("DELETE", f"/topics/{name}")


def test_the_secured_console_answers_401_without_credentials(secured_console):
    for method, path in [("GET", "/api/clusters"), ("GET", f"/api/clusters/{CLUSTER}/topics"), ("GET", "/api/me"),
                         ("POST", f"/api/clusters/{CLUSTER}/topics")]:
        response = secured_console.request(method, path, {"name": "x"} if method == "POST" else None)
        message = error_of(response, 401, "UNAUTHENTICATED")
        assert "/login" in message and "Basic" in message, (path, message)
    message = error_of(secured_console.request("GET", "/api/clusters", auth=("admin", "wrong password")),
                       401, "UNAUTHENTICATED")
    assert "wrong username or password" in message
    page = secured_console.request("GET", f"/clusters/{CLUSTER}/topics?internal=true")
    assert page.status in (302, 303, 307) and page.headers["location"].startswith("/login?"), page
    assert secured_console.request("GET", "/healthz").status == 200


def test_a_signed_in_browser_session_needs_its_csrf_token(secured_console):
    form = urllib.parse.urlencode({"username": USERS["admin"][0], "password": USERS["admin"][1], "next": ""})
    signed_in = secured_console.request("POST", "/login", data=form.encode(),
                                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert signed_in.status in (302, 303), signed_in
    cookie = signed_in.headers["set-cookie"].split(";")[0]
    assert cookie.startswith("potok_session="), signed_in.headers
    assert "httponly" in signed_in.headers["set-cookie"].lower()
    me = secured_console.request("GET", "/api/me", headers={"Cookie": cookie}).json()
    assert me["username"] == "admin" and me["role"] == "admin"

    body = {"name": "ui-api-session", "partitions": 1}
    refused = secured_console.api("POST", "/topics", body, headers={"Cookie": cookie})
    assert "CSRF" in error_of(refused, 403, "FORBIDDEN")
    foreign = secured_console.api("POST", "/topics", body, headers={
        "Cookie": cookie, "X-CSRF-Token": me["csrfToken"], "Origin": "http://evil.example"})
    assert "http://evil.example" in error_of(foreign, 403, "FORBIDDEN")
    accepted = secured_console.api("POST", "/topics", body, headers={
        "Cookie": cookie, "X-CSRF-Token": me["csrfToken"], "Origin": secured_console.url})
    assert accepted.status == 201, accepted.text
    deleted = secured_console.api("DELETE", "/topics/ui-api-session",
                                  headers={"Cookie": cookie, "X-CSRF-Token": me["csrfToken"]})
    assert deleted.status == 204, deleted.text


def test_a_viewer_reads_but_may_not_change(secured_console, secured_topic):
    viewer = USERS["viewer"]
    me = secured_console.request("GET", "/api/me", auth=viewer).json()
    assert me["username"] == "viewer" and me["role"] == "viewer"
    for path in ["/overview", "/brokers", "/topics", f"/topics/{secured_topic}", f"/topics/{secured_topic}/configs",
                 "/consumer-groups", "/ksql/streams"]:
        response = secured_console.api("GET", path, auth=viewer)
        assert response.status == 200, (path, response.text)
    message = error_of(secured_console.api("POST", "/topics", {"name": "ui-api-viewer"}, auth=viewer),
                       403, "FORBIDDEN")
    assert "viewer" in message
    error_of(secured_console.api("DELETE", f"/topics/{secured_topic}", auth=viewer), 403, "FORBIDDEN")
    error_of(secured_console.api("PATCH", f"/topics/{secured_topic}/configs", {"retention.ms": "1"}, auth=viewer),
             403, "FORBIDDEN")
    assert secured_console.api("GET", "/topics/ui-api-viewer", auth=viewer).status == 404
    error_of(secured_console.api("POST", f"/topics/{secured_topic}/messages", {"value": "v"}, auth=viewer),
             403, "FORBIDDEN")
    error_of(secured_console.api("POST", "/ksql", {"sql": "DROP STREAM ui_api_clicks;"}, auth=viewer),
             403, "FORBIDDEN")
    error_of(secured_console.api("POST", "/consumer-groups/ui-api-viewer-group/offsets", {"to": "earliest"}, auth=viewer),
             403, "FORBIDDEN")
    listed = secured_console.api("POST", "/ksql", {"sql": "SHOW STREAMS;"}, auth=viewer)
    assert listed.status == 200, listed.text
    records = secured_console.api("GET", f"/topics/{secured_topic}/messages", auth=viewer)
    assert records.status == 200 and records.json()["records"], records.text


def test_a_user_kept_to_metadata_reads_no_records(secured_console, secured_topic):
    auditor = USERS["auditor"]
    assert secured_console.api("GET", f"/topics/{secured_topic}", auth=auditor).status == 200
    message = error_of(secured_console.api("GET", f"/topics/{secured_topic}/messages", auth=auditor),
                       403, "FORBIDDEN")
    assert message == "auditor may not read messages (auth.users.N.messages=false)"
    error_of(secured_console.api("GET", f"/topics/{secured_topic}/messages/live", auth=auditor), 403, "FORBIDDEN")
    query = urllib.parse.urlencode({"sql": "SELECT * FROM ui_api_clicks EMIT CHANGES;"})
    error_of(secured_console.api("GET", f"/ksql/query?{query}", auth=auditor), 403, "FORBIDDEN")


def test_an_admin_changes_through_basic_auth(secured_console):
    admin_user = USERS["admin"]
    created = secured_console.api("POST", "/topics", {"name": "ui-api-admin", "partitions": 1}, auth=admin_user)
    assert created.status == 201, created.text
    deleted = secured_console.api("DELETE", "/topics/ui-api-admin", auth=admin_user)
    assert deleted.status == 204, deleted.text


# The console `potok-operator up` runs beside the cluster.


def test_the_operators_own_console_shows_its_cluster(cluster, admin):
    own = Console(cluster / "unused.log", port=8282)
    assert own.request("GET", "/healthz").status == 200
    [entry] = own.request("GET", "/api/clusters").json()
    assert entry["bootstrapServers"] == BOOTSTRAP and entry["ksql"] is True, entry
    overview = own.request("GET", f"/api/clusters/{entry['name']}/overview").json()
    assert sorted(overview["brokersOnline"]) == sorted(admin.list_topics(timeout=30).brokers)
