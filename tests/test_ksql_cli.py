"""The `ksql` command line as a ksqlDB user meets it, driven as a terminal program with
pexpect against `potok-operator up` (ksql on localhost:8088): the banner, the walkthrough's
statements typed over several lines and several to a line, SHOW STREAMS drawn as ksqlDB
draws it, a push query showing rows as they are produced and stopped with Ctrl-C (the
server's query gone, the prompt back), SET kept for the session, a pull query on the
windowed table, PRINT, errors with their position, and --execute / --file scripts with
their exit status."""

import json
import re
import subprocess
import time
import urllib.request

import pexpect
import pytest
from confluent_kafka import Producer

from conftest import pull_rows, tool, wait_until

SERVER = "http://localhost:8088"
BOOTSTRAP = "127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092"
PROMPT = "ksql> "
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def produce(topic: str, records: list[tuple[str, int, int]]):
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all"})
    for name, amount, timestamp in records:
        producer.produce(topic, value=json.dumps({"name": name, "amount": amount}).encode(),
                         timestamp=timestamp)
    assert producer.flush(30) == 0


def transient_queries() -> float:
    with urllib.request.urlopen(f"{SERVER}/metrics", timeout=10) as response:
        text = response.read().decode()
    match = re.search(r"^ksql_transient_queries (\S+)$", text, re.MULTILINE)
    assert match, text
    return float(match.group(1))


class Terminal:
    """The CLI in a pseudo-terminal: type lines, wait for text, read what was printed."""

    def __init__(self, home):
        self.child = pexpect.spawn(
            tool("ksql"), [SERVER], env={"HOME": str(home), "TERM": "xterm"},
            encoding="utf-8", timeout=60, dimensions=(50, 160))

    def expect(self, pattern) -> str:
        """Waits for `pattern` (a regex); the text printed before it, without escapes."""
        self.child.expect(pattern)
        return ANSI.sub("", self.child.before)

    def run(self, line: str) -> str:
        """Types a line and waits for the next prompt; what the statement printed."""
        self.child.sendline(line)
        return self.expect(PROMPT)


@pytest.fixture
def terminal(ksql_cluster, tmp_path):
    instance = Terminal(tmp_path)
    yield instance
    if instance.child.isalive():
        instance.child.terminate(force=True)


def test_the_walkthrough_typed_into_the_cli(terminal, tmp_path):
    banner = terminal.expect(PROMPT)
    assert f"Server v0.29.0 located at {SERVER}" in banner
    assert re.search(r"CLI v\d+\.\d+\.\d+", banner)
    assert "Server Status: RUNNING" in banner
    assert "Having trouble? Type 'help' (case-insensitive) for a rundown of how things work!" in banner

    # A statement over two lines: the continuation prompt, then ksqlDB's status table.
    terminal.child.sendline("CREATE STREAM payments (name VARCHAR, amount INTEGER)")
    terminal.expect(r"\x1b\[K>")  # the continuation prompt, drawn after clearing the line
    created = terminal.run("  WITH (kafka_topic='payments', value_format='json', partitions=1);")
    assert " Message        \r\n----------------\r\n Stream created \r\n----------------" in created

    # SET holds for the rest of the session: the queries below read their topics from the
    # beginning, so they count records produced before they were assigned partitions.
    changed = terminal.run("SET 'auto.offset.reset' = 'earliest';")
    assert "Successfully changed local property 'auto.offset.reset' to 'earliest'." in changed

    # Two statements on one line, a semicolon inside quotes among them. (Typed lines stay
    # shorter than the terminal, which the line editor would otherwise redraw.)
    created = terminal.run("CREATE STREAM bob_payments AS SELECT * FROM payments "
                           "WHERE name = 'Bob;' OR name = 'Bob'; SHOW TABLES;")
    assert "Created query with ID CSAS_BOB_PAYMENTS_" in created
    assert re.search(r" Table Name +\| Kafka Topic +\| Key Format \| Value Format \| Windowed \r\n", created)
    terminal.child.sendline("CREATE TABLE windowed_totals AS SELECT name, SUM(amount) AS total")
    terminal.expect(r"\x1b\[K>")
    terminal.child.sendline("  FROM payments WINDOW TUMBLING (SIZE 10 SECONDS)")
    terminal.expect(r"\x1b\[K>")
    created = terminal.run("  GROUP BY name EMIT CHANGES;")
    assert "Created query with ID CTAS_WINDOWED_TOTALS_" in created

    streams = terminal.run("SHOW STREAMS;")
    assert re.search(r" Stream Name +\| Kafka Topic +\| Key Format \| Value Format \| Windowed \r\n-+\r\n", streams), streams
    assert re.search(r" PAYMENTS +\| payments +\| \S+ +\| JSON +\| false +\r\n", streams), streams
    assert re.search(r" BOB_PAYMENTS +\| BOB_PAYMENTS +\| \S+ +\| JSON +\| false +\r\n", streams), streams

    # A push query shows rows as records arrive; Ctrl-C ends it and the prompt returns.
    terminal.child.sendline("SELECT ROWOFFSET, * FROM payments EMIT CHANGES;")
    header = terminal.expect(r"\|ROWOFFSET +\|NAME +\|AMOUNT +\|\r\n\+-+")
    assert re.search(r"\+-+\+-+\+-+\+", header)
    wait_until(lambda: transient_queries() == 1, message="the push query running")
    time.sleep(2)  # the records come after the query has started, and show as they come
    produce("payments", [("Bob", 10, 1_000), ("Alice", 5, 4_000), ("Bob", 20, 12_000)])
    terminal.expect(r"\|0 +\|Bob +\|10 +\|")
    terminal.expect(r"\|1 +\|Alice +\|5 +\|")
    terminal.expect(r"\|2 +\|Bob +\|20 +\|")
    terminal.child.send("\x03")
    terminal.expect("Query terminated")
    terminal.expect(PROMPT)
    assert terminal.child.isalive()
    wait_until(lambda: transient_queries() == 0, message="the push query closed on the server")

    queries = terminal.run("SHOW QUERIES;")
    assert "CSAS_BOB_PAYMENTS_" in queries and "CTAS_WINDOWED_TOTALS_" in queries
    assert "For detailed information on a Query run: EXPLAIN <Query ID>;" in queries

    # A pull query on the windowed table, once the records have been counted: the CLI
    # draws the rows the REST API gives.
    pull = "SELECT * FROM windowed_totals WHERE name = 'Bob';"
    rows = wait_until(lambda: (lambda r: r if len(r) == 2 else None)(pull_rows(pull)),
                      message="both of Bob's windows in the table")
    pulled = terminal.run(pull)
    assert re.search(r"\|NAME +\|.*\|TOTAL +\|", pulled), pulled
    for row in rows:
        cells = r" *\|".join(re.escape(str(cell)) for cell in row)
        assert re.search(rf"\|{cells} *\|\r\n", pulled), (row, pulled)
    assert sorted(row[-1] for row in rows) == [10, 20]
    assert "Query terminated" in pulled

    # Still reading from the beginning, a push query with LIMIT ends by itself.
    limited = terminal.run("SELECT name, amount FROM bob_payments EMIT CHANGES LIMIT 2;")
    assert re.search(r"\|Bob +\|10 +\|\r\n\|Bob +\|20 +\|\r\n", limited), limited
    assert "Limit Reached\r\nQuery terminated" in limited
    assert "Successfully unset local property 'auto.offset.reset' (value was 'earliest')." in \
        terminal.run("UNSET 'auto.offset.reset';")

    printed = terminal.run("PRINT 'payments' FROM BEGINNING LIMIT 2;")
    assert "Value format: JSON or KAFKA_STRING" in printed, printed
    assert 'value: {"name": "Bob", "amount": 10}, partition: 0' in printed, printed
    assert "Topic printing ceased" in printed

    # Bad SQL: ksqlDB's message with the line and column, and the session goes on.
    error = terminal.run("SELECT * FROM payments WHERE EMIT CHANGES;")
    assert re.search(r"line 1:\d+: ", error), error
    assert "Query terminated" not in error
    described = terminal.run("DESCRIBE payments;")
    assert re.search(r"Name +: PAYMENTS\r\n Field +\| Type +\r\n-+\r\n NAME +\| VARCHAR\(STRING\) +\r\n AMOUNT +\| INTEGER", described), described

    assert "rundown" not in terminal.run("help") and "Ctrl-C stops it" in terminal.run("HELP")
    terminal.child.sendline("exit")
    terminal.child.expect(pexpect.EOF)
    terminal.child.close()
    assert terminal.child.exitstatus == 0
    history = (tmp_path / ".ksql-history").read_text()
    assert "SHOW STREAMS;" in history and "DESCRIBE payments;" in history


