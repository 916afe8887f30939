//! `window.__e2e`: what the end-to-end tests and the latency benchmark read from the page. It
//! exists only when the page was opened with the test flag `?e2e=1` (the ci/e2e harness and
//! ci/bench-e2e add it; docs/testing.md §6): a production page installs nothing on `window`, keeps no history of the
//! messages it sent (keystrokes, clipboard text) and runs no frame-sampling loop. It observes the
//! session; nothing in the client depends on it.

import type { SelectedPath } from './connectivity.ts';
import { milestoneTimes } from './milestones.ts';
import { frameStages, type SourceTime } from './stages.ts';
import type { PcSnapshot } from './stats.ts';

export interface ColourHit {
  /** `Date.now()` in the rVFC callback where the colour was first seen. */
  detectedAt: number;
  /** Wall time of the frame's expected display, from the rVFC metadata. */
  expectedDisplayAt: number;
  /** Wall time the last packet of the frame arrived, when Chromium reports it. */
  receivedAt: number | null;
  /** Wall time the host captured the frame (abs-capture-time, host clock = this clock assumed). */
  capturedAt?: number | null;
  /** rVFC `processingDuration` in ms: last packet received → decoded. */
  decodeMs?: number | null;
  rgb: [number, number, number];
}

export interface E2eHooks {
  /** ms after navigation start when the first video frame was presented (rVFC), null before. */
  firstFrameMs: number | null;
  frameWidth: number;
  frameHeight: number;
  framesPresented: number;
  dataChannelState: string;
  connectionState: string;
  reconnects: number;
  hostMessages: Record<string, number>;
  sent: string[];
  /** The stats overlay's glass-to-glass estimate (ms), null before the first stats tick. */
  glassToGlassMs: number | null;
  /** Its parts (stats.ts `GlassToGlass`), for the benchmark to print where a figure comes from. */
  glassToGlassParts?: { captureMs: number; encodeMs: number; networkMs: number; receiveToDisplayMs: number };
  /** The last clipboard text received from the host (whole or reassembled). */
  clipboardText: string | null;
  /** The latest getStats digest of both peer connections. */
  stats: { video: PcSnapshot | null; audio: PcSnapshot | null };
  /** The selected candidate pair of each peer connection, as the drawer shows it. */
  connectivity: { video: SelectedPath | null; audio: SelectedPath | null };
  /** Colour of the remote-frame pixel (x, y) in the frame currently shown. */
  sampleColour(x: number, y: number): [number, number, number] | null;
  /** Resolves on the first presented frame whose pixel (x, y) is within `tol` of `rgb`. */
  waitForColour(x: number, y: number, rgb: [number, number, number], tol: number, timeoutMs: number): Promise<ColourHit | null>;
  /** The transport carrying the stream (`webrtc` or `websocket`), once chosen. */
  transport?: string;
  /** ms from the start until the page switched to the WebSocket transport (auto fallback). */
  fallbackMs?: number;
  /** ms from the start until WebRTC first connected. */
  iceConnectedMs?: number;
  /** WebSocket transport counters (video and audio decoders). */
  ws?: {
    framesDecoded: number;
    keyFramesDecoded: number;
    framesDropped: number;
    decodeErrors: number;
    audioFramesDecoded: number;
    audioBufferedFrames: number;
    /** Means over the last second (ms, host clock vs this clock): capture → message received, capture → decoded. */
    stages?: { captureToReceivedMs: number | null; captureToDecodedMs: number | null };
  };
  /** The video receiver's last synchronization source (set by the session; stages.ts). */
  frameSource?: () => SourceTime | null;
  /** Page-load milestones (milestones.ts), ms since navigation start, in order. */
  milestones(): Array<[string, number]>;
  /** Sends a raw data-channel message (tests drive the protocol directly with it). */
  send(text: string): boolean;
}

interface Waiter {
  x: number;
  y: number;
  rgb: [number, number, number];
  tol: number;
  resolve: (hit: ColourHit | null) => void;
}

type FrameMeta = { expectedDisplayTime: number; receiveTime?: number; processingDuration?: number; rtpTimestamp?: number; width: number; height: number };
type RvfcVideo = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: (now: number, meta: FrameMeta) => void) => number;
};

/** The query parameter that turns the test instrumentation on (`?e2e=1`). */
export const E2E_FLAG = 'e2e';

