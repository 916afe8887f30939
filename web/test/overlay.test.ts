import assert from 'node:assert/strict';
import { test } from 'node:test';
import { overlayText, statusRows } from '../src/overlay.ts';
import type { StatsSample } from '../src/session.ts';
import { glassToGlass, glassToGlassWs, type HostStages } from '../src/stats.ts';

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
  // A legacy host: 30 fps capture, 16.7 + 16.7 assumed + 1 network + 8 measured, not 250 ms
  // of a 4 fps gap.
  assert.equal(rows.get('Glass-to-glass (estimate: capture wait, host encode assumed)'), '42 ms');
  assert.equal(rows.has('Latency'), false);
  assert.equal(rows.has('Capture → encoded (host)'), false);
  const text = overlayText(sample, ctx);
  assert.ok(
    text.includes('glass-to-glass estimate 42 ms = change→capture 17 ms (assumed) + capture→sent 17 ms (assumed) + network 1 ms (½ RTT) + received→displayed 8 ms (measured)'),
    text,
  );
  assert.doesNotMatch(text, /^host:/m);
  assert.match(text, /round trip \+ jitter buffer 3 ms/);
});

const HOST: HostStages = { changeToCaptureMs: 0.8, captureToEncoderMs: 1.6, captureToEncodedMs: 6.2, encodedToSentMs: 0.5, frames: 30, receivedAt: 1000 };

test('with the host stages every part is measured, and the host line and rows show them', () => {
  // Capture → received 10.7 ms here less the host's 6.7 ms: 4 ms network; rVFC 14.6 ms.
  const g2g = glassToGlass(30, 0.002, 14.6, rates, { stages: HOST, now: 1500, captureToReceivedMs: 10.7 });
  const s: StatsSample = { ...sample, g2g, host: HOST };
  const text = overlayText(s, ctx);
  assert.ok(
    text.includes('glass-to-glass ≈ 26 ms = change→capture 1 ms (host) + capture→sent 7 ms (host) + network 4 ms (measured) + received→displayed 15 ms (measured)'),
    text,
  );
  assert.ok(text.includes('host: change→capture 0.8 ms · capture→encoder 1.6 ms · capture→encoded 6.2 ms · encoded→sent 0.5 ms (30 frames)'), text);
  assert.doesNotMatch(text, /estimate|assumed/);
  const rows = new Map(statusRows(s, ctx));
  assert.equal(rows.get('Glass-to-glass (measured parts)'), '26 ms');
  assert.equal(rows.get('Change → capture (host)'), '0.8 ms');
  assert.equal(rows.get('Capture → encoder input (host)'), '1.6 ms');
  assert.equal(rows.get('Capture → encoded (host)'), '6.2 ms');
  assert.equal(rows.get('Encoded → sent (host)'), '0.5 ms');
  assert.equal(rows.get('Host frames (last second)'), '30');
});

test('host stages the window lacked show as unknown, and their part as assumed', () => {
  const host = { ...HOST, changeToCaptureMs: null, encodedToSentMs: null };
  const g2g = glassToGlass(30, 0.002, 8, rates, { stages: host, now: 1500, captureToReceivedMs: 10.7 });
  const s: StatsSample = { ...sample, g2g, host };
  const text = overlayText(s, ctx);
  assert.ok(text.includes('host: change→capture - · capture→encoder 1.6 ms · capture→encoded 6.2 ms · encoded→sent - (30 frames)'), text);
  assert.ok(text.includes('glass-to-glass estimate 42 ms = change→capture 17 ms (assumed) + capture→sent 17 ms (assumed)'), text);
  const rows = new Map(statusRows(s, ctx));
  assert.equal(rows.get('Change → capture (host)'), '-');
  assert.equal(rows.get('Glass-to-glass (estimate: capture wait, host encode assumed)'), '42 ms');
});

test('without rVFC or a round trip, the display and the network say they are assumed', () => {
  const s: StatsSample = { ...sample, g2g: glassToGlass(30, null, null, rates) };
  const rows = new Map(statusRows(s, ctx));
  assert.equal(rows.get('Received → displayed (assumed)'), '23 ms');
  assert.equal(rows.get('Glass-to-glass (estimate: capture wait, host encode, network, display assumed)'), '56 ms');
  assert.match(overlayText(s, ctx), /network 0 ms \(assumed\) \+ received→displayed 23 ms \(assumed\)$/m);
});

test('the WebSocket transport: capture → received is one measured part until the host splits it', () => {
  // Capture → received 9 ms, → decoded 12 ms, half a 60 Hz refresh assumed for the display.
  const legacy: StatsSample = { ...sample, g2g: glassToGlassWs(30, 12, { stages: null, now: 0, captureToReceivedMs: 9 }) };
  assert.ok(
    overlayText(legacy, ctx).includes('glass-to-glass estimate 37 ms = change→capture 17 ms (assumed) + capture→received 9 ms (measured) + received→displayed 11 ms (assumed)'),
    overlayText(legacy, ctx),
  );
  assert.equal(new Map(statusRows(legacy, ctx)).get('Glass-to-glass (estimate: capture wait, display assumed)'), '37 ms');
  const split: StatsSample = { ...sample, g2g: glassToGlassWs(30, 12, { stages: HOST, now: 1500, captureToReceivedMs: 9 }), host: HOST };
  assert.ok(
    overlayText(split, ctx).includes('glass-to-glass estimate 21 ms = change→capture 1 ms (host) + capture→sent 7 ms (host) + network 2 ms (measured) + received→displayed 11 ms (assumed)'),
    overlayText(split, ctx),
  );
  assert.equal(new Map(statusRows(split, ctx)).get('Glass-to-glass (estimate: display assumed)'), '21 ms');
});
