"""The ksql server as a ksqlDB user meets it, against `potok-operator up` (three coordinators,
three brokers, ksql on localhost:8088): the seed's walkthrough through the REST API, the
table's sink topic read with a real Kafka client, errors in ksqlDB's words, malformed
records skipped into the processing log, and the server killed and restarted mid-stream."""

import http.client
import json
import re
import subprocess
import threading
import time
import urllib.request

import pytest
from confluent_kafka import Consumer, Producer

from conftest import wait_until

KSQL = ("localhost", 8088)
BOOTSTRAP = "127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092"
EARLIEST = {"auto.offset.reset": "earliest"}


@pytest.fixture(scope="module")
def cluster(ksql_cluster):
    return ksql_cluster


def post(path: str, body: dict) -> tuple[int, str]:
    connection = http.client.HTTPConnection(*KSQL, timeout=60)
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, response.read().decode()


def ksql(statements: str, properties: dict | None = None) -> list:
    status, body = post("/ksql", {"ksql": statements, "streamsProperties": properties or {}})
    assert status == 200, body
    return json.loads(body)


def ksql_error(statements: str) -> dict:
    status, body = post("/ksql", {"ksql": statements, "streamsProperties": {}})
    assert status == 400, body
    error = json.loads(body)
    assert error["@type"] == "statement_error"
    return error


def query(sql: str, properties: dict | None = None) -> tuple[str, list]:
    """Runs a query to its end (a pull query, or a push query with LIMIT); returns the header
    schema and the rows."""
    status, body = post("/query", {"ksql": sql, "streamsProperties": properties or {}})
    assert status == 200, body
    entries = json.loads(body)
    schema = entries[0]["header"]["schema"]
    rows = [entry["row"]["columns"] for entry in entries if "row" in entry]
    return schema, rows


def produce(topic: str, records: list[tuple[bytes | None, bytes, int | None]]):
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all"})
    for key, value, timestamp in records:
        producer.produce(topic, key=key, value=value, timestamp=timestamp or 0)
    assert producer.flush(30) == 0


def payment(name: str, amount: int, timestamp: int | None = None):
    return None, json.dumps({"name": name, "amount": amount}).encode(), timestamp


def test_the_walkthrough_through_the_rest_api(cluster):
    created = ksql("CREATE STREAM payments (name VARCHAR, amount INTEGER) "
                   "WITH (kafka_topic='payments', value_format='json', partitions=1);")
    assert created[0]["@type"] == "currentStatus"
    assert created[0]["commandStatus"]["message"] == "Stream created"

    # A push query from the latest offset sees records produced after it starts.
    results = {}
    reader = threading.Thread(target=lambda: results.update(
        live=query("SELECT ROWOFFSET, * FROM payments EMIT CHANGES LIMIT 3;")))
    reader.start()
    time.sleep(3)
    produce("payments", [payment("Bob", 10, 1_000), payment("Alice", 5, 4_000), payment("Bob", 20, 12_000)])
    reader.join(60)
    schema, rows = results["live"]
    assert schema == "`ROWOFFSET` BIGINT, `NAME` STRING, `AMOUNT` INTEGER"
    assert rows == [[0, "Bob", 10], [1, "Alice", 5], [2, "Bob", 20]]

    schema, rows = query("SELECT ROWOFFSET, * FROM payments WHERE name='Bob' EMIT CHANGES LIMIT 2;", EARLIEST)
    assert rows == [[0, "Bob", 10], [2, "Bob", 20]]

    schema, rows = query("SELECT name, SUM(amount) FROM payments GROUP BY name EMIT CHANGES LIMIT 3;", EARLIEST)
    assert schema == "`NAME` STRING, `KSQL_COL_0` INTEGER"
    assert rows == [["Bob", 10], ["Alice", 5], ["Bob", 30]]

    schema, rows = query("SELECT name, WINDOWSTART, WINDOWEND, SUM(amount) FROM payments "
                         "WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY name EMIT CHANGES LIMIT 3;", EARLIEST)
    assert schema == "`NAME` STRING, `WINDOWSTART` BIGINT, `WINDOWEND` BIGINT, `KSQL_COL_0` INTEGER"
    assert rows == [["Bob", 0, 10_000, 10], ["Alice", 0, 10_000, 5], ["Bob", 10_000, 20_000, 20]]

    created = ksql("CREATE TABLE payments_table AS SELECT name, count(*) AS cnt, sum(amount) AS sum, "
                   "avg(amount) AS avg FROM payments GROUP BY name EMIT CHANGES;", EARLIEST)
    query_id = created[0]["commandStatus"]["queryId"]
    assert re.fullmatch(r"CTAS_PAYMENTS_TABLE_\d+", query_id), query_id

    def table():
        return query("SELECT * FROM payments_table;")
    schema, rows = wait_until(lambda: (lambda t: t if len(t[1]) == 2 and t[1][0][1] + t[1][1][1] == 3 else None)(table()),
                              message="the table holds both names")
    assert schema == "`NAME` STRING, `CNT` BIGINT, `SUM` INTEGER, `AVG` DOUBLE"
    assert sorted(rows) == [["Alice", 1, 5, 5.0], ["Bob", 2, 30, 15.0]]

    listed = ksql("SHOW QUERIES; SHOW STREAMS; SHOW TABLES; DESCRIBE payments_table;")
    assert [q["id"] for q in listed[0]["queries"]] == [query_id]
    assert [s["name"] for s in listed[1]["streams"]] == ["PAYMENTS"]
    assert [t["name"] for t in listed[2]["tables"]] == ["PAYMENTS_TABLE"]
    fields = listed[3]["sourceDescription"]["fields"]
    assert [(f["name"], f["schema"]["type"], f.get("type")) for f in fields] == [
        ("NAME", "STRING", "KEY"), ("CNT", "BIGINT", None), ("SUM", "INTEGER", None), ("AVG", "DOUBLE", None)]

    # The sink topic, named after the table, read with a real Kafka client.
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "walkthrough-reader",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe(["PAYMENTS_TABLE"])
    latest = {}
    deadline = time.time() + 30
    while time.time() < deadline and latest.get(b"Bob", {}).get("CNT") != 2:
        message = consumer.poll(1.0)
        if message is not None and message.error() is None:
            latest[message.key()] = json.loads(message.value())
    consumer.close()
    assert latest[b"Bob"] == {"CNT": 2, "SUM": 30, "AVG": 15.0}
    assert latest[b"Alice"] == {"CNT": 1, "SUM": 5, "AVG": 5.0}


