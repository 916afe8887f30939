//! Requests the page needs before it can connect (`./transport`, `./turn`), started the moment
//! the script runs instead of one after the other once the app is built: they then overlap the
//! app's set-up and each other, which takes them off the way to the first frame
//! (docs/benchmarks.md, "First frame"). Each prefetched answer is used once, by the first
//! connection; reconnections fetch afresh (TURN credentials expire). The video peer's
//! signalling socket is opened early the same way (`prefetchSocket`) and sends the video peer's
//! HELLO itself (`early.ts`), so the host's offer is on its way while the app is built; the
//! video peer's `RTCPeerConnection` is created then too (`prefetchPeer`).
//!
//! The page's first script, `boot.js` (`boot.ts`), starts all of this before `app.js` has even
//! downloaded; both bundles carry a copy of this module, so what it keeps lives on one object of
//! the page (`globalThis.__selkiesEarly`), not in module variables.

import { milestone } from './milestones.ts';
import type { EarlySocket } from './signalling.ts';

interface EarlyState {
  early: Map<string, Promise<unknown>>;
  kept: Map<string, unknown>;
  socket: { url: string; early: EarlySocket } | null;
  pc: RTCPeerConnection | null;
  /** `startEarly` ran (boot.js, or main.ts where boot.js did not). */
  started: boolean;
}

const state: EarlyState = ((globalThis as { __selkiesEarly?: EarlyState }).__selkiesEarly ??= {
  early: new Map(),
  kept: new Map(),
  socket: null,
  pc: null,
  started: false,
});
const early = state.early;

/** True the first time it is called in a page, false after (boot.js and app.js both ask). */
export function firstStart(): boolean {
  if (state.started) return false;
  state.started = true;
  return true;
}

/** Starts `load` now and keeps its promise for the first [`takeOr`] with the same key. */
export function prefetch<T>(key: string, load: () => Promise<T>): void {
  early.set(key, load());
}

/** The prefetched promise for `key` (once), else undefined. */
export function takePrefetched<T>(key: string): Promise<T> | undefined {
  const p = early.get(key) as Promise<T> | undefined;
  early.delete(key);
  return p;
}

/** The prefetched promise for `key` (once), else a fresh `load()`. */
export function takeOr<T>(key: string, load: () => Promise<T>): Promise<T> {
  return takePrefetched<T>(key) ?? load();
}

const kept = state.kept;

/** Keeps `value` for the first [`takeKept`] with the same key (the early HELLO's token). */
export function keep(key: string, value: unknown): void {
  kept.set(key, value);
}

/** The kept value for `key` (once), else undefined. */
export function takeKept<T>(key: string): T | undefined {
  const v = kept.get(key) as T | undefined;
  kept.delete(key);
  return v;
}

/**
 * Opens the signalling socket to `url` now, for the first [`takeSocket`] with that URL. With
 * `hello`, the socket greets the host as soon as it opens and keeps what the host answers (its
 * offer) until the peer takes it: the host then builds its pipeline and offer while the page is
 * still setting itself up, instead of after.
 */
export function prefetchSocket(url: string, hello?: () => string): void {
  const ws = new WebSocket(url);
  const early: EarlySocket = { ws, greeted: false, backlog: [] };
  if (hello) {
    ws.onopen = () => {
      ws.send(hello());
      early.greeted = true;
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data !== 'string') return;
      // When the host's offer reached the page, as against when the peer took it ("offer received").
      if (ev.data.includes('"offer"')) milestone('video offer kept by the early socket');
      early.backlog.push(ev.data);
    };
  }
  state.socket = { url, early };
}

/** The prefetched socket to `url` (once; it may be open, and greeted, already), else null. */
export function takeSocket(url: string): EarlySocket | null {
  const s = state.socket;
  state.socket = null;
  if (s && s.url === url) return s.early;
  s?.early.ws.close();
  return null;
}

/**
 * Creates the video peer's connection now, before the app is built: a page's first
 * `RTCPeerConnection` sets WebRTC up in the renderer (10–70 ms of main thread on 2 cores), which
 * otherwise happened after `./turn` answered, between the host's offer and its handling.
 */
export function prefetchPeer(): void {
  try {
    state.pc = new RTCPeerConnection();
  } catch {
    state.pc = null; // no WebRTC here: the session finds out itself
  }
}

/** The early connection with `config` applied (once), else null (then create one). */
export function takePeer(config: RTCConfiguration): RTCPeerConnection | null {
  const pc = state.pc;
  state.pc = null;
  if (!pc) return null;
  try {
    // ICE servers and policy may change until gathering starts; a setting that may not
    // (bundle or RTCP-mux policy, certificates) throws, and a fresh connection takes it.
    pc.setConfiguration(config);
    return pc;
  } catch {
    pc.close();
    return null;
  }
}

/** Closes a prefetched socket and connection nobody took (the page streams over the WebSocket). */
export function dropSocket(): void {
  state.socket?.early.ws.close();
  state.socket = null;
  state.pc?.close();
  state.pc = null;
}
