"""`potok-operator run` on a Kubernetes cluster, measured from outside as a user sees it:

1. The operator process at idle: resident memory and CPU over 30 seconds.
2. 500 Topics created at once (one `kubectl create` of a List): the time until every one
   reports Ready (its topic created), the operator's CPU seconds and peak resident memory
   meanwhile, and its memory after; then the time until all 500 are deleted.
3. `kubectl apply` of one Topic to the Topic reporting Ready with a topic id (the operator
   writes it right after CreateTopics succeeded), 20 times; polled every 0.1 s, so each
   figure is up to 0.1 s late.

It needs the chart installed and the example cluster Ready in NAMESPACE (README, "On
Kubernetes"), kubectl on PATH, and the operator's process on this machine (a knode or kind
node is), found by its command line. Prints figures; asserts nothing; removes what it made.

    KUBECONFIG=... .venv/bin/python bench/operator_kubernetes_bench.py --namespace NS
"""

import argparse
import json
import os
import statistics
import subprocess
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def kubectl(namespace, *args, stdin=None):
    result = subprocess.run(["kubectl", "-n", namespace, *args], input=stdin,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)}: {result.stderr}")
    return result.stdout


def operator_pid():
    found = subprocess.run(["pgrep", "-f", "potok-operator run"], capture_output=True,
                           text=True).stdout.split()
    if len(found) != 1:
        raise SystemExit(f"expected one `potok-operator run` process on this machine, found "
                         f"{len(found)}: scale the Deployment to 1 replica")
    return int(found[0])


def rss_mib(pid):
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def topic(name):
    return {"apiVersion": "potok.dev/v1alpha1", "kind": "Topic", "metadata": {"name": name},
            "spec": {"cluster": "potok", "partitions": 1, "replicas": 3}}


def ready_topics(namespace, prefix):
    items = json.loads(kubectl(namespace, "get", "topics.potok.dev", "-o", "json"))["items"]
    return sum(1 for t in items if t["metadata"]["name"].startswith(prefix) and any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in (t.get("status") or {}).get("conditions", [])))


def remaining(namespace, prefix):
    items = json.loads(kubectl(namespace, "get", "topics.potok.dev", "-o", "json"))["items"]
    return sum(1 for t in items if t["metadata"]["name"].startswith(prefix))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--topics", type=int, default=500)
    parser.add_argument("--single", type=int, default=20)
    args = parser.parse_args()
    ns = args.namespace
    pid = operator_pid()

    cpu0, started = cpu_seconds(pid), time.time()
    time.sleep(30)
    idle_cpu = (cpu_seconds(pid) - cpu0) / (time.time() - started) * 100
    print(f"operator at idle: {rss_mib(pid):.1f} MiB resident, {idle_cpu:.2f}% of a core")

    prefix = "bench-many-"
    objects = {"apiVersion": "v1", "kind": "List",
               "items": [topic(f"{prefix}{n}") for n in range(args.topics)]}
    cpu0, peak, started = cpu_seconds(pid), rss_mib(pid), time.time()
    kubectl(ns, "create", "-f", "-", stdin=json.dumps(objects))
    applied = time.time() - started
    while ready_topics(ns, prefix) < args.topics:
        peak = max(peak, rss_mib(pid))
        time.sleep(1)
    took = time.time() - started
    print(f"{args.topics} Topics: kubectl create {applied:.1f}s, all Ready after {took:.1f}s "
          f"({args.topics / took:.0f} per second); operator CPU {cpu_seconds(pid) - cpu0:.1f}s, "
          f"peak {peak:.1f} MiB resident, {rss_mib(pid):.1f} MiB after")
    started = time.time()
    kubectl(ns, "delete", "topics.potok.dev", *[f"{prefix}{n}" for n in range(args.topics)],
            "--wait=false")
    while remaining(ns, prefix):
        time.sleep(0.5)
    print(f"{args.topics} Topics deleted (finalizers: topics deleted first) in "
          f"{time.time() - started:.1f}s; operator {rss_mib(pid):.1f} MiB resident after")

    latencies = []
    for n in range(args.single):
        name = f"bench-one-{n}"
        kubectl(ns, "apply", "-f", "-", stdin=json.dumps(topic(name)))
        started = time.time()
        while True:
            found = json.loads(kubectl(ns, "get", "topics.potok.dev", name, "-o", "json"))
            status = found.get("status") or {}
            if status.get("topicId") and any(c["type"] == "Ready" and c["status"] == "True"
                                             for c in status.get("conditions", [])):
                break
            time.sleep(0.1)
        latencies.append(time.time() - started)
        kubectl(ns, "delete", "topics.potok.dev", name, "--wait=false")
    latencies.sort()
    print(f"kubectl apply of a Topic to its topic created: median "
          f"{statistics.median(latencies):.2f}s, worst {latencies[-1]:.2f}s "
          f"({len(latencies)} Topics, polled every 0.1s)")
    while remaining(ns, "bench-one-"):
        time.sleep(0.5)


if __name__ == "__main__":
    main()
