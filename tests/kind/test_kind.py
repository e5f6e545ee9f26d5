"""The operator end to end on a disposable Kubernetes cluster, as a user drives it: the
chart installed with Helm, examples/k8s applied with kubectl, the seed's walkthrough typed
into a broker pod, then a Topic edited, a broker config rolled under an acks=all producer
and the brokers scaled to four and back with a drain, nothing acknowledged lost.

The cluster is a new kind cluster when `kind` is installed, or the one POTOK_KUBECONFIG
names (POTOK_LOAD_IMAGE: a command that, given an image name, puts it on the nodes;
POTOK_KUBECTL: the kubectl to use; POTOK_PV_ROOT_CMD: a command that, given directories,
makes them world-writable on the node, when hostPath volumes are needed and the node is not
this machine). The tests run in order and share one cluster, namespace and install:

    POTOK_KUBECONFIG=/path/to/kubeconfig POTOK_LOAD_IMAGE='some-tool load-image' \
        .venv/bin/python -m pytest tests/kind -v -s
"""

import asyncio
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from conftest import partition_rows, wait_until

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "potok:latest"
KIND_CLUSTER = "potok-e2e"
RELEASE = "potok-operator"
BOOTSTRAP = "potok-bootstrap:9092"
KSQL = "http://potok-ksql:8088"
CLIENT_POD = "potok-client"
KUBECTL = shlex.split(os.environ.get("POTOK_KUBECTL", "kubectl"))
EXTERNAL_KUBECONFIG = os.environ.get("POTOK_KUBECONFIG")
# Three coordinators and up to four brokers; one spare.
HOST_PATH_VOLUMES = 8
PV_ROOT = Path("/var/tmp/potok-e2e-pv")

pytestmark = pytest.mark.skipif(
    not EXTERNAL_KUBECONFIG and shutil.which("kind") is None,
    reason="kind is not installed and POTOK_KUBECONFIG is not set: the Kubernetes "
           "end-to-end suite needs a disposable cluster",
)


def run(command: list[str], timeout: float = 300, check: bool = True, env: dict | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            env=env, input=stdin)
    if check:
        assert result.returncode == 0, f"{shlex.join(command)}:\n{result.stdout}{result.stderr}"
    return result


class Kube:
    """kubectl on the test cluster, in the test namespace unless told otherwise."""

    def __init__(self, kubeconfig: str, namespace: str):
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.env = {**os.environ, "KUBECONFIG": kubeconfig}

    def __call__(self, *args: str, check: bool = True, timeout: float = 120,
                 stdin: str | None = None, namespaced: bool = True) -> subprocess.CompletedProcess:
        scope = ["-n", self.namespace] if namespaced else []
        return run([*KUBECTL, *scope, *args], timeout=timeout, check=check, env=self.env,
                   stdin=stdin)

    def get(self, *what: str, namespaced: bool = True) -> dict | None:
        """The object(s) as JSON; None when kubectl fails (absent, or the API blinked)."""
        result = self("get", *what, "-o", "json", check=False, namespaced=namespaced)
        return json.loads(result.stdout) if result.returncode == 0 else None

    def apply(self, objects: list[dict]) -> None:
        self("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                    "items": objects}))

    def patch(self, what: str, patch: dict, check: bool = True) -> subprocess.CompletedProcess:
        return self("patch", *what.split(), "--type", "merge", "-p", json.dumps(patch),
                    check=check)

    def shell(self, pod: str, script: str, container: str | None = None, check: bool = True,
              timeout: float = 120, stdin: str | None = None) -> subprocess.CompletedProcess:
        """`script` run by bash inside the pod, as `kubectl exec -it POD -- bash` would."""
        where = ["-c", container] if container else []
        interactive = ["-i"] if stdin is not None else []
        return self("exec", *interactive, pod, *where, "--", "bash", "-c", script,
                    check=check, timeout=timeout, stdin=stdin)


def condition(resource: dict | None, kind: str) -> dict:
    for found in ((resource or {}).get("status") or {}).get("conditions") or []:
        if found.get("type") == kind:
            return found
    return {}


def ready_now(resource: dict | None) -> bool:
    """Ready, and for the spec as it is now (not a status left from before an edit)."""
    if not resource:
        return False
    status = resource.get("status") or {}
    return (condition(resource, "Ready").get("status") == "True"
            and status.get("observedGeneration") == resource["metadata"]["generation"])


def pod_ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def broker_pods(kube: Kube) -> dict[str, dict] | None:
    """The broker pods by name; None when kubectl could not tell."""
    pods = kube.get("pods", "-l", "app.kubernetes.io/instance=potok,"
                                  "app.kubernetes.io/component=broker")
    return None if pods is None else {p["metadata"]["name"]: p for p in pods["items"]}


def default_storage_class(kube: Kube) -> bool:
    classes = kube.get("storageclasses", namespaced=False) or {"items": []}
    return any((c["metadata"].get("annotations") or {}).get(
        "storageclass.kubernetes.io/is-default-class") == "true" for c in classes["items"])


def host_path_volumes(kube: Kube, kind: bool) -> list[str]:
    """hostPath PersistentVolumes for the claims, on a cluster that provisions none; the
    directories are made world-writable first, as hostPath ignores the pods' fsGroup."""
    directories = [str(PV_ROOT / kube.namespace / str(n)) for n in range(HOST_PATH_VOLUMES)]
    hook = os.environ.get("POTOK_PV_ROOT_CMD")
    if hook:
        run(["bash", "-c", f"{hook} {shlex.join(directories)}"])
    elif kind:
        run(["docker", "exec", f"{KIND_CLUSTER}-control-plane", "bash", "-c",
             f"mkdir -p {shlex.join(directories)} && chmod 0777 {shlex.join(directories)}"])
    else:
        # The knode kit's one node is this machine.
        for directory in directories:
            os.makedirs(directory, exist_ok=True)
            os.chmod(directory, 0o777)
    names = [f"{kube.namespace}-{n}" for n in range(HOST_PATH_VOLUMES)]
    kube.apply([{
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {"potok-e2e": kube.namespace}},
        "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
            "hostPath": {"path": directory, "type": "DirectoryOrCreate"},
        },
    } for name, directory in zip(names, directories)])
    return names


