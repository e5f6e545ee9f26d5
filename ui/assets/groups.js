// Potok console, a consumer group's page:
// - keeps the state, the total lag, the members and the offsets table up to date from the
//   group's live stream (Server-Sent Events, event "group" every 2 seconds);
// - sends the reset form (the time field is local time, sent as ms since the epoch) and
//   shows the new offsets, or the console's error in the form.
"use strict";

(() => {
  const offsets = document.getElementById("offsets");
  const dash = "–";
  const shown = (n) => (n === null || n === undefined ? dash : String(n));

  function setText(id, text) {
    const element = document.getElementById(id);
    if (element) element.textContent = text;
  }

  function cell(className, text, numeric) {
    const td = document.createElement("td");
    if (className) td.className = className;
    if (numeric) td.classList.add("num");
    td.textContent = text;
    return td;
  }

  function rowFor(topic, partition) {
    for (const row of offsets.tBodies[0].rows) {
      if (row.dataset.topic === topic && row.dataset.partition === String(partition)) return row;
    }
    const row = document.createElement("tr");
    row.dataset.topic = topic;
    row.dataset.partition = String(partition);
    const member = cell("member", "");
    member.append(document.createElement("code"));
    row.append(cell("", topic), cell("", String(partition), true), cell("committed", dash, true),
      cell("end", dash, true), cell("lag", dash, true), member);
    offsets.tBodies[0].append(row);
    return row;
  }

  // Writes one offsets row; a row the answer leaves out of `memberId` keeps its owner.
  function showOffset(offset) {
    const row = rowFor(offset.topic, offset.partition);
    row.querySelector("td.committed").textContent = shown(offset.committed);
    row.querySelector("td.end").textContent = shown(offset.end);
    row.querySelector("td.lag").textContent = shown(offset.lag);
    if ("memberId" in offset) row.querySelector("td.member code").textContent = offset.memberId ?? "";
  }

  function showMembers(members) {
    const body = document.getElementById("members")?.tBodies[0];
    if (!body) return;
    body.replaceChildren(...members.map((m) => {
      const row = document.createElement("tr");
      row.dataset.member = m.memberId;
      const id = cell("", "");
      const code = document.createElement("code");
      code.textContent = m.memberId;
      id.append(code);
      row.append(id, cell("", m.clientId), cell("", m.host), cell("", assignmentText(m.assignment)));
      return row;
    }));
    const empty = document.getElementById("members-empty");
    if (empty) empty.hidden = members.length > 0;
  }

  // "a: 0, 1; b: 2", as the server renders it.
  function assignmentText(assignment) {
    const byTopic = new Map();
    for (const { topic, partition } of assignment) {
      if (!byTopic.has(topic)) byTopic.set(topic, []);
      byTopic.get(topic).push(partition);
    }
    return [...byTopic].map(([topic, partitions]) => `${topic}: ${partitions.join(", ")}`).join("; ");
  }

  function showGroup(group) {
    setText("group-state", group.state);
    setText("group-members", String(group.members.length));
    setText("group-lag", shown(group.lag));
    showMembers(group.members);
    const current = new Set(group.offsets.map((o) => `${o.topic}\u0000${o.partition}`));
    for (const row of [...offsets.tBodies[0].rows]) {
      if (!current.has(`${row.dataset.topic}\u0000${row.dataset.partition}`)) row.remove();
    }
    group.offsets.forEach(showOffset);
  }

  function live() {
    const status = document.getElementById("live-status");
    const source = new EventSource(offsets.dataset.live);
    source.addEventListener("group", (event) => {
      showGroup(JSON.parse(event.data));
      if (status) {
        status.textContent = "Live: updated " + new Date().toLocaleTimeString();
        status.classList.remove("bad");
      }
    });
    source.addEventListener("error", (event) => {
      if (!status) return;
      let message = "The live view lost the console; reconnecting…";
      if (event.data) {
        try { message = JSON.parse(event.data).message; } catch { message = event.data; }
      }
      status.textContent = message;
      status.classList.add("bad");
    });
    window.addEventListener("pagehide", () => source.close());
  }

  // The reset form's fields as the API takes them; throws on a time that is not one.
  function resetBody(form) {
    const field = (name) => form.elements[name]?.value.trim() ?? "";
    const body = { to: field("to") };
    if (field("topic") !== "") body.topic = field("topic");
    if (field("partition") !== "") body.partition = Number(field("partition"));
    if (body.to === "offset" && field("offset") !== "") body.offset = Number(field("offset"));
    if (body.to === "timestamp" && field("timestamp") !== "") {
      const ms = new Date(field("timestamp")).getTime();
      if (Number.isNaN(ms)) throw new Error(`'${field("timestamp")}' is not a time`);
      body.timestamp = ms;
    }
    return body;
  }

  function resetForm(form) {
    const to = form.elements.to;
    const showFields = () => {
      // Labels are display: block, which a hidden attribute would not override.
      form.querySelector(".reset-offset").style.display = to.value === "offset" ? "" : "none";
      form.querySelector(".reset-timestamp").style.display = to.value === "timestamp" ? "" : "none";
    };
    to.addEventListener("change", showFields);
    showFields();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const errorBox = form.querySelector(".form-error");
      errorBox.hidden = true;
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const rows = await potok.api("POST", form.dataset.resetUrl, resetBody(form));
        rows.forEach(showOffset);
        potok.flash(`Offsets of ${rows.length} partition${rows.length === 1 ? "" : "s"} reset.`);
      } catch (e) {
        errorBox.textContent = e.message;
        errorBox.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
  }

  if (offsets?.dataset.live) live();
  const form = document.getElementById("reset-offsets");
  if (form) resetForm(form);
})();
