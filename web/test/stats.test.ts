import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  allMeasured,
  DisplayDelay,
  freshHostStages,
  glassToGlass,
  glassToGlassWs,
  HOST_STAGES_STALE_MS,
  latencyMs,
  parseVideoStages,
  rates,
  snapshot,
  statsLine,
  type HostStages,
} from '../src/stats.ts';

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

const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9;
const R = { fps: 30, kbps: 0, jitterMs: 0, processingMs: 20, decodeMs: 3 };
/** The protocol's example message, arrived at t = 1000 ms. */
const HOST: HostStages = { changeToCaptureMs: 0.8, captureToEncoderMs: 1.6, captureToEncodedMs: 6.2, encodedToSentMs: 0.5, frames: 30, receivedAt: 1000 };

test('video_stages: the protocol example, nulls as unknown, no frame count → null', () => {
  const wire = JSON.parse('{"change_to_capture_ms": 0.8, "capture_to_encoder_ms": 1.6, "capture_to_encoded_ms": 6.2, "encoded_to_sent_ms": 0.5, "frames": 30}');
  assert.deepEqual(parseVideoStages(wire, 1000), HOST);
  // Keep-alives only / the ximagesrc capture: stages the window did not have are unknown.
  assert.deepEqual(parseVideoStages({ change_to_capture_ms: null, capture_to_encoder_ms: 1, capture_to_encoded_ms: null, encoded_to_sent_ms: null, frames: 2 }, 5), {
    changeToCaptureMs: null,
    captureToEncoderMs: 1,
    captureToEncodedMs: null,
    encodedToSentMs: null,
    frames: 2,
    receivedAt: 5,
  });
  assert.equal(parseVideoStages({ frames: 0 }, 0)?.changeToCaptureMs, null, 'missing stages are unknown');
  assert.equal(parseVideoStages({ ...wire, change_to_capture_ms: 0 }, 0)?.changeToCaptureMs, 0, 'zero is a value');
});

test('video_stages: hostile or malformed input is null, or unknown stages', () => {
  for (const data of [undefined, null, 'x', 42, [], [1, 2], { change_to_capture_ms: 1 }]) assert.equal(parseVideoStages(data, 0), null, JSON.stringify(data));
  for (const frames of ['30', -1, 1.5, NaN, Infinity, 2 ** 60, null, true, {}]) assert.equal(parseVideoStages({ frames }, 0), null, String(frames));
  for (const bad of ['0.8', '', -0.5, NaN, Infinity, -Infinity, 1e300, 10_001, true, {}, [1]]) {
    const h = parseVideoStages({ change_to_capture_ms: bad, capture_to_encoder_ms: bad, capture_to_encoded_ms: bad, encoded_to_sent_ms: bad, frames: 3 }, 0);
    assert.deepEqual(h, { changeToCaptureMs: null, captureToEncoderMs: null, captureToEncodedMs: null, encodedToSentMs: null, frames: 3, receivedAt: 0 }, String(bad));
  }
  // One bad stage leaves the others.
  assert.equal(parseVideoStages({ change_to_capture_ms: 'x', encoded_to_sent_ms: 0.5, frames: 3 }, 0)?.encodedToSentMs, 0.5);
});

test('host stages go stale after HOST_STAGES_STALE_MS', () => {
  assert.equal(freshHostStages(HOST, 1000 + HOST_STAGES_STALE_MS), HOST);
  assert.equal(freshHostStages(HOST, 1001 + HOST_STAGES_STALE_MS), null);
  assert.equal(freshHostStages(null, 0), null);
  assert.equal(freshHostStages(undefined, 0), null);
});

test('glass-to-glass: every part measured with the host stages and the capture times', () => {
  // Capture → received 11.7 ms here, of which the host's capture → sent is 6.7 ms: 5 ms network.
  const g = glassToGlass(30, 0.004, 15, R, { stages: HOST, now: 1500, captureToReceivedMs: 11.7 });
  assert.equal(g.captureMs, 0.8);
  assert.ok(near(g.encodeMs, 6.7));
  assert.ok(near(g.networkMs, 5));
  assert.equal(g.receiveToDisplayMs, 15);
  assert.ok(near(g.totalMs, 0.8 + 6.7 + 5 + 15));
  assert.deepEqual(g.measured, { capture: true, encode: true, network: true, display: true });
  assert.equal(g.networkFrom, 'stamps');
  assert.ok(allMeasured(g));
});

