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
