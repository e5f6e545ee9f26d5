"""The Helm chart `charts/potok` and the manifests in `examples/k8s`, checked without a
Kubernetes cluster: Helm's own lint, the chart rendered by Helm's install action against a
small in-process API server that accepts whatever it is sent, the values schema refusing a
misspelt key, the chart's CRDs kept identical to the repository's, and every example
manifest's fields known to the CRD schema. Helm runs in-process through helm-sdkpy, which
has no client-only render, hence the stand-in API server."""

import asyncio
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import helm_sdkpy as helm
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "potok"
CRDS = ROOT / "crds" / "potok.dev.yaml"
EXAMPLES = ROOT / "examples" / "k8s"
RELEASE = "potok"
RELEASE_NAMESPACE = "potok-system"

# Helm's lint severities (helm.sh/helm/v4 pkg/chart/v2/lint/support): info, warning, error.
LINT_INFO = 1

# The rules the operator's contract asks for: (apiGroup, resource) -> verbs.
MANAGED_RULES = {
    **{
        ("potok.dev", kind): {"get", "list", "watch", "patch", "update"}
        for kind in ("kafkaclusters", "topics", "ksqlstreams")
    },
    **{
        ("potok.dev", f"{kind}/status"): {"get", "patch", "update"}
        for kind in ("kafkaclusters", "topics", "ksqlstreams")
    },
    **{
        ("potok.dev", f"{kind}/finalizers"): {"update"}
        for kind in ("kafkaclusters", "topics", "ksqlstreams")
    },
    **{
        (group, resource): {"get", "list", "watch", "create", "patch", "update", "delete"}
        for group, resource in (
            ("apps", "statefulsets"),
            ("apps", "deployments"),
            ("", "services"),
            ("", "configmaps"),
            ("policy", "poddisruptionbudgets"),
        )
    },
    ("", "pods"): {"get", "list", "watch", "delete"},
    ("", "persistentvolumeclaims"): {"get", "list", "watch", "delete"},
    ("", "events"): {"create", "patch"},
    ("events.k8s.io", "events"): {"create", "patch"},
}
LEASE_RULES = {("coordination.k8s.io", "leases"): {"get", "create", "update", "patch"}}

