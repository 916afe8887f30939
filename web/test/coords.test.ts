import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentRect, relativeScale, toRemote } from '../src/coords.ts';

const frame = { width: 1920, height: 1080 };

test('a 1280x720 box shows a 1080p frame at 2/3 scale', () => {
  const box = { left: 0, top: 0, width: 1280, height: 720 };
  assert.deepEqual(toRemote(640, 360, box, frame), { x: 960, y: 540 });
  assert.deepEqual(toRemote(0, 0, box, frame), { x: 0, y: 0 });
  assert.deepEqual(toRemote(100, 50, box, frame), { x: 150, y: 75 });
  assert.deepEqual(toRemote(1280, 720, box, frame), { x: 1919, y: 1079 });
});

test('letterbox bars are removed (pillarbox and letterbox)', () => {
  const tall = { left: 0, top: 0, width: 1280, height: 1024 };
  const c = contentRect(tall, frame);
  assert.deepEqual(c, { left: 0, top: 152, width: 1280, height: 720 });
  assert.deepEqual(toRemote(640, 152 + 360, tall, frame), { x: 960, y: 540 });
  assert.deepEqual(toRemote(640, 10, tall, frame), { x: 960, y: 0 }); // in the bar: clamped
  const wide = { left: 10, top: 20, width: 2000, height: 540 };
  assert.deepEqual(contentRect(wide, frame), { left: 10 + 520, top: 20, width: 960, height: 540 });
  assert.deepEqual(toRemote(10 + 520 + 480, 20 + 270, wide, frame), { x: 960, y: 540 });
  assert.deepEqual(toRemote(5, 20, wide, frame), { x: 0, y: 0 });
});

test('no frame yet means no coordinates', () => {
  assert.equal(toRemote(1, 1, { left: 0, top: 0, width: 10, height: 10 }, { width: 0, height: 0 }), null);
});

test('relative motion scale is the diagonal ratio, 1 within 10 px', () => {
  assert.equal(relativeScale({ width: 1920, height: 1080 }, frame), 1);
  assert.equal(relativeScale({ width: 1915, height: 1075 }, frame), 1);
  assert.ok(Math.abs(relativeScale({ width: 960, height: 540 }, frame) - 2) < 1e-9);
});
