//! Page-load milestones towards the first video frame (script start, WebSocket open and HELLO,
//! offer received, answer sent, ICE and DTLS connected, first RTP, first frame decoded and
//! shown): each is a `performance.mark` named `selkies:<peer> <what>` the first time it happens
//! in the page's life, so reconnections do not move them. `ci/bench-e2e` reads them
//! (`performance.getEntriesByType('mark')`) and prints a median per milestone; DevTools shows
//! them on the performance timeline. A mark is a few hundred bytes once per page: nothing on
//! the per-frame path.

/** The first video frame shown: the end of the page's start. */
export const FIRST_FRAME = 'video first frame shown';

// Shared by the page's two bundles (boot.js marks the early socket's milestones, app.js the
// rest and waits on some): one record per page, on the page's global object.
const shared = ((globalThis as { __selkiesMilestones?: { seen: Set<string>; waiting: Map<string, Array<() => void>> } })
  .__selkiesMilestones ??= { seen: new Set(), waiting: new Map() });
const seen = shared.seen;
const waiting = shared.waiting;

/** Marks `name` (once per page) and runs what waits on it. */
export function milestone(name: string): void {
  if (seen.has(name)) return;
  seen.add(name);
  const then = waiting.get(name) ?? [];
  waiting.delete(name);
  for (const fn of then) fn();
  try {
    performance.mark(`selkies:${name}`);
  } catch {
    // No performance timeline (a worker or test without it): the milestone is not recorded.
  }
}

/**
 * Runs `fn` once, when `name` is marked or after `timeoutMs`, whichever comes first (at once if
 * it already was): for work that must not compete with the start of the stream.
 */
export function afterMilestone(name: string, timeoutMs: number, fn: () => void): void {
  if (seen.has(name)) {
    fn();
    return;
  }
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    fn();
  };
  waiting.set(name, [...(waiting.get(name) ?? []), once]);
  setTimeout(once, timeoutMs);
}

/** ms since navigation start of each milestone, in the order they happened. */
export function milestoneTimes(entries: ReadonlyArray<{ name: string; startTime: number }>): Array<[string, number]> {
  return entries
    .filter((e) => e.name.startsWith('selkies:'))
    .map((e): [string, number] => [e.name.slice('selkies:'.length), e.startTime])
    .sort((a, b) => a[1] - b[1]);
}

/**
 * Marks the connection milestones of one peer connection: ICE connected, DTLS connected (the
 * connection state, which follows the DTLS handshake) and, for its first incoming track, the
 * first RTP packet (the track unmutes) and, for video, the first decoded frame. Uses listeners,
 * so the peer's own handlers stay as they are.
 */
export function watchPeer(name: string, pc: RTCPeerConnection): void {
  pc.addEventListener('iceconnectionstatechange', () => {
    if (pc.iceConnectionState === 'connected') milestone(`${name} ICE connected`);
  });
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'connected') milestone(`${name} DTLS connected`);
  });
  pc.addEventListener('track', (ev) => {
    milestone(`${name} track`);
    const t = ev.track;
    if (!t.muted) milestone(`${name} first RTP`);
    else t.addEventListener('unmute', () => milestone(`${name} first RTP`), { once: true });
  });
}
