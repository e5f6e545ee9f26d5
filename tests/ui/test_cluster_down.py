"""A cluster that is down shows as down, in the API's terms and on the dashboard, and the
console finds it by itself once it answers: a console started before its broker."""

import pytest

import conftest as suite
from conftest import wait_until

from ui.conftest import Console, running

SPARE = "spare"


@pytest.fixture
def spare(tmp_path):
    """A standalone broker on a chosen port, not started yet, and a console showing it."""
    broker = suite.Broker(tmp_path / "logs")
    console = Console(tmp_path / "console.log", {
        "kafka.clusters.0.name": SPARE,
        "kafka.clusters.0.bootstrapServers": broker.bootstrap,
        "kafka.clusters.0.ksqldbServer": "",
    })
    with running(console):
        try:
            yield broker, console
        finally:
            broker.stop()


def test_a_cluster_down_at_start_shows_as_down_and_recovers_by_itself(spare):
    broker, console = spare
    down = console.request("GET", f"/api/clusters/{SPARE}/overview")
    assert down.status == 503, down.text
    assert down.json()["error"] == "CLUSTER_UNAVAILABLE"
    assert down.json()["message"].startswith(f"cluster '{SPARE}' is not answering"), down.text

    page = console.request("GET", f"/clusters/{SPARE}")
    assert page.status == 200
    assert 'id="cluster-down" role="alert">' in page.text, page.text
    assert "is not answering" in page.text

    with console.events(f"/api/clusters/{SPARE}/overview/live", timeout=30) as live:
        events = iter(live)
        name, first = next(events)
        assert name == "overview" and "is not answering" in first["error"], first
        broker.start()
        for name, event in events:
            if event.get("error") is None:
                break
        assert event["brokersOnline"] == [1], event

    wait_until(lambda: console.request("GET", f"/api/clusters/{SPARE}/overview").status == 200,
               timeout=30, message="the overview answers once the broker is up")
    topics = console.request("GET", f"/api/clusters/{SPARE}/topics")
    assert topics.status == 200 and topics.json() == [], topics.text