def ksql(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool("ksql"), SERVER, *args], capture_output=True, text=True, timeout=60)


def test_execute_and_file_scripts_report_failures_in_their_exit_status(ksql_cluster, tmp_path):
    done = ksql("--execute", "CREATE STREAM scripted (id INT) WITH (kafka_topic='scripted', "
                "value_format='json', partitions=1); SHOW STREAMS;")
    assert done.returncode == 0, done.stderr
    assert "Stream created" in done.stdout
    assert re.search(r" SCRIPTED +\| scripted +\|", done.stdout), done.stdout

    failed = ksql("-e", "DROP STREAM no_such_stream;")
    assert failed.returncode != 0
    assert "NO_SUCH_STREAM" in failed.stderr.upper(), failed.stderr

    script = tmp_path / "script.sql"
    script.write_text(
        "-- a script as ksqlDB's CLI runs it\n"
        "CREATE STREAM from_file (id INT)\n"
        "  WITH (kafka_topic='from_file', value_format='json', partitions=1);\n"
        "SET 'auto.offset.reset'='earliest';\n"
        "SHOW TOPICS;\n")
    ran = ksql("--file", str(script))
    assert ran.returncode == 0, ran.stderr
    assert "Stream created" in ran.stdout
    assert re.search(r" from_file +\| 1 +\| \d+ +\r?\n", ran.stdout), ran.stdout

    broken = tmp_path / "broken.sql"
    broken.write_text("SHOW STREAMS;\nCREATE STREAM oops (id INT) WITH (value_format='json');\n"
                      "CREATE STREAM never_made (id INT) WITH (kafka_topic='never_made', "
                      "value_format='json', partitions=1);\n")
    stopped = ksql("-f", str(broken))
    assert stopped.returncode != 0
    assert "kafka_topic" in stopped.stderr.lower(), stderr_and_out(stopped)
    assert "NEVER_MADE" not in ksql("-e", "SHOW STREAMS;").stdout

    as_json = ksql("--output", "JSON", "-e", "SHOW STREAMS;")
    assert json.loads(as_json.stdout)[0]["@type"] == "streams"


def stderr_and_out(process: subprocess.CompletedProcess) -> str:
    return f"stdout: {process.stdout}\nstderr: {process.stderr}"


def test_an_unreachable_server_is_reported_not_a_panic():
    failed = subprocess.run([tool("ksql"), "http://localhost:1", "-e", "SHOW STREAMS;"],
                            capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0
    assert "Couldn't connect to http://localhost:1: " in failed.stderr, failed.stderr
    assert "Please check that the server is running" in failed.stderr
    assert "panicked" not in failed.stderr
