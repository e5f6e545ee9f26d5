"""Bad input from the network: each gets Kafka's error code or a closed connection, and the
broker keeps serving everyone else."""

import random
import socket
import struct

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

UNSUPPORTED_VERSION = 35


def connect(broker):
    sock = socket.create_connection(("127.0.0.1", broker.port), timeout=5)
    sock.settimeout(5)
    return sock


def frame(api_key, version, correlation_id, body=b"", client_id=b"raw"):
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def read_response(sock):
    size = struct.unpack(">i", recv_exactly(sock, 4))[0]
    return recv_exactly(sock, size)


def recv_exactly(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def is_closed(sock):
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def still_serving(broker):
    metadata = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10)
    assert 1 in metadata.brokers


def test_api_versions_too_new_gets_the_v0_fallback(broker):
    with connect(broker) as sock:
        sock.sendall(frame(18, 99, 7))
        response = read_response(sock)
    correlation_id, error_code, count = struct.unpack(">ihi", response[:10])
    assert correlation_id == 7
    assert error_code == UNSUPPORTED_VERSION
    keys = [struct.unpack(">hhh", response[10 + 6 * i : 16 + 6 * i]) for i in range(count)]
    assert (18, 0, 4) in keys
    assert any(key == 0 for key, _, _ in keys)


def test_api_versions_v0_answers(broker):
    with connect(broker) as sock:
        sock.sendall(frame(18, 0, 1))
        response = read_response(sock)
    assert struct.unpack(">ih", response[:6]) == (1, 0)


@pytest.mark.parametrize(
    "name,payload",
    [
        ("random bytes", struct.pack(">i", 508) + random.Random(7).randbytes(508)),
        ("unknown api key", frame(999, 0, 1)),
        ("unsupported version of metadata", frame(3, 99, 1)),
        ("api the broker does not serve", frame(11, 5, 1)),
        ("negative size", struct.pack(">i", -5) + b"xxxx"),
        ("oversized frame", struct.pack(">i", 200 * 1024 * 1024) + b"\0" * 100),
        ("truncated header", struct.pack(">i", 3) + b"\0\0\0"),
        ("garbled metadata body", frame(3, 12, 1, body=b"\xff\xff\xff\x7f" * 8)),
        ("huge array count", struct.pack(">i", 8) + bytes.fromhex("0003000003 3c0c00b6".replace(" ", ""))[:8]),
    ],
)
def test_garbled_frames_close_the_connection(broker, name, payload):
    with connect(broker) as sock:
        sock.sendall(payload)
        assert is_closed(sock), name
    still_serving(broker)
    assert "closing connection" in broker.log_text()


def test_a_truncated_frame_waits_then_closes_cleanly(broker):
    with connect(broker) as sock:
        sock.sendall(struct.pack(">i", 100) + b"\0" * 10)
        sock.shutdown(socket.SHUT_WR)
        assert is_closed(sock)
    still_serving(broker)


def test_invalid_topic_names_get_invalid_topic(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for name in ["", "..", "a" * 250, "spaces are bad", "bad/name"]:
        if not name:
            continue
        with pytest.raises(KafkaException) as refused:
            admin.create_topics([NewTopic(name, 1, 1)])[name].result(10)
        assert refused.value.args[0].code() == KafkaError.TOPIC_EXCEPTION, name
    with pytest.raises(KafkaException) as refused:
        admin.create_topics([NewTopic("zero", 0, 1)])["zero"].result(10)
    assert refused.value.args[0].code() == KafkaError.INVALID_PARTITIONS
    still_serving(broker)


def test_corrupt_batch_gets_corrupt_message(broker):
    """A Produce v9 request whose batch has a wrong CRC is answered with CORRUPT_MESSAGE (2)."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("crc", 1, 1)])["crc"].result(10)
    batch = bytearray(
        struct.pack(">qiibIhiqqqhii", 0, 49 + 8, 0, 2, 0xDEADBEEF, 0, 0, 0, 0, -1, -1, -1, 1)
    )
    batch += bytes([14, 0, 0, 0, 1, 2, ord("x"), 0])
    struct.pack_into(">i", batch, 8, len(batch) - 12)
    body = bytearray()
    body += b"\x00"  # transactional id: null (compact nullable string)
    body += struct.pack(">hi", 1, 5000)  # acks, timeout
    body += b"\x02" + b"\x04crc"  # one topic named "crc"
    body += b"\x02" + struct.pack(">i", 0)  # one partition, index 0
    length = len(batch) + 1
    varint = bytearray()
    while True:
        byte = length & 0x7F
        length >>= 7
        varint.append(byte | (0x80 if length else 0))
        if not length:
            break
    body += varint + batch
    body += b"\x00\x00\x00"  # tagged fields: partition, topic, request
    header = struct.pack(">hhih", 0, 9, 42, 3) + b"raw" + b"\x00"
    payload = header + bytes(body)
    with connect(broker) as sock:
        sock.sendall(struct.pack(">i", len(payload)) + payload)
        response = read_response(sock)
    assert struct.unpack(">i", response[:4])[0] == 42
    # correlation id, header tags, topic count, "crc", partition count, index, error code
    assert response[5:10] == b"\x02\x04crc"
    partition_index, error_code = struct.unpack(">ih", response[11:17])
    assert (partition_index, error_code) == (0, 2), "CORRUPT_MESSAGE expected"
    still_serving(broker)
