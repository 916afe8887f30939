import assert from 'node:assert/strict';
import { test } from 'node:test';
import { milestone, milestoneTimes } from '../src/milestones.ts';

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
