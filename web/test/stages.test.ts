import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frameStages, PingClock, NTP_UNIX_OFFSET_MS, StageMeans, stageRows, stagesLine } from '../src/stages.ts';

const origin = 1_700_000_000_000;
// A frame received at origin + 1000 ms, decoded 2 ms later, expected on screen 16 ms after receipt,
// captured 30 ms before receipt (host clock = local clock).
const meta = { receiveTime: 1000, expectedDisplayTime: 1016, processingDuration: 0.002, rtpTimestamp: 90_000 };
const src = { rtpTimestamp: 90_000, captureTimestamp: origin + 970 + NTP_UNIX_OFFSET_MS, senderCaptureTimeOffset: 0 };

test('a frame with its capture time splits into all stages', () => {
  const s = frameStages(meta, origin, src, null);
  assert.ok(s);
  assert.equal(s.captureToReceivedMs, 30);
  assert.equal(s.receivedToDecodedMs, 2);
  assert.equal(s.decodedToDisplayedMs, 14);
  assert.equal(s.captureToDisplayedMs, 46);
  assert.equal(s.capturedAt, origin + 970);
});

test('the host clock offset is taken out of the capture time', () => {
  // Host clock 500 ms ahead: its capture stamp reads 500 ms later than local time.
  const ahead = { ...src, captureTimestamp: src.captureTimestamp + 500 };
  assert.equal(frameStages(meta, origin, ahead, 500)?.captureToReceivedMs, 30);
  assert.equal(frameStages(meta, origin, ahead, null)?.captureToReceivedMs, null, 'an impossible value is dropped');
});

test('another frame\'s capture time or none leaves the browser stages only', () => {
  for (const other of [null, { ...src, rtpTimestamp: 1 }, { rtpTimestamp: 90_000 }]) {
    const s = frameStages(meta, origin, other, null);
    assert.equal(s?.captureToReceivedMs, null);
    assert.equal(s?.captureToDisplayedMs, null);
    assert.equal(s?.receivedToDecodedMs, 2);
  }
  assert.equal(frameStages({ expectedDisplayTime: 5 }, origin, src, null), null, 'not a WebRTC frame');
  assert.equal(frameStages({ ...meta, expectedDisplayTime: 900 }, origin, src, null), null, 'displayed before receipt');
});

test('means over an interval, labelled for the clock used, then reset', () => {
  const m = new StageMeans();
  assert.equal(m.take(null), null);
  m.add(frameStages(meta, origin, src, null));
  m.add(frameStages(meta, origin, null, null));
  m.add(null);
  const s = m.take(null);
  assert.ok(s);
  assert.equal(s.frames, 2);
  assert.equal(s.withCapture, 1);
  assert.equal(s.captureToReceivedMs, 30);
  assert.equal(s.captureToDisplayedMs, 46);
  assert.equal(s.clock, 'same clock assumed');
  assert.equal(m.take(3), null);
  m.add(frameStages(meta, origin, null, null));
  assert.equal(m.take(-0.2)?.clock, 'host clock offset 0 ms');
  assert.match(stagesLine(s) ?? '', /^measured: capture→displayed 46 ms = capture→received 30 ms \(host \+ network\)/);
  assert.equal(stageRows(s)[0]?.[0], 'Capture → displayed (measured)');
  m.add(frameStages(meta, origin, null, null));
  const noCapture = m.take(-2);
  assert.equal(noCapture?.clock, 'host clock offset -2 ms');
  assert.match(stagesLine(noCapture) ?? '', /no capture time/);
  assert.equal(stageRows(noCapture).length, 2);
  assert.equal(stagesLine(null), null);
});

test("the host's pings give its wall clock: the least-delayed reading plus half the round trip", () => {
  const c = new PingClock(3);
  assert.equal(c.offset(null), null, 'no ping yet');
  c.ping({ start_time: 1000.0 }, 1_000_004); // arrived 4 ms after it left: reads -4
  c.ping({ start_time: 1001.0 }, 1_001_001); // the least delayed
  c.ping({ start_time: 1002.0 }, 1_002_030); // waited in a busy page
  assert.equal(c.offset(null), -1);
  assert.equal(c.offset(2), 0, 'half of a 2 ms round trip is the path');
  // Malformed pings are ignored.
  for (const bad of [null, {}, { start_time: 'x' }, { start_time: NaN }, { start_time: -5 }]) c.ping(bad, 5);
  assert.equal(c.offset(null), -1);
  // Only the last three readings count.
  for (const t of [2000, 2001, 2002]) c.ping({ start_time: t }, t * 1000 + 10);
  assert.equal(c.offset(null), -10);
  c.clear();
  assert.equal(c.offset(null), null);
});
