//! The reconnect lifecycle shared by both transports (`Session` over WebRTC, `WsSession` over
//! the WebSocket): the backoff after a lost session, the one pending retry, the status line and
//! e2e counter that announce it, and the "stopped for good" state. Kept in one place so both
//! transports retry alike.

import type { E2eHooks } from './e2e.ts';
import type { SessionUi } from './session.ts';

/** Delays between tries; the last one repeats. */
const RETRY_MS = [500, 1000, 2000, 3000];

/** Counts the failed tries since the last session that came up. */
export class Backoff {
  private attempt = 0;

  /** A session came up: the next loss retries fast again. */
  reset(): void {
    this.attempt = 0;
  }

  /** The delay before the next try. A session that was up restarts fast (host restart);
   *  repeated failures back off to 3 s. */
  next(wasOpen: boolean): number {
    if (wasOpen) this.attempt = 0;
    const delay = RETRY_MS[Math.min(this.attempt, RETRY_MS.length - 1)] ?? 3000;
    this.attempt++;
    return delay;
  }
}

/** One transport's retry state: at most one retry pending, none after `stop()`. */
export class Retrier {
  private readonly backoff = new Backoff();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ended = false;

  constructor(
    private readonly ui: SessionUi,
    private readonly hooks: E2eHooks | null,
  ) {}

  /** True once the session was stopped for good: nothing may start again. */
  get stopped(): boolean {
    return this.ended;
  }

  /** A start is under way (the pending retry, if any, has fired); false when stopped. */
  begin(): boolean {
    this.timer = null;
    return !this.ended;
  }

  /** Drops the pending retry, if any. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Stops for good: no retry now or later. */
  stop(): void {
    this.ended = true;
    this.cancel();
  }

  /** A session came up: the next loss retries fast. */
  up(): void {
    this.backoff.reset();
  }

  /** A session was lost: unless a retry is already pending or the transport stopped, tear it
   *  down, announce the retry and schedule `start` after the backoff delay. */
  lost(reason: string, wasOpen: boolean, teardown: () => void, start: () => void): void {
    if (this.timer || this.ended) return;
    teardown();
    const delay = this.backoff.next(wasOpen);
    if (this.hooks) this.hooks.reconnects++;
    this.ui.status(`${reason}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
    this.timer = setTimeout(start, delay);
  }
}
