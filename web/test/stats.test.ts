import assert from 'node:assert/strict';
import { test } from 'node:test';
import { latencyMs, rates, snapshot, statsLine } from '../src/stats.ts';

const reports = (t: number, frames: number, bytes: number, jb: number, emitted: number) => [
  { id: 'C1', type: 'codec', mimeType: 'video/H264' },
  {
    id: 'V', type: 'inbound-rtp', kind: 'video', timestamp: t, codecId: 'C1', framesDecoded: frames,
    bytesReceived: bytes, framesPerSecond: 30, frameWidth: 1920, frameHeight: 1080,
    jitterBufferDelay: jb, jitterBufferEmittedCount: emitted, packetsReceived: 10, packetsLost: 0,
  },
  { id: 'A', type: 'inbound-rtp', kind: 'audio', timestamp: t, totalAudioEnergy: 0.25, packetsReceived: 50 },
  { id: 'P', type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: 0.004 },
  { id: 'Q', type: 'candidate-pair', nominated: false, state: 'failed', currentRoundTripTime: 9 },
];

test('snapshot picks inbound video, audio and the selected pair', () => {
  const s = snapshot(reports(1000, 30, 500000, 0.3, 30));
  assert.equal(s.video?.frameWidth, 1920);
  assert.equal(s.video?.codec, 'H264');
  assert.equal(s.audio?.totalAudioEnergy, 0.25);
  assert.equal(s.audio?.packetsReceived, 50);
  assert.equal(s.rtt, 0.004);
  assert.deepEqual(snapshot([]), { video: null, audio: null, rtt: null });
});

test('rates over a 2 s interval', () => {
  const a = snapshot(reports(1000, 30, 500000, 0.3, 30)).video;
  const b = snapshot(reports(3000, 90, 1500000, 0.9, 90)).video;
  assert.ok(a && b);
  const r = rates(a, b);
  assert.equal(r.fps, 30);
  assert.equal(r.kbps, 4000);
  assert.ok(Math.abs(r.jitterMs - 10) < 1e-9);
  assert.equal(latencyMs(0.004, r.jitterMs), 14);
  assert.equal(latencyMs(null, 0), 0);
  assert.equal(statsLine(r, 14, 1920, 1080, 'H264'), 'H264 1920x1080 · 30.0 fps · 4.00 Mbit/s · 14 ms');
  assert.deepEqual(rates(b, a), { fps: 30, kbps: 0, jitterMs: 0 });
});