@pytest.fixture(scope="module")
def kube():
    """A cluster with potok:latest on its nodes and a fresh namespace, all removed after."""
    kind = not EXTERNAL_KUBECONFIG
    workdir = tempfile.TemporaryDirectory(prefix="potok-kind-")
    if kind:
        kubeconfig = str(Path(workdir.name) / "kubeconfig")
        # A cluster left by an interrupted run has the same name.
        run(["kind", "delete", "cluster", "--name", KIND_CLUSTER, "--kubeconfig", kubeconfig],
            check=False)
        run(["kind", "create", "cluster", "--name", KIND_CLUSTER, "--wait", "120s",
             "--kubeconfig", kubeconfig], timeout=600)
    else:
        kubeconfig = EXTERNAL_KUBECONFIG
    namespace = f"potok-e2e-{uuid.uuid4().hex[:6]}"
    instance = Kube(kubeconfig, namespace)
    volumes: list[str] = []
    try:
        if kind:
            run(["kind", "load", "docker-image", IMAGE, "--name", KIND_CLUSTER], timeout=600)
        elif os.environ.get("POTOK_LOAD_IMAGE"):
            run(["bash", "-c", f"{os.environ['POTOK_LOAD_IMAGE']} {IMAGE}"], timeout=600)
        instance("create", "namespace", namespace, namespaced=False)
        if not default_storage_class(instance):
            volumes = host_path_volumes(instance, kind)
        yield instance
    finally:
        if kind:
            run(["kind", "delete", "cluster", "--name", KIND_CLUSTER, "--kubeconfig", kubeconfig],
                check=False, timeout=300)
        else:
            # Finalizers left with no operator to run them would hold the namespace forever.
            for kind in ("ksqlstreams.potok.dev", "topics.potok.dev"):
                for name in (instance("get", kind, "-o", "name", check=False).stdout.split()):
                    instance("patch", name, "--type", "merge", "-p",
                             '{"metadata":{"finalizers":null}}', check=False)
            instance("delete", "namespace", namespace, "--ignore-not-found", "--timeout=300s",
                     namespaced=False, check=False, timeout=330)
            if volumes:
                instance("delete", "pv", *volumes, "--ignore-not-found", namespaced=False,
                         check=False)
            if not os.environ.get("POTOK_PV_ROOT_CMD"):
                shutil.rmtree(PV_ROOT / namespace, ignore_errors=True)
        workdir.cleanup()


def helm_configuration(kube: Kube):
    from helm_sdkpy import Configuration

    return Configuration(namespace=kube.namespace, kubeconfig=kube.kubeconfig)


@pytest.fixture(scope="module")
def release(kube):
    """charts/potok installed as a user would, on the image the nodes already hold."""
    from helm_sdkpy import Install, Uninstall

    values = {"image": {"repository": "potok", "tag": "latest", "pullPolicy": "Never"}}
    started = time.time()
    asyncio.run(Install(helm_configuration(kube)).run(
        RELEASE, str(ROOT / "charts" / "potok"), values=values, wait=True, timeout=300))
    print(f"\nhelm install to the operator available: {time.time() - started:.1f}s")
    yield RELEASE
    # The teardown test uninstalls it already when all went well. Otherwise the resources
    # go first, while the operator can still run their finalizers.
    kube("delete", "ksqlstreams.potok.dev,topics.potok.dev,kafkaclusters.potok.dev", "--all",
         "--timeout=180s", check=False, timeout=200)
    try:
        asyncio.run(Uninstall(helm_configuration(kube)).run(RELEASE, wait=True, timeout=120))
    except Exception:
        pass


