#!/usr/bin/env python3
"""Applies a Containerfile to a Debian root directory, for machines where no container engine
runs (ci/test-example-root: crun refuses this machine's cgroup layout). The check reads the real
deploy/containers/*/Containerfile, so what it proves is what `podman build` would build.

    containerfile.py plan FILE [--build-arg K=V]...
        JSON: the base (Debian suite), the steps, and `prefix`: how many leading steps read
        nothing from the build context, with a key naming them (the part worth caching).
    containerfile.py apply FILE ROOT CONTEXT [--first N] [--last M] [--build-arg K=V]...
        Runs steps N..M-1 (default: all) into ROOT (a debootstrap root of the base suite) and writes the image
        config (env, user, workdir, entrypoint, cmd, ports, healthcheck) to ROOT/.image.json.
        RUN executes as `chroot ROOT /bin/sh -c` in a private mount namespace with /dev and
        /proc, on the caller's network, with the ARG and ENV values in its environment.

Supported: ARG, FROM (debian:<suite>[-slim] only), ENV, RUN, COPY, ADD (local files; a local
tar archive is extracted), USER, WORKDIR, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD, LABEL. Anything
else is an error, so a Containerfile change that this tool cannot honour fails the check.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CONTEXT_OPS = {"COPY", "ADD"}


class ContainerfileError(Exception):
    pass


@dataclass
class Step:
    op: str
    raw: str  # the instruction's text after the keyword, continuations joined


def logical_lines(text: str) -> list[Step]:
    """Joins backslash continuations (comment lines inside them are dropped, as BuildKit does)
    and splits each instruction into keyword and rest."""
    steps: list[Step] = []
    buf = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not buf):
            continue
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        buf += line
        parts = buf.strip().split(None, 1)
        if parts:
            steps.append(Step(parts[0].upper(), parts[1].strip() if len(parts) > 1 else ""))
        buf = ""
    if buf.strip():
        raise ContainerfileError(f"dangling continuation: {buf.strip()[:60]}")
    return steps


_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def substitute(text: str, env: dict[str, str]) -> str:
    """$VAR, ${VAR} and ${VAR:-default} from the build's ARG/ENV values."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3)
        if name in env and env[name] != "":
            return env[name]
        return m.group(2) or ""

    return _VAR.sub(one, text)


def parse_env(raw: str) -> list[tuple[str, str]]:
    """`ENV K=V K2="v 2"` or the old `ENV K value with spaces`."""
    words = shlex.split(raw)
    if words and "=" not in words[0]:
        return [(words[0], raw.split(None, 1)[1] if len(words) > 1 else "")]
    pairs = []
    for w in words:
        if "=" not in w:
            raise ContainerfileError(f"ENV word without '=': {w}")
        k, v = w.split("=", 1)
        pairs.append((k, v))
    return pairs


def exec_form(raw: str) -> list[str]:
    """JSON array form, or shell form wrapped in /bin/sh -c."""
    if raw.startswith("["):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ContainerfileError(f"bad JSON array {raw!r}: {e}") from e
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ContainerfileError(f"not a list of strings: {raw!r}")
        return value
    return ["/bin/sh", "-c", raw]


def debian_suite(image: str) -> str:
    m = re.fullmatch(r"(?:docker\.io/)?(?:library/)?debian:([a-z]+)(?:-slim)?", image)
    if not m:
        raise ContainerfileError(f"only debian:<suite>[-slim] bases can be made with debootstrap, not {image}")
    return m.group(1)


@dataclass
class Plan:
    suite: str = ""
    steps: list[dict] = field(default_factory=list)
    prefix: int = 0
    prefix_key: str = ""


def plan(text: str, build_args: dict[str, str]) -> Plan:
    """Resolves ARG/ENV substitution into a list of executable steps."""
    args: dict[str, str] = {}
    env: dict[str, str] = {}
    p = Plan()
    for st in logical_lines(text):
        scope = {**args, **env}
        if st.op == "ARG":
            name, _, default = st.raw.partition("=")
            args[name] = build_args.get(name, default)
        elif st.op == "FROM":
            if p.suite:
                raise ContainerfileError("multi-stage builds are not supported")
            p.suite = debian_suite(substitute(st.raw.split()[0], args))
            # Only ARGs re-declared after FROM are visible to the stage.
            args = {}
        elif not p.suite:
            raise ContainerfileError(f"{st.op} before FROM")
        elif st.op == "ENV":
            for k, v in parse_env(st.raw):
                env[k] = substitute(v, scope)
                scope[k] = env[k]
            p.steps.append({"op": "ENV", "env": dict(env)})
        elif st.op == "RUN":
            p.steps.append({"op": "RUN", "argv": exec_form(st.raw), "args": dict(args), "text": st.raw})
        elif st.op in CONTEXT_OPS:
            words = shlex.split(substitute(st.raw, scope))
            if any(w.startswith("--") for w in words) or len(words) < 2:
                raise ContainerfileError(f"{st.op} {st.raw}: flags and single paths are not supported")
            p.steps.append({"op": st.op, "src": words[:-1], "dest": words[-1]})
        elif st.op in ("USER", "WORKDIR"):
            p.steps.append({"op": st.op, "value": substitute(st.raw, scope)})
        elif st.op == "EXPOSE":
            p.steps.append({"op": "EXPOSE", "ports": substitute(st.raw, scope).split()})
        elif st.op == "HEALTHCHECK":
            m = re.search(r"\bCMD\s+(.*)$", st.raw)
            if not m:
                raise ContainerfileError(f"HEALTHCHECK without CMD: {st.raw}")
            p.steps.append({"op": "HEALTHCHECK", "argv": exec_form(m.group(1).strip())})
        elif st.op in ("ENTRYPOINT", "CMD"):
            p.steps.append({"op": st.op, "argv": exec_form(st.raw)})
        elif st.op == "LABEL":
            continue
        else:
            raise ContainerfileError(f"unsupported instruction {st.op}")
    if not p.suite:
        raise ContainerfileError("no FROM")
    # The prefix that reads nothing from the build context: its result depends on the file's
    # text alone, so a root with those steps applied can be cached and reused.
    for s in p.steps:
        if s["op"] in CONTEXT_OPS:
            break
        p.prefix += 1
    digest = hashlib.sha256(p.suite.encode())
    for s in p.steps[: p.prefix]:
        digest.update(json.dumps(s, sort_keys=True).encode())
    p.prefix_key = digest.hexdigest()[:16]
    return p


