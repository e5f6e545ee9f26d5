// Potok console, a topic's messages page:
// - the search form reloads the table through the JSON API (no page reload) and keeps the
//   page's address and the CSV/JSON links in step with it;
// - clicking a row (or Enter on it) shows the record: headers, timestamp, sizes, key and
//   value (JSON pretty-printed, text as is, binary as hex);
// - "Live" follows new records over Server-Sent Events, newest on top, at most
//   MAX_LIVE_ROWS rows kept;
// - the Produce dialog sends one record and tells its offset.
"use strict";

(() => {
  const root = document.getElementById("messages-page");
  if (!root) return;
  const MAX_LIVE_ROWS = 500;
  const PREVIEW_CHARS = 120;
  const api = root.dataset.api;
  const form = document.getElementById("messages-query");
  const table = document.getElementById("messages");
  const rows = table.tBodies[0];
  const status = document.getElementById("messages-status");
  const errorBox = document.getElementById("messages-error");
  const liveButton = document.getElementById("live-toggle");
  const liveCount = document.getElementById("live-count");
  // Every record in the table, by "partition:offset", for the detail view.
  const records = new Map();
  const keyOf = (partition, offset) => `${partition}:${offset}`;

  function remember(list) {
    for (const record of list) records.set(keyOf(record.partition, record.offset), record);
  }

  const embedded = document.getElementById("messages-data");
  if (embedded) {
    try { remember(JSON.parse(embedded.textContent).records ?? []); } catch { /* rows stay without detail */ }
  }

  // The same renderings as the server's (pages/messages.rs).
  function readableTime(ms) {
    if (ms < 0) return "–";
    const date = new Date(ms);
    return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString().replace("T", " ").replace("Z", " UTC");
  }

  function preview(text) {
    const line = text.split(/\s+/).filter(Boolean).join(" ");
    const chars = [...line];
    return chars.length > PREVIEW_CHARS ? chars.slice(0, PREVIEW_CHARS).join("") + "…" : line;
  }

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function previewCell(className, text) {
    return text == null ? cell("null", `${className} muted`) : cell(preview(text), className);
  }

  function row(record) {
    const tr = document.createElement("tr");
    tr.className = "record";
    tr.dataset.partition = record.partition;
    tr.dataset.offset = record.offset;
    tr.tabIndex = 0;
    const time = cell(readableTime(record.timestamp), "time");
    time.title = record.timestamp;
    tr.append(cell(record.partition, "num"), cell(record.offset, "num"), time,
      previewCell("key", record.key), previewCell("value", record.value));
    return tr;
  }

  function statusText(result) {
    let text = `${result.records.length} records, ${result.scanned} scanned`;
    if (result.truncated) {
      text += " — the scan stopped at its limit (10000 records or 5 seconds); narrow the search";
    }
    return text;
  }

  // ---- search ----

  // The form's filled-in fields as a query string.
  function formQuery() {
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      const field = form.elements[name];
      if (field?.hidden) continue;
      if (String(value).trim() !== "") query.set(name, value);
    }
    return query;
  }

  function updateExports(query) {
    for (const [id, format] of [["export-csv", "csv"], ["export-json", "json"]]) {
      const link = document.getElementById(id);
      if (!link) continue;
      const withFormat = new URLSearchParams(query);
      withFormat.set("format", format);
      link.href = `${api}?${withFormat}`;
    }
  }

  async function search() {
    stopLive();
    const query = formQuery();
    errorBox.hidden = true;
    status.textContent = "Searching…";
    try {
      const result = await potok.api("GET", `${api}?${query}`);
      records.clear();
      remember(result.records);
      rows.replaceChildren(...result.records.map(row));
      status.textContent = statusText(result);
      history.replaceState(null, "", `${location.pathname}?${query}`);
      updateExports(query);
    } catch (e) {
      errorBox.textContent = e.message;
      errorBox.hidden = false;
      status.textContent = "";
    }
  }

  // The offset or time input shows only for its seek; a seek's natural order is chosen.
  function seekChanged() {
    const seek = form.elements.seek.value;
    form.elements.offset.hidden = seek !== "offset";
    form.elements.timestamp.hidden = seek !== "timestamp";
    form.elements.order.value = seek === "latest" ? "newest" : "oldest";
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });
  form.addEventListener("change", (event) => {
    const name = event.target.name;
    if (name === "seek") {
      seekChanged();
      if (event.target.value === "offset" || event.target.value === "timestamp") {
        form.elements[event.target.value].focus();
        return;
      }
    }
    if (name === "partition" || name === "seek" || name === "order") search();
  });

  // ---- detail ----

  // JSON re-indented token by token, so numbers keep every digit (JSON.parse would round
  // large ones).
  function prettyJson(text) {
    let out = "";
    let depth = 0;
    const newline = () => "\n" + "  ".repeat(depth);
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (ch === '"') {
        let end = i + 1;
        while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
        out += text.slice(i, end + 1);
        i = end;
      } else if (ch === "{" || ch === "[") {
        let next = i + 1;
        while (/\s/.test(text[next] ?? "")) next++;
        if (text[next] === (ch === "{" ? "}" : "]")) {
          out += ch + text[next];
          i = next;
        } else {
          depth++;
          out += ch + newline();
        }
      } else if (ch === "}" || ch === "]") {
        depth--;
        out += newline() + ch;
      } else if (ch === ",") {
        out += "," + newline();
      } else if (ch === ":") {
        out += ": ";
      } else if (!/\s/.test(ch)) {
        out += ch;
      }
    }
    return out;
  }

  function shown(text, format) {
    if (text == null) return "null";
    return format === "json" ? prettyJson(text) : text;
  }

  function showDetail(tr) {
    const record = records.get(keyOf(tr.dataset.partition, tr.dataset.offset));
    if (!record) return;
    rows.querySelectorAll("tr.selected").forEach((r) => r.classList.remove("selected"));
    tr.classList.add("selected");
    document.getElementById("record-title").textContent =
      `Partition ${record.partition}, offset ${record.offset}`;
    const meta = document.getElementById("record-meta");
    meta.replaceChildren();
    const facts = [
      ["Partition", record.partition],
      ["Offset", record.offset],
      ["Timestamp", `${readableTime(record.timestamp)} (${record.timestamp} ms)`],
      ["Timestamp type", record.timestampType],
      ["Key size", `${record.keySize} bytes`],
      ["Value size", `${record.valueSize} bytes`],
    ];
    for (const [name, value] of facts) {
      const dt = document.createElement("dt");
      dt.textContent = name;
      const dd = document.createElement("dd");
      dd.textContent = value;
      meta.append(dt, dd);
    }
    const headers = document.getElementById("record-headers");
    if (record.headers.length === 0) {
      const none = document.createElement("p");
      none.className = "muted";
      none.textContent = "No headers";
      headers.replaceChildren(none);
    } else {
      const list = document.createElement("table");
      list.id = "record-header-list";
      list.innerHTML = "<thead><tr><th>Key</th><th>Value</th></tr></thead><tbody></tbody>";
      for (const header of record.headers) {
        const tr = document.createElement("tr");
        tr.append(cell(header.key), header.value == null ? cell("null", "muted") : cell(header.value));
        list.tBodies[0].append(tr);
      }
      headers.replaceChildren(list);
    }
    document.getElementById("record-key-format").textContent = record.keyFormat;
    document.getElementById("record-key").textContent = shown(record.key, record.keyFormat);
    document.getElementById("record-value-format").textContent = record.valueFormat;
    document.getElementById("record-value").textContent = shown(record.value, record.valueFormat);
    document.getElementById("record-detail").showModal();
  }

  rows.addEventListener("click", (event) => {
    const tr = event.target.closest("tr.record");
    if (tr) showDetail(tr);
  });
  rows.addEventListener("keydown", (event) => {
    const tr = event.target.closest("tr.record");
    if (tr && event.key === "Enter") showDetail(tr);
  });

  // ---- live ----

  let source = null;
  let received = 0;

  // Adds a batch on top, newest first, and drops the oldest rows beyond the cap.
  function prepend(batch) {
    const fresh = batch.slice(-MAX_LIVE_ROWS);
    const fragment = document.createDocumentFragment();
    for (let i = fresh.length - 1; i >= 0; i--) {
      records.set(keyOf(fresh[i].partition, fresh[i].offset), fresh[i]);
      fragment.append(row(fresh[i]));
    }
    rows.prepend(fragment);
    while (rows.rows.length > MAX_LIVE_ROWS) {
      const last = rows.rows[rows.rows.length - 1];
      records.delete(keyOf(last.dataset.partition, last.dataset.offset));
      last.remove();
    }
  }

  function startLive() {
    const query = new URLSearchParams();
    const partition = form.elements.partition.value;
    if (partition && partition !== "all") query.set("partition", partition);
    const filter = form.elements.filter.value;
    if (filter) query.set("filter", filter);
    records.clear();
    rows.replaceChildren();
    errorBox.hidden = true;
    received = 0;
    liveCount.textContent = "0 received";
    liveCount.hidden = false;
    status.textContent = "Live: new records appear on top (the newest 500 are kept).";
    source = new EventSource(`${api}/live?${query}`);
    liveButton.textContent = "Stop live";
    liveButton.classList.add("live");
    liveButton.setAttribute("aria-pressed", "true");
    source.addEventListener("records", (event) => {
      let batch;
      try { batch = JSON.parse(event.data); } catch { return; }
      received += batch.length;
      liveCount.textContent = `${received} received`;
      prepend(batch);
    });
    source.addEventListener("failure", (event) => {
      let message = event.data;
      try { message = JSON.parse(event.data).message; } catch { /* the text as sent */ }
      stopLive();
      potok.flash(message, true);
    });
    source.addEventListener("error", () => {
      // EventSource reconnects by itself after a dropped stream; a refused one is closed.
      if (source?.readyState === EventSource.CLOSED) {
        stopLive();
        potok.flash("The live stream was refused; search once to see why.", true);
      }
    });
  }

  function stopLive() {
    if (!source) return;
    source.close();
    source = null;
    liveButton.textContent = "Live";
    liveButton.classList.remove("live");
    liveButton.setAttribute("aria-pressed", "false");
    status.textContent = `Live stopped after ${received} records.`;
  }

  liveButton?.addEventListener("click", () => (source ? stopLive() : startLive()));
  window.addEventListener("pagehide", stopLive);

  // ---- produce ----

  const produceForm = document.getElementById("produce-form");

  // The dialog's fields as the API takes them; empty key or value is null.
  function produceBody() {
    const fields = produceForm.elements;
    const headers = [];
    for (const raw of fields.headers.value.split("\n")) {
      const line = raw.trim();
      if (!line) continue;
      const at = line.indexOf("=");
      if (at < 1) throw new Error(`header '${line}' is not key=value`);
      headers.push({ key: line.slice(0, at).trim(), value: line.slice(at + 1) });
    }
    const partition = fields.partition.value.trim();
    if (partition !== "" && !/^\d+$/.test(partition)) {
      throw new Error("partition must be a partition number, or empty to let the key choose");
    }
    return {
      key: fields.key.value === "" ? null : fields.key.value,
      value: fields.value.value === "" ? null : fields.value.value,
      headers,
      partition: partition === "" ? null : Number(partition),
    };
  }

  produceForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = produceForm.querySelector(".form-error");
    box.hidden = true;
    const button = produceForm.querySelector("button[type=submit]");
    try {
      const body = produceBody();
      button.disabled = true;
      const produced = await potok.api("POST", api, body);
      document.getElementById("produce").close();
      potok.flash(`Produced to partition ${produced.partition} at offset ${produced.offset}.`);
    } catch (e) {
      box.textContent = e.message;
      box.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
})();
