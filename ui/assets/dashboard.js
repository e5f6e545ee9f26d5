// The dashboard's live figures: an "overview" Server-Sent Event every few seconds fills the
// figures in place; a cluster that is down shows its error until it answers again.
"use strict";

(() => {
  const source = new EventSource(`/api/clusters/${encodeURIComponent(potok.cluster)}/overview/live`);
  const set = (id, value, bad) => {
    const element = document.getElementById(id);
    if (!element) return;
    element.textContent = value ?? "–";
    if (bad !== undefined) element.parentElement.classList.toggle("bad", bad);
  };
  const rate = (bytes) => {
    if (bytes === null || bytes === undefined) return "–";
    const units = ["B", "KiB", "MiB", "GiB"];
    let value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit === 0 ? Math.round(value) : value.toFixed(1)) + " " + units[unit] + "/s";
  };
  source.addEventListener("overview", (event) => {
    const live = JSON.parse(event.data);
    const down = document.getElementById("cluster-down");
    down.hidden = !live.error;
    down.textContent = live.error ?? "";
    if (!live.error) {
      set("brokers-online", live.brokersOnline.length);
      set("controller", live.controller);
      set("topics", live.topics);
      set("partitions", live.partitions);
      set("under-replicated", live.underReplicated, live.underReplicated > 0);
      set("under-min-isr", live.underMinIsr, live.underMinIsr > 0);
      set("offline", live.offline, live.offline > 0);
      set("cluster-id", live.clusterId);
    }
    set("quorum-leader", live.quorumLeader);
    set("coordinators-up", live.coordinatorsUp);
    set("bytes-in", rate(live.bytesInPerSec));
    set("bytes-out", rate(live.bytesOutPerSec));
  });
})();