@pytest.fixture(autouse=True)
def state_on_failure(request, kube):
    """What a user would look at when something went wrong."""
    yield
    if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
        for args in (["get", "pods,statefulsets,pvc,kafkaclusters.potok.dev,topics.potok.dev,"
                      "ksqlstreams.potok.dev", "-o", "wide"],
                     ["get", "kafkaclusters.potok.dev", "-o", "yaml"],
                     ["get", "events", "--sort-by=.lastTimestamp"],
                     ["logs", "deployment/" + RELEASE, "--tail", "80", "--all-containers"]):
            result = kube(*args, check=False)
            print(f"$ kubectl {' '.join(args)}\n{result.stdout}{result.stderr}")


def helm_owned(items: list[dict], namespace: str | None = None) -> list[str]:
    """Names of the objects Helm made for the release (it annotates every one)."""
    names = []
    for item in items:
        notes = item["metadata"].get("annotations") or {}
        if notes.get("meta.helm.sh/release-name") == RELEASE and (
                namespace is None or notes.get("meta.helm.sh/release-namespace") == namespace):
            names.append(item["metadata"]["name"])
    return names


def test_the_chart_installs_the_operator(kube, release):
    deployments = kube.get("deployments")["items"]
    operators = [d for d in deployments if d["metadata"]["name"] in helm_owned(deployments)]
    assert len(operators) == 1, [d["metadata"]["name"] for d in deployments]
    available = condition(operators[0], "Available")
    assert available.get("status") == "True", operators[0].get("status")
    images = [c["image"] for c in operators[0]["spec"]["template"]["spec"]["containers"]]
    assert any(image.endswith(IMAGE) for image in images), images

    assert helm_owned(kube.get("serviceaccounts")["items"]), "no ServiceAccount for the operator"
    roles = kube.get("clusterroles", namespaced=False)["items"]
    assert helm_owned(roles, kube.namespace), "no ClusterRole for the operator"

    for crd in ("kafkaclusters.potok.dev", "topics.potok.dev", "ksqlstreams.potok.dev"):
        found = kube.get("crd", crd, namespaced=False)
        assert found, f"CRD {crd} missing"
        assert condition(found, "Established").get("status") == "True", found.get("status")


def example_objects(kube: Kube) -> list[dict]:
    """examples/k8s as kubectl reads it; a KafkaCluster naming no pull policy gets Never,
    as no node here can pull."""
    read = kube("create", "--dry-run=client", "-o", "json", "-f", str(ROOT / "examples" / "k8s"))
    text = read.stdout
    decoder, objects, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        found, at = decoder.raw_decode(text, at)
        objects.extend(found["items"] if found.get("kind") == "List" else [found])
    for item in objects:
        if item["kind"] == "KafkaCluster":
            item["spec"].setdefault("imagePullPolicy", "Never")
    return objects


