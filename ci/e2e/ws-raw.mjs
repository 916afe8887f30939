// A WebSocket client on a plain TCP socket, for the WebSocket-transport checks a browser cannot
// make: sending hostile binary frames, and stopping to read (socket.pause) so the host's send
// queue backs up. Parses the server's frames (unmasked), masks its own (RFC 6455).
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

export const OP = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

export class RawWs {
  /** Opens `path` on host:port with the upgrade headers (plus `headers`); resolves once upgraded. */
  static open(host, port, path, headers = {}) {
    return new Promise((resolve, reject) => {
      const sock = connect(port, host);
      const key = randomBytes(16).toString('base64');
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      sock.once('error', reject);
      sock.once('connect', () =>
        sock.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`),
      );
      let head = Buffer.alloc(0);
      const onData = (d) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        sock.off('data', onData);
        const status = head.subarray(0, end).toString().split('\r\n')[0];
        if (!/ 101 /.test(status)) {
          sock.destroy();
          reject(new Error(`upgrade refused: ${status}`));
          return;
        }
        const ws = new RawWs(sock);
        ws.feed(head.subarray(end + 4));
        sock.on('data', (x) => ws.feed(x));
        resolve(ws);
      };
      sock.on('data', onData);
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.frames = [];
    this.bytes = 0;
    this.close = null;
    this.ended = new Promise((r) => sock.once('close', r));
    this.listeners = [];
  }

  feed(d) {
    this.bytes += d.length;
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const op = b[0] & 0x0f;
      let len = b[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + len) return;
      const payload = b.subarray(at, at + len);
      this.buf = b.subarray(at + len);
      if (op === OP.ping) this.send(OP.pong, payload);
      if (op === OP.close) this.close = { code: payload.length >= 2 ? payload.readUInt16BE(0) : 0, reason: payload.subarray(2).toString() };
      const f = { op, payload: Buffer.from(payload), at: Date.now() };
      this.frames.push(f);
      if (this.frames.length > 2000) this.frames.shift();
      for (const l of this.listeners) l(f);
    }
  }

  onFrame(fn) {
    this.listeners.push(fn);
  }

  /** Sends one masked frame (FIN set). */
  send(op, data) {
    const payload = Buffer.isBuffer(data) ? data : Buffer.from(data);
    const mask = randomBytes(4);
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | op, 0x80 | n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    if (n >= 126 && n < 65536) {
      head[0] = 0x80 | op;
      head[1] = 0x80 | 126;
      head.writeUInt16BE(n, 2);
    } else if (n >= 65536) {
      head[0] = 0x80 | op;
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(n), 2);
    }
    const masked = Buffer.alloc(n);
    for (let i = 0; i < n; i++) masked[i] = payload[i] ^ mask[i & 3];
    if (!this.sock.destroyed) this.sock.write(Buffer.concat([head, mask, masked]));
  }

  text(s) {
    this.send(OP.text, Buffer.from(s));
  }

  destroy() {
    this.sock.destroy();
  }
}

/** The header of a media frame (docs/protocol.md "WebSocket streaming"). */
export function mediaHeader(payload) {
  if (payload.length < 12) return null;
  return { stream: payload[0], keyframe: (payload[1] & 1) !== 0, config: (payload[1] & 2) !== 0, codec: payload[2], captureUs: Number(payload.readBigUInt64BE(4)) };
}
