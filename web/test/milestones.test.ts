import assert from 'node:assert/strict';
import { test } from 'node:test';
import { afterMilestone, milestone, milestoneTimes } from '../src/milestones.ts';

test('only our marks, without the prefix, in time order', () => {
  const entries = [
    { name: 'selkies:video offer received', startTime: 120 },
    { name: 'other-library-mark', startTime: 5 },
    { name: 'selkies:script start', startTime: 30 },
  ];
  assert.deepEqual(milestoneTimes(entries), [
    ['script start', 30],
    ['video offer received', 120],
  ]);
});

test('a milestone is marked once per page', () => {
  milestone('unit once');
  milestone('unit once');
  const marks = performance.getEntriesByName('selkies:unit once');
  assert.equal(marks.length, 1);
});

test('work waiting on a milestone runs once, when it is marked', async () => {
  const ran: string[] = [];
  afterMilestone('unit later', 10000, () => ran.push('later'));
  assert.equal(ran.length, 0);
  milestone('unit later');
  milestone('unit later');
  assert.deepEqual(ran, ['later']);
  // Already marked: at once.
  afterMilestone('unit later', 10000, () => ran.push('again'));
  assert.deepEqual(ran, ['later', 'again']);
});

test('work waiting on a milestone that never comes runs after the timeout, once', async () => {
  const ran: string[] = [];
  afterMilestone('unit never', 5, () => ran.push('timeout'));
  await new Promise((r) => setTimeout(r, 20));
  milestone('unit never');
  assert.deepEqual(ran, ['timeout']);
});
