// A userspace network impairment relay for tests and benchmarks (the kernel here has no netem):
// forwards UDP between clients and one upstream address with a configurable one-way delay,
// random loss and a rate cap, all changeable while it runs.
//
// `Shaper` is the pure part (no sockets, no timers: the caller passes the clock and the random
// source), unit-tested in impair.unit.test.mjs. The rate cap is a token bucket feeding a FIFO
// whose depth is bounded in time (`queueMs` of bytes at the cap, like a tbf qdisc's latency):
// packets beyond it are dropped, packets within it wait — the queueing delay a real bottleneck
// shows, which is what delay-based congestion control reacts to.
//
// `UdpImpairRelay` binds one port; each client address gets its own upstream socket, so the
// upstream (a TURN server) sees one client per browser socket, as without the relay. Both
// directions are shaped separately with the same settings.
//
// Standalone: `node ci/e2e/impair.mjs LISTEN_PORT UPSTREAM_HOST:PORT [delay=MS] [loss=PCT]
// [rate=KBPS] [queue=MS]`; each line on stdin in the same `key=value` form changes the settings.
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const KEYS = { delay: 'delayMs', loss: 'lossPercent', rate: 'rateKbps', queue: 'queueMs', burst: 'burstBytes' };

/** `delay=40 loss=2 rate=3000` → shaper settings; throws on an unknown key or a bad number. */
export function parseSettings(text) {
  const cfg = {};
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const [key, value, extra] = word.split('=');
    const n = Number(value);
    if (!(key in KEYS) || extra !== undefined || value === '' || !Number.isFinite(n) || n < 0) {
      throw new Error(`bad setting '${word}' (delay=MS loss=PCT rate=KBPS queue=MS burst=BYTES; rate=0: no cap)`);
    }
    cfg[KEYS[key]] = n;
  }
  return cfg;
}

/** One direction's impairment: loss, then the rate-capped FIFO, then the delay. */
export class Shaper {
  /**
   * @param {{delayMs?: number, lossPercent?: number, rateKbps?: number, burstBytes?: number, queueMs?: number}} cfg
   * rateKbps 0 (or absent) means no cap.
   */
  constructor(cfg = {}, now = 0) {
    this.cfg = { rateKbps: 0 };
    this.tokens = 0;
    this.last = now;
    this.queuedBytes = 0;
    this.stats = { in: 0, lost: 0, overflow: 0, out: 0 };
    this.set(cfg, now);
  }

  /** Changes the settings; a new cap starts with a full bucket. */
  set(cfg, now) {
    this.drain(now);
    this.cfg = { delayMs: 0, lossPercent: 0, rateKbps: 0, burstBytes: 15000, queueMs: 150, ...this.cfg, ...cfg };
    this.tokens = this.cfg.burstBytes;
  }

  /**
   * A packet of `bytes` arrives at `now` (ms). Returns the time at which it leaves, or null when
   * it is dropped (random loss, or the rate-capped queue is full). `random` is in [0, 1).
   * Packets leave in arrival order: the FIFO's backlog is `queuedBytes`, drained at the cap.
   */
  admit(bytes, now, random) {
    this.drain(now);
    this.stats.in++;
    const { delayMs, lossPercent, rateKbps, queueMs } = this.cfg;
    if (random * 100 < lossPercent) {
      this.stats.lost++;
      return null;
    }
    let sendAt = now;
    if (rateKbps > 0) {
      const bytesPerMs = rateKbps / 8;
      // The backlog ahead of this packet, less what the bucket already covers, drains at the cap.
      const debt = this.queuedBytes + bytes - this.tokens;
      if (debt > 0) {
        const waitMs = debt / bytesPerMs;
        if (waitMs > queueMs) {
          this.stats.overflow++;
          return null;
        }
        sendAt = now + waitMs;
      }
      this.consume(bytes);
    }
    this.stats.out++;
    return sendAt + delayMs;
  }