# What the stand-in API server says it serves: group/version -> [(plural, kind, namespaced)].
API_RESOURCES = {
    "v1": [
        ("namespaces", "Namespace", False),
        ("secrets", "Secret", True),
        ("configmaps", "ConfigMap", True),
        ("services", "Service", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("pods", "Pod", True),
        ("persistentvolumeclaims", "PersistentVolumeClaim", True),
        ("events", "Event", True),
    ],
    "apps/v1": [("deployments", "Deployment", True), ("statefulsets", "StatefulSet", True)],
    "rbac.authorization.k8s.io/v1": [
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
    ],
    "apiextensions.k8s.io/v1": [
        ("customresourcedefinitions", "CustomResourceDefinition", False)
    ],
    "coordination.k8s.io/v1": [("leases", "Lease", True)],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    "events.k8s.io/v1": [("events", "Event", True)],
    "monitoring.coreos.com/v1": [("servicemonitors", "ServiceMonitor", True)],
    "potok.dev/v1alpha1": [
        ("kafkaclusters", "KafkaCluster", True),
        ("topics", "Topic", True),
        ("ksqlstreams", "KsqlStream", True),
    ],
}


class StandInApiServer(BaseHTTPRequestHandler):
    """Enough of the Kubernetes API for `helm install`: discovery, and objects that are
    stored as sent. CRDs read back as established, so Helm's wait for them ends at once."""

    objects: dict  # path -> object, shared by the server's threads
    lock: threading.Lock

    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def not_found(self, path):
        self.reply(404, {
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "reason": "NotFound", "code": 404, "message": f"{path} not found",
        })

    def body(self):
        """The request's object, or None for the protobuf that typed clients send (Helm's
        release records), which nothing here needs to read."""
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if "json" not in self.headers.get("Content-Type", ""):
            return None
        return json.loads(data or b"{}")

    def discovery(self, path):
        if path == "/version":
            return {"major": "1", "minor": "30", "gitVersion": "v1.30.0", "platform": "linux/amd64"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            groups = []
            for group_version in API_RESOURCES:
                if "/" not in group_version:
                    continue
                group, version = group_version.split("/")
                entry = {"groupVersion": group_version, "version": version}
                groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        group_version = path.removeprefix("/api/").removeprefix("/apis/")
        if path.startswith("/api") and group_version in API_RESOURCES:
            resources = [
                {"name": plural, "singularName": "", "namespaced": namespaced, "kind": kind,
                 "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                for plural, kind, namespaced in API_RESOURCES[group_version]
            ]
            return {"kind": "APIResourceList", "apiVersion": "v1",
                    "groupVersion": group_version, "resources": resources}
        return None

    def do_GET(self):
        url = urlparse(self.path)
        found = self.discovery(url.path)
        if found is not None:
            return self.reply(200, found)
        with self.lock:
            stored = self.objects.get(url.path)
            items = [o for p, o in self.objects.items() if p.rsplit("/", 1)[0] == url.path]
        if stored is not None:
            return self.reply(200, stored)
        if "watch=true" in (url.query or ""):
            return self.not_found(url.path)
        if self.is_collection(url.path):
            return self.reply(200, {"kind": "List", "apiVersion": "v1",
                                    "metadata": {"resourceVersion": "1"}, "items": items})
        self.not_found(url.path)

    def placeholder(self, path):
        """An empty object of the kind at `path`, the answer to a body left unread."""
        kinds = {plural: (group_version, kind)
                 for group_version, resources in API_RESOURCES.items()
                 for plural, kind, _ in resources}
        parts = path.split("/")
        plural = parts[-1] if parts[-1] in kinds else parts[-2]
        group_version, kind = kinds[plural]
        return {"apiVersion": group_version, "kind": kind, "metadata": {}}

    def is_collection(self, path):
        plurals = {plural for group in API_RESOURCES.values() for plural, _, _ in group}
        return path.rsplit("/", 1)[-1] in plurals

    def do_POST(self):
        path = urlparse(self.path).path
        obj = self.body()
        if obj is None:
            return self.reply(201, self.placeholder(path))
        metadata = obj.setdefault("metadata", {})
        metadata.update(uid=str(uuid.uuid4()), resourceVersion="1",
                        creationTimestamp="2025-01-01T00:00:00Z")
        if obj.get("kind") == "CustomResourceDefinition":
            obj["status"] = {"conditions": [
                {"type": "Established", "status": "True"},
                {"type": "NamesAccepted", "status": "True"},
            ], "acceptedNames": obj["spec"]["names"]}
        with self.lock:
            self.objects[f"{path}/{metadata.get('name')}"] = obj
        self.reply(201, obj)

    def do_PUT(self):
        path = urlparse(self.path).path
        obj = self.body()
        if obj is None:
            return self.reply(200, self.placeholder(path))
        with self.lock:
            self.objects[path] = obj
        self.reply(200, obj)

    def do_PATCH(self):
        path = urlparse(self.path).path
        self.body()
        with self.lock:
            stored = self.objects.get(path)
        if stored is None:
            return self.not_found(path)
        self.reply(200, stored)

    def do_DELETE(self):
        path = urlparse(self.path).path
        with self.lock:
            stored = self.objects.pop(path, None)
        if stored is None:
            return self.not_found(path)
        self.reply(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})


@pytest.fixture
def kubeconfig():
    """A kubeconfig for a fresh stand-in API server, so each install starts empty."""
    handler = type("Handler", (StandInApiServer,), {"objects": {}, "lock": threading.Lock()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "stand-in", "cluster": {
            "server": f"http://127.0.0.1:{server.server_address[1]}"}}],
        "users": [{"name": "stand-in", "user": {"token": "unused"}}],
        "contexts": [{"name": "stand-in", "context": {"cluster": "stand-in", "user": "stand-in"}}],
        "current-context": "stand-in",
    })
    server.shutdown()
    server.server_close()


