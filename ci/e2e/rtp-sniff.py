#!/usr/bin/env python3
"""RTP timing on the wire, for ci/bench-side-by-side (BENCH_RTP=1): sniffs the loopback interface
of the benchmark's network namespace for SECONDS (AF_PACKET, root; SRTP leaves the RTP header in
the clear) and prints one JSON object about the video stream (the SSRC with the largest packet:
Opus packets stay under ~500 bytes, while on a static desktop audio has more bytes than video):

- frames: frames seen (packets grouped by RTP timestamp), packets and bytes per frame (median);
- spread_ms: first → last packet of a frame on the wire (median, p90, max): burstiness;
- interval_ms: between the last packets of consecutive frames (median, p90): regularity;
- lateness_ms: each frame's last packet arrival minus its RTP timestamp (90 kHz), less the smallest
  such value over the window (median, p90, max): how much the host's capture → wire time varies
  from frame to frame (the RTP timestamp is the capture time on both hosts), which feeds
  Chromium's jitter estimate.
Prints {"error": ...} when no RTP was seen. Standard library only."""
import json
import socket
import struct
import sys
import time


def pct(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] if s else None


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
    sock.bind(("lo", 0))
    sock.settimeout(0.2)
    end = time.monotonic() + seconds
    streams = {}
    while time.monotonic() < end:
        try:
            data, addr = sock.recvfrom(65535)
        except socket.timeout:
            continue
        now = time.monotonic() * 1000.0
        if addr[2] == socket.PACKET_OUTGOING:  # loopback shows each packet twice
            continue
        if len(data) < 14 + 20 + 8 + 12 or struct.unpack("!H", data[12:14])[0] != 0x0800:
            continue
        ip = data[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17:  # UDP
            continue
        rtp = ip[ihl + 8:]
        if len(rtp) < 12 or rtp[0] >> 6 != 2:
            continue
        pt = rtp[1] & 0x7F
        if not 96 <= pt <= 127:  # dynamic payload types only (not RTCP, STUN, DTLS)
            continue
        ts, ssrc = struct.unpack("!II", rtp[4:12])
        s = streams.setdefault(ssrc, {"largest": 0, "frames": {}})
        s["largest"] = max(s["largest"], len(rtp))
        f = s["frames"].setdefault(ts, [now, now, 0, 0])
        f[1] = now
        f[2] += 1
        f[3] += len(rtp)
    if not streams:
        print(json.dumps({"error": "no RTP seen"}))
        return
    video = max(streams.values(), key=lambda s: s["largest"])
    frames = sorted(video["frames"].items(), key=lambda kv: kv[1][0])
    # RTP timestamps wrap at 2^32: unwrap relative to the first frame.
    ts0 = frames[0][0]
    rel = [(((ts - ts0 + 2**31) % 2**32) - 2**31) / 90.0 for ts, _ in frames]
    late = [f[1] - r for (_, f), r in zip(frames, rel)]
    base = min(late)
    late = [v - base for v in late]
    spread = [f[1] - f[0] for _, f in frames]
    ends = [f[1] for _, f in frames]
    interval = [b - a for a, b in zip(ends, ends[1:])]
    r = lambda xs: {"p50": round(pct(xs, 50), 2), "p90": round(pct(xs, 90), 2), "max": round(max(xs), 2)} if xs else None
    print(json.dumps({
        "frames": len(frames),
        "packets_per_frame": pct([f[2] for _, f in frames], 50),
        "bytes_per_frame": pct([f[3] for _, f in frames], 50),
        "spread_ms": r(spread),
        "interval_ms": r(interval),
        "lateness_ms": r(late),
    }))


if __name__ == "__main__":
    main()
