"""The ksql server against clients that send too much: a burst of 3,000 connections is served
and its memory given back, oversized request bodies are refused
with ksqlDB's JSON error (HTTP 413), an `/inserts-stream` body of 1 GiB is written row by
row while the server's memory stays small, a DECIMAL of 1e2000000000 goes to the
processing log without being expanded, and windows that would overflow or multiply without
bound are refused when the query is created.

The suite runs its own ksql server (service id `limits_`) on the cluster of `potok-operator
up`, so it can set the server's limits and watch its process's memory in /proc."""

import json
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from conftest import ROOT, free_port, tool, wait_for_port, wait_until

BOOTSTRAP = "127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092"
SERVICE_ID = "limits_"
# The server's limits in this suite: the default request limit, and a small line limit so
# an over-long line is quick to send.
MAX_REQUEST_BYTES = 32 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024
# The bound on the server's peak resident memory (VmHWM) through the whole suite, 1 GiB
# of inserts included. A debug build of the server idles at a few tens of MB.
MAX_RSS_BYTES = 300 * 1024 * 1024


class Server:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process = process
        self.port = port
        self.stopped_by_test = False

    def memory(self, field: str) -> int:
        """VmRSS or VmHWM (the peak) of the server process, in bytes."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kilobytes = re.search(rf"^{field}:\s+(\d+) kB$", status, re.M)
        return int(kilobytes.group(1)) * 1024

    def connection(self, timeout: float = 60):
        import http.client
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def post(self, path: str, body, headers: dict | None = None, chunked: bool = False) -> tuple[int, str]:
        connection = self.connection()
        connection.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})},
                           encode_chunked=chunked)
        response = connection.getresponse()
        answer = response.status, response.read().decode()
        connection.close()
        return answer

    def ksql(self, statements: str, properties: dict | None = None) -> tuple[int, object]:
        status, body = self.post("/ksql", json.dumps({"ksql": statements, "streamsProperties": properties or {}}))
        return status, json.loads(body)

    def query(self, sql: str, properties: dict | None = None) -> tuple[int, object]:
        status, body = self.post("/query", json.dumps({"ksql": sql, "streamsProperties": properties or {}}))
        return status, json.loads(body)

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.port}/metrics"
        return urllib.request.urlopen(url, timeout=10).read().decode()


@pytest.fixture(scope="module")
def server(ksql_cluster):
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="potok-ksql-limits-") as tmp:
        output = open(Path(tmp) / "ksql.log", "wb")
        process = subprocess.Popen(
            [tool("potok-ksql"), str(ROOT / "config" / "ksql-server.properties"),
             "--override", f"listeners=http://127.0.0.1:{port}",
             "--override", f"bootstrap.servers={BOOTSTRAP}",
             "--override", f"ksql.service.id={SERVICE_ID}",
             "--override", f"ksql.server.inserts.max.line.bytes={MAX_LINE_BYTES}"],
            stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, timeout=90)
            running = Server(process, port)
            yield running
            if not running.stopped_by_test:
                assert process.poll() is None, "the server died"
                print(f"ksql server peak RSS (VmHWM): {running.memory('VmHWM') / 2**20:.0f} MiB")
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            output.close()
            log = (Path(tmp) / "ksql.log").read_text(errors="replace")
            assert "panicked" not in log, log[-5000:]


def produce(topic: str, records: list[tuple[bytes | None, bytes]]):
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all"})
    for key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0


def generic_error(body: object, code: int) -> str:
    assert isinstance(body, dict), body
    assert body["@type"] == "generic_error", body
    assert body["error_code"] == code, body
    return body["message"]


def test_a_burst_of_connections_is_answered_with_bounded_memory(server):
    """2,000 connections at once, each asking for /info and kept open, then 1,000 more that
    send half a request head and stall: every one of the first is answered, a new client is
    answered meanwhile, and the server's memory stays bounded and falls back once they close."""
    baseline = server.memory("VmRSS")
    address = ("127.0.0.1", server.port)
    asking = [socket.create_connection(address, timeout=30) for _ in range(2000)]
    for sock in asking:
        sock.sendall(b"GET /info HTTP/1.1\r\nHost: ksql\r\n\r\n")
    answered = sum(1 for sock in asking if sock.recv(4096).startswith(b"HTTP/1.1 200"))
    stalled = [socket.create_connection(address, timeout=30) for _ in range(1000)]
    for sock in stalled:
        sock.sendall(b"GET /info HTTP/1.1\r\nHo")
    during = server.memory("VmRSS")
    status, body = server.post("/ksql", json.dumps({"ksql": "SHOW STREAMS;"}))
    for sock in asking + stalled:
        sock.close()
    time.sleep(2)
    after = server.memory("VmRSS")
    print(f"ksql server RSS: {baseline / 2**20:.0f} MiB before, {during / 2**20:.0f} MiB with "
          f"3,000 connections open, {after / 2**20:.0f} MiB after they closed")
    assert answered == 2000
    assert status == 200, body
    assert during - baseline < 150 * 1024 * 1024, (baseline, during)
    # What the connections held goes back to the system once they are gone.
    assert after - baseline < 50 * 1024 * 1024, (baseline, after)