def test_the_examples_come_up(kube, release):
    objects = example_objects(kube)
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["KafkaCluster", "KsqlStream", "Topic"], kinds
    started = time.time()
    kube.apply(objects)

    cluster = wait_until(lambda: (lambda c: c if ready_now(c) else None)(
        kube.get("kafkaclusters.potok.dev", "potok")), timeout=300,
        message="KafkaCluster potok Ready")
    print(f"\nkubectl apply to KafkaCluster Ready: {time.time() - started:.1f}s")
    status = cluster["status"]
    assert status.get("readyBrokers") == 3 and status.get("readyCoordinators") == 3, status
    assert status.get("readyKsql") == 1, status
    assert status.get("clusterId") and status.get("quorumLeader") is not None, status
    assert "potok-bootstrap" in (status.get("bootstrapServers") or ""), status

    for kind, names in {
        "statefulset": ["potok-coordinator", "potok-broker", "potok-ksql"],
        "service": ["potok-coordinator", "potok-broker", "potok-bootstrap", "potok-ksql"],
        "configmap": ["potok-coordinator-config", "potok-broker-config", "potok-ksql-config"],
        "poddisruptionbudget": ["potok-coordinator", "potok-broker"],
    }.items():
        for name in names:
            assert kube.get(kind, name), f"{kind} {name} missing"
    for name, port in {"potok-coordinator": 9093, "potok-broker": 9092}.items():
        service = kube.get("service", name)["spec"]
        assert service.get("clusterIP") == "None", f"service {name} is not headless"
        assert port in [p["port"] for p in service["ports"]], service["ports"]
    assert 9092 in [p["port"] for p in kube.get("service", "potok-bootstrap")["spec"]["ports"]]
    assert 8088 in [p["port"] for p in kube.get("service", "potok-ksql")["spec"]["ports"]]
    for sts in ("potok-coordinator", "potok-broker"):
        assert kube.get("statefulset", sts)["spec"]["updateStrategy"]["type"] == "OnDelete"

    pods = {f"potok-broker-{n}": "broker" for n in range(3)}
    pods |= {f"potok-coordinator-{n}": "coordinator" for n in range(3)}
    pods["potok-ksql-0"] = "ksql"
    for name, container in pods.items():
        pod = kube.get("pod", name)
        assert pod and pod["status"].get("phase") == "Running", f"pod {name} not running"
        assert pod["metadata"]["labels"].get("app.kubernetes.io/component") == container
        spec = {c["name"]: c["image"] for c in pod["spec"]["containers"]}
        assert spec.get(container, "").endswith(IMAGE), (name, spec)

    topic = wait_until(lambda: (lambda t: t if ready_now(t) else None)(
        kube.get("topics.potok.dev", "test")), timeout=120, message="Topic test Ready")
    assert topic["status"].get("partitions") == 3 and topic["status"].get("replicas") == 3
    assert topic["status"].get("topicName") == "test"
    stream = wait_until(lambda: (lambda s: s if ready_now(s) else None)(
        kube.get("ksqlstreams.potok.dev", "payments")), timeout=120,
        message="KsqlStream payments Ready")
    assert (stream["status"].get("sourceName") or "").upper() == "PAYMENTS", stream["status"]
    print(f"apply to Topic and KsqlStream Ready: {time.time() - started:.1f}s")


def console_get(kube: Kube, path: str) -> dict | list:
    """GET of the console's JSON API through its Service, from a broker pod's bash."""
    answer = kube.shell("potok-broker-0", "exec 3<>/dev/tcp/potok-ui/8282 && printf "
                        f"'GET {path} HTTP/1.0\\r\\nHost: potok-ui\\r\\n\\r\\n' >&3 && cat <&3",
                        container="broker").stdout
    # kubectl's output is read as text, so the answer's CRLFs arrive as plain newlines.
    head, _, body = answer.replace("\r\n", "\n").partition("\n\n")
    assert " 200 " in head.splitlines()[0], answer
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        raise AssertionError(f"GET {path}: not JSON ({error}):\n{answer}") from None


def test_the_console_shows_the_cluster_with_every_nodes_metrics(kube):
    wait_until(lambda: (kube.get("deployment", "potok-ui") or {}).get("status", {})
               .get("availableReplicas") == 1, timeout=120, message="the console available")
    assert 8282 in [p["port"] for p in kube.get("service", "potok-ui")["spec"]["ports"]]
    brokers = console_get(kube, "/api/clusters/potok/brokers")
    assert [b["id"] for b in brokers] == [1, 2, 3], brokers
    assert all(b["host"].startswith("potok-broker-") for b in brokers), brokers
    wait_until(lambda: console_get(kube, "/api/clusters/potok/metrics")["serversUp"] == 7,
               timeout=60, message="the console scraping 3 coordinators, 3 brokers and ksql")
    streams = console_get(kube, "/api/clusters/potok/ksql/streams")
    assert "PAYMENTS" in [s["name"] for s in streams], streams


def describe(kube: Kube, topic: str | None = None, pod: str = "potok-broker-0",
             check: bool = True) -> str:
    which = f"--topic {topic}" if topic else ""
    return kube.shell(pod, f"kafka-topics --bootstrap-server {BOOTSTRAP} --describe {which}",
                      container="broker" if pod.startswith("potok-broker") else None,
                      check=check).stdout


