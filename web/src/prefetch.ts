//! Requests the page needs before it can connect (`./transport`, `./turn`), started the moment
//! the script runs instead of one after the other once the app is built: they then overlap the
//! app's set-up and each other, which takes them off the way to the first frame
//! (docs/benchmarks.md, "First frame"). Each prefetched answer is used once, by the first
//! connection; reconnections fetch afresh (TURN credentials expire). The video peer's
//! signalling socket is opened early the same way (`prefetchSocket`) and sends the video peer's
//! HELLO itself (`main.ts`), so the host's offer is on its way while the app is built; the
//! video peer's `RTCPeerConnection` is created then too (`prefetchPeer`).

import { milestone } from './milestones.ts';
import type { EarlySocket } from './signalling.ts';

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

const kept = new Map<string, unknown>();

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

let earlySocket: { url: string; early: EarlySocket } | null = null;

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
  earlySocket = { url, early };
}

/** The prefetched socket to `url` (once; it may be open, and greeted, already), else null. */
export function takeSocket(url: string): EarlySocket | null {
  const s = earlySocket;
  earlySocket = null;
  if (s && s.url === url) return s.early;
  s?.early.ws.close();
  return null;
}

let earlyPc: RTCPeerConnection | null = null;

/**
 * Creates the video peer's connection now, before the app is built: a page's first
 * `RTCPeerConnection` sets WebRTC up in the renderer (10–70 ms of main thread on 2 cores), which
 * otherwise happened after `./turn` answered, between the host's offer and its handling.
 */
export function prefetchPeer(): void {
  try {
    earlyPc = new RTCPeerConnection();
  } catch {
    earlyPc = null; // no WebRTC here: the session finds out itself
  }
}

/** The early connection with `config` applied (once), else null (then create one). */
export function takePeer(config: RTCConfiguration): RTCPeerConnection | null {
  const pc = earlyPc;
  earlyPc = null;
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
  earlySocket?.early.ws.close();
  earlySocket = null;
  earlyPc?.close();
  earlyPc = null;
}