def install(kubeconfig, values=None):
    config = helm.Configuration(namespace=RELEASE_NAMESPACE, kubeconfig=kubeconfig)
    return asyncio.run(
        helm.Install(config).run(RELEASE, str(CHART), values=values, wait=False, timeout=60)
    )


def render(kubeconfig, values=None):
    """The chart's templates as Helm renders them, one dict per document."""
    manifest = install(kubeconfig, values)["manifest"]
    documents = [doc for doc in yaml.safe_load_all(manifest) if doc]
    for doc in documents:
        assert doc.get("apiVersion") and doc.get("kind"), doc
        assert doc.get("metadata", {}).get("name"), doc
    return documents


def find(documents, kind, name=None, namespace=None):
    return [
        d for d in documents
        if d["kind"] == kind
        and (name is None or d["metadata"]["name"] == name)
        and (namespace is None or d["metadata"].get("namespace") == namespace)
    ]


def one(documents, kind, **where):
    found = find(documents, kind, **where)
    assert len(found) == 1, f"expected one {kind} {where}, found {len(found)}"
    return found[0]


def granted(role):
    """(apiGroup, resource) -> verbs, merged over the role's rules."""
    verbs = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                verbs.setdefault((group, resource), set()).update(rule["verbs"])
    return verbs


def operator_args(documents):
    deployment = one(documents, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container, container["args"]


def test_lint_reports_no_warning_or_error():
    config = helm.Configuration(namespace=RELEASE_NAMESPACE)
    result = asyncio.run(helm.Lint(config).run(str(CHART)))
    assert not result.get("Errors"), result
    problems = [m for m in result["Messages"] if m["Severity"] > LINT_INFO]
    assert not problems, f"helm lint: {problems}"


def test_default_values_watch_every_namespace_with_a_cluster_role(kubeconfig):
    documents = render(kubeconfig)

    container, args = operator_args(documents)
    assert args[:2] == ["potok-operator", "run"]
    # Apart from a KafkaCluster named like the release: its objects are `potok-...` and its
    # pods are labelled app.kubernetes.io/name=potok.
    deployment = one(documents, "Deployment")
    assert deployment["metadata"]["name"] == "potok-operator"
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["app.kubernetes.io/name"] == "potok-operator"
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert "--namespace" not in args
    assert "--leader-election=true" in args
    assert args[args.index("--lease-namespace") + 1] == RELEASE_NAMESPACE
    assert args[args.index("--default-image") + 1] == "potok:latest"
    env = {e["name"]: e for e in container["env"]}
    assert env["POTOK_IMAGE"]["value"] == "potok:latest"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True

    account = one(documents, "ServiceAccount")["metadata"]["name"]
    cluster_role = one(documents, "ClusterRole")
    assert granted(cluster_role) == MANAGED_RULES
    binding = one(documents, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == cluster_role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account, "namespace": RELEASE_NAMESPACE}
    ]

    (lease_role,) = find(documents, "Role", namespace=RELEASE_NAMESPACE)
    assert granted(lease_role) == LEASE_RULES
    lease_binding = one(documents, "RoleBinding", namespace=RELEASE_NAMESPACE)
    assert lease_binding["roleRef"]["name"] == lease_role["metadata"]["name"]

    assert one(documents, "Service")["spec"]["ports"][0]["port"] == 8080
    assert not find(documents, "ServiceMonitor")


def test_listed_namespaces_get_roles_instead_of_a_cluster_role(kubeconfig):
    documents = render(kubeconfig, {"watchNamespaces": ["team-a", "team-b"]})

    _, args = operator_args(documents)
    assert " ".join(args).count("--namespace ") == 2
    assert "--namespace team-a --namespace team-b" in " ".join(args)
    assert not find(documents, "ClusterRole")
    assert not find(documents, "ClusterRoleBinding")
    for namespace in ("team-a", "team-b"):
        role = one(documents, "Role", namespace=namespace)
        assert granted(role) == MANAGED_RULES
        binding = one(documents, "RoleBinding", namespace=namespace)
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
            "name": role["metadata"]["name"],
        }
        assert binding["subjects"][0]["namespace"] == RELEASE_NAMESPACE
    assert granted(one(documents, "Role", namespace=RELEASE_NAMESPACE)) == LEASE_RULES


