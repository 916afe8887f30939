import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHUNK_BYTES, chunkUrl, formatBytes, nextChunk, retryDelayMs, startUrl } from '../src/files.ts';

test('chunks cover the file exactly and resume from any offset', () => {
  assert.deepEqual(nextChunk(0, 10, 4), [0, 4]);
  assert.deepEqual(nextChunk(8, 10, 4), [8, 10]);
  assert.equal(nextChunk(10, 10, 4), null);
  assert.equal(nextChunk(0, 0), null);
  // A resume from a mid-chunk offset the host reported.
  assert.deepEqual(nextChunk(5, 100, 8), [5, 13]);
  let covered = 0;
  for (let c = nextChunk(0, 3 * CHUNK_BYTES + 1); c; c = nextChunk(c[1], 3 * CHUNK_BYTES + 1)) covered += c[1] - c[0];
  assert.equal(covered, 3 * CHUNK_BYTES + 1);
});

test('retries back off to five seconds', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 9].map(retryDelayMs), [500, 1000, 2000, 4000, 5000, 5000]);
});

test('sizes read like a file manager', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(64 * 1024 * 1024), '64.0 MB');
});

test('names travel percent-encoded, traversal included (the host sanitises them)', () => {
  assert.equal(startUrl('./files/', '../../etc/passwd', 5), './files/upload?name=..%2F..%2Fetc%2Fpasswd&size=5');
  assert.equal(startUrl('./files/', 'a&b=c 履.txt', 1), './files/upload?name=a%26b%3Dc%20%E5%B1%A5.txt&size=1');
  assert.equal(chunkUrl('./files/', 'abc', 42), './files/upload/abc?offset=42');
});