/** Whether the page's query string (`location.search`) asks for the test instrumentation. */
export function e2eRequested(search: string): boolean {
  return new URLSearchParams(search).get(E2E_FLAG) === '1';
}

/** Where the hooks go: the page's window (an interface so that tests can pass a plain object). */
export interface HookTarget {
  location: { search: string };
}

/**
 * Installs `window.__e2e` and the rVFC loop that feeds it when the page asked for them
 * (`?e2e=1`); otherwise installs nothing and returns null.
 */
export function installE2eHooks(
  win: HookTarget,
  video: HTMLVideoElement,
  send: (text: string) => boolean,
): E2eHooks | null {
  if (!e2eRequested(win.location.search)) return null;
  const canvas = document.createElement('canvas');
  canvas.width = 8;
  canvas.height = 8;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const waiters: Waiter[] = [];

  const pixel = (x: number, y: number): [number, number, number] | null => {
    if (!ctx || video.videoWidth === 0) return null;
    ctx.drawImage(video, x, y, 1, 1, 0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0] ?? 0, d[1] ?? 0, d[2] ?? 0];
  };

  const hooks: E2eHooks = {
    firstFrameMs: null,
    frameWidth: 0,
    frameHeight: 0,
    framesPresented: 0,
    dataChannelState: 'none',
    connectionState: 'new',
    reconnects: 0,
    hostMessages: {},
    sent: [],
    glassToGlassMs: null,
    clipboardText: null,
    stats: { video: null, audio: null },
    connectivity: { video: null, audio: null },
    sampleColour: pixel,
    waitForColour(x, y, rgb, tol, timeoutMs) {
      return new Promise((resolve) => {
        const w: Waiter = { x, y, rgb, tol, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            resolve(null);
          }
        }, timeoutMs);
      });
    },
    // The browser's own paint entries beside the page's marks: the first paint competes with
    // the signalling messages for the main thread.
    milestones: () =>
      milestoneTimes([
        ...performance.getEntriesByType('mark'),
        ...performance.getEntriesByType('paint').map((e) => ({ name: `selkies:browser ${e.name}`, startTime: e.startTime })),
        // When the early requests were sent and answered on the network, apart from when the
        // page's main thread got to their answers (the `TURN config ready` mark).
        ...performance
          .getEntriesByType('resource')
          .filter((e) => /\/(turn|transport|app\.js)(\?|$)/.test(e.name))
          .flatMap((e) => {
            const r = e as PerformanceResourceTiming;
            const what = new URL(r.name).pathname.split('/').pop() ?? r.name;
            return [
              { name: `selkies:browser ${what} requested`, startTime: r.requestStart || r.startTime },
              { name: `selkies:browser ${what} response end`, startTime: r.responseEnd },
            ];
          }),
      ]),
    send,
  };

  const v = video as RvfcVideo;
  const onFrame = (_now: number, meta: FrameMeta): void => {
    hooks.framesPresented++;
    hooks.frameWidth = meta.width;
    hooks.frameHeight = meta.height;
    if (hooks.firstFrameMs === null) hooks.firstFrameMs = performance.now();
    for (const w of waiters.slice()) {
      const c = pixel(w.x, w.y);
      if (c && c.every((ch, i) => Math.abs(ch - (w.rgb[i] ?? 0)) <= w.tol)) {
        waiters.splice(waiters.indexOf(w), 1);
        const st = frameStages(meta, performance.timeOrigin, hooks.frameSource?.() ?? null, null);
        w.resolve({
          capturedAt: st?.capturedAt ?? null,
          decodeMs: st?.receivedToDecodedMs ?? null,
          detectedAt: Date.now(),
          expectedDisplayAt: performance.timeOrigin + meta.expectedDisplayTime,
          receivedAt: meta.receiveTime !== undefined ? performance.timeOrigin + meta.receiveTime : null,
          rgb: c,
        });
      }
    }
    v.requestVideoFrameCallback?.(onFrame);
  };
  v.requestVideoFrameCallback?.(onFrame);
  (win as unknown as { __e2e: E2eHooks }).__e2e = hooks;
  return hooks;
}

/** Keeps the last 2000 sent messages (each cut to 300 characters) for the tests to read. */
export function recordSent(hooks: E2eHooks, text: string): void {
  const sent = hooks.sent;
  sent.push(text.length > 300 ? `${text.slice(0, 300)}…(${text.length})` : text);
  if (sent.length > 2000) sent.splice(0, sent.length - 2000);
}