def test_values_switch_parts_on_and_off(kubeconfig):
    documents = render(kubeconfig, {
        "rbac": {"create": False},
        "serviceAccount": {"create": False, "name": "given"},
        "leaderElection": {"enabled": False},
        "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}},
        "image": {"repository": "registry.example/potok", "tag": "0.1.0", "pullPolicy": "Never"},
    })

    rbac_kinds = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    assert not [d for d in documents if d["kind"] in rbac_kinds]
    assert not find(documents, "ServiceAccount")
    container, args = operator_args(documents)
    assert "--leader-election=false" in args
    assert container["image"] == "registry.example/potok:0.1.0"
    assert container["imagePullPolicy"] == "Never"
    deployment = one(documents, "Deployment")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "given"
    monitor = one(documents, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"


def test_schema_refuses_a_misspelt_value(kubeconfig):
    with pytest.raises(helm.InstallError, match="'replicas' not allowed"):
        install(kubeconfig, {"replicas": 2})
    with pytest.raises(helm.InstallError, match="pullPolicy"):
        install(kubeconfig, {"image": {"pullPolicy": "Sometimes"}})


def test_chart_crds_are_the_repository_crds():
    assert (CHART / "crds" / "potok.dev.yaml").read_bytes() == CRDS.read_bytes(), (
        "charts/potok/crds/potok.dev.yaml differs from crds/potok.dev.yaml; copy it again"
    )


def unknown_fields(value, schema, path):
    """Paths in `value` that the OpenAPI `schema` does not declare."""
    if isinstance(value, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        if properties is None and isinstance(extra, dict):
            return [p for k, v in value.items() for p in unknown_fields(v, extra, f"{path}.{k}")]
        if properties is None:
            return [] if schema.get("x-kubernetes-preserve-unknown-fields") else [path]
        return [
            p
            for key, item in value.items()
            for p in (
                unknown_fields(item, properties[key], f"{path}.{key}")
                if key in properties else [f"{path}.{key}"]
            )
        ]
    if isinstance(value, list):
        return [p for i, item in enumerate(value)
                for p in unknown_fields(item, schema.get("items", {}), f"{path}[{i}]")]
    return []


def missing_required(value, schema, path):
    if not isinstance(value, dict) or "properties" not in schema:
        return []
    missing = [f"{path}.{key}" for key in schema.get("required", []) if key not in value]
    return missing + [
        p for key, item in value.items() if key in schema["properties"]
        for p in missing_required(item, schema["properties"][key], f"{path}.{key}")
    ]


def test_example_manifests_fit_the_crds():
    schemas = {}
    for crd in yaml.safe_load_all(CRDS.read_text()):
        (version,) = [v for v in crd["spec"]["versions"] if v.get("storage", True)]
        api_version = f"{crd['spec']['group']}/{version['name']}"
        schemas[(api_version, crd["spec"]["names"]["kind"])] = version["schema"]["openAPIV3Schema"]

    found = {}
    for file in sorted(EXAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(file.read_text()):
            if not doc:
                continue
            key = (doc["apiVersion"], doc["kind"])
            assert key in schemas, f"{file.name}: no CRD for {key}"
            assert "namespace" not in doc["metadata"], f"{file.name} names a namespace"
            schema = schemas[key]["properties"]["spec"]
            assert unknown_fields(doc["spec"], schema, "spec") == [], file.name
            assert missing_required(doc["spec"], schema, "spec") == [], file.name
            found[doc["kind"]] = doc

    assert set(found) == {"KafkaCluster", "Topic", "KsqlStream"}
    cluster = found["KafkaCluster"]["spec"]
    for role in ("coordinators", "brokers"):
        assert cluster[role]["replicas"] == 3
        assert cluster[role]["storage"] == {"type": "persistent-claim", "size": "1Gi"}
    assert found["Topic"]["spec"]["cluster"] == found["KsqlStream"]["spec"]["cluster"] == "potok"
    assert re.match(r"CREATE STREAM payments\b", found["KsqlStream"]["spec"]["sql"])
