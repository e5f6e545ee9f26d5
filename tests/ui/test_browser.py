"""The seed's walkthrough through the console's pages in headless Chromium, as a person
clicks through it: a topic created in the dialog, its `min.insync.replicas` set in its
configs table, a record produced and seen, a consumer group's lag falling live as a real
consumer reads, the ksql statements run with a push query's rows arriving live, and a viewer
who finds every change button gone. Each page is saved as docs/images/ui-<page>.png.

Every wait is an explicit WebDriverWait on what the page shows."""

import json
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        WebDriverException)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from ui.conftest import BOOTSTRAP, CLUSTER, USERS, screenshot

TOPIC = "test"
GROUP = "my-group"


def waiting(driver, timeout: float = 30) -> WebDriverWait:
    """A wait that looks again when the page was replaced or the element is not there yet.
    Newer chromedrivers report an element replaced between finding and reading it as an
    unknown error ("Node with given id does not belong to the document"), not as a stale
    element, so any driver error is retried until the timeout, which then names it."""
    return WebDriverWait(driver, timeout, poll_frequency=0.2,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException,
                                             WebDriverException))


def css(driver, selector: str):
    return driver.find_element(By.CSS_SELECTOR, selector)


def all_css(driver, selector: str) -> list:
    return driver.find_elements(By.CSS_SELECTOR, selector)


def text(driver, selector: str) -> str:
    return css(driver, selector).text.strip()


def open_page(driver, console, path: str, ready: str) -> None:
    """Loads `path` and waits until `ready` is on the page."""
    driver.get(console.url + path)
    waiting(driver).until(lambda d: css(d, ready))


def script_errors(driver) -> list:
    """Errors thrown by the page's scripts since the last call."""
    return [e for e in driver.get_log("browser") if e.get("source") == "javascript"]