def test_the_walkthrough_in_a_broker_pod(kube):
    text = describe(kube, "test")
    header = text.splitlines()[0]
    assert "PartitionCount: 3" in header and "ReplicationFactor: 3" in header, text
    assert "min.insync.replicas=2" in header, text
    rows = partition_rows(text)
    assert sorted(rows) == [0, 1, 2], text
    assert all(len(replicas.split(",")) == 3 and len(isr) == 3
               for _, replicas, isr in rows.values()), text

    words = [f"hello-{uuid.uuid4().hex[:8]}-{n}" for n in range(3)]
    kube.shell("potok-broker-0", f"kafka-console-producer --bootstrap-server {BOOTSTRAP} "
               "--topic test", container="broker", stdin="\n".join(words) + "\n")
    consumed = kube.shell("potok-broker-0", f"kafka-console-consumer --bootstrap-server "
                          f"{BOOTSTRAP} --topic test --from-beginning --max-messages 3 "
                          "--timeout-ms 60000", container="broker", check=False, timeout=90)
    assert sorted(consumed.stdout.split()) == sorted(words), consumed.stdout + consumed.stderr

    name = f"Bob-{uuid.uuid4().hex[:6]}"
    kube.shell("potok-broker-0", f"ksql {KSQL} -e \"INSERT INTO payments (name, amount) "
               f"VALUES ('{name}', 42);\"", container="broker")
    pushed = kube.shell(
        "potok-broker-0",
        f"ksql {KSQL} --query-timeout 60000 -e \"SET 'auto.offset.reset'='earliest'; "
        "SELECT * FROM payments EMIT CHANGES LIMIT 1;\"",
        container="broker", timeout=90)
    assert name in pushed.stdout and "42" in pushed.stdout, pushed.stdout + pushed.stderr


def test_editing_the_topic_changes_the_live_topic(kube):
    kube.patch("topics.potok.dev test",
               {"spec": {"partitions": 6, "config": {"min.insync.replicas": "1"}}})

    def followed():
        text = describe(kube, "test", check=False)
        header = text.splitlines()[0] if text else ""
        return text if "PartitionCount: 6" in header and "min.insync.replicas=1" in header \
            else None

    text = wait_until(followed, timeout=120, message="the live topic has 6 partitions")
    assert sorted(partition_rows(text)) == list(range(6)), text
    topic = wait_until(lambda: (lambda t: t if ready_now(t) else None)(
        kube.get("topics.potok.dev", "test")), timeout=60, message="Topic test Ready again")
    assert topic["status"]["partitions"] == 6, topic["status"]
    assert condition(topic, "Ready")["observedGeneration"] == topic["metadata"]["generation"]

    refused = kube.patch("topics.potok.dev test", {"spec": {"partitions": 2}}, check=False)
    assert refused.returncode != 0
    assert "spec.partitions may not decrease" in refused.stderr, refused.stderr
    assert kube.get("topics.potok.dev", "test")["spec"]["partitions"] == 6


# Writes PREFIX-1, PREFIX-2, ... to TOPIC with acks=all until the stop file appears; the
# producer's exit status and errors are kept beside the count.
LOAD_SCRIPT = r"""
topic=$1 prefix=$2 dir=/tmp/load-$1-$2
rm -rf "$dir"; mkdir -p "$dir"
i=0
while [ ! -e "$dir/stop" ]; do
    i=$((i + 1)); echo "$prefix-$i"; echo "$i" > "$dir/count"; sleep 0.01
done | kafka-console-producer --bootstrap-server potok-bootstrap:9092 --topic "$topic" --sync \
    --producer-property acks=all --producer-property enable.idempotence=true \
    --producer-property delivery.timeout.ms=300000 2> "$dir/stderr"
echo $? > "$dir/exit"
"""


@pytest.fixture(scope="module")
def client(kube):
    """A pod of the same image outside the cluster's StatefulSets, so no roll or drain
    takes the producer down with it."""
    kube.apply([{
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": CLIENT_POD},
        "spec": {"containers": [{"name": "client", "image": IMAGE, "imagePullPolicy": "Never",
                                 "command": ["sleep", "infinity"]}],
                 "terminationGracePeriodSeconds": 0},
    }])
    kube("wait", "--for=condition=Ready", f"pod/{CLIENT_POD}", "--timeout=120s", timeout=150)
    kube.shell(CLIENT_POD, "cat > /tmp/load.sh", stdin=LOAD_SCRIPT)
    yield CLIENT_POD
    kube("delete", "pod", CLIENT_POD, "--ignore-not-found", "--wait=false", check=False)


class Load:
    """The load script running in the client pod, detached from kubectl's stream."""

    def __init__(self, kube: Kube, topic: str, prefix: str):
        self.kube, self.dir, self.prefix = kube, f"/tmp/load-{topic}-{prefix}", prefix
        kube.shell(CLIENT_POD, f"nohup bash /tmp/load.sh {topic} {prefix} "
                               "</dev/null >/dev/null 2>&1 &")
        wait_until(lambda: self.count() > 50, timeout=60, message=f"{prefix} records flowing")

    def count(self) -> int:
        result = self.kube.shell(CLIENT_POD, f"cat {self.dir}/count", check=False)
        return int(result.stdout.strip() or 0) if result.returncode == 0 else 0

    def stop(self) -> int:
        """Stops it; the count written, every one acknowledged."""
        self.kube.shell(CLIENT_POD, f"touch {self.dir}/stop")
        wait_until(lambda: self.kube.shell(CLIENT_POD, f"test -s {self.dir}/exit",
                                           check=False).returncode == 0,
                   timeout=360, message="the producer finished")
        result = self.kube.shell(CLIENT_POD, f"cat {self.dir}/exit {self.dir}/stderr")
        status, _, errors = result.stdout.partition("\n")
        assert status.strip() == "0" and "ERROR" not in errors, \
            f"the acks=all producer failed: {result.stdout}"
        return self.count()


