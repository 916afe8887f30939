#!/usr/bin/env python3
"""Writes vectors.json: expected selkies-turn-rest responses computed with CPython's own
hmac/hashlib/base64/json, independently of the Rust code that the unit tests in
src/grant/tests.rs check against them. Regenerate with `python3 turn-rest/testdata/vectors.py`.

The rules written out here are the service's contract (docs/turn-rest.md):
user = `username` param | x-auth-user | x-turn-username | "turn-rest", lower-cased, ':' -> '-';
protocol = `protocol` param | x-turn-protocol | TURN_PROTOCOL, "tcp" (any case) else "udp";
tls = `tls` param | x-turn-tls | TURN_TLS, "true" (any case); username = "<now+86400>:<user>";
credential = base64(HMAC-SHA1(secret, username)); STUN list = stun:<turn>, preceded by
stun:<stun> when that differs (no public STUN server is appended).
"""
import base64
import hashlib
import hmac
import json
import os
from urllib.parse import parse_qsl

HERE = os.path.dirname(os.path.abspath(__file__))


def credential(secret, username):
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def first(pairs, name):
    for k, v in pairs:
        if k == name:
            return v or None
    return None


def header(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v or None
    return None


def expected(env, query, form, headers, now):
    turn_host = env["TURN_HOST"].lower()
    turn_port = int(env.get("TURN_PORT", "443"))
    stun_host = env.get("STUN_HOST", turn_host).lower()
    stun_port = int(env.get("STUN_PORT", str(turn_port)))
    params = parse_qsl(query, keep_blank_values=True) + parse_qsl(form or "", keep_blank_values=True)
    user = first(params, "username") or header(headers, "x-auth-user") or header(headers, "x-turn-username") or "turn-rest"
    user = user.lower().replace(":", "-")
    protocol = first(params, "protocol") or header(headers, "x-turn-protocol") or env.get("TURN_PROTOCOL", "udp")
    protocol = "tcp" if protocol.lower() == "tcp" else "udp"
    tls = (first(params, "tls") or header(headers, "x-turn-tls") or env.get("TURN_TLS", "false")).lower() == "true"
    username = "{}:{}".format(now + 86400, user)
    stun = ["stun:{}:{}".format(turn_host, turn_port)]
    if (stun_host, stun_port) != (turn_host, turn_port):
        stun.insert(0, "stun:{}:{}".format(stun_host, stun_port))
    doc = {
        "lifetimeDuration": "86400s",
        "blockStatus": "NOT_BLOCKED",
        "iceTransportPolicy": "all",
        "iceServers": [
            {"urls": stun},
            {
                "urls": ["{}:{}:{}?transport={}".format("turns" if tls else "turn", turn_host, turn_port, protocol)],
                "username": username,
                "credential": credential(env["TURN_SHARED_SECRET"], username),
            },
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


BASE = {"TURN_SHARED_SECRET": "n0TaRealSecret", "TURN_HOST": "TURN.Example.org", "TURN_PORT": "3478"}
CASES = [
    ("defaults: no inputs", BASE, "", None, [], 1700000000),
    ("username parameter wins over headers", BASE, "username=Alice&service=TURN", None,
     [["x-auth-user", "bob"], ["x-turn-username", "carol"]], 1700000000),
    ("x-auth-user header, colon replaced", BASE, "", None, [["X-Auth-User", "Dom:Ain:User"]], 1712345678),
    ("x-turn-username when x-auth-user is empty", BASE, "username=", None,
     [["x-auth-user", ""], ["x-turn-username", "eve"]], 1712345678),
    ("headers for protocol and tls", BASE, "", None,
     [["x-auth-user", "selkies-host"], ["x-turn-protocol", "TCP"], ["x-turn-tls", "True"]], 1700000000),
    ("parameters win over protocol/tls headers", BASE, "protocol=udp&tls=false", None,
     [["x-turn-protocol", "tcp"], ["x-turn-tls", "true"]], 1700000000),
    ("unknown protocol is udp", BASE, "protocol=sctp&tls=yes", None, [], 1700000000),
    ("form body (POST)", BASE, "", "username=Frank&protocol=tcp&tls=TRUE", [], 1800000000),
    ("query string before form body", BASE, "username=query-user", "username=form-user", [], 1800000000),
    ("env defaults: TCP and TLS, separate STUN", dict(BASE, STUN_HOST="Stun.Example.org", STUN_PORT="19302",
                                                       TURN_PROTOCOL="tcp", TURN_TLS="TRUE"),
     "", None, [], 1700000000),
    ("STUN on the TURN host, another port", dict(BASE, STUN_PORT="3479"), "", None, [], 1700000000),
    ("default TURN port 443, long secret (hashed key)", {"TURN_SHARED_SECRET": "k" * 100, "TURN_HOST": "10.0.0.5"},
     "", None, [["x-auth-user", "user@example.org"]], 1700000000),
    ("percent-encoded and plus in the query", BASE, "username=J%C3%B6rg+M", None, [], 1700000000),
    ("bracketed IPv6 host", dict(BASE, TURN_HOST="[2001:DB8::1]"), "", None, [], 1700000000),
]


def main():
    # The reference vector from docs/turn-rest.md: must hold before anything else is written.
    assert credential("openrelayprojectsecret", "1700000000:selkies-host") == "1sBmKfB9wsS7s2WrqgwL3wzHyA0="
    out = {
        "hmac": [
            {"secret": "openrelayprojectsecret", "username": "1700000000:selkies-host",
             "credential": credential("openrelayprojectsecret", "1700000000:selkies-host")},
            {"secret": "k" * 100, "username": "msg", "credential": credential("k" * 100, "msg")},
            {"secret": "s3cret", "username": "1700086400:alice", "credential": credential("s3cret", "1700086400:alice")},
        ],
        "responses": [
            {"name": name, "env": env, "query": query, "form": form, "headers": headers, "now": now,
             "body": expected(env, query, form, headers, now)}
            for (name, env, query, form, headers, now) in CASES
        ],
    }
    with open(os.path.join(HERE, "vectors.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
