//! Polls `navigator.getGamepads()` every 16 ms (legacy timing) and sends what the pure differ
//! (gamepad.ts) reports. Polling starts on the first `gamepadconnected` event, or at once when a
//! pad is already visible, and stops when none is left, so an idle page costs nothing.

import { GamepadDiffer, POLL_MS, type PadSnapshot } from './gamepad.ts';

export class GamepadPoller {
  private readonly differ = new GamepadDiffer();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly send: (text: string) => void,
    private readonly onPads: (pads: Array<{ index: number; id: string }>) => void,
  ) {}

  attach(): void {
    window.addEventListener('gamepadconnected', () => this.start());
    window.addEventListener('gamepaddisconnected', () => this.poll());
    if (this.snapshot().some((p) => p)) this.start();
  }

  /** A new data channel: the host knows no pad, so every pad is announced again. */
  reset(): void {
    this.differ.reset();
    if (this.snapshot().some((p) => p)) this.start();
  }

  private start(): void {
    if (this.timer === null) this.timer = setInterval(() => this.poll(), POLL_MS);
    this.poll();
  }

  private snapshot(): Array<PadSnapshot | null> {
    try {
      return Array.from(navigator.getGamepads?.() ?? [], (p) => p as PadSnapshot | null);
    } catch {
      return []; // blocked by a permissions policy
    }
  }

  private poll(): void {
    const before = this.differ.connected().length;
    const out = this.differ.update(this.snapshot());
    for (const m of out) this.send(m);
    const pads = this.differ.connected();
    if (out.length > 0 && (pads.length !== before || out.some((m) => m.startsWith('js,c') || m.startsWith('js,d')))) {
      this.onPads(pads);
    }
    if (pads.length === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
