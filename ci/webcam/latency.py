#!/usr/bin/env python3
"""Publish-to-application latency of the webcam interposer (docs/webcam.md): runs
`v4l2-ctl --stream-mmap --verbose` under the interposer and, for every dequeued buffer, compares
its timestamp (the host's CLOCK_MONOTONIC when the frame was published) with CLOCK_MONOTONIC
when v4l2-ctl reported it. Prints the median and the 95th percentile in milliseconds.

  SELKIES_WEBCAM_SOCKET=... LD_PRELOAD=libselkies_v4l2_interposer.so latency.py [frames]
"""
import re
import statistics
import subprocess
import sys
import time

frames = int(sys.argv[1]) if len(sys.argv) > 1 else 150
p = subprocess.Popen(
    ["stdbuf", "-oL", "v4l2-ctl", "-d", "/dev/video0", "--stream-mmap", f"--stream-count={frames}", "--verbose"],
    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
)
lat = []
for line in p.stdout:
    now = time.clock_gettime(time.CLOCK_MONOTONIC)
    m = re.search(r"ts: (\d+\.\d+)", line)
    if m:
        lat.append((now - float(m.group(1))) * 1000)
p.wait()
if len(lat) < 10:
    sys.exit(f"latency: only {len(lat)} timestamps (v4l2-ctl exit {p.returncode})")
lat = lat[5:]  # the first frames include start-up
lat.sort()
print(f"latency publish->DQBUF over {len(lat)} frames: median {statistics.median(lat):.2f} ms, "
      f"p95 {lat[int(len(lat) * 0.95) - 1]:.2f} ms, max {lat[-1]:.2f} ms")
