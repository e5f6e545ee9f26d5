// Potok console: the ksql page.
// - The editor's text (or its selection) runs with the Run button or Ctrl+Enter. A SELECT
//   streams from GET /api/clusters/{cluster}/ksql/query: Server-Sent Events read with
//   fetch, so a refusal's message shows and Stop cuts the connection (which closes the
//   push query). Other statements go to POST /api/clusters/{cluster}/ksql and ksql's
//   answer is shown: its message, or a table of what it listed.
// - Rows of a push query over a table carry the key columns the header names: a row
//   whose key is already shown replaces that row (highlighted) instead of being added.
// - At most MAX_ROWS rows stay in the page; the oldest go first.
// - After a statement, and after Terminate, the lists of streams, tables and queries are
//   fetched again from this page.
"use strict";

(() => {
  const editor = document.getElementById("ksql-editor");
  if (!editor) return;
  const runButton = document.getElementById("ksql-run");
  const stopButton = document.getElementById("ksql-stop");
  const offsetReset = document.getElementById("ksql-offset-reset");
  const status = document.getElementById("ksql-status");
  const results = document.getElementById("ksql-results");
  const base = `/api/clusters/${encodeURIComponent(potok.cluster)}/ksql`;
  const MAX_ROWS = 1000;
  let running = null;
  // Counts runs, so a query stopped by a newer run leaves the newer one's status alone.
  let runs = 0;

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function showError(message) {
    const box = element("div", message, "error");
    box.setAttribute("role", "alert");
    results.append(box);
  }

  // The text with leading blanks and comments removed.
  function withoutLeadingComments(text) {
    let rest = text;
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith("--")) {
        const end = rest.indexOf("\n");
        rest = end < 0 ? "" : rest.slice(end + 1);
      } else if (rest.startsWith("/*")) {
        const end = rest.indexOf("*/");
        rest = end < 0 ? "" : rest.slice(end + 2);
      } else {
        return rest;
      }
    }
  }

  function selectedOrAll() {
    const { selectionStart: start, selectionEnd: end, value } = editor;
    return (start !== end ? value.slice(start, end) : value).trim();
  }

  async function run() {
    const sql = selectedOrAll();
    if (!sql) return;
    runs++;
    stop();
    results.replaceChildren();
    if (/^select\b/i.test(withoutLeadingComments(sql))) {
      await query(sql);
    } else {
      await statements(sql);
    }
  }

  async function statements(sql) {
    runButton.disabled = true;
    status.textContent = "Running…";
    try {
      const entities = await potok.api("POST", base, {
        sql,
        properties: { "auto.offset.reset": offsetReset.value },
      });
      renderEntities(entities ?? []);
      status.textContent = "Done";
      refreshCatalog();
    } catch (e) {
      showError(e.message);
      status.textContent = "";
    } finally {
      runButton.disabled = false;
    }
  }

  // ksql's answer: one block per entity.
  function renderEntities(entities) {
    if (entities.length === 0) {
      results.append(element("p", "Done; ksql had nothing to report.", "muted"));
    }
    for (const entity of entities) {
      const block = element("div", undefined, "ksql-entity");
      if (entity.statementText) block.append(element("p", entity.statementText, "muted mono"));
      if (entity.commandStatus) {
        const { message, status: state, queryId } = entity.commandStatus;
        const text = message || state;
        block.append(element("p", queryId && !text.includes(queryId) ? `${text} (query ${queryId})` : text));
      } else if (entity.sourceDescription) {
        block.append(describeSource(entity.sourceDescription));
      } else if (Array.isArray(entity.sourceDescriptions)) {
        entity.sourceDescriptions.forEach((d) => block.append(describeSource(d)));
      } else {
        const listed = ["streams", "tables", "queries", "topics", "properties", "functions"]
          .find((field) => Array.isArray(entity[field]));
        if (listed) {
          block.append(entity[listed].length ? objectsTable(entity[listed]) : element("p", `no ${listed}`, "muted"));
        } else {
          block.append(element("pre", JSON.stringify(entity, null, 2)));
        }
      }
      for (const warning of entity.warnings ?? []) {
        block.append(element("p", warning.message ?? JSON.stringify(warning), "bad"));
      }
      results.append(block);
    }
  }

  function describeSource(source) {
    const block = element("div");
    block.append(element("h3", `${source.type ?? ""} ${source.name}`.trim()));
    block.append(element("p", `topic ${source.topic} · key ${source.keyFormat} · value ${source.valueFormat}`, "muted"));
    const fields = (source.fields ?? []).map((f) => ({
      name: f.name,
      type: f.schema?.type ?? "",
      key: f.type === "KEY" ? "key" : "",
    }));
    block.append(objectsTable(fields));
    return block;
  }

  function cellText(value) {
    if (value === null || value === undefined) return "";
    if (Array.isArray(value) && value.every((v) => typeof v !== "object" || v === null)) return value.join(", ");
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  // A table of objects, one column per field any of them has; names and ids first.
  function objectsTable(objects) {
    const first = ["name", "id", "type"];
    const rank = (field) => (first.includes(field) ? first.indexOf(field) : first.length);
    const fields = [...new Set(objects.flatMap((o) => Object.keys(o)))]
      .sort((a, b) => rank(a) - rank(b));
    const table = element("table", undefined, "sortable");
    const head = table.createTHead().insertRow();
    fields.forEach((f) => head.append(element("th", f)));
    const body = table.createTBody();
    for (const object of objects) {
      const row = body.insertRow();
      fields.forEach((f) => row.append(element("td", cellText(object[f]))));
    }
    return table;
  }

  // The rows of a query as they arrive.
  class RowsView {
    constructor(header) {
      this.columns = header.columnNames ?? [];
      const keys = (header.keyColumns ?? []).map((k) => this.columns.indexOf(k));
      this.keys = keys.length && keys.every((i) => i >= 0) ? keys : [];
      this.push = !!header.push;
      this.byKey = new Map();
      this.received = 0;
      this.updated = 0;
      this.dropped = 0;
      const wrap = element("div", undefined, "table-wrap");
      this.table = element("table");
      this.table.id = "ksql-rows";
      if (this.keys.length) this.table.dataset.keyColumns = header.keyColumns.join(",");
      const head = this.table.createTHead().insertRow();
      this.columns.forEach((name, i) => {
        const th = element("th", name);
        th.title = header.columnTypes?.[i] ?? "";
        if (this.keys.includes(i)) th.append(" ", element("span", "key", "tag"));
        head.append(th);
      });
      this.body = this.table.createTBody();
      wrap.append(this.table);
      results.append(wrap);
    }

    fill(tr, row) {
      tr.replaceChildren();
      row.forEach((value) => {
        const td = element("td", value === null ? "null" : cellText(value));
        if (value === null) td.className = "muted";
        tr.append(td);
      });
    }

    highlight(tr, className) {
      tr.classList.remove("updated", "added");
      void tr.offsetWidth;
      tr.classList.add(className);
    }

    add(rows) {
      const added = document.createDocumentFragment();
      for (const row of rows) {
        this.received++;
        const key = this.keys.length ? JSON.stringify(this.keys.map((i) => row[i])) : null;
        const shown = key === null ? undefined : this.byKey.get(key);
        if (shown) {
          this.fill(shown, row);
          this.highlight(shown, "updated");
          this.updated++;
          continue;
        }
        const tr = document.createElement("tr");
        this.fill(tr, row);
        if (key !== null) {
          tr.dataset.key = key;
          this.byKey.set(key, tr);
        }
        if (this.push) tr.className = "added";
        added.append(tr);
      }
      this.body.append(added);
      while (this.body.rows.length > MAX_ROWS) {
        const oldest = this.body.rows[0];
        if (oldest.dataset.key !== undefined) this.byKey.delete(oldest.dataset.key);
        oldest.remove();
        this.dropped++;
      }
      this.report("");
    }

    report(state) {
      let text = `${this.received} rows`;
      if (this.updated) text += `, ${this.updated} updated in place`;
      if (this.dropped) text += `, ${this.dropped} oldest no longer shown`;
      status.textContent = state ? `${text} · ${state}` : text;
    }
  }

  // One Server-Sent Event from its lines.
  function parseEvent(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const at = line.indexOf(":");
      const field = at < 0 ? line : line.slice(0, at);
      let value = at < 0 ? "" : line.slice(at + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    return data.length ? { name, data: JSON.parse(data.join("\n")) } : null;
  }

  async function query(sql) {
    const controller = new AbortController();
    const run = runs;
    running = controller;
    runButton.disabled = true;
    status.textContent = "Starting the query…";
    const params = new URLSearchParams({
      sql,
      properties: JSON.stringify({ "auto.offset.reset": offsetReset.value }),
    });
    let view = null;
    let ended = false;
    const handle = (event) => {
      if (event.name === "header") {
        view = new RowsView(event.data);
        runButton.disabled = false;
        stopButton.hidden = !event.data.push;
        view.report(event.data.push ? "running" : "reading");
      } else if (event.name === "rows") {
        view?.add(event.data);
      } else if (event.name === "error") {
        showError(event.data.message);
      } else if (event.name === "end") {
        ended = true;
      }
    };
    try {
      const response = await fetch(`${base}/query?${params}`, {
        signal: controller.signal,
        headers: { Accept: "text/event-stream" },
      });
      if (!response.ok) {
        const text = await response.text();
        let message = text || response.statusText;
        try { message = JSON.parse(text).message ?? message; } catch { /* not JSON: the text itself */ }
        showError(message);
        status.textContent = "";
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let at;
        while ((at = buffer.indexOf("\n\n")) >= 0) {
          const event = parseEvent(buffer.slice(0, at));
          buffer = buffer.slice(at + 2);
          if (event) handle(event);
        }
      }
      view?.report(ended ? "done" : "the console ended the query");
    } catch (e) {
      if (run !== runs) return;
      if (controller.signal.aborted) {
        view?.report("stopped");
      } else {
        showError("the query's stream broke off: " + e.message);
      }
    } finally {
      if (running === controller) running = null;
      if (run === runs) {
        stopButton.hidden = true;
        runButton.disabled = false;
      }
    }
  }

  function stop() {
    if (!running) return;
    running.abort();
    running = null;
    stopButton.hidden = true;
  }

  async function refreshCatalog() {
    const current = document.getElementById("ksql-catalog");
    if (!current) return;
    try {
      const response = await fetch(location.pathname, { headers: { Accept: "text/html" } });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("ksql-catalog");
      if (fresh) current.replaceWith(document.importNode(fresh, true));
    } catch (e) {
      potok.flash("the lists could not be refreshed: " + e.message, true);
    }
  }

  runButton.addEventListener("click", run);
  stopButton.addEventListener("click", stop);
  editor.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      run();
    }
  });

  document.addEventListener("click", async (event) => {
    const source = event.target.closest("[data-ksql-sql]");
    if (source) {
      event.preventDefault();
      editor.value = source.dataset.ksqlSql;
      editor.focus();
      return;
    }
    const terminate = event.target.closest("button[data-terminate]");
    if (!terminate) return;
    const id = terminate.dataset.terminate;
    if (!confirm(`Terminate query ${id}? Its sink stops being written.`)) return;
    terminate.disabled = true;
    try {
      await potok.api("DELETE", `${base}/queries/${encodeURIComponent(id)}`);
      potok.flash(`Query ${id} terminated`);
      refreshCatalog();
    } catch (e) {
      potok.flash(e.message, true);
      terminate.disabled = false;
    }
  });
})();
