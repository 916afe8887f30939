import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClipboardAssembler, clipboardMessages, ClipboardTooLarge, CLIPBOARD_MAX_BYTES, parseClipboard, PART_BYTES } from '../src/clipboard.ts';
import { base64ToUtf8, utf8ToBase64 } from '../src/messages.ts';

test('reference vector: héllo ↔ aMOpbGxv (docs/protocol.md §12)', () => {
  assert.deepEqual(clipboardMessages('héllo'), ['cw,aMOpbGxv']);
  assert.equal(parseClipboard({ content: 'aMOpbGxv' }), 'héllo');
  assert.equal(utf8ToBase64('日本語 ✓'), '5pel5pys6KqeIOKckw==');
  assert.equal(base64ToUtf8('5pel5pys6KqeIOKckw=='), '日本語 ✓');
  assert.equal(base64ToUtf8('/w=='), null); // 0xff is not UTF-8
  assert.equal(base64ToUtf8('***'), null);
  assert.equal(parseClipboard({ content: 5 }), null);
  assert.equal(parseClipboard(null), null);
});

test('a 1 MB non-Latin text goes in ordered parts that reassemble exactly', () => {
  const text = 'Grüße, мир, 世界 🙂 '.repeat(40000); // ~1.1 MB of UTF-8
  const parts = clipboardMessages(text);
  const bytes = new TextEncoder().encode(text).length;
  assert.equal(parts.length, Math.ceil(bytes / PART_BYTES));
  assert.ok(parts.every((p) => p.length < 65536), 'every part fits a 64 KiB SCTP message');
  const a = new ClipboardAssembler();
  let out: ReturnType<ClipboardAssembler['add']> = null;
  parts.forEach((m, i) => {
    const [, index, count, content] = m.split(',');
    assert.equal(Number(index), i);
    out = a.add({ index: Number(index), count: Number(count), content });
    if (i < parts.length - 1) assert.equal(out, null);
  });
  assert.deepEqual(out, { text });
});

test('parts out of order or malformed reset the assembly with an error', () => {
  const a = new ClipboardAssembler();
  assert.deepEqual(a.add({ index: 1, count: 2, content: 'YQ==' }), { error: 'clipboard_part: part 1/2 out of sequence' });
  assert.equal(a.add({ index: 0, count: 2, content: 'YQ==' }), null);
  assert.ok('error' in (a.add({ index: 1, count: 3, content: 'Yg==' }) ?? {}));
  assert.ok('error' in (a.add({ index: 0, count: 0, content: '' }) ?? {}));
  assert.ok('error' in (a.add({ index: 0, count: 1, content: '%%' }) ?? {}));
  assert.ok('error' in (a.add('x') ?? {}));
  // A new part 0 always starts over, so a good sequence after garbage works.
  assert.equal(a.add({ index: 0, count: 2, content: 'w6k=' }), null);
  assert.deepEqual(a.add({ index: 1, count: 2, content: 'YQ==' }), { text: 'éa' });
});

test('over the size limit: refused with a clear error, never truncated', () => {
  assert.throws(() => clipboardMessages('a'.repeat(CLIPBOARD_MAX_BYTES + 1)), ClipboardTooLarge);
});