def produce(topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all"})
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(30) == 0


def test_the_dashboard_and_the_brokers(console, browser):
    browser.get(console.url + "/")
    waiting(browser).until(lambda d: d.current_url.endswith(f"/clusters/{CLUSTER}"))
    waiting(browser).until(lambda d: text(d, "#brokers-online") == "3")
    assert text(browser, "#offline") == "0" and text(browser, "#under-replicated") == "0"
    assert text(browser, "h1") == "Dashboard"
    waiting(browser).until(lambda d: text(d, "#quorum-leader").isdigit())
    waiting(browser).until(lambda d: text(d, "#bytes-in").endswith("/s"))
    topics = int(text(browser, "#topics"))
    assert console.api("POST", "/topics", {"name": "dashboard-live", "partitions": 1}).status == 201
    waiting(browser).until(lambda d: text(d, "#topics") == str(topics + 1))
    screenshot(browser, "dashboard")
    assert console.api("DELETE", "/topics/dashboard-live").status == 204

    css(browser, 'header nav a[href$="/metrics"]').click()
    waiting(browser).until(lambda d: text(d, "#scrape-status").startswith("7 of 7 servers answered"))
    waiting(browser).until(lambda d: "waiting" not in css(d, 'figure[data-series="bytes_in"] figcaption').text)
    screenshot(browser, "metrics")

    css(browser, 'header nav a[href$="/brokers"]').click()
    waiting(browser).until(lambda d: len(all_css(d, "#brokers tbody tr")) == 3)
    hosts = [row.find_elements(By.TAG_NAME, "td")[1].text for row in all_css(browser, "#brokers tbody tr")]
    assert sorted(hosts) == ["127.0.0.1:9092", "127.0.0.2:9092", "127.0.0.3:9092"]
    screenshot(browser, "brokers")
    assert script_errors(browser) == []


def test_a_topic_is_created_in_the_dialog(console, browser):
    open_page(browser, console, f"/clusters/{CLUSTER}/topics", "#create-topic-open")
    css(browser, "#create-topic-open").click()
    dialog = css(browser, "dialog#create-topic")
    waiting(browser).until(lambda d: dialog.is_displayed())
    dialog.find_element(By.NAME, "name").send_keys(TOPIC)
    dialog.find_element(By.NAME, "partitions").send_keys("3")
    dialog.find_element(By.NAME, "replicationFactor").send_keys("3")
    dialog.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    waiting(browser).until(lambda d: d.current_url.endswith(f"/clusters/{CLUSTER}/topics/{TOPIC}"))
    waiting(browser).until(lambda d: len(all_css(d, "#partitions tbody tr")) == 3)
    assert text(browser, "h1") == f"Topic {TOPIC}"
    assert "3 partitions, replication factor 3" in browser.page_source
    for row in all_css(browser, "#partitions tbody tr"):
        cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        assert sorted(cells[2].split(", ")) == ["1", "2", "3"], cells
        assert sorted(cells[3].split(", ")) == ["1", "2", "3"], cells

    open_page(browser, console, f"/clusters/{CLUSTER}/topics", f'#topics tr[data-name="{TOPIC}"]')
    row = css(browser, f'#topics tr[data-name="{TOPIC}"]')
    assert [td.text for td in row.find_elements(By.TAG_NAME, "td")][1:3] == ["3", "3"]
    screenshot(browser, "topics")
    css(browser, "#topic-search").send_keys("tes")
    waiting(browser).until(lambda d: all(not r.is_displayed() for r in all_css(d, "#topics tbody tr")
                                         if r.get_attribute("data-name") != TOPIC))
    assert css(browser, f'#topics tr[data-name="{TOPIC}"]').is_displayed()
    assert script_errors(browser) == []


def test_an_unknown_topics_page_says_which_topic(console, browser):
    open_page(browser, console, f"/clusters/{CLUSTER}/topics/no-such-topic", "div.error")
    assert "no-such-topic" in text(browser, "div.error"), text(browser, "div.error")


def test_min_insync_replicas_is_set_in_the_configs_table(console, browser):
    open_page(browser, console, f"/clusters/{CLUSTER}/topics/{TOPIC}", 'tr[data-config="min.insync.replicas"]')
    row = css(browser, 'tr[data-config="min.insync.replicas"]')
    assert row.find_element(By.CSS_SELECTOR, "span.tag").text == "STATIC_BROKER_CONFIG"
    field = row.find_element(By.CSS_SELECTOR, "input.config-value")
    field.clear()
    field.send_keys("2")
    row.find_element(By.CSS_SELECTOR, "button[data-config-save]").click()

    def source(d):
        return css(d, 'tr[data-config="min.insync.replicas"] span.tag').text
    waiting(browser).until(lambda d: source(d) == "DYNAMIC_TOPIC_CONFIG")
    row = css(browser, 'tr[data-config="min.insync.replicas"]')
    assert row.find_element(By.CSS_SELECTOR, "input.config-value").get_attribute("value") == "2"
    assert row.find_elements(By.CSS_SELECTOR, "button[data-config-reset]")
    browser.execute_script("window.scrollTo(0, 0)")
    screenshot(browser, "topic")

    bad = css(browser, 'tr[data-config="retention.ms"]')
    bad.find_element(By.CSS_SELECTOR, "input.config-value").clear()
    bad.find_element(By.CSS_SELECTOR, "input.config-value").send_keys("soon")
    bad.find_element(By.CSS_SELECTOR, "button[data-config-save]").click()
    waiting(browser).until(lambda d: css(d, "#configs-error").is_displayed())
    assert "retention.ms" in text(browser, "#configs-error") and "soon" in text(browser, "#configs-error")
    assert script_errors(browser) == []


def test_a_record_is_produced_on_the_messages_page_and_seen(console, browser):
    open_page(browser, console, f"/clusters/{CLUSTER}/topics/{TOPIC}/messages", "#produce-open")
    css(browser, "#live-toggle").click()
    waiting(browser).until(lambda d: css(d, "#live-toggle").get_attribute("aria-pressed") == "true")
    css(browser, "#produce-open").click()
    dialog = css(browser, "dialog#produce")
    waiting(browser).until(lambda d: dialog.is_displayed())
    dialog.find_element(By.NAME, "key").send_keys("greeting")
    dialog.find_element(By.NAME, "value").send_keys("hello")
    dialog.find_element(By.NAME, "headers").send_keys("trace-id=abc123")
    dialog.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    waiting(browser).until(lambda d: not dialog.is_displayed())
    waiting(browser).until(lambda d: "Produced to partition" in text(d, "#flash"))

    def shown(d):
        return [(row.find_element(By.CSS_SELECTOR, "td.key").text, row.find_element(By.CSS_SELECTOR, "td.value").text)
                for row in all_css(d, "#messages tbody tr.record")]
    waiting(browser).until(lambda d: ("greeting", "hello") in shown(d))
    css(browser, "#live-toggle").click()

    open_page(browser, console, f"/clusters/{CLUSTER}/topics/{TOPIC}/messages", "#messages")
    waiting(browser).until(lambda d: shown(d) == [("greeting", "hello")])
    css(browser, "#messages tbody tr.record").click()
    waiting(browser).until(lambda d: css(d, "dialog#record-detail").is_displayed())
    assert text(browser, "#record-value") == "hello"
    assert "trace-id" in text(browser, "#record-headers") and "abc123" in text(browser, "#record-headers")
    css(browser, 'dialog#record-detail button[data-close="record-detail"]').click()
    waiting(browser).until(lambda d: not css(d, "dialog#record-detail").is_displayed())
    screenshot(browser, "messages")
    assert script_errors(browser) == []


def test_a_consumer_groups_lag_falls_live(console, browser):
    produce(TOPIC, [f"record {i}".encode() for i in range(30)])
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": GROUP, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.subscribe([TOPIC])
    try:
        # Offsets read so far, by partition; each commit names all three partitions, so the
        # group's total lag is exactly what is left to read.
        positions = {0: 0, 1: 0, 2: 0}

        def consume(count):
            deadline = time.time() + 60
            read = 0
            while read < count and time.time() < deadline:
                message = consumer.poll(0.5)
                if message is not None and message.error() is None:
                    positions[message.partition()] = message.offset() + 1
                    read += 1
            assert read == count
            consumer.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in positions.items()],
                            asynchronous=False)

        total = sum(consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in positions)
        assert total >= 30
        consume(10)
        open_page(browser, console, f"/clusters/{CLUSTER}/consumer-groups", f'#groups tr[data-group="{GROUP}"]')
        screenshot(browser, "consumer-groups")
        css(browser, f'#groups tr[data-group="{GROUP}"] a').click()
        waiting(browser).until(lambda d: text(d, "h1") == f"Consumer group {GROUP}")
        waiting(browser).until(lambda d: text(d, "#group-lag") == str(total - 10))
        waiting(browser).until(lambda d: text(d, "#group-state") == "Stable")
        assert text(browser, "#group-members") == "1"
        screenshot(browser, "group")
        css(browser, "#reset-offsets button[type=submit]").click()
        waiting(browser).until(lambda d: css(d, "#reset-offsets .form-error").is_displayed())
        assert "stop its consumers" in text(browser, "#reset-offsets .form-error")

        consume(10)
        waiting(browser, 20).until(lambda d: text(d, "#group-lag") == str(total - 20))
        consume(total - 20)
        waiting(browser, 20).until(lambda d: text(d, "#group-lag") == "0")
        lags = [td.text for td in all_css(browser, "#offsets td.lag")]
        assert lags == ["0", "0", "0"], lags
    finally:
        consumer.close()
    waiting(browser, 30).until(lambda d: text(d, "#group-state") == "Empty")
    Select(css(browser, "#reset-offsets select[name=to]")).select_by_value("earliest")
    css(browser, "#reset-offsets button[type=submit]").click()
    waiting(browser).until(lambda d: text(d, "#flash") == "Offsets of 3 partitions reset.")
    waiting(browser).until(lambda d: text(d, "#group-lag") == str(total))
    assert [td.text for td in all_css(browser, "#offsets td.committed")] == ["0", "0", "0"]
    assert script_errors(browser) == []


