//! Pure gamepad diffing with the legacy client's rules (docs/web-client.md "What the client does"): at most
//! four pads, only changes are sent, axis values with |v| < 0.05 snap to 0, `js,c` when a pad
//! appears (axes before buttons), `js,d` when it goes. The poller (gamepad-poll.ts) feeds it
//! snapshots of `navigator.getGamepads()` every 16 ms.

import * as msg from './messages.ts';

export const MAX_PADS = 4;
export const DEAD_ZONE = 0.05;
export const POLL_MS = 16;

/** The fields of a W3C `Gamepad` this module reads (real pads and test doubles alike). */
export interface PadSnapshot {
  index: number;
  id: string;
  connected?: boolean;
  axes: readonly number[];
  buttons: ReadonlyArray<{ value: number; pressed?: boolean }>;
}

export function deadZone(v: number): number {
  if (!Number.isFinite(v)) return 0;
  return Math.abs(v) < DEAD_ZONE ? 0 : Math.max(-1, Math.min(1, v));
}

/** A button's analog value; digital pads report only `pressed`. */
function buttonValue(b: { value: number; pressed?: boolean }): number {
  const v = Number.isFinite(b.value) ? Math.max(0, Math.min(1, b.value)) : 0;
  return v === 0 && b.pressed ? 1 : v;
}

interface PadMemory {
  id: string;
  axes: number[];
  buttons: number[];
}

export class GamepadDiffer {
  private readonly pads = new Map<number, PadMemory>();

  /** Ids of the pads currently known, by index (for the status icon). */
  connected(): Array<{ index: number; id: string }> {
    return [...this.pads.entries()].sort((a, b) => a[0] - b[0]).map(([index, p]) => ({ index, id: p.id }));
  }

  /** Messages for the changes since the previous snapshot, in pad order. */
  update(snapshot: ReadonlyArray<PadSnapshot | null | undefined>): string[] {
    const out: string[] = [];
    const seen = new Set<number>();
    for (const pad of snapshot) {
      if (!pad || pad.connected === false) continue;
      const i = pad.index;
      if (!Number.isInteger(i) || i < 0 || i >= MAX_PADS || seen.has(i)) continue;
      seen.add(i);
      let mem = this.pads.get(i);
      if (mem && mem.id !== pad.id) {
        // Another pad took the slot between two polls: the host must rebuild its device.
        out.push(msg.gamepadDisconnect(i));
        mem = undefined;
      }
      if (!mem) {
        mem = { id: pad.id, axes: pad.axes.map(() => 0), buttons: pad.buttons.map(() => 0) };
        this.pads.set(i, mem);
        out.push(msg.gamepadConnect(i, pad.id, pad.axes.length, pad.buttons.length));
      }
      pad.buttons.forEach((b, n) => {
        const v = buttonValue(b);
        if (mem.buttons[n] !== v) {
          mem.buttons[n] = v;
          out.push(msg.gamepadButton(i, n, v));
        }
      });
      pad.axes.forEach((a, n) => {
        const v = deadZone(a);
        if (mem.axes[n] !== v) {
          mem.axes[n] = v;
          out.push(msg.gamepadAxis(i, n, v));
        }
      });
    }
    for (const i of [...this.pads.keys()]) {
      if (!seen.has(i)) {
        this.pads.delete(i);
        out.push(msg.gamepadDisconnect(i));
      }
    }
    return out;
  }

  /** Forgets every pad without messages (a new host session knows none of them). */
  reset(): void {
    this.pads.clear();
  }
}
