"""The console under a large cluster: with 2,000 topics of 10 partitions on a running
cluster (`potok-operator up`, whose console serves on :8282), the time to the first byte and
to the whole topics page and its JSON, potok-ui's memory, and a live tail in headless
Chromium keeping up with 10,000 records/s. Prints figures; asserts nothing.

    .venv/bin/python bench/ui_bench.py [--topics 2000] [--partitions 10] [--rate 10000]
"""

import argparse
import http.client
import re
import statistics
import subprocess
import time
import urllib.parse

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic


def create_topics(admin: AdminClient, names: list[str], partitions: int, replication: int) -> None:
    for start in range(0, len(names), 200):
        batch = [NewTopic(n, num_partitions=partitions, replication_factor=replication)
                 for n in names[start:start + 200]]
        for name, future in admin.create_topics(batch, operation_timeout=60).items():
            try:
                future.result()
            except Exception as error:  # an existing topic from an earlier run is fine
                if "TOPIC_ALREADY_EXISTS" not in str(error):
                    raise


def delete_topics(admin: AdminClient, names: list[str]) -> None:
    for start in range(0, len(names), 500):
        for future in admin.delete_topics(names[start:start + 500], operation_timeout=60).values():
            future.result()


def timed_get(console: str, path: str) -> tuple[float, float, int]:
    """Seconds to the first byte and to the last, and the body's size."""
    url = urllib.parse.urlparse(console)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    first = response.read(1)
    first_byte = time.perf_counter() - started
    body = first + response.read()
    total = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
    return first_byte, total, len(body)


def console_memory() -> str:
    pids = subprocess.run(["pgrep", "-x", "potok-ui"], capture_output=True, text=True).stdout.split()
    figures = []
    for pid in pids:
        status = open(f"/proc/{pid}/status").read()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024
        peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) // 1024
        figures.append(f"pid {pid}: {rss} MiB resident, peak {peak} MiB")
    return "; ".join(figures) or "no potok-ui process found"


def page_figures(console: str, path: str, runs: int = 5) -> str:
    samples = [timed_get(console, path) for _ in range(runs)]
    first = statistics.median(s[0] for s in samples) * 1000
    total = statistics.median(s[1] for s in samples) * 1000
    size = samples[-1][2] / 1024
    return f"first byte {first:.0f} ms, whole {total:.0f} ms, {size:.0f} KiB (median of {runs})"


def live_tail(console: str, cluster: str, bootstrap: str, rate: int, seconds: int) -> str:
    """Opens a topic's live tail in headless Chromium, produces `rate` records/s for
    `seconds`, and reads how many the page counted and how long after the last it did."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    admin = AdminClient({"bootstrap.servers": bootstrap})
    # Replicated as the cluster's min.insync.replicas asks, so acks=all records are taken.
    create_topics(admin, ["ui-bench-tail"], 1, 3)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800"]:
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        browser.get(f"{console}/clusters/{cluster}/topics/ui-bench-tail/messages")
        browser.find_element(By.ID, "live-toggle").click()
        time.sleep(1)
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        total = rate * seconds
        started = time.perf_counter()
        for i in range(total):
            producer.produce("ui-bench-tail", value=f'{{"n": {i}, "pad": "{"x" * 80}"}}'.encode())
            if i % 1000 == 999:
                producer.poll(0)
                ahead = (i + 1) / rate - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
        producer.flush(30)
        produced_in = time.perf_counter() - started
        deadline = time.perf_counter() + 60
        counted = 0
        while time.perf_counter() < deadline:
            counted = int(re.sub(r"\D", "", browser.find_element(By.ID, "live-count").text) or 0)
            if counted >= total:
                break
            time.sleep(0.1)
        behind = time.perf_counter() - started - produced_in
        return (f"{total} records produced in {produced_in:.1f} s ({total / produced_in:.0f}/s); "
                f"the page counted {counted}, {behind:.1f} s after the last was produced")
    finally:
        browser.quit()
        delete_topics(admin, ["ui-bench-tail"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--console", default="http://127.0.0.1:8282")
    parser.add_argument("--cluster", default="potok")
    parser.add_argument("--topics", type=int, default=2000)
    parser.add_argument("--partitions", type=int, default=10)
    # Unreplicated, so 20,000 partitions need a third of the files (three per partition).
    parser.add_argument("--replication-factor", type=int, default=1)
    parser.add_argument("--rate", type=int, default=10000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="leave the topics for another run")
    args = parser.parse_args()

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    names = [f"ui-bench-{i:05d}" for i in range(args.topics)]
    print(f"== console idle: {console_memory()}")
    # First on a quiet cluster: creating thousands of partitions keeps the disk busy a while.
    print(f"live tail:    {live_tail(args.console, args.cluster, args.bootstrap, args.rate, args.seconds)}")
    print(f"console memory after the tail: {console_memory()}")
    started = time.perf_counter()
    create_topics(admin, names, args.partitions, args.replication_factor)
    print(f"== {args.topics} topics of {args.partitions} partitions created in {time.perf_counter() - started:.0f} s")
    try:
        print(f"topics page:  {page_figures(args.console, f'/clusters/{args.cluster}/topics')}")
        print(f"topics JSON:  {page_figures(args.console, f'/api/clusters/{args.cluster}/topics')}")
        print(f"dashboard:    {page_figures(args.console, f'/clusters/{args.cluster}')}")
        print(f"console memory after the pages: {console_memory()}")
    finally:
        if not args.keep:
            delete_topics(admin, names)


if __name__ == "__main__":
    main()