def run_ksql(driver, sql: str) -> None:
    editor = css(driver, "#ksql-editor")
    editor.clear()
    editor.send_keys(sql)
    css(driver, "#ksql-run").click()


def ksql_rows(driver) -> list[list[str]]:
    return [[td.text for td in tr.find_elements(By.TAG_NAME, "td")] for tr in all_css(driver, "#ksql-rows tbody tr")]


def payment(name: str, amount: int) -> bytes:
    return json.dumps({"name": name, "amount": amount}).encode()


def test_the_ksql_walkthrough_with_live_rows(console, browser):
    open_page(browser, console, f"/clusters/{CLUSTER}/ksql", "#ksql-editor")
    run_ksql(browser, "CREATE STREAM payments (name VARCHAR, amount INTEGER) "
                      "WITH (kafka_topic='payments', value_format='json', partitions=1);")
    waiting(browser).until(lambda d: "Stream created" in text(d, "#ksql-results"))
    waiting(browser).until(lambda d: css(d, '#ksql-streams tr[data-name="PAYMENTS"]'))

    run_ksql(browser, "SELECT ROWOFFSET, * FROM payments EMIT CHANGES;")
    waiting(browser).until(lambda d: css(d, "#ksql-rows") and "running" in text(d, "#ksql-status"))
    assert css(browser, "#ksql-stop").is_displayed()
    assert [th.text.split()[0] for th in all_css(browser, "#ksql-rows thead th")] == ["ROWOFFSET", "NAME", "AMOUNT"]
    expected = []
    for offset, (name, amount) in enumerate([("Bob", 10), ("Alice", 5), ("Bob", 20)]):
        produce("payments", [payment(name, amount)])
        expected.append([str(offset), name, str(amount)])
        waiting(browser).until(lambda d: ksql_rows(d) == expected)
    screenshot(browser, "ksql")
    css(browser, "#ksql-stop").click()
    waiting(browser).until(lambda d: "stopped" in text(d, "#ksql-status"))
    # Checked at the end, so the rest of the walkthrough still runs.
    stop_left_showing = css(browser, "#ksql-stop").is_displayed()
    produce("payments", [payment("Carol", 1)])
    assert ksql_rows(browser) == expected

    Select(css(browser, "#ksql-offset-reset")).select_by_value("earliest")
    run_ksql(browser, "CREATE TABLE payments_table AS SELECT name, count(*) AS cnt, sum(amount) AS sum, "
                      "avg(amount) AS avg FROM payments GROUP BY name EMIT CHANGES;")
    waiting(browser).until(lambda d: "CTAS_PAYMENTS_TABLE_" in text(d, "#ksql-results"))
    waiting(browser).until(lambda d: css(d, '#ksql-tables tr[data-name="PAYMENTS_TABLE"]'))
    waiting(browser).until(lambda d: any(r.get_attribute("data-query-id").startswith("CTAS_PAYMENTS_TABLE_")
                                         for r in all_css(d, "#ksql-queries tbody tr")))

    wanted = [["Alice", "1", "5", "5"], ["Bob", "2", "30", "15"], ["Carol", "1", "1", "1"]]

    def table_rows(d):
        if "done" not in text(d, "#ksql-status"):
            return False
        if sorted(ksql_rows(d)) == wanted:
            return True
        css(d, "#ksql-run").click()
        return False
    run_ksql(browser, "SELECT * FROM payments_table;")
    waiting(browser, 60).until(table_rows)
    assert [th.text.split()[0] for th in all_css(browser, "#ksql-rows thead th")] == ["NAME", "CNT", "SUM", "AVG"]
    assert script_errors(browser) == []
    assert not stop_left_showing, "the Stop button still shows after the push query stopped"