def test_errors_read_as_ksqldb_writes_them(cluster):
    ksql("CREATE STREAM IF NOT EXISTS orders (id INT KEY, item STRING) "
         "WITH (kafka_topic='orders', value_format='json', partitions=1);")
    syntax = ksql_error("SELEC * FROM orders;")
    assert syntax["error_code"] == 40001
    assert syntax["message"].startswith("line 1:1: Syntax Error")
    assert ksql_error("CREATE STREAM o2 AS SELECT id, nope FROM orders;")["message"] == \
        "SELECT column 'NOPE' cannot be resolved."
    assert ksql_error("CREATE STREAM o3 AS SELECT * FROM orders WHERE item = 5;")["message"] == \
        "Error in WHERE expression: Cannot compare ITEM (STRING) to 5 (INTEGER) with EQUAL."
    assert ksql_error("CREATE STREAM o4 AS SELECT * FROM missing;")["message"] == "Source `MISSING` does not exist."
    assert ksql_error("SELECT * FROM orders EMIT CHANGES;")["error_code"] == 40002
    status, body = post("/query", {"ksql": "SELECT * FROM missing EMIT CHANGES;"})
    assert status == 400 and json.loads(body)["message"] == "Source `MISSING` does not exist."
    status, body = post("/ksql", {"not": "a statement"})
    assert status == 400


