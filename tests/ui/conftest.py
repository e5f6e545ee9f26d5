"""Fixtures of the console's suites: one `potok-operator up` cluster (three brokers on
127.0.0.1-3:9092, ksql on localhost:8088) for the whole package, the console started against
it with open access and with the login form, and headless Chromium driven by Selenium.

Selenium uses Debian's chromedriver and Chromium (scripts/install-test-deps.sh) and never
downloads a driver."""

import base64
import contextlib
import http.client
import json
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import conftest as suite
from conftest import ROOT, free_port, tool, wait_until

BOOTSTRAP = "127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092"
KSQL_URL = "http://localhost:8088"
CLUSTER = "local"
SCREENSHOTS = ROOT / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# The secured console's users, each (username, password): an admin, a viewer, and a viewer
# kept to metadata (auth.users.N.messages=false).
USERS = {"admin": ("admin", "admin-secret-1"), "viewer": ("viewer", "viewer-secret-2"),
         "auditor": ("auditor", "auditor-secret-3")}


@dataclass
class Response:
    status: int
    headers: dict
    text: str

    def json(self):
        return json.loads(self.text)


@dataclass
class Console:
    """One potok-ui process on a free loopback port, with its output in `log`."""

    log: Path
    overrides: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        settings = {
            "kafka.clusters.0.name": CLUSTER,
            "kafka.clusters.0.bootstrapServers": "127.0.0.1:9092",
            "kafka.clusters.0.ksqldbServer": KSQL_URL,
            "listeners": self.url,
            **self.overrides,
        }
        args = [tool("potok-ui")]
        for key, value in settings.items():
            args += ["--override", f"{key}={value}"]
        output = open(self.log, "ab")
        self.process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
        output.close()

        def healthy():
            assert self.process.poll() is None, f"potok-ui exited: {self.log_text()[-4000:]}"
            try:
                return self.request("GET", "/healthz").status == 200
            except OSError:
                return False

        wait_until(healthy, timeout=30, message="potok-ui answers /healthz")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def request(self, method: str, path: str, body=None, *, data: bytes | None = None,
                headers: dict | None = None, auth: tuple[str, str] | None = None,
                timeout: float = 60) -> Response:
        """One HTTP request; `body` is sent as JSON, `data` as it is."""
        sent = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        elif data is not None:
            sent.setdefault("Content-Type", "application/json")
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            sent["Authorization"] = f"Basic {token}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, data, sent)
            response = connection.getresponse()
            return Response(response.status, {k.lower(): v for k, v in response.getheaders()},
                            response.read().decode(errors="replace"))
        finally:
            connection.close()

    def events(self, path: str, *, auth: tuple[str, str] | None = None,
               timeout: float = 60) -> "EventStream":
        """A Server-Sent Events stream of `path`; close it to leave."""
        headers = {"Accept": "text/event-stream"}
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        connection.request("GET", path, headers=headers)
        return EventStream(connection, connection.getresponse())

    def api(self, method: str, path: str, body=None, **kwargs) -> Response:
        """A request to `/api/clusters/local{path}`."""
        return self.request(method, f"/api/clusters/{CLUSTER}{path}", body, **kwargs)


class EventStream:
    """The events of one Server-Sent Events answer, read as they come."""

    def __init__(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse):
        self.connection = connection
        self.response = response
        self.status = response.status
        self.content_type = response.getheader("Content-Type", "")

    def error(self) -> Response:
        """The answer of a request refused before streaming began."""
        return Response(self.status, {k.lower(): v for k, v in self.response.getheaders()},
                        self.response.read().decode(errors="replace"))

    def __iter__(self):
        """Yields (event, data) with `data` parsed as JSON where it is JSON."""
        name, data = "message", []
        while True:
            line = self.response.readline()
            if not line:
                return
            line = line.decode().rstrip("\r\n")
            if line.startswith(":"):
                continue
            if line == "":
                if data:
                    text = "\n".join(data)
                    try:
                        yield name, json.loads(text)
                    except ValueError:
                        yield name, text
                name, data = "message", []
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))

    def close(self) -> None:
        self.response.close()
        self.connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()


def _unwrapped(fixture):
    """The generator function behind a pytest fixture, to run it in another scope."""
    return getattr(fixture, "__wrapped__", fixture)


@pytest.fixture(scope="package")
def cluster():
    """The shared cluster of tests/conftest.py's `ksql_cluster`, started once for every
    suite of the console rather than once per module."""
    with contextlib.contextmanager(_unwrapped(suite.ksql_cluster))() as data_dir:
        yield data_dir


@pytest.fixture(scope="package")
def console_logs():
    with tempfile.TemporaryDirectory(prefix="potok-ui-") as directory:
        yield Path(directory)


@contextlib.contextmanager
def running(console: Console):
    try:
        console.start()
        yield console
    finally:
        console.stop()
        print(f"--- {console.log.name} (last lines) ---\n{console.log_text()[-3000:]}")


def metrics_settings(data_dir: Path) -> dict[str, str]:
    """The servers' `/metrics` endpoints, as `potok-operator up` gives them to its own
    console, read often so the charts fill within seconds."""
    written = data_dir / "potok-ui-0.properties"
    if not written.exists():
        return {}
    for line in written.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "kafka.clusters.0.metrics.urls" and value.strip():
            return {"kafka.clusters.0.metrics.urls": value.strip().replace("\\:", ":"),
                    "metrics.scrape.interval.ms": "1000"}
    return {}


@pytest.fixture(scope="package")
def console(cluster, console_logs):
    """The console with open access: everyone is an admin, as in the seed's stack."""
    with running(Console(console_logs / "open.log", metrics_settings(cluster))) as started:
        yield started


def hash_password(password: str) -> str:
    done = subprocess.run([tool("potok-ui"), "hash-password"], input=password + "\n",
                          capture_output=True, text=True, timeout=60, check=True)
    hashed = done.stdout.strip()
    assert hashed.startswith("$argon2"), done
    return hashed


@pytest.fixture(scope="package")
def secured_console(cluster, console_logs):
    """The console behind its login form, with an admin, a viewer, and a viewer who may
    not read records."""
    overrides = {"auth.type": "LOGIN_FORM"}
    for index, (name, (username, password)) in enumerate(USERS.items()):
        overrides[f"auth.users.{index}.username"] = username
        overrides[f"auth.users.{index}.password"] = hash_password(password)
        overrides[f"auth.users.{index}.role"] = "admin" if name == "admin" else "viewer"
        if name == "auditor":
            overrides[f"auth.users.{index}.messages"] = "false"
    with running(Console(console_logs / "secured.log", overrides)) as started:
        yield started


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Debian's chromedriver, 1280x800."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,800"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, page: str) -> None:
    """Saves what the browser shows as docs/images/ui-<page>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SCREENSHOTS / f"ui-{page}.png"))
