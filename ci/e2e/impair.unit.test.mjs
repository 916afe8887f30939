// Unit tests of the impairment relay's shaping logic (impair.mjs: loss, token-bucket rate cap
// with a time-bounded FIFO, delay), plus one real loopback round trip through the relay.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { Shaper, UdpImpairRelay, parseSettings } from './impair.mjs';

test('no impairment: every packet leaves at once', () => {
  const s = new Shaper();
  for (let t = 0; t < 100; t++) assert.equal(s.admit(1200, t, 0.5), t);
  assert.deepEqual(s.stats, { in: 100, lost: 0, overflow: 0, out: 100 });
});

test('delay is added to every packet', () => {
  const s = new Shaper({ delayMs: 40 });
  assert.equal(s.admit(100, 10, 0.9), 50);
});

test('loss drops the share of packets whose random draw falls under it', () => {
  const s = new Shaper({ lossPercent: 2 });
  assert.equal(s.admit(100, 0, 0.019), null);
  assert.equal(s.admit(100, 0, 0.02), 0);
  // A deterministic uniform sequence: exactly 2 % lost.
  const t = new Shaper({ lossPercent: 2 });
  let lost = 0;
  for (let i = 0; i < 1000; i++) if (t.admit(100, i, i / 1000) === null) lost++;
  assert.equal(lost, 20);
});

test('the rate cap lets a burst through, then paces at the cap', () => {
  // 1000 kbit/s = 125 bytes/ms; bucket of 2500 bytes; 1250-byte packets all at t=0.
  const s = new Shaper({ rateKbps: 1000, burstBytes: 2500, queueMs: 1000 });
  const times = [];
  for (let i = 0; i < 6; i++) times.push(s.admit(1250, 0, 0.5));
  // Two ride the bucket; each later one waits 10 ms more (1250 bytes at 125 bytes/ms).
  assert.deepEqual(times, [0, 0, 10, 20, 30, 40]);
  // 100 ms later the backlog (4 × 1250) has drained and 2500 − … tokens are back: no wait.
  assert.equal(s.admit(1250, 100, 0.5), 100);
});

test('sustained overload: throughput equals the cap, the excess overflows the queue', () => {
  // 2 Mbit/s offered into a 1 Mbit/s cap for 10 s, queue 100 ms.
  const s = new Shaper({ rateKbps: 1000, burstBytes: 1500, queueMs: 100 });
  let sentBytes = 0;
  let maxWait = 0;
  for (let t = 0; t < 10000; t += 5) {
    const at = s.admit(1250, t, 0.5);
    if (at !== null) {
      sentBytes += 1250;
      maxWait = Math.max(maxWait, at - t);
    }
  }
  const kbps = (sentBytes * 8) / 10000;
  assert.ok(kbps > 980 && kbps < 1030, `${kbps} kbit/s`);
  assert.ok(maxWait <= 100, `waited ${maxWait} ms`);
  assert.ok(s.stats.overflow > 900, `${s.stats.overflow} overflowed`);
});

test('under the cap nothing waits; lifting the cap clears the backlog', () => {
  const s = new Shaper({ rateKbps: 3000, queueMs: 150 });
  // 1 Mbit/s offered into 3 Mbit/s: never queued.
  for (let t = 0; t < 2000; t += 10) assert.equal(s.admit(1250, t, 0.5), t);
  // Fill the queue, then lift the cap.
  for (let i = 0; i < 30; i++) s.admit(1250, 2000, 0.5);
  assert.ok(s.queuedBytes > 0);
  s.set({ rateKbps: 0 }, 2001);
  assert.equal(s.admit(1250, 2001, 0.5), 2001);
  assert.equal(s.queuedBytes, 0);
});

test('the relay forwards both ways and applies loss at run time', async () => {
  const echo = createSocket('udp4');
  echo.on('message', (m, r) => echo.send(m, r.port, r.address));
  await new Promise((r) => echo.bind(0, '127.0.0.1', r));
  const relay = new UdpImpairRelay({ listenPort: 0, upstream: { host: '127.0.0.1', port: echo.address().port } });
  await relay.start();
  const port = relay.sock.address().port;
  const client = createSocket('udp4');
  await new Promise((r) => client.bind(0, '127.0.0.1', r));
  const got = [];
  client.on('message', (m) => got.push(m.toString()));
  const burst = async (tag, n) => {
    for (let i = 0; i < n; i++) client.send(`${tag}${i}`, port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 200));
  };
  try {
    await burst('a', 20);
    assert.equal(got.filter((g) => g.startsWith('a')).length, 20);
    relay.set({ lossPercent: 100 });
    await burst('b', 20);
    assert.equal(got.filter((g) => g.startsWith('b')).length, 0);
    assert.equal(relay.stats().toUpstream.lost, 20);
    relay.set({ lossPercent: 0, delayMs: 50 });
    const t0 = performance.now();
    client.send('c', port, '127.0.0.1');
    while (!got.includes('c') && performance.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 5));
    // Delayed once each way.
    assert.ok(performance.now() - t0 >= 95, `${performance.now() - t0} ms`);
  } finally {
    client.close();
    relay.close();
    echo.close();
  }
});

test('settings parse from key=value words and refuse anything else', () => {
  assert.deepEqual(parseSettings(' delay=40  loss=2 rate=3000 '), { delayMs: 40, lossPercent: 2, rateKbps: 3000 });
  assert.deepEqual(parseSettings(''), {});
  for (const bad of ['rate', 'rate=', 'rate=abc', 'rate=-1', 'jitter=5', 'loss=1=2']) assert.throws(() => parseSettings(bad), /bad setting/, bad);
});