def test_joins_enrich_a_stream_from_a_table_and_pair_two_streams(cluster):
    ksql("CREATE TABLE customers (id INT PRIMARY KEY, name STRING, city STRING) "
         "WITH (kafka_topic='customers', value_format='json', partitions=2);")
    ksql("CREATE STREAM purchases (customer INT KEY, item STRING, price DOUBLE) "
         "WITH (kafka_topic='purchases', value_format='json', partitions=2);")
    created = ksql("CREATE STREAM enriched AS SELECT p.customer, item, price, name, city "
                   "FROM purchases p LEFT JOIN customers c ON p.customer = c.id;", EARLIEST)
    assert re.fullmatch(r"CSAS_ENRICHED_\d+", created[0]["commandStatus"]["queryId"])
    described = ksql("DESCRIBE enriched;")[0]["sourceDescription"]["fields"]
    assert [(f["name"], f["schema"]["type"]) for f in described] == [
        ("CUSTOMER", "INTEGER"), ("ITEM", "STRING"), ("PRICE", "DOUBLE"), ("NAME", "STRING"), ("CITY", "STRING")]

    key = lambda n: n.to_bytes(4, "big")
    produce("customers", [(key(1), json.dumps({"name": "Ada", "city": "London"}).encode(), 1_000)])
    time.sleep(2)  # the table row is read before the purchases that look it up
    produce("purchases", [(key(1), json.dumps({"item": "book", "price": 12.5}).encode(), 2_000),
                          (key(2), json.dumps({"item": "pen", "price": 1.5}).encode(), 3_000)])
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "enriched-reader",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe(["ENRICHED"])
    seen = {}
    deadline = time.time() + 30
    while time.time() < deadline and len(seen) < 2:
        message = consumer.poll(1.0)
        if message is not None and message.error() is None:
            seen[int.from_bytes(message.key(), "big")] = json.loads(message.value())
    consumer.close()
    assert seen == {1: {"ITEM": "book", "PRICE": 12.5, "NAME": "Ada", "CITY": "London"},
                    2: {"ITEM": "pen", "PRICE": 1.5, "NAME": None, "CITY": None}}

    ksql("CREATE STREAM shipments (customer INT KEY, carrier STRING) "
         "WITH (kafka_topic='shipments', value_format='json', partitions=2);")
    produce("shipments", [(key(1), json.dumps({"carrier": "post"}).encode(), 2_500),
                          (key(2), json.dumps({"carrier": "van"}).encode(), 90_000)])
    schema, rows = query("SELECT p.customer, item, carrier FROM purchases p JOIN shipments s "
                         "WITHIN 1 MINUTE ON p.customer = s.customer EMIT CHANGES LIMIT 1;", EARLIEST)
    assert schema == "`P_CUSTOMER` INTEGER, `ITEM` STRING, `CARRIER` STRING"
    assert rows == [[1, "book", "post"]]
    status, body = post("/query", {"ksql": "SELECT * FROM purchases p JOIN customers c ON p.customer = c.id;"})
    assert status == 400 and json.loads(body)["message"].startswith("Pull queries don't support JOIN clauses.")
    assert ksql_error("CREATE STREAM bad AS SELECT * FROM purchases p JOIN shipments s "
                      "ON p.customer = s.customer;")["message"].startswith(
        "Stream-Stream joins must have a WITHIN clause specified.")


def test_print_shows_a_topic_as_ksqldb_does(cluster):
    ksql("CREATE STREAM IF NOT EXISTS printed (word STRING) "
         "WITH (kafka_topic='printed', value_format='json', partitions=1);")
    produce("printed", [(b"k1", b'{"WORD":"alpha"}', 1_700_000_000_000), (b"k2", b'{"WORD":"beta"}', 1_700_000_001_000)])
    status, body = post("/query", {"ksql": "PRINT 'printed' FROM BEGINNING LIMIT 2;"})
    assert status == 200, body
    assert body.splitlines() == [
        "Key format: KAFKA_STRING",
        "Value format: JSON or KAFKA_STRING",
        'rowtime: 2023/11/14 22:13:20.000 Z, key: k1, value: {"WORD":"alpha"}, partition: 0',
        'rowtime: 2023/11/14 22:13:21.000 Z, key: k2, value: {"WORD":"beta"}, partition: 0',
    ]
    status, body = post("/query", {"ksql": "PRINT 'no_such_topic';"})
    assert status == 400 and "Could not find topic 'no_such_topic'" in json.loads(body)["message"]


def test_malformed_records_are_skipped_and_logged(cluster):
    ksql("CREATE STREAM clicks (page STRING, n INT) WITH (kafka_topic='clicks', value_format='json', partitions=1);")
    ksql("CREATE TABLE click_counts AS SELECT page, COUNT(*) AS views FROM clicks GROUP BY page;", EARLIEST)
    produce("clicks", [(None, b'{"page": "home", "n": 1}', None), (None, b"{this is not json", None),
                       (None, b'{"page": "home", "n": 2}', None)])
    rows = wait_until(lambda: (lambda r: r if r == [["home", 2]] else None)(query("SELECT * FROM click_counts;")[1]),
                      message="both good records counted")
    assert rows == [["home", 2]]
    metrics = urllib.request.urlopen("http://localhost:8088/metrics", timeout=10).read().decode()
    assert re.search(r'^ksql_processing_errors_total\{query="CTAS_CLICK_COUNTS_\d+"\} 1$', metrics, re.M), metrics
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "processing-log-reader",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe(["default_ksql_processing_log"])
    entries = []
    deadline = time.time() + 30
    while time.time() < deadline and not entries:
        message = consumer.poll(1.0)
        if message is not None and message.error() is None:
            entries.append(json.loads(message.value()))
    consumer.close()
    error = entries[0]["message"]["deserializationError"]
    assert error["topic"] == "clicks"
    assert "clicks" in error["errorMessage"]


