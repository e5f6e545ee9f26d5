"""Prometheus metrics at /metrics: requests and errors by API, latency histograms, bytes in
and out, and log size per partition."""

import re
import urllib.request

from confluent_kafka import Producer


def scrape(broker):
    with urllib.request.urlopen(broker.metrics_url, timeout=5) as response:
        assert response.status == 200
        return response.read().decode()


def value(text, pattern):
    match = re.search(r"^" + pattern + r" (\S+)$", text, re.MULTILINE)
    assert match, f"no sample matching {pattern}"
    return float(match.group(1))


def test_metrics_follow_traffic(broker):
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(100):
        producer.produce("metered", value=b"x" * 1000)
    producer.flush(10)
    text = scrape(broker)
    assert value(text, r'potok_requests_total\{api="Produce"\}') >= 1
    assert value(text, r'potok_requests_total\{api="Metadata"\}') >= 1
    assert value(text, r'potok_request_duration_seconds_count\{api="Produce"\}') >= 1
    assert "potok_request_duration_seconds_bucket" in text
    assert value(text, r"potok_bytes_in_total") > 100_000
    assert value(text, r"potok_bytes_out_total") > 0
    assert value(text, r'potok_log_size_bytes\{partition="0",topic="metered"\}') > 100_000


def test_errors_are_counted_by_api(broker):
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce("counted", value=b"x")
    producer.flush(10)
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    try:
        admin.create_topics([NewTopic("counted", 1, 1)])["counted"].result(10)
    except Exception:
        pass
    text = scrape(broker)
    assert value(
        text, r'potok_request_errors_total\{api="CreateTopics",error="TopicAlreadyExists"\}'
    ) == 1
