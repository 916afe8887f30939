import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JitterBuffer } from '../src/jitter.ts';

const ramp = (from: number, n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => from + i);
const out = (n: number): Float32Array[] => [new Float32Array(n), new Float32Array(n)];

test('playback waits for the target, then plays in order', () => {
  const b = new JitterBuffer(2, 100, 30);
  b.push([ramp(0, 20), ramp(100, 20)]);
  const o = out(10);
  assert.equal(b.pull(o), 0, 'below the target: silence');
  assert.deepEqual(Array.from(o[0] ?? []), new Array(10).fill(0));
  b.push([ramp(20, 20), ramp(120, 20)]);
  assert.equal(b.pull(o), 10);
  assert.deepEqual(Array.from(o[0] ?? []), Array.from(ramp(0, 10)));
  assert.deepEqual(Array.from(o[1] ?? []), Array.from(ramp(100, 10)));
  assert.equal(b.buffered, 30);
});

test('an underrun pads with silence and re-buffers to the target', () => {
  const b = new JitterBuffer(1, 100, 10);
  b.push([ramp(1, 12)]);
  const o = [new Float32Array(16)];
  assert.equal(b.pull(o), 12);
  assert.deepEqual(Array.from(o[0]?.subarray(12) ?? []), [0, 0, 0, 0]);
  assert.equal(b.underruns, 4);
  b.push([ramp(50, 5)]);
  assert.equal(b.pull([new Float32Array(4)]), 0, 'waits for the target again');
});

test('the buffer never holds more than its bound: the oldest samples go', () => {
  const b = new JitterBuffer(1, 50, 10);
  for (let i = 0; i < 10; i++) b.push([ramp(i * 20, 20)]);
  assert.equal(b.buffered, 50);
  assert.equal(b.dropped, 150);
  const o = [new Float32Array(50)];
  assert.equal(b.pull(o), 50);
  assert.deepEqual(Array.from(o[0] ?? []), Array.from(ramp(150, 50)), 'the newest 50 remain');
  const big = new JitterBuffer(1, 8, 2);
  big.push([ramp(0, 20)]);
  assert.equal(big.buffered, 8);
  const o2 = [new Float32Array(8)];
  big.pull(o2);
  assert.deepEqual(Array.from(o2[0] ?? []), Array.from(ramp(12, 8)));
});

test('mono input feeds both output channels', () => {
  const b = new JitterBuffer(2, 10, 1);
  b.push([ramp(5, 3)]);
  const o = out(3);
  b.pull(o);
  assert.deepEqual(Array.from(o[1] ?? []), [5, 6, 7]);
});
