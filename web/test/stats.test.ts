import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DisplayDelay, glassToGlass, latencyMs, rates, snapshot, statsLine } from '../src/stats.ts';

const reports = (t: number, frames: number, bytes: number, jb: number, emitted: number) => [
  { id: 'C1', type: 'codec', mimeType: 'video/H264' },
  {
    id: 'V', type: 'inbound-rtp', kind: 'video', timestamp: t, codecId: 'C1', framesDecoded: frames,
    bytesReceived: bytes, framesPerSecond: 30, frameWidth: 1920, frameHeight: 1080,
    jitterBufferDelay: jb, jitterBufferEmittedCount: emitted, packetsReceived: 10, packetsLost: 0,
    totalDecodeTime: frames * 0.003, totalProcessingDelay: frames * 0.02,
  },
  { id: 'A', type: 'inbound-rtp', kind: 'audio', timestamp: t, totalAudioEnergy: 0.25, packetsReceived: 50 },
  { id: 'P', type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: 0.004, remoteCandidateId: 'RC', availableIncomingBitrate: 5e6 },
  { id: 'RC', type: 'remote-candidate', candidateType: 'host' },
  { id: 'T', type: 'transport', bytesSent: 777 },
  { id: 'Q', type: 'candidate-pair', nominated: false, state: 'failed', currentRoundTripTime: 9 },
];

test('snapshot picks inbound video, audio and the selected pair', () => {
  const s = snapshot(reports(1000, 30, 500000, 0.3, 30));
  assert.equal(s.video?.frameWidth, 1920);
  assert.equal(s.video?.codec, 'H264');
  assert.equal(s.audio?.totalAudioEnergy, 0.25);
  assert.equal(s.audio?.packetsReceived, 50);
  assert.equal(s.rtt, 0.004);
  assert.equal(s.candidateType, 'host');
  assert.equal(s.availableIncomingBitrate, 5e6);
  assert.equal(s.bytesSent, 777);
  assert.deepEqual(snapshot([]), { video: null, audio: null, rtt: null, candidateType: null, availableIncomingBitrate: null, bytesSent: 0 });
});

test('rates over a 2 s interval', () => {
  const a = snapshot(reports(1000, 30, 500000, 0.3, 30)).video;
  const b = snapshot(reports(3000, 90, 1500000, 0.9, 90)).video;
  assert.ok(a && b);
  const r = rates(a, b);
  assert.equal(r.fps, 30);
  assert.equal(r.kbps, 4000);
  assert.ok(Math.abs(r.jitterMs - 10) < 1e-9);
  assert.ok(Math.abs(r.decodeMs - 3) < 1e-9);
  assert.ok(Math.abs(r.processingMs - 20) < 1e-9);
  assert.equal(latencyMs(0.004, r.jitterMs), 14);
  assert.equal(latencyMs(null, 0), 0);
  assert.equal(statsLine(r, 14, 1920, 1080, 'H264'), 'H264 1920x1080 · 30.0 fps · 4.00 Mbit/s · 14 ms');
  assert.deepEqual(rates(b, a), { fps: 30, kbps: 0, jitterMs: 0, processingMs: 0, decodeMs: 0 });
});

test('glass-to-glass estimate: capture + encode + network + receive→display', () => {
  const r = { fps: 30, kbps: 0, jitterMs: 10, processingMs: 20, decodeMs: 3 };
  // 30 fps: 16.7 ms capture wait + 16.7 ms encode; RTT 4 ms → 2 ms; rVFC measured 25 ms.
  const g = glassToGlass(30, 0.004, 25, r);
  assert.ok(Math.abs(g.captureMs - 50 / 3) < 1e-9);
  assert.ok(Math.abs(g.totalMs - (100 / 3 + 2 + 25)) < 1e-9);
  // Without rVFC receive times: processing + one 60 Hz refresh.
  const f = glassToGlass(30, null, null, r);
  assert.ok(Math.abs(f.receiveToDisplayMs - (20 + 1000 / 60)) < 1e-9);
  assert.equal(f.networkMs, 0);
  assert.equal(glassToGlass(0, null, 0, { ...r, processingMs: 0 }).totalMs, 0);
});

test('display delay: mean of sane rVFC samples, reset on read', () => {
  const d = new DisplayDelay();
  assert.equal(d.take(), null);
  d.add(1000, 1020);
  d.add(2000, 2030);
  d.add(undefined, 5000); // no receiveTime (not WebRTC)
  d.add(3000, 2990); // display before receive: clock glitch
  d.add(4000, 14000); // paused tab
  assert.equal(d.take(), 25);
  assert.equal(d.take(), null);
});
