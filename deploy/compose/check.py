"""Checks of the local stack that need no container engine, one line each:

    python3 deploy/compose/check.py --metrics-url http://127.0.0.1:9091/metrics

compose    the files each service mounts or builds from exist; the gateway's OTLP endpoint
           and the Prometheus target name services and ports of this compose file; the
           gateway's SQLite ledger is on a named volume mounted at its folder, and no
           postgres:// URL (a password) is written in the file
collector  otel-collector.yaml is YAML whose pipelines use only components it defines,
           with a traces pipeline fed by the otlp receiver on 4317
grafana    the dashboard's panels use the provisioned datasource uid
metrics    every metric name in the dashboard's PromQL is one the running gateway's
           /metrics exposes (so a renamed metric fails CI, not a dashboard at 3 a.m.)

The compose-spec schema (check-jsonschema) and `promtool check config` run beside it in
.ci/run. Needs PyYAML. Exits 1 if any check fails.
"""

import argparse
import json
import pathlib
import posixpath
import re
import sys
import urllib.request

import yaml

HERE = pathlib.Path(__file__).resolve().parent
failed = False


def report(ok, what):
    global failed
    failed |= not ok
    print(f"{'ok  ' if ok else 'FAIL'} {what}")


def check_compose(compose):
    services = compose["services"]
    missing = []
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                if not (HERE / source).exists():
                    missing.append(f"{name}: {source}")
        build = service.get("build")
        if build:
            context = HERE / build["context"]
            if not (context / build.get("dockerfile", "Dockerfile")).is_file():
                missing.append(f"{name}: build {build}")
    report(not missing, f"compose: mounted and built-from files exist{'' if not missing else ' — missing ' + ', '.join(missing)}")
    endpoint = services["gateway"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    report(endpoint == "http://otel-collector:4317" and "otel-collector" in services,
           f"compose: gateway traces go to the collector service ({endpoint})")
    report(set(services) >= {"gateway", "redis", "otel-collector", "prometheus", "grafana"},
           f"compose: services {sorted(services)}")
    check_ledger(compose)


def check_ledger(compose):
    gateway = compose["services"]["gateway"]
    url = str(gateway.get("environment", {}).get("GATEWAY_DATABASE_URL", ""))
    # ${GATEWAY_DATABASE_URL:-default}: the default runs unless a fleet's URL is exported.
    match = re.fullmatch(r"\$\{GATEWAY_DATABASE_URL:-(.*)\}", url)
    default = match.group(1) if match else url
    folder = posixpath.dirname(default[len("sqlite://"):]) if default.startswith("sqlite:///") else None
    mounts = {v.split(":")[1]: v.split(":")[0] for v in gateway.get("volumes", []) if isinstance(v, str)}
    source = mounts.get(folder)
    report(folder is not None and source in (compose.get("volumes") or {}) and not re.search(r"postgres(ql)?://", url),
           f"compose: the gateway's ledger ({default}) is on the named volume {source!r} at {folder}")


def check_collector(config):
    pipelines = config.get("service", {}).get("pipelines", {})
    problems = []
    for pipeline, parts in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in parts.get(kind, []):
                if component not in (config.get(kind) or {}):
                    problems.append(f"{pipeline} uses undefined {kind[:-1]} {component}")
    traces = pipelines.get("traces", {})
    grpc_endpoint = config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    if "otlp" not in traces.get("receivers", []) or not traces.get("exporters"):
        problems.append("no traces pipeline from otlp to an exporter")
    if not grpc_endpoint.endswith(":4317"):
        problems.append(f"otlp grpc listens on {grpc_endpoint}, not 4317")
    report(not problems, f"collector: pipelines {sorted(pipelines)}{'' if not problems else ' — ' + '; '.join(problems)}")


def check_prometheus(config):
    targets = [t for job in config["scrape_configs"] for sc in job.get("static_configs", []) for t in sc["targets"]]
    # The gateway's admin listener (GATEWAY_ADMIN_LISTEN, 9090), never the callback port.
    report("gateway:9090" in targets and "gateway:8080" not in targets, f"prometheus: scrapes {targets}")


# PromQL words that are not metric names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless", "inf", "nan"}


def metric_names(expr):
    """Metric names in a PromQL expression: identifiers outside label matchers, ranges,
    grouping clauses and strings that are not function calls or keywords."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        word, rest = match.group(0), expr[match.end():].lstrip()
        if rest.startswith("(") or word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def check_dashboard(dashboard, exposed):
    panels = dashboard["panels"]
    uids = {p["datasource"]["uid"] for p in panels} | {t["datasource"]["uid"] for p in panels for t in p["targets"]}
    datasources = yaml.safe_load((HERE / "grafana/provisioning/datasources/prometheus.yaml").read_text())["datasources"]
    report(uids <= {d["uid"] for d in datasources}, f"grafana: panels use datasource uids {sorted(uids)}")
    used = set()
    for panel in panels:
        for target in panel["targets"]:
            used |= metric_names(target["expr"])
    unknown = sorted(used - exposed)
    report(bool(used) and not unknown,
           f"metrics: the dashboard queries {len(used)} metric names, all exposed" if not unknown
           else f"metrics: not exposed by the gateway: {', '.join(unknown)}")


def exposed_metrics(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics-url", required=True, help="the running gateway's /metrics")
    args = parser.parse_args()
    check_compose(yaml.safe_load((HERE / "compose.yaml").read_text()))
    check_collector(yaml.safe_load((HERE / "otel-collector.yaml").read_text()))
    check_prometheus(yaml.safe_load((HERE / "prometheus.yml").read_text()))
    check_dashboard(json.loads((HERE / "grafana/dashboards/qencode-gateway.json").read_text()), exposed_metrics(args.metrics_url))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
