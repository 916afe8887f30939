import assert from 'node:assert/strict';
import { test } from 'node:test';
import { overlayText, statusRows } from '../src/overlay.ts';
import type { StatsSample } from '../src/session.ts';
import { glassToGlass } from '../src/stats.ts';

const rates = { fps: 4, kbps: 20, jitterMs: 0.5, processingMs: 6, decodeMs: 2 };
const pc = { video: null, audio: null, rtt: 0.002, candidateType: 'host', availableIncomingBitrate: null, bytesSent: 0 };
// A static screen: idle gating sends 4 frames/s, the host captures at 30 fps.
const sample: StatsSample = {
  video: pc,
  audio: pc,
  videoRates: rates,
  audioRates: rates,
  latencyMs: 3,
  g2g: glassToGlass(30, 0.002, 8, rates),
  connectionState: 'connected',
};
const ctx = { encoder: 'x264enc', resolution: '1920x1080', windowSize: '1280x720' };

test('figures are labelled measured or assumed, and the round trip is not called latency', () => {
  const rows = new Map(statusRows(sample, ctx));
  assert.equal(rows.get('Round trip + jitter buffer'), '3 ms');
  assert.equal(rows.get('Received → displayed (measured)'), '8 ms');
  // 30 fps capture: 16.7 + 16.7 assumed + 1 network + 8 measured, not 250 ms of a 4 fps gap.
  assert.equal(rows.get('Glass-to-glass (estimate, host part assumed)'), '42 ms');
  assert.equal(rows.has('Latency'), false);
  const text = overlayText(sample, ctx);
  assert.match(text, /glass-to-glass estimate 42 ms = capture 17 ms \+ encode 17 ms \(assumed\) \+ network 1 ms \+ received→displayed 8 ms \(measured\)/);
  assert.match(text, /round trip \+ jitter buffer 3 ms/);
});
