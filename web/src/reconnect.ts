//! The reconnect backoff shared by both transports (`Session` over WebRTC, `WsSession` over the
//! WebSocket): how long to wait after a lost session, and the status line and e2e counter that
//! announce the retry. Kept in one place so both transports retry alike.

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

/** Announces a lost session and schedules `start` after the backoff delay; returns the timer. */
export function scheduleRetry(
  backoff: Backoff,
  reason: string,
  wasOpen: boolean,
  ui: SessionUi,
  hooks: E2eHooks | null,
  start: () => void,
): ReturnType<typeof setTimeout> {
  const delay = backoff.next(wasOpen);
  if (hooks) hooks.reconnects++;
  ui.status(`${reason}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
  return setTimeout(start, delay);
}
