#!/usr/bin/env python3
"""A V4L2 application for ci/webcam/browser-latency.mjs: opens /dev/video0 (under the webcam
interposer: LD_PRELOAD and SELKIES_WEBCAM_SOCKET set by the caller) with read() I/O at the
device's default YUYV size, classifies each frame by the luma at its centre (placeholder black,
dark, bright) and prints `<wall-clock ms> <class>` whenever the class changes, flushed at once.
Runs until stdin closes or it is killed.
"""
import os
import sys
import time

fd = os.open("/dev/video0", os.O_RDWR)
print(f"{time.time() * 1000:.1f} open", flush=True)
last = None
frames, beat = 0, time.time()
while True:
    frame = os.read(fd, 16 << 20)
    now = time.time() * 1000
    if not frame:
        sys.exit("reader: end of stream")
    # YUYV: luma at even bytes; average a small block in the middle of the picture.
    mid = len(frame) // 2 & ~3
    ys = frame[mid - 64:mid + 64:2]
    y = sum(ys) / len(ys)
    kind = "placeholder" if y < 40 else "dark" if y < 150 else "bright"
    frames += 1
    if os.environ.get("READER_VERBOSE") and time.time() - beat > 1:
        print(f"{now:.1f} beat {frames} {y:.0f}", flush=True)
        beat = time.time()
    if kind != last:
        print(f"{now:.1f} {kind} {y:.0f}", flush=True)
        last = kind