def sign_in(driver, console, username: str, password: str) -> None:
    open_page(driver, console, "/login", "input[name=username]")
    css(driver, "input[name=username]").send_keys(username)
    css(driver, "input[name=password]").send_keys(password)
    css(driver, "main form button[type=submit]").click()


def test_a_viewer_reads_every_page_without_change_buttons(secured_console, browser):
    browser.delete_all_cookies()
    browser.get(secured_console.url + f"/clusters/{CLUSTER}/topics")
    waiting(browser).until(lambda d: "/login" in d.current_url and css(d, "input[name=password]"))
    screenshot(browser, "login")
    css(browser, "input[name=username]").send_keys(USERS["viewer"][0])
    css(browser, "input[name=password]").send_keys("not the password")
    css(browser, "main form button[type=submit]").click()
    waiting(browser).until(lambda d: text(d, "div.error") == "Wrong username or password.")

    css(browser, "input[name=password]").send_keys(USERS["viewer"][1])
    css(browser, "main form button[type=submit]").click()
    waiting(browser).until(lambda d: d.current_url.endswith(f"/clusters/{CLUSTER}/topics"))
    assert text(browser, "span.user") == "viewer (viewer)"

    change_buttons = ["#create-topic-open", "#delete-topic", "button[data-config-save]", "button[data-config-reset]",
                      "input.config-value", "#produce-open", "#delete-group", "#reset-offsets",
                      "button[data-terminate]"]
    pages = {
        f"/clusters/{CLUSTER}": "#brokers-online",
        f"/clusters/{CLUSTER}/brokers": "#brokers tbody tr",
        f"/clusters/{CLUSTER}/brokers/1": 'tr[data-config="min.insync.replicas"]',
        f"/clusters/{CLUSTER}/topics": f'#topics tr[data-name="{TOPIC}"]',
        f"/clusters/{CLUSTER}/topics/{TOPIC}": 'tr[data-config="min.insync.replicas"]',
        f"/clusters/{CLUSTER}/topics/{TOPIC}/messages": "#messages tbody tr.record",
        f"/clusters/{CLUSTER}/consumer-groups": f'#groups tr[data-group="{GROUP}"]',
        f"/clusters/{CLUSTER}/consumer-groups/{GROUP}": "#offsets tbody tr",
        f"/clusters/{CLUSTER}/ksql": '#ksql-queries tbody tr',
    }
    offered = {}
    for path, ready in pages.items():
        open_page(browser, secured_console, path, ready)
        errors = [e.text for e in all_css(browser, "div.error") if e.is_displayed()]
        assert errors == [], (path, errors)
        found = [selector for selector in change_buttons if all_css(browser, selector)]
        if found:
            offered[path] = found
    assert offered == {}, f"change controls offered to a viewer: {offered}"

    run_ksql(browser, "SELECT * FROM payments_table;")
    waiting(browser).until(lambda d: "done" in text(d, "#ksql-status") and len(ksql_rows(d)) == 3)
    run_ksql(browser, "DROP TABLE payments_table;")
    waiting(browser).until(lambda d: "is a viewer and may not change anything" in text(d, "#ksql-results"))
    css(browser, "form[action='/logout'] button").click()
    waiting(browser).until(lambda d: "/login" in d.current_url)
    assert script_errors(browser) == []


