import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TRACKPAD_THROTTLE_MS, WHEEL_DOWN_BIT, WHEEL_UP_BIT, WheelNormaliser } from '../src/wheel.ts';

test('one notch down is bit 3 with magnitude 1 (docs/protocol.md §12 vector)', () => {
  const w = new WheelNormaliser();
  assert.deepEqual(w.handle(100, 0), { bit: WHEEL_DOWN_BIT, magnitude: 1 });
  assert.equal(WHEEL_DOWN_BIT, 8);
});

test('negative delta scrolls up (bit 4)', () => {
  const w = new WheelNormaliser();
  assert.deepEqual(w.handle(-53.7, 0), { bit: WHEEL_UP_BIT, magnitude: 1 });
  assert.equal(WHEEL_UP_BIT, 16);
});

test('magnitude is relative to the smallest delta seen and capped at 10', () => {
  const w = new WheelNormaliser();
  assert.equal(w.handle(4, 0)?.magnitude, 1);
  assert.equal(w.handle(13, 1000)?.magnitude, 3);
  assert.equal(w.handle(400, 2000)?.magnitude, 10);
  assert.equal(w.handle(2, 3000)?.magnitude, 1); // new smallest
  assert.equal(w.handle(9, 4000)?.magnitude, 4);
});

test('trackpad events are throttled to one per 100 ms', () => {
  const w = new WheelNormaliser();
  assert.ok(w.handle(3, 0));
  assert.equal(w.handle(5, 50), null);
  assert.equal(w.handle(7, TRACKPAD_THROTTLE_MS - 1), null);
  assert.ok(w.handle(2, TRACKPAD_THROTTLE_MS));
  assert.equal(w.isWheel, false);
});

test('two adjacent equal pairs of deltas ≥ 80 in four events switch to wheel mode', () => {
  const w = new WheelNormaliser();
  w.handle(100, 0);
  w.handle(100, 10);
  w.handle(100, 20);
  w.handle(100, 30);
  assert.equal(w.isWheel, true);
  // No throttling any more; the smallest delta started over with the fourth event (100).
  assert.deepEqual(w.handle(200, 31), { bit: WHEEL_DOWN_BIT, magnitude: 2 });
  assert.deepEqual(w.handle(-50, 32), { bit: WHEEL_UP_BIT, magnitude: 1 });
  assert.deepEqual(w.handle(-400, 33), { bit: WHEEL_UP_BIT, magnitude: 8 });
});

test('small equal deltas (a trackpad) do not switch modes', () => {
  const w = new WheelNormaliser();
  for (let i = 0; i < 8; i++) w.handle(40, i);
  assert.equal(w.isWheel, false);
  const v = new WheelNormaliser();
  for (const d of [100, 120, 100, 120]) v.handle(d, 0);
  assert.equal(v.isWheel, false);
});

test('a purely horizontal event is dropped', () => {
  const w = new WheelNormaliser();
  assert.equal(w.handle(0, 0), null);
  assert.equal(w.handle(0.4, 500), null);
});
