"""kcat (librdkafka from Debian): metadata listing, produce and consume."""

import subprocess


def kcat(*args, input=None):
    return subprocess.run(
        ["kcat", *args], input=input, capture_output=True, text=True, timeout=60, check=True
    )


def test_metadata_lists_the_broker_and_topics(broker):
    kcat("-b", broker.bootstrap, "-P", "-t", "listed", input="x\n")
    listing = kcat("-b", broker.bootstrap, "-L").stdout
    assert f"broker 1 at {broker.bootstrap} (controller)" in listing
    assert 'topic "listed" with 1 partitions' in listing
    assert "partition 0, leader 1, replicas: 1, isrs: 1" in listing


def test_keyed_produce_and_consume_round_trip(broker):
    lines = "".join(f"key{i}:value {i}\n" for i in range(100))
    kcat("-b", broker.bootstrap, "-P", "-t", "kv", "-K:", input=lines)
    out = kcat(
        "-b", broker.bootstrap, "-C", "-t", "kv", "-o", "beginning", "-e", "-f", "%k=%s@%o\n"
    ).stdout
    assert out.splitlines() == [f"key{i}=value {i}@{i}" for i in range(100)]


def test_compressed_produce_from_kcat(broker):
    for codec in ["gzip", "snappy", "lz4", "zstd"]:
        topic = f"codec-{codec}"
        kcat("-b", broker.bootstrap, "-P", "-t", topic, "-z", codec, input="a\nb\nc\n")
        out = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e").stdout
        assert out.split() == ["a", "b", "c"], codec