def test_an_admin_signed_in_changes_through_the_pages(secured_console, browser):
    browser.delete_all_cookies()
    sign_in(browser, secured_console, *USERS["admin"])
    waiting(browser).until(lambda d: text(d, "span.user") == "admin (admin)")
    open_page(browser, secured_console, f"/clusters/{CLUSTER}/topics", "#create-topic-open")
    css(browser, "#create-topic-open").click()
    dialog = css(browser, "dialog#create-topic")
    waiting(browser).until(lambda d: dialog.is_displayed())
    dialog.find_element(By.NAME, "name").send_keys("signed-in-admin")
    dialog.find_element(By.NAME, "partitions").send_keys("1")
    dialog.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    waiting(browser).until(lambda d: d.current_url.endswith(f"/clusters/{CLUSTER}/topics/signed-in-admin"))
    css(browser, "#delete-topic").click()
    browser.switch_to.alert.accept()
    waiting(browser).until(lambda d: d.current_url.endswith(f"/clusters/{CLUSTER}/topics"))
    assert not all_css(browser, '#topics tr[data-name="signed-in-admin"]')
    css(browser, "form[action='/logout'] button").click()
    waiting(browser).until(lambda d: "/login" in d.current_url)
    browser.get(secured_console.url + f"/clusters/{CLUSTER}/topics")
    waiting(browser).until(lambda d: "/login" in d.current_url)
    assert script_errors(browser) == []