test('glass-to-glass: the host stages without capture times here; partial host stages', () => {
  // No capture time on the frames (stage sampling off): the network is half the round trip.
  const g = glassToGlass(30, 0.004, 15, R, { stages: HOST, now: 1500, captureToReceivedMs: null });
  assert.ok(near(g.totalMs, 0.8 + 6.7 + 2 + 15));
  assert.equal(g.networkFrom, 'rtt');
  assert.ok(allMeasured(g), 'half the round trip is a measure of the path');
  // No damage-driven change in the host's window (keep-alives, or ximagesrc): the wait is assumed.
  const k = glassToGlass(30, 0.004, 15, R, { stages: { ...HOST, changeToCaptureMs: null }, now: 1500, captureToReceivedMs: 11.7 });
  assert.ok(near(k.captureMs, 50 / 3));
  assert.deepEqual(k.measured, { capture: false, encode: true, network: true, display: true });
  // Without encoded → sent the host's part is unknown: half a frame, and the round trip.
  const e = glassToGlass(30, 0.004, 15, R, { stages: { ...HOST, encodedToSentMs: null }, now: 1500, captureToReceivedMs: 11.7 });
  assert.ok(near(e.encodeMs, 50 / 3));
  assert.equal(e.networkMs, 2);
  assert.deepEqual(e.measured, { capture: true, encode: false, network: true, display: true });
});

test('glass-to-glass: a legacy host gets the assumptions, flagged', () => {
  for (const side of [undefined, { stages: null, now: 1500, captureToReceivedMs: 11.7 }]) {
    const g = glassToGlass(30, 0.004, 15, R, side);
    assert.ok(near(g.captureMs, 50 / 3) && near(g.encodeMs, 50 / 3));
    assert.equal(g.networkMs, 2);
    assert.ok(near(g.totalMs, 100 / 3 + 2 + 15));
    assert.deepEqual(g.measured, { capture: false, encode: false, network: true, display: true });
    assert.equal(g.networkFrom, 'rtt');
    assert.equal(allMeasured(g), false);
  }
  // No round trip, no rVFC receive time: those are assumptions too.
  const n = glassToGlass(30, null, null, R);
  assert.deepEqual(n.measured, { capture: false, encode: false, network: false, display: false });
  assert.equal(n.networkFrom, 'none');
});

test('glass-to-glass: stale host stages are ignored; the network never goes below 0', () => {
  const stale = glassToGlass(30, 0.004, 15, R, { stages: HOST, now: 1001 + HOST_STAGES_STALE_MS, captureToReceivedMs: 11.7 });
  assert.deepEqual(stale, glassToGlass(30, 0.004, 15, R));
  // A clock offset estimated a little off makes capture → received shorter than the host's part.
  const g = glassToGlass(30, 0.004, 15, R, { stages: HOST, now: 1500, captureToReceivedMs: 4 });
  assert.equal(g.networkMs, 0);
  assert.equal(g.networkFrom, 'stamps');
  assert.ok(near(g.totalMs, 0.8 + 6.7 + 15));
});

test('glass-to-glass over the WebSocket: measured here, the host splits capture → received', () => {
  // Capture → received 9 ms, → decoded 12 ms; display half a 60 Hz refresh (assumed).
  const half = 1000 / 60 / 2;
  const legacy = glassToGlassWs(30, 12, { stages: null, now: 1500, captureToReceivedMs: 9 });
  assert.ok(near(legacy.captureMs, 50 / 3));
  assert.equal(legacy.encodeMs, 0);
  assert.equal(legacy.networkMs, 9);
  assert.ok(near(legacy.receiveToDisplayMs, 3 + half));
  assert.ok(near(legacy.totalMs, 50 / 3 + 12 + half));
  assert.deepEqual(legacy.measured, { capture: false, encode: true, network: true, display: false });
  assert.equal(legacy.networkFrom, 'stampsWithHost');
  const g = glassToGlassWs(30, 12, { stages: HOST, now: 1500, captureToReceivedMs: 9 });
  assert.equal(g.captureMs, 0.8);
  assert.ok(near(g.encodeMs, 6.7));
  assert.ok(near(g.networkMs, 2.3));
  assert.ok(near(g.totalMs, 0.8 + 12 + half), 'the host only splits what was measured here');
  assert.deepEqual(g.measured, { capture: true, encode: true, network: true, display: false });
  assert.equal(g.networkFrom, 'stamps');
  // The host's part longer than capture → received (clocks): all of it, network 0.
  const c = glassToGlassWs(30, 12, { stages: HOST, now: 1500, captureToReceivedMs: 5 });
  assert.equal(c.encodeMs, 5);
  assert.equal(c.networkMs, 0);
  assert.deepEqual(glassToGlassWs(30, 12, { stages: HOST, now: 1e9, captureToReceivedMs: 9 }), legacy, 'stale');
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
