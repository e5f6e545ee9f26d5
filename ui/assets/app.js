// Potok console: the behaviour every page shares, in plain JavaScript.
// - forms and buttons with data-method/data-url send JSON to the API with the CSRF token,
//   show the API's error in the page, and then reload or go to data-then ("reload",
//   "go:/path/{field}");
// - tables with class "sortable" sort by a clicked header; inputs with data-filter-table
//   hide rows that do not contain their text;
// - dialogs open and close with data-open / data-close buttons;
// - config tables save and reset one config at a time.
"use strict";

const potok = (() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
  const csrf = meta("csrf-token");
  const cluster = meta("cluster");

  // Sends a request to the API; resolves with the parsed JSON (or null), rejects with an
  // Error carrying the API's message.
  async function api(method, url, body) {
    const options = { method, headers: { "X-CSRF-Token": csrf } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (e) {
      throw new Error("the console cannot be reached: " + e.message);
    }
    const text = await response.text();
    let json = null;
    if (text) {
      try { json = JSON.parse(text); } catch { json = null; }
    }
    if (!response.ok) {
      const error = new Error(json?.message ?? (text || response.statusText));
      error.code = json?.error;
      error.status = response.status;
      throw error;
    }
    return json;
  }

  function flash(message, bad) {
    const box = document.getElementById("flash");
    if (!box) return;
    box.textContent = message;
    box.classList.toggle("bad", !!bad);
    box.hidden = false;
  }

  function showError(scope, message) {
    const box = scope?.querySelector?.(".form-error") ?? document.getElementById("configs-error");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    } else {
      flash(message, true);
    }
  }

  // "key=value" lines into an object; blank lines and # comments skipped.
  function properties(text) {
    const out = {};
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (!line || line.startsWith("#")) continue;
      const at = line.indexOf("=");
      if (at < 1) throw new Error(`'${line}' is not key=value`);
      out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    return out;
  }

  // A form's fields as JSON: data-type="int" numbers (empty ones left out),
  // data-type="properties" objects, data-type="lines" arrays, the rest strings.
  function formBody(form) {
    const body = {};
    for (const field of form.elements) {
      if (!field.name || field.disabled) continue;
      if (field.type === "checkbox") { body[field.name] = field.checked; continue; }
      const value = field.value;
      switch (field.dataset.type) {
        case "int":
          if (value.trim() !== "") body[field.name] = Number(value);
          break;
        case "properties":
          body[field.name] = properties(value);
          break;
        case "optional":
          if (value !== "") body[field.name] = value;
          break;
        default:
          body[field.name] = value;
      }
    }
    return body;
  }

  function then(target, values) {
    const next = target.dataset.then ?? "reload";
    if (next === "reload") { location.reload(); return; }
    if (next.startsWith("go:")) {
      location.href = next.slice(3).replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(values?.[k] ?? ""));
    }
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.dataset.url) return;
    event.preventDefault();
    const errorBox = form.querySelector(".form-error");
    if (errorBox) errorBox.hidden = true;
    let body;
    try {
      body = formBody(form);
    } catch (e) {
      showError(form, e.message);
      return;
    }
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      const result = await api(form.dataset.method ?? "POST", form.dataset.url, body);
      form.dispatchEvent(new CustomEvent("potok:done", { detail: result, bubbles: true }));
      if (form.dataset.then !== "stay") then(form, body);
    } catch (e) {
      showError(form, e.message);
    } finally {
      if (button) button.disabled = false;
    }
  });

  document.addEventListener("click", async (event) => {
    const target = event.target.closest("button, th");
    if (!target) return;
    if (target.dataset.open) {
      document.getElementById(target.dataset.open)?.showModal();
    } else if (target.dataset.close) {
      document.getElementById(target.dataset.close)?.close();
    } else if (target.tagName === "BUTTON" && target.dataset.url && !target.form?.dataset.url) {
      if (target.dataset.confirm && !confirm(target.dataset.confirm)) return;
      target.disabled = true;
      try {
        const body = target.dataset.body ? JSON.parse(target.dataset.body) : undefined;
        await api(target.dataset.method ?? "POST", target.dataset.url, body);
        then(target, {});
      } catch (e) {
        flash(e.message, true);
      } finally {
        target.disabled = false;
      }
    } else if ("configSave" in target.dataset || "configReset" in target.dataset) {
      const row = target.closest("tr");
      const table = target.closest("table");
      const name = row.dataset.config;
      const value = "configSave" in target.dataset ? row.querySelector(".config-value").value : null;
      try {
        await api("PATCH", table.dataset.endpoint, { [name]: value });
        location.reload();
      } catch (e) {
        showError(null, `${name}: ${e.message}`);
      }
    } else if (target.tagName === "TH" && target.closest("table.sortable")) {
      sortBy(target);
    }
  });

  function sortBy(header) {
    const table = header.closest("table");
    const index = [...header.parentElement.children].indexOf(header);
    const ascending = !header.classList.contains("sorted-asc");
    table.querySelectorAll("th").forEach((th) => th.classList.remove("sorted-asc", "sorted-desc"));
    header.classList.add(ascending ? "sorted-asc" : "sorted-desc");
    const key = (row) => {
      const cell = row.children[index];
      const raw = cell?.dataset.sort ?? cell?.textContent.trim() ?? "";
      const n = Number(raw.replace(/,/g, ""));
      return raw !== "" && !Number.isNaN(n) ? n : raw.toLowerCase();
    };
    const body = table.tBodies[0];
    const rows = [...body.rows].sort((a, b) => {
      const x = key(a), y = key(b);
      const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    });
    body.append(...rows);
  }

  document.addEventListener("input", (event) => {
    const input = event.target;
    if (!input.dataset.filterTable) return;
    const text = input.value.toLowerCase();
    const table = document.getElementById(input.dataset.filterTable);
    for (const row of table?.tBodies[0]?.rows ?? []) {
      row.hidden = text !== "" && !row.textContent.toLowerCase().includes(text);
    }
  });

  document.addEventListener("change", (event) => {
    const input = event.target;
    if (input.id === "cluster-menu") {
      location.href = "/clusters/" + encodeURIComponent(input.value);
    } else if (input.dataset.toggleQuery) {
      const url = new URL(location.href);
      url.searchParams.set(input.dataset.toggleQuery, input.checked);
      location.href = url.toString();
    }
  });

  return { api, flash, cluster, csrf, properties };
})();