def test_an_oversized_request_body_is_refused_with_ksqldb_json(server):
    # Declared by Content-Length, refused before it is read.
    statement = "SHOW STREAMS;" + " " * MAX_REQUEST_BYTES
    status, body = server.post("/ksql", json.dumps({"ksql": statement}))
    assert status == 413, body
    message = generic_error(json.loads(body), 41300)
    assert message == (f"The request body is larger than the limit of {MAX_REQUEST_BYTES} bytes "
                       "(ksql.server.request.max.bytes)")

    # Chunked, without a length: refused once the limit is passed.
    def pieces():
        yield b'{"ksql": "SHOW STREAMS;'
        for _ in range(40):
            yield b" " * (1024 * 1024)
        yield b'"}'
    status, body = server.post("/query", pieces(), chunked=True)
    assert status == 413, body
    generic_error(json.loads(body), 41300)

    # Just under the limit is read and answered as usual.
    statement = "SHOW STREAMS;" + " " * (MAX_REQUEST_BYTES - 100)
    status, body = server.ksql(statement)
    assert status == 200, body
    assert body[0]["@type"] == "streams"
    assert server.memory("VmHWM") < MAX_RSS_BYTES


class InsertsStream:
    """An /inserts-stream request over a raw socket: the body is sent in chunks by one
    thread while the acknowledgements are read by another, as ksqlDB's clients do."""

    def __init__(self, port: int):
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.received = bytearray()
        self.reader = threading.Thread(target=self._read, daemon=True)

    def _read(self):
        while True:
            try:
                data = self.socket.recv(1 << 16)
            except OSError:
                return
            if not data:
                return
            self.received += data
            if self.received.endswith(b"\r\n0\r\n\r\n"):  # the last chunk of the answer
                return

    def send(self, lines) -> None:
        self.socket.sendall(b"POST /inserts-stream HTTP/1.1\r\nHost: localhost\r\n"
                            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        self.reader.start()
        for chunk in lines:
            self.socket.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.socket.sendall(b"0\r\n\r\n")

    def answer(self, timeout: float = 120) -> tuple[int, list[dict]]:
        self.reader.join(timeout)
        self.socket.close()
        head, _, body = bytes(self.received).partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        acknowledgements = [json.loads(line) for line in re.findall(rb"\{[^\r\n]*\}", body)]
        return status, acknowledgements


def test_a_1_gib_inserts_stream_is_written_with_bounded_memory(server):
    status, body = server.ksql("CREATE STREAM bulk (id INT KEY, name STRING, n BIGINT) "
                               "WITH (kafka_topic='bulk', value_format='json', partitions=1);")
    assert status == 200, body
    rows = 25_000
    padding = b" " * 43_000  # JSON whitespace: the row read is 43 kB, the record written small.

    def lines():
        yield json.dumps({"target": "bulk"}).encode() + b"\n"
        batch = []
        for i in range(rows):
            batch.append(b'{"ID": %d,%s"NAME": "row %d", "N": %d}\n' % (i % 100, padding, i, i))
            if len(batch) == 64:
                yield b"".join(batch)
                batch = []
        yield b"".join(batch)

    baseline = server.memory("VmRSS")
    started = time.time()
    stream = InsertsStream(server.port)
    sent = sum(len(chunk) for chunk in lines())
    assert sent > 2**30
    peak = 0
    sampling = True

    def sample():
        nonlocal peak
        while sampling:
            peak = max(peak, server.memory("VmRSS"))
            time.sleep(0.05)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stream.send(lines())
    status, acknowledgements = stream.answer()
    sampling = False
    sampler.join()
    elapsed = time.time() - started
    print(f"inserts-stream: {sent / 1e6:.0f} MB, {rows} rows in {elapsed:.1f}s; server RSS "
          f"{baseline / 2**20:.0f} MiB before, {peak / 2**20:.0f} MiB at most during, "
          f"VmHWM {server.memory('VmHWM') / 2**20:.0f} MiB")
    assert status == 200
    assert len(acknowledgements) == rows
    assert all(a["status"] == "ok" for a in acknowledgements), [a for a in acknowledgements if a["status"] != "ok"][:3]
    assert [a["seq"] for a in acknowledgements] == list(range(rows))
    assert peak - baseline < 100 * 1024 * 1024, (baseline, peak)
    assert server.memory("VmHWM") < MAX_RSS_BYTES

    # A line over the limit is refused, and ends the request.
    stream = InsertsStream(server.port)
    stream.send([b'{"target": "bulk"}\n{"ID": 1, "N": 1}\n',
                 b'{"ID": 2, "NAME": "' + b"x" * (2 * MAX_LINE_BYTES) + b'"}\n',
                 b'{"ID": 3, "N": 3}\n'])
    status, acknowledgements = stream.answer()
    assert status == 200
    assert [(a["status"], a["seq"]) for a in acknowledgements] == [("ok", 0), ("error", 1)]
    assert acknowledgements[1]["error_code"] == 41300
    assert acknowledgements[1]["message"] == (
        f"A line of the request body is longer than the limit of {MAX_LINE_BYTES} bytes "
        "(ksql.server.inserts.max.line.bytes)")

    # An over-long first line is refused before the stream starts.
    status, body = server.post("/inserts-stream", b'{"target": "' + b"x" * (2 * MAX_LINE_BYTES) + b'"}\n')
    assert status == 413, body
    generic_error(json.loads(body), 41300)


def test_a_huge_decimal_goes_to_the_processing_log_unexpanded(server):
    status, body = server.ksql("CREATE STREAM prices (id INT KEY, price DECIMAL(10, 2)) "
                               "WITH (kafka_topic='prices', value_format='json', partitions=1);")
    assert status == 200, body
    status, body = server.ksql("CREATE STREAM prices_copy AS SELECT * FROM prices;",
                               {"auto.offset.reset": "earliest"})
    assert status == 200, body
    query_id = body[0]["commandStatus"]["queryId"]
    key = (1).to_bytes(4, "big")
    produce("prices", [(key, b'{"PRICE": 1.5}'), (key, b'{"PRICE": 1e2000000000}'), (key, b'{"PRICE": 2.25}')])

    def copied():
        status, body = server.query("SELECT * FROM prices_copy;")
        assert status == 200, body
        return [entry["row"]["columns"] for entry in body if "row" in entry]
    rows = wait_until(lambda: (lambda r: r if len(r) == 2 else None)(copied()), timeout=60,
                      message="both good prices copied")
    assert rows == [[1, 1.5], [1, 2.25]]
    assert re.search(rf'^ksql_processing_errors_total\{{query="{query_id}"\}} 1$', server.metrics(), re.M)

    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "limits-processing-log-reader",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([f"{SERVICE_ID}ksql_processing_log"])
    entries = []
    deadline = time.time() + 30
    while time.time() < deadline and not entries:
        message = consumer.poll(1.0)
        if message is not None and message.error() is None:
            entries.append(message.value().decode())
    consumer.close()
    assert entries and "Numeric field overflow" in entries[0] and "1E+2000000000" in entries[0], entries
    assert len(entries[0]) < 10_000

    # Through /inserts-stream, the same value is refused with the same reason.
    stream = InsertsStream(server.port)
    stream.send([b'{"target": "prices"}\n{"ID": 1, "PRICE": 1e2000000000}\n{"ID": 1, "PRICE": 3}\n'])
    status, acknowledgements = stream.answer()
    assert status == 200
    assert [(a["status"], a["seq"]) for a in acknowledgements] == [("error", 0), ("ok", 1)]
    assert "Numeric field overflow" in acknowledgements[0]["message"]

    # In SQL, a literal past DECIMAL's 38 digits is an error, not an allocation.
    status, body = server.ksql("INSERT INTO prices (id, price) VALUES (1, 0.%s1);" % ("0" * 100))
    assert status == 400 and "DECIMAL precision must be <= 38" in body["message"], body
    assert server.memory("VmHWM") < MAX_RSS_BYTES
    assert urllib.request.urlopen(f"http://127.0.0.1:{server.port}/info", timeout=10).status == 200


def test_hopping_windows_with_too_many_windows_per_record_are_refused(server):
    server.ksql("CREATE STREAM IF NOT EXISTS clicks (id INT KEY, page STRING) "
                "WITH (kafka_topic='limits_clicks', value_format='json', partitions=1);")
    window = "WINDOW HOPPING (SIZE 3650 DAYS, ADVANCE BY 1 MILLISECOND)"
    expected = ("would put each record in 315360000000 windows; at most 5000 windows per record "
                "are allowed")
    status, body = server.ksql(f"CREATE TABLE per_decade AS SELECT id, COUNT(*) FROM clicks {window} GROUP BY id;")
    assert status == 400, body
    assert body["@type"] == "statement_error" and expected in body["message"], body
    status, body = server.query(f"SELECT id, COUNT(*) FROM clicks {window} GROUP BY id EMIT CHANGES;")
    assert status == 400, body
    assert expected in body["message"], body
    status, body = server.ksql("SHOW QUERIES;")
    assert status == 200 and not [q for q in body[0]["queries"] if "PER_DECADE" in q["id"]], body
    # Within the limit, the same shape runs.
    status, body = server.ksql("CREATE TABLE per_day AS SELECT id, COUNT(*) AS n FROM clicks "
                               "WINDOW HOPPING (SIZE 1 DAY, ADVANCE BY 1 MINUTE) GROUP BY id;")
    assert status == 200, body


def test_huge_tumbling_sizes_are_refused_or_computed_without_overflow(server):
    server.ksql("CREATE STREAM IF NOT EXISTS visits (id INT KEY, page STRING) "
                "WITH (kafka_topic='limits_visits', value_format='json', partitions=1);")
    status, body = server.ksql("CREATE TABLE forever AS SELECT id, COUNT(*) FROM visits "
                               "WINDOW TUMBLING (SIZE 9223372036854775807 DAYS) GROUP BY id;")
    assert status == 400, body
    assert "Window size 9223372036854775807 DAYS is too large" in body["message"], body
    status, body = server.query("SELECT id, COUNT(*) FROM visits WINDOW TUMBLING (SIZE 9223372036854775807 DAYS) "
                                "GROUP BY id EMIT CHANGES;")
    assert status == 400 and "is too large" in body["message"], body

    # The largest size that fits runs: its window [0, 292 million years) holds today.
    status, body = server.ksql("CREATE TABLE eons AS SELECT id, COUNT(*) AS n, WINDOWEND AS ends FROM visits "
                               "WINDOW TUMBLING (SIZE 106751991167 DAYS) GROUP BY id;",
                               {"auto.offset.reset": "earliest"})
    assert status == 200, body
    produce("limits_visits", [((7).to_bytes(4, "big"), b'{"PAGE": "home"}')] * 3)

    def counted():
        status, body = server.query("SELECT * FROM eons;")
        assert status == 200, body
        return [entry["row"]["columns"] for entry in body if "row" in entry]
    rows = wait_until(lambda: (lambda r: r if r and r[0][-2] == 3 else None)(counted()), timeout=60,
                      message="three visits counted")
    assert rows[0][-1] == 106751991167 * 86_400_000, rows
    assert server.process.poll() is None


def test_sigterm_ends_open_push_queries_and_stops_promptly(server):
    """Last in this file: it stops the suite's server. SIGTERM while a push query streams:
    the stream ends, the server exits 0 within seconds."""
    import signal

    status, body = server.ksql(
        "CREATE STREAM limits_stop (id INT) WITH (kafka_topic='limits_stop', partitions=1, "
        "value_format='JSON');"
    )
    assert status == 200, body
    connection = server.connection(timeout=60)
    connection.request(
        "POST",
        "/query-stream",
        json.dumps({"sql": "SELECT * FROM limits_stop EMIT CHANGES;", "properties": {}}),
        {"Content-Type": "application/json", "Accept": "application/vnd.ksqlapi.delimited.v1"},
    )
    response = connection.getresponse()
    assert response.status == 200
    header = response.readline()
    assert b"queryId" in header, header

    started = time.time()
    server.stopped_by_test = True
    server.process.send_signal(signal.SIGTERM)
    rest = response.read()
    assert time.time() - started < 20, "the push query's stream must end when the server stops"
    assert b"error" not in rest.lower(), rest
    assert server.process.wait(30) == 0
    assert time.time() - started < 30
