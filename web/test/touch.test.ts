import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GestureRecognizer, LONG_PRESS_MS, SCROLL_STEP_PX } from '../src/touch.ts';

const p = (id: number, x: number, y: number) => ({ id, x, y });

test('tap = move + left press + release at the touch point', () => {
  const g = new GestureRecognizer();
  assert.deepEqual(g.update([p(1, 100, 200)], 0), []);
  assert.equal(g.deadline, LONG_PRESS_MS);
  assert.deepEqual(g.update([p(1, 103, 198)], 50), []); // within the slop
  assert.deepEqual(g.update([], 120), [
    { kind: 'move', x: 100, y: 200 },
    { kind: 'button', x: 100, y: 200, button: 0, down: true },
    { kind: 'button', x: 100, y: 200, button: 0, down: false },
  ]);
  assert.equal(g.deadline, null);
});

test('drag: press where the finger landed, move with it, release where it lifts', () => {
  const g = new GestureRecognizer();
  g.update([p(1, 100, 100)], 0);
  assert.deepEqual(g.update([p(1, 130, 100)], 40), [
    { kind: 'move', x: 100, y: 100 },
    { kind: 'button', x: 100, y: 100, button: 0, down: true },
    { kind: 'move', x: 130, y: 100 },
  ]);
  assert.ok(g.dragging);
  assert.deepEqual(g.update([p(1, 160, 120)], 80), [{ kind: 'move', x: 160, y: 120 }]);
  assert.deepEqual(g.update([p(1, 160, 120), p(2, 400, 400)], 90), []); // a second finger does not disturb
  assert.deepEqual(g.tick(10000), []);
  assert.deepEqual(g.update([], 100), [{ kind: 'button', x: 160, y: 120, button: 0, down: false }]);
});

test('long press = right click, then nothing until every finger lifts', () => {
  const g = new GestureRecognizer();
  g.update([p(7, 50, 60)], 1000);
  assert.deepEqual(g.tick(1000 + LONG_PRESS_MS - 1), []);
  assert.deepEqual(g.tick(1000 + LONG_PRESS_MS), [
    { kind: 'move', x: 50, y: 60 },
    { kind: 'button', x: 50, y: 60, button: 2, down: true },
    { kind: 'button', x: 50, y: 60, button: 2, down: false },
  ]);
  assert.deepEqual(g.update([p(7, 90, 60)], 1700), []);
  assert.deepEqual(g.update([], 1800), []);
  // A fresh gesture works again afterwards.
  g.update([p(8, 1, 1)], 2000);
  assert.equal(g.update([], 2010).length, 3);
});

test('two fingers scroll one wheel step per SCROLL_STEP_PX of centroid travel', () => {
  const g = new GestureRecognizer();
  g.update([p(1, 100, 300)], 0);
  assert.deepEqual(g.update([p(1, 100, 300), p(2, 200, 300)], 10), [{ kind: 'move', x: 150, y: 300 }]);
  // Fingers move up by 2.5 steps: content follows the fingers, i.e. scroll down (wheel down).
  const up = g.update([p(1, 100, 300 - 2.5 * SCROLL_STEP_PX), p(2, 200, 300 - 2.5 * SCROLL_STEP_PX)], 20);
  assert.deepEqual(up, [{ kind: 'scroll', x: 150, y: 300 - 2.5 * SCROLL_STEP_PX, up: false, steps: 2 }]);
  // The half step left over counts towards the next one.
  const more = g.update([p(1, 100, 300 - 3 * SCROLL_STEP_PX), p(2, 200, 300 - 3 * SCROLL_STEP_PX)], 30);
  assert.deepEqual(more, [{ kind: 'scroll', x: 150, y: 300 - 3 * SCROLL_STEP_PX, up: false, steps: 1 }]);
  const down = g.update([p(1, 100, 300), p(2, 200, 300)], 40);
  assert.deepEqual(down, [{ kind: 'scroll', x: 150, y: 300, up: true, steps: 3 }]);
  // Lifting one finger ends the scroll without a click.
  assert.deepEqual(g.update([p(1, 100, 300)], 50), []);
  assert.deepEqual(g.update([], 60), []);
});
