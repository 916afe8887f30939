//! Pure wheel normalisation with the legacy client's semantics (docs/protocol.md §4.1):
//! one wheel event becomes a press and a release of mask bit 3 (down) or 4 (up), with a
//! magnitude = min(10, floor(|trunc(deltaY)| / smallest non-zero |deltaY| seen)), and a trackpad
//! heuristic that throttles to one event per 100 ms until a physical wheel is recognised.

export const WHEEL_MAX_MAGNITUDE = 10;
export const TRACKPAD_THROTTLE_MS = 100;
/** Mask bits the legacy client reuses for the wheel: bit 3 = scroll down, bit 4 = scroll up. */
export const WHEEL_DOWN_BIT = 1 << 3;
export const WHEEL_UP_BIT = 1 << 4;

export interface WheelStep {
  /** The mask bit to set in the first message and clear in the second. */
  bit: number;
  magnitude: number;
}

/**
 * Stateful normaliser: feed it every `wheel` event; it answers the step to send or null.
 * Deliberate difference from the legacy client: a purely horizontal event (deltaY = 0) is
 * dropped, because the protocol has no horizontal bits and legacy turned it into "scroll down".
 */
export class WheelNormaliser {
  private smallest = Number.POSITIVE_INFINITY;
  private samples: number[] = [];
  private trackpad = true;
  private lastSentMs = Number.NEGATIVE_INFINITY;

  handle(deltaY: number, nowMs: number): WheelStep | null {
    const abs = Math.abs(Math.trunc(deltaY));
    this.sample(abs);
    if (abs === 0) return null;
    if (this.trackpad) {
      if (nowMs - this.lastSentMs < TRACKPAD_THROTTLE_MS) return null;
      this.lastSentMs = nowMs;
    }
    if (abs < this.smallest) this.smallest = abs;
    const magnitude = Math.min(WHEEL_MAX_MAGNITUDE, Math.floor(abs / this.smallest));
    return { bit: deltaY < 0 ? WHEEL_UP_BIT : WHEEL_DOWN_BIT, magnitude };
  }

  /** True once a physical wheel was recognised (no more throttling). */
  get isWheel(): boolean {
    return !this.trackpad;
  }

  // Every 4 events: two or more adjacent equal pairs of |deltaY| ≥ 80 means notched wheel clicks.
  private sample(abs: number): void {
    this.samples.push(abs);
    if (this.samples.length < 4) return;
    let pairs = 0;
    for (let i = 1; i < this.samples.length; i++) {
      const a = this.samples[i - 1] ?? 0;
      if (a >= 80 && a === this.samples[i]) pairs++;
    }
    if (pairs >= 2 && this.trackpad) {
      this.trackpad = false;
      this.smallest = Number.POSITIVE_INFINITY;
    }
    this.samples = [];
  }
}
