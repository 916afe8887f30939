#!/usr/bin/env python3
"""Checks the rules of docs/deploy.md on rendered Kubernetes manifests (kubectl kustomize
output) that a schema cannot express. Usage: check_manifests.py OVERLAY RENDERED.yaml

- no Secret is rendered (secrets are created by the operator, never shipped with a value);
- every desktop StatefulSet selects its own user's pods only (selkies.io/user in the selector,
  distinct per desktop), runs as non-root, reads its password from a Secret named after its
  user, has startup/readiness/liveness probes and CPU/memory requests and limits;
- every desktop Service selects the same user as its StatefulSet; every Ingress routes to an
  existing Service, with a distinct host;
- coturn runs on the host network; TURN-REST and coturn read the shared secret from the one
  Secret selkies-turn; the NetworkPolicies exist;
- the gpu overlay asks for one nvidia.com/gpu per desktop, the others for none;
- Pod Security: the desktops' namespace enforces "restricted" and every workload in a
  restricted namespace meets it (non-root, RuntimeDefault seccomp, no privilege escalation, all
  capabilities dropped, no host namespaces, only the allowed volume types); coturn, which needs
  the host network, is alone in a namespace that allows it.
"""

import sys

import yaml


def fail(msg: str) -> None:
    print(f"check_manifests: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind]


def secret_refs(container: dict) -> dict[str, str]:
    out = {}
    for e in container.get("env", []):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            out[e["name"]] = ref["name"]
    return out


RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret"}


def check_restricted(w: dict) -> None:
    """The parts of Pod Security "restricted" that these manifests can get wrong."""
    name = f"{w['kind']} {w['metadata']['name']}"
    pod = w["spec"]["template"]["spec"]
    psc = pod.get("securityContext", {})
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(host):
            fail(f"{name}: {host} in a restricted namespace")
    for v in pod.get("volumes", []):
        kinds = set(v) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            fail(f"{name}: volume {v['name']} of type {kinds} is not allowed by restricted")
    for c in pod.get("initContainers", []) + pod["containers"]:
        csc = c.get("securityContext", {})
        if not (csc.get("runAsNonRoot", psc.get("runAsNonRoot"))):
            fail(f"{name}/{c['name']}: runAsNonRoot not set")
        seccomp = csc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            fail(f"{name}/{c['name']}: seccompProfile {seccomp}")
        if csc.get("allowPrivilegeEscalation") is not False:
            fail(f"{name}/{c['name']}: allowPrivilegeEscalation is not false")
        if "ALL" not in csc.get("capabilities", {}).get("drop", []):
            fail(f"{name}/{c['name']}: capabilities not dropped")


def check_pod_security(docs: list[dict], desktops: list[dict]) -> None:
    enforce = {d["metadata"]["name"]: d["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce")
               for d in by_kind(docs, "Namespace")}
    for s in desktops:
        ns = s["metadata"].get("namespace")
        if enforce.get(ns) != "restricted":
            fail(f"{s['metadata']['name']}: namespace {ns} does not enforce restricted ({enforce.get(ns)})")
    for w in by_kind(docs, "StatefulSet") + by_kind(docs, "Deployment") + by_kind(docs, "DaemonSet"):
        ns = w["metadata"].get("namespace")
        if ns not in enforce:
            fail(f"{w['kind']} {w['metadata']['name']}: namespace {ns} is not rendered")
        if enforce[ns] == "restricted":
            check_restricted(w)
        elif w["metadata"]["name"] != "coturn":
            fail(f"{w['kind']} {w['metadata']['name']}: only coturn may run outside restricted")
    for ns, level in enforce.items():
        others = [w for w in by_kind(docs, "DaemonSet") + by_kind(docs, "Deployment") + by_kind(docs, "StatefulSet")
                  if w["metadata"].get("namespace") == ns and w["metadata"]["name"] != "coturn"]
        if level != "restricted" and others:
            fail(f"namespace {ns} ({level}) holds more than coturn")


def check(overlay: str, docs: list[dict]) -> list[str]:
    notes = []
    if by_kind(docs, "Secret"):
        fail("a Secret is rendered; secrets must be created by the operator")
    desktops = [s for s in by_kind(docs, "StatefulSet")
                if s["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "desktop"]
    if not desktops:
        fail("no desktop StatefulSet")
    users = set()
    for s in desktops:
        name = s["metadata"]["name"]
        sel = s["spec"]["selector"]["matchLabels"]
        user = sel.get("selkies.io/user")
        if not user:
            fail(f"{name}: selector lacks selkies.io/user, so Services would mix desktops")
        if user in users:
            fail(f"{name}: user {user} has two desktops")
        users.add(user)
        pod = s["spec"]["template"]["spec"]
        if not pod.get("securityContext", {}).get("runAsNonRoot"):
            fail(f"{name}: not runAsNonRoot")
        c = pod["containers"][0]
        refs = secret_refs(c)
        if refs.get("SELKIES_BASIC_AUTH_PASSWORD") != f"{user}-desktop-auth":
            fail(f"{name}: password from {refs.get('SELKIES_BASIC_AUTH_PASSWORD')}, want {user}-desktop-auth")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if probe not in c:
                fail(f"{name}: no {probe}")
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            for k in ("cpu", "memory"):
                if k not in res.get(part, {}):
                    fail(f"{name}: no {part}.{k}")
        gpus = res.get("limits", {}).get("nvidia.com/gpu")
        if (overlay == "gpu") != (gpus == 1):
            fail(f"{name}: nvidia.com/gpu limit {gpus} in overlay {overlay}")
    services = {s["metadata"]["name"]: s for s in by_kind(docs, "Service")}
    for s in desktops:
        svc = services.get(s["spec"]["serviceName"])
        if not svc:
            fail(f"{s['metadata']['name']}: serviceName {s['spec']['serviceName']} is not rendered")
        if svc["spec"]["selector"] != s["spec"]["selector"]["matchLabels"]:
            fail(f"Service {svc['metadata']['name']} selects {svc['spec']['selector']}, not its desktop")
    hosts = set()
    for ing in by_kind(docs, "Ingress"):
        for rule in ing["spec"]["rules"]:
            if rule["host"] in hosts:
                fail(f"host {rule['host']} routed twice")
            hosts.add(rule["host"])
            for p in rule["http"]["paths"]:
                target = p["backend"]["service"]["name"]
                if target not in services:
                    fail(f"Ingress {ing['metadata']['name']} routes to missing Service {target}")
    daemons = {d["metadata"]["name"]: d for d in by_kind(docs, "DaemonSet")}
    if not daemons.get("coturn", {}).get("spec", {}).get("template", {}).get("spec", {}).get("hostNetwork"):
        fail("coturn is not a DaemonSet on the host network")
    deployments = {d["metadata"]["name"]: d for d in by_kind(docs, "Deployment")}
    if "turn-rest" not in deployments:
        fail("no turn-rest Deployment")
    for w in (daemons["coturn"], deployments["turn-rest"]):
        refs = secret_refs(w["spec"]["template"]["spec"]["containers"][0])
        if refs.get("TURN_SHARED_SECRET") != "selkies-turn":
            fail(f"{w['metadata']['name']}: TURN_SHARED_SECRET not from Secret selkies-turn")
    policies = {p["metadata"]["name"] for p in by_kind(docs, "NetworkPolicy")}
    for p in ("desktop-ingress", "desktop-egress", "turn-rest-ingress"):
        if p not in policies:
            fail(f"NetworkPolicy {p} missing")
    check_pod_security(docs, desktops)
    notes.append(f"{len(desktops)} desktops ({', '.join(sorted(users))}), {len(docs)} objects")
    return notes


def main() -> None:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    overlay, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for note in check(overlay, docs):
        print(f"check_manifests: {overlay}: {note}")


if __name__ == "__main__":
    main()
