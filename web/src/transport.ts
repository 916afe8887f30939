//! Which transport carries the stream (docs/connectivity.md "Two transports"): WebRTC (the
//! `Session`) or the WebSocket (`WsSession`). `?transport=webrtc|websocket` forces one; else the
//! host's `GET ./transport` says (`--transport`); with `auto`, WebRTC is tried first and, when ICE
//! has not connected within `FALLBACK_MS`, the page switches to the WebSocket without reloading.
//! Unless the URL forces the WebSocket, WebRTC starts before `./transport` answers and stops
//! again when the host advertises the WebSocket.
//! The pure choice is `chooseTransport`, unit-tested in test/transport.test.ts.

import type { Microphone } from './mic.ts';
import { milestone } from './milestones.ts';
import { dropSocket, takeOr } from './prefetch.ts';
import { Session, type SessionTarget, type SessionUi } from './session.ts';
import type { HostStages } from './stats.ts';
import { WsSession } from './ws-transport.ts';

export type TransportMode = 'auto' | 'webrtc' | 'websocket';

/**
 * How long `auto` waits for WebRTC to connect before it switches to the WebSocket. Chosen from
 * measured ICE connect times on a healthy LAN (docs/connectivity.md "Two transports"): well
 * above the slowest seen, so a healthy network never falls back.
 */
export const FALLBACK_MS = 6000;

/** The mode: the URL's `transport` parameter, else the host's advertised one, else `auto`. */
export function chooseTransport(search: string, advertised: string | null): TransportMode {
  const valid = (v: string | null): v is TransportMode => v === 'auto' || v === 'webrtc' || v === 'websocket';
  const forced = new URLSearchParams(search).get('transport');
  if (valid(forced)) return forced;
  return valid(advertised) ? advertised : 'auto';
}

export async function advertisedTransport(): Promise<string | null> {
  try {
    const res = await fetch('./transport', { cache: 'no-store', credentials: 'same-origin' });
    milestone('transport answered');
    if (!res.ok) return null;
    const v = (await res.json()) as { transport?: unknown };
    return typeof v.transport === 'string' ? v.transport : null;
  } catch {
    return null;
  }
}

export class TransportSwitch {
  private rtc: Session | null = null;
  private ws: WsSession | null = null;
  private rtcConnected = false;
  private startedAt = 0;
  private captureFpsValue: number | null = null;
  private serverLatencyValue: number | null = null;
  private hostStagesValue: HostStages | null = null;
  private microphoneValue: Microphone | null = null;

  constructor(private readonly target: SessionTarget) {}

  get captureFps(): number | null {
    return this.captureFpsValue;
  }

  set captureFps(v: number | null) {
    this.captureFpsValue = v;
    if (this.rtc) this.rtc.captureFps = v;
    if (this.ws) this.ws.captureFps = v;
  }

  /** The browser's microphone, sent on the WebRTC audio connection (docs/microphone.md). */
  get microphone(): Microphone | null {
    return this.microphoneValue;
  }

  set microphone(m: Microphone | null) {
    this.microphoneValue = m;
    if (this.rtc) this.rtc.microphone = m;
  }

  get serverLatencyMs(): number | null {
    return this.serverLatencyValue;
  }

  set serverLatencyMs(v: number | null) {
    this.serverLatencyValue = v;
    if (this.rtc) this.rtc.serverLatencyMs = v;
    if (this.ws) this.ws.serverLatencyMs = v;
  }

  /** The host's last `video_stages` (stats.ts), for the glass-to-glass figure. */
  get hostStages(): HostStages | null {
    return this.hostStagesValue;
  }

  set hostStages(v: HostStages | null) {
    this.hostStagesValue = v;
    if (this.rtc) this.rtc.hostStages = v;
    if (this.ws) this.ws.hostStages = v;
  }

  /** The transport in use: `webrtc` or `websocket`. */
  get current(): 'webrtc' | 'websocket' {
    return this.ws ? 'websocket' : 'webrtc';
  }

  send(text: string): boolean {
    return (this.ws ?? this.rtc)?.send(text) ?? false;
  }

  restart(reason: string): void {
    (this.ws ?? this.rtc)?.restart(reason);
  }

  maxMessageSize(): number {
    return (this.ws ?? this.rtc)?.maxMessageSize() ?? 65536;
  }

  async start(): Promise<void> {
    this.startedAt = performance.now();
    milestone('transport asked');
    const search = window.location.search;
    if (chooseTransport(search, null) === 'websocket') {
      // The URL forces the WebSocket.
      milestone('transport chosen: websocket');
      dropSocket();
      this.startWs(null);
      return;
    }
    // WebRTC, unless the host says otherwise: it starts now rather than once `./transport`
    // answers, which a fresh page gets only after it has built itself (tens of ms on 2 cores,
    // docs/benchmarks.md "First frame: the page's own start"). A host that advertises the
    // WebSocket stops it again below.
    this.startRtc();
    const mode = chooseTransport(search, await takeOr('transport', advertisedTransport));
    milestone(`transport chosen: ${mode}`);
    if (mode === 'websocket') {
      // The session may not have taken the early socket yet (it waits for `./turn`).
      dropSocket();
      this.startWs(null);
      return;
    }
    if (mode === 'auto') {
      setTimeout(() => {
        if (!this.rtcConnected && !this.ws) this.startWs(`WebRTC did not connect within ${FALLBACK_MS / 1000} s`);
      }, Math.max(0, FALLBACK_MS - (performance.now() - this.startedAt)));
    }
  }

  private startRtc(): void {
    const ui: SessionUi = {
      ...this.target.ui,
      connected: (yes) => {
        if (yes && !this.rtcConnected) {
          this.rtcConnected = true;
          if (this.target.hooks) this.target.hooks.iceConnectedMs = Math.round(performance.now() - this.startedAt);
        }
        this.target.ui.connected(yes);
      },
    };
    this.rtc = new Session({ ...this.target, ui });
    this.rtc.captureFps = this.captureFpsValue;
    this.rtc.serverLatencyMs = this.serverLatencyValue;
    this.rtc.hostStages = this.hostStagesValue;
    this.rtc.microphone = this.microphoneValue;
    if (this.target.hooks) this.target.hooks.transport = 'webrtc';
    void this.rtc.start();
  }

  private startWs(why: string | null): void {
    if (this.rtc) {
      this.rtc.stop();
      this.rtc = null;
    }
    if (why) {
      this.target.ui.status(`${why}; streaming over the WebSocket`);
      console.info(`transport: ${why}; switching to the WebSocket`);
    }
    this.ws = new WsSession(this.target);
    this.ws.captureFps = this.captureFpsValue;
    this.ws.serverLatencyMs = this.serverLatencyValue;
    this.ws.hostStages = this.hostStagesValue;
    if (this.target.hooks) {
      this.target.hooks.transport = 'websocket';
      if (why) this.target.hooks.fallbackMs = Math.round(performance.now() - this.startedAt);
    }
    void this.ws.start();
  }
}