def consume(kube: Kube, topic: str) -> Counter:
    result = kube.shell(CLIENT_POD, f"kafka-console-consumer --bootstrap-server {BOOTSTRAP} "
                        f"--topic {topic} --from-beginning --timeout-ms 20000",
                        check=False, timeout=600)
    return Counter(result.stdout.split())


def assert_each_once(seen: Counter, prefix: str, count: int) -> None:
    expected = {f"{prefix}-{n}" for n in range(1, count + 1)}
    missing = sorted(expected - seen.keys(), key=lambda v: int(v.rsplit("-", 1)[1]))
    twice = sorted(v for v in expected if seen[v] > 1)
    assert not missing and not twice, \
        f"{len(missing)} acknowledged records missing ({missing[:10]}), {len(twice)} duplicated"


def apply_topic(kube: Kube, name: str) -> None:
    kube.apply([{
        "apiVersion": "potok.dev/v1alpha1", "kind": "Topic", "metadata": {"name": name},
        "spec": {"cluster": "potok", "partitions": 3, "replicas": 3,
                 "config": {"min.insync.replicas": "2"}},
    }])
    wait_until(lambda: ready_now(kube.get("topics.potok.dev", name)), timeout=120,
               message=f"Topic {name} Ready")


def test_a_broker_config_change_rolls_safely_under_load(kube, client):
    apply_topic(kube, "rolled")
    before = {name: pod["metadata"]["uid"] for name, pod in broker_pods(kube).items()}
    assert sorted(before) == [f"potok-broker-{n}" for n in range(3)], sorted(before)
    load = Load(kube, "rolled", "r")

    started = time.time()
    kube.patch("kafkaclusters.potok.dev potok",
               {"spec": {"brokers": {"config": {"log.retention.hours": "100"}}}})
    most_down, deadline = 0, time.time() + 900
    while True:
        pods = broker_pods(kube)
        if pods is None:  # kubectl failed; no sample
            time.sleep(0.5)
            continue
        down = len(before) - sum(1 for p in pods.values() if pod_ready(p))
        most_down = max(most_down, down)
        replaced = all(name in pods and pods[name]["metadata"]["uid"] != uid
                       for name, uid in before.items())
        if replaced and down == 0 and ready_now(kube.get("kafkaclusters.potok.dev", "potok")):
            break
        assert time.time() < deadline, f"roll unfinished after 900s: {pods.keys()}"
        time.sleep(0.5)
    print(f"\nbroker roll: {time.time() - started:.1f}s, at most {most_down} broker(s) down")
    assert most_down <= 1, f"{most_down} brokers were down at once"
    config = kube.get("configmap", "potok-broker-config")["data"]
    assert any("log.retention.hours=100" in text for text in config.values()), config
    events = kube.get("events", "--field-selector", "involvedObject.kind=KafkaCluster")["items"]
    restarts = [e.get("note") or e.get("message") for e in events if e["reason"] == "Restarted"]
    assert any("potok-broker-" in (note or "") for note in restarts), \
        f"no Restarted event on the KafkaCluster: {[e['reason'] for e in events]}"

    written = load.stop()
    print(f"records acknowledged during the roll: {written}")
    assert_each_once(consume(kube, "rolled"), "r", written)


