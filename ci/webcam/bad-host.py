#!/usr/bin/env python3
"""A hostile webcam host for ci/checks/55-webcam.sh: announces a valid 640x480 I420 format, then
answers the application's credits with bad data, to check that the interposer turns it into an
error for the application (never a crash).

  bad-host.py SOCKET garbage    a 40-byte record with a bad magic, connection kept open
  bad-host.py SOCKET truncated  a frame header, half the payload, then the connection closes
  bad-host.py SOCKET oversized  a header claiming 8192x8192
"""
import os
import socket
import struct
import sys
import threading
import time

path, mode = sys.argv[1], sys.argv[2]
W, H = 640, 480
SIZE = W * H * 3 // 2


def header(w, h, payload_len, seq=0):
    return b"SWF1" + b"YU12" + struct.pack("<IIQQII", w, h, seq, int(time.monotonic() * 1e6), payload_len, 0)


try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(8)
print("listening", flush=True)


def serve(conn):
    try:
        conn.sendall(header(W, H, 0))
        conn.settimeout(10)
        if not conn.recv(8):
            return
        if mode == "garbage":
            conn.sendall(b"\xde\xad\xbe\xef" * 10)
            time.sleep(5)
        elif mode == "truncated":
            conn.sendall(header(W, H, SIZE) + b"\x80" * (SIZE // 2))
        elif mode == "oversized":
            conn.sendall(b"SWF1YU12" + struct.pack("<IIQQII", 8192, 8192, 0, 0, 8192 * 8192 * 3 // 2, 0))
            time.sleep(5)
    except OSError:
        pass
    finally:
        conn.close()


while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
