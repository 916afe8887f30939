//! The clipboard in the page (docs/protocol.md §6.4): the "enable clipboard" button asks for the
//! permission (a read prompts) and then requests the host clipboard (`cr`); the local clipboard
//! goes to the host whenever the window gains focus and its text changed; host clipboard
//! messages are written locally while access is enabled. Wire details live in clipboard.ts.

import { ClipboardAssembler, clipboardMessages, parseClipboard } from './clipboard.ts';
import * as msg from './messages.ts';

export interface ClipboardEvents {
  send(text: string): boolean;
  status(enabled: boolean, detail: string): void;
  log(text: string): void;
  /** Every text that arrived from the host (the e2e hooks record it). */
  received(text: string): void;
}

export class ClipboardSync {
  private enabled = false;
  private lastSent: string | null = null;
  private readonly assembler = new ClipboardAssembler();

  constructor(private readonly ev: ClipboardEvents) {}

  async attach(): Promise<void> {
    window.addEventListener('focus', () => void this.push());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') void this.push();
    });
    this.enabled = await clipboardReadPermitted();
    this.ev.status(this.enabled, this.enabled ? '' : 'click to enable');
  }

  /** The button: a read prompts for permission; success enables both directions. */
  async enable(): Promise<void> {
    if (!navigator.clipboard) {
      this.ev.status(false, 'needs HTTPS or localhost');
      this.ev.log('clipboard: the browser offers no clipboard API here (HTTPS or localhost needed)');
      return;
    }
    try {
      await navigator.clipboard.readText();
      this.enabled = true;
      this.ev.status(true, '');
      this.ev.send(msg.CLIPBOARD_READ);
      await this.push();
    } catch (e) {
      this.ev.status(false, 'permission refused');
      this.ev.log(`clipboard: access refused: ${String(e)}`);
    }
  }

  /** A new data channel: the host's view of our clipboard is unknown, send it again on focus. */
  channelOpened(): void {
    this.lastSent = null;
    if (this.enabled) {
      this.ev.send(msg.CLIPBOARD_READ);
      if (document.hasFocus()) void this.push();
    }
  }

  /** Host `clipboard` (whole) or `clipboard_part` message. */
  hostMessage(type: string, data: unknown): void {
    let text: string | null;
    if (type === 'clipboard_part') {
      const r = this.assembler.add(data);
      if (r === null) return;
      if ('error' in r) {
        this.ev.log(r.error);
        return;
      }
      text = r.text;
    } else {
      text = parseClipboard(data);
      if (text === null) {
        this.ev.log('clipboard: host message is not base64 UTF-8');
        return;
      }
    }
    // What the host holds is now this text: do not echo it back on the next focus.
    this.lastSent = text;
    this.ev.received(text);
    if (!this.enabled || !navigator.clipboard) return;
    navigator.clipboard.writeText(text).catch((e: unknown) => this.ev.log(`clipboard: write refused: ${String(e)}`));
  }

  /** Sends the local clipboard when access is enabled and its text changed. */
  async push(): Promise<void> {
    if (!this.enabled || !navigator.clipboard) return;
    let text: string;
    try {
      text = await navigator.clipboard.readText();
    } catch {
      return; // not focused, or permission revoked: try again on the next focus
    }
    // An empty local clipboard (a fresh browser) must not wipe the desktop's on connect.
    if (text === '' || text === this.lastSent) return;
    let parts: string[];
    try {
      parts = clipboardMessages(text);
    } catch (e) {
      this.ev.log(`clipboard: ${String(e instanceof Error ? e.message : e)}; not sent`);
      return;
    }
    if (parts.every((p) => this.ev.send(p))) {
      this.lastSent = text;
      this.ev.log(`clipboard: sent ${text.length} characters to the host${parts.length > 1 ? ` in ${parts.length} parts` : ''}`);
    }
  }

}

/** Whether the page may read the clipboard without a prompt (false where it cannot ask). */
export async function clipboardReadPermitted(): Promise<boolean> {
  try {
    const st = await navigator.permissions.query({ name: 'clipboard-read' as PermissionName });
    return st.state === 'granted';
  } catch {
    return false;
  }
}