def test_scaling_brokers_up_and_down_drains_the_removed_one(kube, client):
    kube.patch("kafkaclusters.potok.dev potok", {"spec": {"brokers": {"replicas": 4}}})
    wait_until(lambda: (lambda c: ready_now(c) and c["status"].get("readyBrokers") == 4)(
        kube.get("kafkaclusters.potok.dev", "potok")), timeout=300,
        message="four brokers Ready")
    assert pod_ready(kube.get("pod", "potok-broker-3"))

    # A topic made while broker 4 exists, so the drain has replicas to move.
    kube.shell(CLIENT_POD, f"kafka-topics --bootstrap-server {BOOTSTRAP} --create --topic spread "
                           "--partitions 8 --replication-factor 3 --config min.insync.replicas=2")
    rows = partition_rows(describe(kube, "spread", pod=CLIENT_POD))
    assert any("4" in replicas.split(",") for _, replicas, _ in rows.values()), rows
    kube.shell(CLIENT_POD, f"seq -f 'p-%g' 1 2000 | kafka-console-producer --bootstrap-server "
                           f"{BOOTSTRAP} --topic spread --producer-property acks=all")
    load = Load(kube, "rolled", "s")

    started = time.time()
    kube.patch("kafkaclusters.potok.dev potok", {"spec": {"brokers": {"replicas": 3}}})
    reasons, deadline = set(), time.time() + 900
    while True:
        cluster = kube.get("kafkaclusters.potok.dev", "potok")
        progressing = condition(cluster, "Progressing")
        if progressing.get("status") == "True":
            reasons.add(progressing.get("reason"))
        sts = kube.get("statefulset", "potok-broker") or {"spec": {}}
        if (ready_now(cluster) and cluster["status"].get("readyBrokers") == 3
                and sts["spec"].get("replicas") == 3
                and "potok-broker-3" not in (broker_pods(kube) or {"potok-broker-3": None})):
            break
        assert time.time() < deadline, f"scale-down unfinished after 900s: {cluster.get('status')}"
        time.sleep(0.3)
    print(f"\ndrain and scale-down: {time.time() - started:.1f}s (Progressing reasons {reasons})")
    assert "DrainingBrokers" in reasons, reasons

    everything = describe(kube, pod=CLIENT_POD)
    on_four = [line for line in everything.splitlines()
               if "Partition:" in line and any(
                   "4" in field.split(": ", 1)[1].split(",")
                   for field in line.split("\t") if field.startswith(("Replicas", "Isr")))]
    assert not on_four, "partitions still on broker 4:\n" + "\n".join(on_four)

    written = load.stop()
    seen = consume(kube, "rolled")
    assert_each_once(seen, "s", written)
    assert sum(1 for v in seen if v.startswith("r-")) > 0, "the roll's records are gone"
    assert_each_once(consume(kube, "spread"), "p", 2000)


def operator_pods(kube: Kube) -> list[dict]:
    pods = kube.get("pods", "-l", "app.kubernetes.io/name=potok-operator") or {"items": []}
    return [p for p in pods["items"] if not p["metadata"].get("deletionTimestamp")]


def leading(kube: Kube, pod: str) -> bool:
    """Whether the operator in `pod` says, in its /metrics, that it leads."""
    script = ("exec 3<>/dev/tcp/127.0.0.1/8080; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; "
              "cat <&3")
    text = kube.shell(pod, script, check=False).stdout
    return "potok_operator_leader 1" in text.splitlines()


def test_one_operator_replica_leads_and_another_takes_over(kube, release):
    deployment = f"deployment/{RELEASE}"
    kube("scale", deployment, "--replicas", "2")
    pods = wait_until(lambda: (lambda ps: ps if len(ps) == 2 and all(map(pod_ready, ps))
                               else None)(operator_pods(kube)),
                      timeout=120, message="two operator pods ready")
    names = [p["metadata"]["name"] for p in pods]
    for _ in range(10):
        leaders = [name for name in names if leading(kube, name)]
        assert len(leaders) <= 1, f"two operators lead at once: {leaders}"
        time.sleep(0.5)
    assert len(leaders) == 1, f"leaders among {names}: {leaders}"
    lease = kube.get("lease", "potok-operator")
    assert lease["spec"]["holderIdentity"] == leaders[0], lease["spec"]

    started = time.time()
    kube("delete", "pod", leaders[0], "--wait=false")
    standby = next(name for name in names if name != leaders[0])

    def new_leader() -> str | None:
        """The pod leading now, other than the deleted one: the standby, or the pod the
        Deployment made in the deleted one's place when it starts first and wins the
        released lease."""
        found = [p["metadata"]["name"] for p in operator_pods(kube)
                 if p["metadata"]["name"] != leaders[0] and leading(kube, p["metadata"]["name"])]
        assert len(found) <= 1, f"two operators lead at once: {found}"
        return found[0] if found else None

    successor = wait_until(new_leader, timeout=60, message="another operator takes over")
    which = "the standby" if successor == standby else "the replacement pod"
    print(f"\n{which} leads {time.time() - started:.1f}s after the leader's pod was deleted")
    assert kube.get("lease", "potok-operator")["spec"]["holderIdentity"] == successor
    kube("scale", deployment, "--replicas", "1")
    wait_until(lambda: len(operator_pods(kube)) == 1, timeout=120, message="one operator pod")


def coordinator_pods(kube: Kube) -> dict[str, dict] | None:
    pods = kube.get("pods", "-l", "app.kubernetes.io/instance=potok,"
                                  "app.kubernetes.io/component=coordinator")
    return None if pods is None else {p["metadata"]["name"]: p for p in pods["items"]}


