"""Named listeners as Docker setups use them: one broker binds INTERNAL and EXTERNAL, each
advertising its own address, and a client is told the address of the listener it came in
on (Metadata and FindCoordinator), so clients on either network reach it. A listener with a
protocol Potok does not speak is refused at start with the setting named."""

import subprocess

import pytest
from confluent_kafka import Consumer, Producer

from conftest import Broker, free_port, read_all


def listener_overrides(internal: int, external: int) -> dict:
    return {
        "listeners": f"INTERNAL://127.0.0.1:{internal},EXTERNAL://127.0.0.2:{external}",
        "advertised.listeners": f"INTERNAL://127.0.0.1:{internal},EXTERNAL://127.0.0.2:{external}",
        "listener.security.protocol.map": "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
        "inter.broker.listener.name": "INTERNAL",
    }


@pytest.fixture
def two_listener_broker(tmp_path):
    broker = Broker(tmp_path / "data")
    broker.external_port = free_port()
    broker.extra = listener_overrides(broker.port, broker.external_port)
    broker.start()
    yield broker
    broker.stop()


def test_each_listener_advertises_its_own_address(two_listener_broker):
    broker = two_listener_broker
    INTERNAL, EXTERNAL = broker.port, broker.external_port
    for bootstrap, expected in (
        (f"127.0.0.1:{INTERNAL}", f"127.0.0.1:{INTERNAL}"),
        (f"127.0.0.2:{EXTERNAL}", f"127.0.0.2:{EXTERNAL}"),
    ):
        listing = subprocess.run(
            ["kcat", "-b", bootstrap, "-L"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        assert f"broker 1 at {expected}" in listing, listing

    external = f"127.0.0.2:{EXTERNAL}"
    producer = Producer({"bootstrap.servers": external, "acks": "all"})
    for i in range(10):
        producer.produce("through-external", value=b"%d" % i)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {"bootstrap.servers": external, "group.id": "external", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe(["through-external"])
    seen = []
    for _ in range(100):
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            seen.append(message.value())
        if len(seen) == 10:
            break
    consumer.close()
    assert sorted(seen) == sorted(b"%d" % i for i in range(10))
    assert len(read_all(f"127.0.0.1:{INTERNAL}", "through-external", 1)) == 10


def test_a_listener_with_an_unsupported_protocol_is_refused(tmp_path):
    broker = Broker(
        tmp_path / "data",
        {
            "listeners": f"PLAINTEXT://127.0.0.1:{free_port()},SSL://127.0.0.1:{free_port()}",
            "advertised.listeners": "",
        },
    )
    broker.launch()
    assert broker.process.wait(30) != 0
    log = broker.log_text()
    assert "listener.security.protocol.map" in log and "SSL" in log, log
