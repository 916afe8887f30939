//! Pure clipboard wire logic (docs/protocol.md §4.1 `cw`, §4.2 `clipboard`, §6.4). Text travels
//! as base64 of its UTF-8 bytes. A text whose `cw` message fits the legacy 65400-byte cap goes as
//! one legacy message; larger texts (the 1 MB case) use our multi-part extension, because a
//! single SCTP message is limited to 64–256 KiB by the browsers:
//!   browser → host: `cwp,<index>,<count>,<b64 of one byte slice>`
//!   host → browser: `{"type": "clipboard_part", "data": {"index": i, "count": n, "content": "<b64>"}}`
//! Parts go in order on the reliable, ordered `input` channel; each part is independent base64
//! of a slice of the UTF-8 bytes, and the text is the UTF-8 decoding of their concatenation.

import { base64ToBytes, base64ToUtf8, bytesToBase64 } from './messages.ts';

/** Legacy host → browser cap on the base64 payload; used for the browser → host side too. */
export const SINGLE_MESSAGE_MAX_B64 = 65400;
/** Raw bytes per part: 45 KiB → 61440 base64 characters, under any SCTP message limit. */
export const PART_BYTES = 45 * 1024;
/** Refuse (with a log line, never silently) anything larger than this. */
export const CLIPBOARD_MAX_BYTES = 16 * 1024 * 1024;

export class ClipboardTooLarge extends Error {
  constructor(readonly bytes: number) {
    super(`clipboard text of ${bytes} bytes exceeds the ${CLIPBOARD_MAX_BYTES}-byte limit`);
  }
}

/** The data-channel messages that carry `text` to the host. */
export function clipboardMessages(text: string): string[] {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > CLIPBOARD_MAX_BYTES) throw new ClipboardTooLarge(bytes.length);
  const whole = bytesToBase64(bytes);
  if (whole.length <= SINGLE_MESSAGE_MAX_B64) return [`cw,${whole}`];
  const count = Math.ceil(bytes.length / PART_BYTES);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    out.push(`cwp,${i},${count},${bytesToBase64(bytes.subarray(i * PART_BYTES, (i + 1) * PART_BYTES))}`);
  }
  return out;
}

/** `clipboard` payload → text; null when malformed (never a throw). */
export function parseClipboard(data: unknown): string | null {
  if (typeof data !== 'object' || data === null) return null;
  const content = (data as Record<string, unknown>).content;
  return typeof content === 'string' ? base64ToUtf8(content) : null;
}

/** Reassembles `clipboard_part` messages; a part 0 always starts over. */
export class ClipboardAssembler {
  private parts: Uint8Array[] = [];
  private count = 0;
  private bytes = 0;

  /** Feeds one part; returns the text when it completed one, else null. Errors reset. */
  add(data: unknown): { text: string } | { error: string } | null {
    if (typeof data !== 'object' || data === null) return this.fail('not an object');
    const d = data as Record<string, unknown>;
    const { index, count, content } = d;
    if (typeof index !== 'number' || typeof count !== 'number' || typeof content !== 'string') {
      return this.fail('missing index/count/content');
    }
    if (!Number.isInteger(index) || !Number.isInteger(count) || count < 1 || index < 0 || index >= count) {
      return this.fail(`bad part ${index}/${count}`);
    }
    if (index === 0) {
      this.parts = [];
      this.count = count;
      this.bytes = 0;
    } else if (count !== this.count || index !== this.parts.length) {
      return this.fail(`part ${index}/${count} out of sequence`);
    }
    const bytes = base64ToBytes(content);
    if (!bytes) return this.fail(`part ${index} is not base64`);
    this.bytes += bytes.length;
    if (this.bytes > CLIPBOARD_MAX_BYTES) return this.fail(`more than ${CLIPBOARD_MAX_BYTES} bytes`);
    this.parts.push(bytes);
    if (this.parts.length < this.count) return null;
    const all = new Uint8Array(this.bytes);
    let off = 0;
    for (const p of this.parts) {
      all.set(p, off);
      off += p.length;
    }
    this.parts = [];
    this.count = 0;
    this.bytes = 0;
    try {
      return { text: new TextDecoder('utf-8', { fatal: true }).decode(all) };
    } catch {
      return { error: 'reassembled clipboard is not UTF-8' };
    }
  }

  private fail(why: string): { error: string } {
    this.parts = [];
    this.count = 0;
    this.bytes = 0;
    return { error: `clipboard_part: ${why}` };
  }
}