def test_coordinators_roll_followers_first_and_the_leader_last(kube, client):
    before = {name: pod["metadata"]["uid"] for name, pod in coordinator_pods(kube).items()}
    load = Load(kube, "rolled", "c")
    started = time.time()
    kube.patch("kafkaclusters.potok.dev potok",
               {"spec": {"coordinators": {"config": {"broker.session.timeout.ms": "9000"}}}})
    order, leader_when_replaced, most_down = [], {}, 0
    leader = kube.get("kafkaclusters.potok.dev", "potok")["status"]["quorumLeader"]
    deadline = time.time() + 900
    while True:
        cluster = kube.get("kafkaclusters.potok.dev", "potok")
        leader = ((cluster or {}).get("status") or {}).get("quorumLeader", leader)
        pods = coordinator_pods(kube)
        if pods is None:
            time.sleep(0.5)
            continue
        most_down = max(most_down, len(before) - sum(1 for p in pods.values() if pod_ready(p)))
        for name, uid in before.items():
            if name not in order and (name not in pods or pods[name]["metadata"]["uid"] != uid):
                order.append(name)
                leader_when_replaced[name] = f"potok-coordinator-{leader - 101}"
        if len(order) == len(before) and ready_now(cluster):
            break
        assert time.time() < deadline, f"coordinator roll unfinished after 900s: {order}"
        time.sleep(0.3)
    print(f"\ncoordinator roll: {time.time() - started:.1f}s, order {order}, "
          f"at most {most_down} down")
    assert most_down <= 1, f"{most_down} coordinators were down at once"
    for name in order[:-1]:
        assert leader_when_replaced[name] != name, \
            f"{name} restarted while it led the quorum, before a follower: {leader_when_replaced}"
    written = load.stop()
    assert_each_once(consume(kube, "rolled"), "c", written)


def test_a_stuck_broker_is_reported_and_a_fix_rolls_it_first(kube):
    before = {name: pod["metadata"]["uid"] for name, pod in broker_pods(kube).items()}
    kube.patch("kafkaclusters.potok.dev potok",
               {"spec": {"brokers": {"resources": {"requests": {"memory": "1000Gi"}}}}})
    cluster = wait_until(lambda: (lambda c: c if condition(c, "Degraded").get("reason")
                                  == "StuckPods" else None)(
        kube.get("kafkaclusters.potok.dev", "potok")), timeout=180,
        message="the unschedulable broker reported in status")
    degraded = condition(cluster, "Degraded")
    assert "Unschedulable" in degraded["message"], degraded
    stuck = [name for name, pod in broker_pods(kube).items() if not pod_ready(pod)]
    assert len(stuck) == 1, stuck
    time.sleep(15)
    pods = broker_pods(kube)
    untouched = [name for name in before if name not in stuck]
    assert all(pods[name]["metadata"]["uid"] == before[name] for name in untouched), \
        "a broker restarted while another could not start"

    kube.patch("kafkaclusters.potok.dev potok",
               {"spec": {"brokers": {"resources": {"requests": {"memory": "256Mi"}}}}})
    wait_until(lambda: (lambda c: c if ready_now(c) else None)(
        kube.get("kafkaclusters.potok.dev", "potok")), timeout=300,
        message="the cluster Ready again once the request fits")
    pods = broker_pods(kube)
    assert all(pod_ready(pod) for pod in pods.values()), pods.keys()
    assert condition(kube.get("kafkaclusters.potok.dev", "potok"), "Degraded")["status"] == "False"


def test_teardown_lets_everything_go(kube, release):
    from helm_sdkpy import Uninstall

    kube("delete", "pod", CLIENT_POD, "--ignore-not-found", "--wait=false", check=False)
    # Topics and streams first: their finalizers talk to the cluster.
    for what in ("ksqlstreams.potok.dev/payments", "topics.potok.dev/test",
                 "topics.potok.dev/rolled", "kafkaclusters.potok.dev/potok"):
        kube("delete", what, "--ignore-not-found", "--timeout=180s", timeout=200)
    left = kube("get", "kafkaclusters.potok.dev,topics.potok.dev,ksqlstreams.potok.dev",
                "-o", "name").stdout
    assert not left.strip(), left
    wait_until(lambda: (kube.get("pods", "-l", "app.kubernetes.io/instance=potok")
                        or {"items": [None]})["items"] == [],
               timeout=180, message="the cluster's pods gone")

    asyncio.run(Uninstall(helm_configuration(kube)).run(release, wait=True, timeout=120))
    assert not helm_owned(kube.get("deployments")["items"]), "operator Deployment still there"
    kube("delete", "namespace", kube.namespace, "--timeout=300s", namespaced=False, timeout=330)
    assert kube.get("namespace", kube.namespace, namespaced=False) is None
