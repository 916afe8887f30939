//! PNG images through the clipboard (docs/protocol.md §15.3), next to the text of
//! clipboard-sync.ts and with the same rules: on a new data channel the client says it takes
//! images (`cio`, which the legacy client never sends, so the host never sends it images); when
//! the window gains focus a PNG on the local clipboard that changed goes to the host in
//! `cwip,<index>,<count>,<b64>` parts; the host's `clipboard_image` parts are reassembled and
//! written to the local clipboard. Reading needs the clipboard permission the text side asks for.

import { clipboardReadPermitted } from './clipboard-sync.ts';

/** Raw bytes per part: 45 KiB → 61440 base64 characters, like the text parts. */
export const IMAGE_PART_BYTES = 45 * 1024;
/** The host's limit too: larger images are not sent. */
export const MAX_IMAGE_BYTES = 16 * 1024 * 1024;

function toB64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromB64(b64: string): Uint8Array | null {
  try {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** The `cwip` messages that carry `png`. */
export function imageParts(png: Uint8Array): string[] {
  if (png.length === 0 || png.length > MAX_IMAGE_BYTES) return [];
  const count = Math.ceil(png.length / IMAGE_PART_BYTES);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(`cwip,${i},${count},${toB64(png.subarray(i * IMAGE_PART_BYTES, (i + 1) * IMAGE_PART_BYTES))}`);
  return out;
}

/** Reassembles `clipboard_image` parts; part 0 starts a new image. */
export class ImageAssembler {
  private parts: Uint8Array[] = [];
  private expected: { next: number; count: number } | null = null;

  /** The whole image after the last part, null before, an error text when out of order. */
  add(data: unknown): Uint8Array | null | { error: string } {
    const d = data as { index?: unknown; count?: unknown; content?: unknown } | null;
    const index = Number(d?.index);
    const count = Number(d?.count);
    const bytes = typeof d?.content === 'string' ? fromB64(d.content) : null;
    if (!Number.isInteger(index) || !Number.isInteger(count) || count < 1 || index >= count || !bytes) {
      this.expected = null;
      return { error: 'clipboard image: malformed part' };
    }
    if (index === 0) {
      this.parts = [];
      this.expected = { next: 0, count };
    }
    if (!this.expected || this.expected.next !== index || this.expected.count !== count) {
      this.expected = null;
      return { error: `clipboard image: part ${index}/${count} out of sequence` };
    }
    this.parts.push(bytes);
    if (index + 1 < count) {
      this.expected = { next: index + 1, count };
      return null;
    }
    this.expected = null;
    const total = this.parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    this.parts = [];
    return out;
  }
}

/** The page side: sends the local PNG on focus, writes the host's PNG locally. */
export class ClipboardImages {
  private lastSent: string | null = null;
  private readonly assembler = new ImageAssembler();

  constructor(
    private readonly send: (text: string) => boolean,
    private readonly log: (text: string) => void,
  ) {}

  attach(): void {
    window.addEventListener('focus', () => void this.push());
  }

  /** A new data channel: opt in, and let the next focus send the local image again. */
  channelOpened(): void {
    this.lastSent = null;
    this.send('cio');
  }

  hostMessage(data: unknown): void {
    const r = this.assembler.add(data);
    if (r === null) return;
    if ('error' in r) {
      this.log(r.error);
      return;
    }
    // The host holds this image now: do not send it back on the next focus.
    this.lastSent = toB64(r);
    if (!navigator.clipboard?.write || typeof ClipboardItem === 'undefined') return;
    const blob = new Blob([r as BlobPart], { type: 'image/png' });
    navigator.clipboard
      .write([new ClipboardItem({ 'image/png': blob })])
      .then(() => this.log(`clipboard: image of ${r.length} bytes from the host`))
      .catch((e: unknown) => this.log(`clipboard: image write refused: ${String(e)}`));
  }

  /** Sends the local clipboard's PNG when there is one and it changed. */
  async push(): Promise<void> {
    // Only once the user has granted clipboard access (the drawer's clipboard button): a read
    // without it would prompt on every focus.
    if (!navigator.clipboard?.read || !(await clipboardReadPermitted())) return;
    let png: Uint8Array | null = null;
    try {
      for (const item of await navigator.clipboard.read()) {
        if (item.types.includes('image/png')) {
          png = new Uint8Array(await (await item.getType('image/png')).arrayBuffer());
          break;
        }
      }
    } catch {
      return; // no permission or not focused: the text side reports it
    }
    if (!png) return;
    const b64 = toB64(png);
    if (b64 === this.lastSent) return;
    const parts = imageParts(png);
    if (parts.length === 0) {
      this.log(`clipboard: image of ${png.length} bytes is over the limit; not sent`);
      return;
    }
    if (parts.every((p) => this.send(p))) {
      this.lastSent = b64;
      this.log(`clipboard: sent an image of ${png.length} bytes to the host`);
    }
  }

}