  /** Tokens pay for the packet; what they cannot cover is backlog that drains at the cap. */
  consume(bytes) {
    const paid = Math.min(this.tokens, bytes);
    this.tokens -= paid;
    this.queuedBytes += bytes - paid;
  }

  /** Called as time passes: the backlog drains at the cap before the bucket fills again. */
  drain(now) {
    const { rateKbps } = this.cfg;
    if (rateKbps <= 0) {
      this.queuedBytes = 0;
      this.last = now;
      return;
    }
    const budget = ((now - this.last) * rateKbps) / 8;
    const fromQueue = Math.min(this.queuedBytes, budget);
    this.queuedBytes -= fromQueue;
    this.tokens = Math.min(this.cfg.burstBytes, this.tokens + budget - fromQueue);
    this.last = now;
  }
}

/** The relay: `listenPort` on 127.0.0.1 ⇄ `upstream` ({host, port}). */
export class UdpImpairRelay {
  constructor({ listenPort, upstream, cfg = {} }) {
    this.listenPort = listenPort;
    this.upstream = upstream;
    this.cfg = cfg;
    this.t0 = performance.now();
    this.toUpstream = new Shaper(cfg, 0);
    this.toClient = new Shaper(cfg, 0);
    this.clients = new Map();
    this.sock = null;
  }

  now() {
    return performance.now() - this.t0;
  }

  /** New delay / loss / cap for both directions, effective for the next packet. */
  set(cfg) {
    const now = this.now();
    this.toUpstream.set(cfg, now);
    this.toClient.set(cfg, now);
  }

  start() {
    this.sock = createSocket('udp4');
    this.sock.on('message', (msg, rinfo) => this.fromClient(msg, rinfo));
    return new Promise((resolve, reject) => {
      this.sock.once('error', reject);
      this.sock.bind(this.listenPort, '127.0.0.1', () => resolve(this));
    });
  }

  forward(shaper, msg, send) {
    const now = this.now();
    const at = shaper.admit(msg.length, now, Math.random());
    if (at === null) return;
    const wait = at - now;
    if (wait < 0.5) send(msg);
    else setTimeout(() => send(msg), wait);
  }

  fromClient(msg, rinfo) {
    const key = `${rinfo.address}:${rinfo.port}`;
    let up = this.clients.get(key);
    if (!up) {
      up = createSocket('udp4');
      up.on('message', (m) => this.forward(this.toClient, m, (b) => this.sock?.send(b, rinfo.port, rinfo.address)));
      up.on('error', () => {});
      up.bind(0, '127.0.0.1');
      this.clients.set(key, up);
    }
    this.forward(this.toUpstream, msg, (b) => up.send(b, this.upstream.port, this.upstream.host));
  }

  stats() {
    return { toUpstream: { ...this.toUpstream.stats }, toClient: { ...this.toClient.stats } };
  }

  close() {
    for (const s of this.clients.values()) s.close();
    this.clients.clear();
    this.sock?.close();
    this.sock = null;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [port, upstream, ...rest] = process.argv.slice(2);
  const [host, upPort] = (upstream ?? '').split(':');
  if (!port || !host || !upPort) {
    console.error('usage: node ci/e2e/impair.mjs LISTEN_PORT UPSTREAM_HOST:PORT [delay=MS] [loss=PCT] [rate=KBPS] [queue=MS]');
    process.exit(2);
  }
  const relay = await new UdpImpairRelay({ listenPort: Number(port), upstream: { host, port: Number(upPort) }, cfg: parseSettings(rest.join(' ')) }).start();
  console.log(`impair: 127.0.0.1:${port} -> ${upstream}; settings on stdin, e.g. "rate=3000 loss=2"`);
  createInterface({ input: process.stdin }).on('line', (line) => {
    try {
      relay.set(parseSettings(line));
      console.log(`impair: ${JSON.stringify(relay.toClient.cfg)} ${JSON.stringify(relay.stats())}`);
    } catch (e) {
      console.error(`impair: ${e.message}`);
    }
  });
}
