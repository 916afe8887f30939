import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IMAGE_PART_BYTES, ImageAssembler, imageParts, MAX_IMAGE_BYTES } from '../src/clipboard-image.ts';

test('an image goes out in cwip parts and comes back whole', () => {
  const png = new Uint8Array(2 * IMAGE_PART_BYTES + 7).map((_, i) => (i * 7) % 256);
  const parts = imageParts(png);
  assert.equal(parts.length, 3);
  assert.match(parts[0] ?? '', /^cwip,0,3,/);
  // The host's clipboard_image parts carry the same fields.
  const a = new ImageAssembler();
  let out: unknown = null;
  parts.forEach((p) => {
    const [, index, count, content] = p.split(',');
    out = a.add({ index: Number(index), count: Number(count), content });
  });
  assert.deepEqual(out, png);
});

test('empty, oversized and out-of-order images are refused', () => {
  assert.deepEqual(imageParts(new Uint8Array(0)), []);
  assert.deepEqual(imageParts(new Uint8Array(MAX_IMAGE_BYTES + 1)), []);
  const a = new ImageAssembler();
  assert.ok('error' in (a.add({ index: 1, count: 2, content: 'AAAA' }) as object));
  assert.ok('error' in (a.add({ index: 0, count: 1, content: 7 }) as object));
  assert.equal(a.add({ index: 0, count: 2, content: 'AAAA' }), null);
  assert.ok('error' in (a.add({ index: 1, count: 3, content: 'AAAA' }) as object));
});
