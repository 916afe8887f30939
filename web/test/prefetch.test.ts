import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prefetch, takeOr } from '../src/prefetch.ts';

test('a prefetched answer is used once, then loads are fresh', async () => {
  let calls = 0;
  const load = async (): Promise<number> => ++calls;
  prefetch('k', load);
  assert.equal(calls, 1, 'started at once');
  assert.equal(await takeOr('k', load), 1);
  assert.equal(calls, 1, 'not fetched again');
  assert.equal(await takeOr('k', load), 2);
  assert.equal(await takeOr('other', load), 3);
});

test('a kept value (the early HELLO token) is taken once', async () => {
  const { keep, takeKept } = await import('../src/prefetch.ts');
  keep('token', 'abc');
  assert.equal(takeKept<string>('token'), 'abc');
  assert.equal(takeKept<string>('token'), undefined, 'a reconnection makes its own');
});
