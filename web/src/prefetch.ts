//! Requests the page needs before it can connect (`./transport`, `./turn`), started the moment
//! the script runs instead of one after the other once the app is built: they then overlap the
//! app's set-up and each other, which takes them off the way to the first frame
//! (docs/benchmarks.md, "First frame"). Each prefetched answer is used once, by the first
//! connection; reconnections fetch afresh (TURN credentials expire). The video peer's
//! signalling socket is opened early the same way (`prefetchSocket`): its TCP and WebSocket
//! handshakes then overlap the app's set-up and the peer connection's creation.

const early = new Map<string, Promise<unknown>>();

/** Starts `load` now and keeps its promise for the first [`takeOr`] with the same key. */
export function prefetch<T>(key: string, load: () => Promise<T>): void {
  early.set(key, load());
}

/** The prefetched promise for `key` (once), else a fresh `load()`. */
export function takeOr<T>(key: string, load: () => Promise<T>): Promise<T> {
  const p = early.get(key) as Promise<T> | undefined;
  early.delete(key);
  return p ?? load();
}

let earlySocket: { url: string; ws: WebSocket } | null = null;

/** Opens the signalling socket to `url` now, for the first [`takeSocket`] with that URL. */
export function prefetchSocket(url: string): void {
  earlySocket = { url, ws: new WebSocket(url) };
}

/** The prefetched socket to `url` (once; it may be open already), else null. */
export function takeSocket(url: string): WebSocket | null {
  const s = earlySocket;
  earlySocket = null;
  if (s && s.url === url) return s.ws;
  s?.ws.close();
  return null;
}

/** Closes a prefetched socket nobody took (the page streams over the WebSocket transport). */
export function dropSocket(): void {
  earlySocket?.ws.close();
  earlySocket = null;
}
