"""The Compose suite's stack: docker-compose.yaml brought up once from a clean state (no
containers, no volumes) on the `potok:latest` image, shared by every test here and removed
at the end; figures the tests measured printed after the run."""

import time

import pytest

from compose.stack import COMPOSE, FIGURES, HEALTHY, compose, run, wait_healthy


@pytest.fixture(scope="package")
def stack():
    """The whole stack, up and healthy from a clean state."""
    image = run(["docker", "image", "inspect", "potok:latest"], check=False)
    assert image.returncode == 0, "no potok:latest image: run scripts/image.sh first"
    compose("down", "--volumes", "--remove-orphans")
    started = time.time()
    compose("up", "-d")
    wait_healthy(HEALTHY)
    FIGURES.append(f"docker-compose up -d to every service healthy: {time.time() - started:.1f}s")
    try:
        yield
    finally:
        compose("down", "--volumes", "--remove-orphans")


@pytest.fixture(autouse=True)
def compose_logs_on_failure(request):
    """The services' last log lines under a failed test."""
    yield
    if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
        print(run([*COMPOSE, "logs", "--no-color", "--tail", "60"], check=False).stdout)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("Compose figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