def test_a_restarted_server_continues_without_double_counting(cluster):
    ksql("CREATE STREAM visits (user_id STRING) WITH (kafka_topic='visits', value_format='json', partitions=3);")
    ksql("CREATE TABLE visit_counts AS SELECT user_id, COUNT(*) AS n FROM visits GROUP BY user_id;", EARLIEST)
    produce("visits", [(None, json.dumps({"user_id": f"u{i % 3}"}).encode(), None) for i in range(60)])
    counted = lambda: sorted(query("SELECT * FROM visit_counts;")[1])  # noqa: E731
    wait_until(lambda: counted() == [["u0", 20], ["u1", 20], ["u2", 20]], message="first 60 counted")

    subprocess.run(["pkill", "-9", "-f", "potok-ksql-0.properties"], check=True)
    produce("visits", [(None, json.dumps({"user_id": f"u{i % 3}"}).encode(), None) for i in range(30)])

    def back():
        try:
            return counted()
        except (OSError, AssertionError):
            return None
    wait_until(lambda: back() == [["u0", 30], ["u1", 30], ["u2", 30]], timeout=120,
               message="the restarted server counts the rest once")
    listed = ksql("SHOW TABLES; SHOW QUERIES;")
    assert "VISIT_COUNTS" in [t["name"] for t in listed[0]["tables"]]
    assert any(q["id"].startswith("CTAS_VISIT_COUNTS_") for q in listed[1]["queries"])


def test_query_stream_inserts_stream_and_close_query(cluster):
    ksql("CREATE STREAM readings (sensor STRING KEY, temp DOUBLE) "
         "WITH (kafka_topic='readings', value_format='json', partitions=2);")
    connection = http.client.HTTPConnection(*KSQL, timeout=60)
    connection.request("POST", "/query-stream",
                       json.dumps({"sql": "SELECT sensor, temp FROM readings EMIT CHANGES;", "properties": {}}),
                       {"Accept": "application/vnd.ksqlapi.delimited.v1"})
    response = connection.getresponse()
    assert response.status == 200
    metadata = json.loads(response.readline())
    assert metadata["columnNames"] == ["SENSOR", "TEMP"]
    assert metadata["columnTypes"] == ["STRING", "DOUBLE"]
    time.sleep(2)

    rows = [{"SENSOR": "a", "TEMP": 20.5}, {"sensor": "b", "temp": 21}, {"SENSOR": "a", "TEMP": "not a number"}]
    body = "\n".join(json.dumps(line) for line in [{"target": "readings"}, *rows]) + "\n"
    status, answer = post_raw("/inserts-stream", body)
    assert status == 200, answer
    acks = [json.loads(line) for line in answer.splitlines()]
    assert [(a["status"], a["seq"]) for a in acks] == [("ok", 0), ("ok", 1), ("error", 2)]

    received = sorted(json.loads(response.readline()) for _ in range(2))
    assert received == [["a", 20.5], ["b", 21.0]]
    status, _ = post_raw("/close-query", json.dumps({"queryId": metadata["queryId"]}))
    assert status == 200
    assert response.read() == b""
    status, _ = post_raw("/close-query", json.dumps({"queryId": metadata["queryId"]}))
    assert status == 400

    # HTTP/2 without TLS (prior knowledge), as ksqlDB's Java client speaks it.
    answer = subprocess.run(
        ["curl", "-s", "--http2-prior-knowledge", "-X", "POST", "http://localhost:8088/query-stream",
         "-H", "Accept: application/vnd.ksqlapi.delimited.v1", "-w", "\nHTTP %{http_version}\n",
         "-d", json.dumps({"sql": "SELECT sensor, temp FROM readings EMIT CHANGES LIMIT 2;",
                           "properties": {"auto.offset.reset": "earliest"}})],
        capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    assert json.loads(answer[0])["columnNames"] == ["SENSOR", "TEMP"]
    assert sorted(json.loads(line) for line in answer[1:3]) == [["a", 20.5], ["b", 21.0]]
    assert answer[-1] == "HTTP 2"


def post_raw(path: str, body: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(*KSQL, timeout=60)
    connection.request("POST", path, body.encode(), {"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, response.read().decode()