def image_config(steps: list[dict]) -> dict:
    """What `podman run` would take from the image: the last ENV, USER, WORKDIR and so on."""
    cfg: dict = {"env": {}, "user": "0:0", "workdir": "/", "entrypoint": [], "cmd": [], "ports": [], "healthcheck": []}
    for s in steps:
        op = s["op"]
        if op == "ENV":
            cfg["env"] = s["env"]
        elif op == "USER":
            cfg["user"] = s["value"]
        elif op == "WORKDIR":
            cfg["workdir"] = s["value"]
        elif op == "EXPOSE":
            cfg["ports"] += s["ports"]
        elif op == "HEALTHCHECK":
            cfg["healthcheck"] = s["argv"]
        elif op == "ENTRYPOINT":
            cfg["entrypoint"], cfg["cmd"] = s["argv"], []  # ENTRYPOINT resets an inherited CMD
        elif op == "CMD":
            cfg["cmd"] = s["argv"]
    return cfg


def _inside(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _run(root: str, step: dict, env: dict[str, str], user: str, workdir: str) -> None:
    full = {"PATH": DEFAULT_PATH, "HOME": "/root", **step["args"], **env}
    # The same mounts a build container has: /dev, /proc, the host's resolver.
    setup = 'mount --make-rprivate / && mount --rbind /dev "$0/dev" && mount -t proc proc "$0/proc" && exec "$@"'
    chroot = ["chroot", f"--userspec={user}", root, "/usr/bin/env", "-C", workdir, "-i"]
    chroot += [f"{k}={v}" for k, v in full.items()] + step["argv"]
    print(f"containerfile: RUN {step['text'][:100]}", file=sys.stderr, flush=True)
    subprocess.run(["unshare", "--mount", "--fork", "--", "sh", "-c", setup, root, *chroot], check=True)


def _copy(root: str, context: str, step: dict) -> None:
    dest = step["dest"]
    to_dir = dest.endswith("/") or len(step["src"]) > 1
    for src in step["src"]:
        path = os.path.realpath(os.path.join(context, src))
        if not path.startswith(os.path.realpath(context) + os.sep) or not os.path.exists(path):
            raise ContainerfileError(f"{step['op']} {src}: not a file in the build context")
        target = _inside(root, dest)
        if step["op"] == "ADD" and tarfile.is_tarfile(path):
            os.makedirs(target, exist_ok=True)
            # The archive is our own tarball; tar keeps its modes and links as ADD does.
            subprocess.run(["tar", "-xf", path, "-C", target, "--no-same-owner"], check=True)
            continue
        if to_dir:
            os.makedirs(target, exist_ok=True)
            target = os.path.join(target, os.path.basename(path))
        if os.path.isdir(path):
            shutil.copytree(path, target, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(path, target)
        print(f"containerfile: {step['op']} {src} -> {dest}", file=sys.stderr)


def apply(p: Plan, root: str, context: str, first: int, last: int) -> dict:
    env: dict[str, str] = {}
    user, workdir = "0:0", "/"
    resolv = "/etc/resolv.conf"
    for i, s in enumerate(p.steps):
        op = s["op"]
        if op == "ENV":
            env = s["env"]
        elif op == "USER":
            user = s["value"]
        elif op == "WORKDIR":
            workdir = s["value"]
            if first <= i < last:
                os.makedirs(_inside(root, workdir), exist_ok=True)
        elif i < first or i >= last:
            continue
        elif op == "RUN":
            # A build container resolves names with the host's resolver; so does the root.
            if os.path.exists(resolv):
                shutil.copyfile(resolv, _inside(root, resolv))
            _run(root, s, env, user, workdir)
        elif op in CONTEXT_OPS:
            _copy(root, context, s)
    cfg = image_config(p.steps)
    with open(_inside(root, ".image.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=1)
    return cfg


def main(argv: list[str]) -> int:
    build_args: dict[str, str] = {}
    rest: list[str] = []
    first, last = 0, 1 << 30
    it = iter(argv)
    for a in it:
        if a == "--build-arg":
            k, _, v = next(it, "").partition("=")
            build_args[k] = v
        elif a == "--first":
            first = int(next(it, "0"))
        elif a == "--last":
            last = int(next(it, "0"))
        else:
            rest.append(a)
    if len(rest) < 2 or rest[0] not in ("plan", "apply") or (rest[0] == "apply" and len(rest) != 4):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(rest[1], encoding="utf-8") as f:
            p = plan(f.read(), build_args)
        if rest[0] == "plan":
            json.dump({"suite": p.suite, "prefix": p.prefix, "prefix_key": p.prefix_key, "steps": p.steps}, sys.stdout, indent=1)
            print()
        else:
            apply(p, rest[2], rest[3], first, last)
    except (ContainerfileError, OSError, subprocess.CalledProcessError) as e:
        print(f"containerfile: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
