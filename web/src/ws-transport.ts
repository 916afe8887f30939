//! The WebSocket transport's session (docs/protocol.md "WebSocket streaming"): one socket to the
//! signalling URL whose first frame is `WSSTREAM <base64 JSON>`; binary messages carry the video
//! and audio (ws-frame.ts → ws-video.ts / ws-audio.ts), text messages carry the data-channel
//! grammar both ways. Same surface as the WebRTC `Session` (send, restart, start, stop, the
//! stats sample every second), so the app and the transport switch (transport.ts) treat both alike.

import { recordSent } from './e2e.ts';
import * as msg from './messages.ts';
import { Retrier } from './reconnect.ts';
import type { SessionTarget } from './session.ts';
import { CLOSE_TAKEN_OVER, clientToken, signallingUrl } from './signalling.ts';
import { freshHostStages, glassToGlass, glassToGlassWs, rates, type HostStages, type InboundSnapshot, type PcSnapshot } from './stats.ts';
import { WsAudio } from './ws-audio.ts';
import { parseFrame } from './ws-frame.ts';
import { WsVideo } from './ws-video.ts';

/** Text message asking the host for a keyframe (WebSocket transport only). */
export const KEYFRAME_REQUEST = '_ws_keyframe';


/** The request line: the metadata a HELLO carries (size in device pixels, scale, codecs, token). */
export function streamRequest(cssWidth: number, cssHeight: number, dpr: number, token: string, codecs: string[]): string {
  const even = (v: number): number => {
    const t = Math.trunc(v * dpr);
    return t - (t % 2);
  };
  const meta = { res: `${even(cssWidth)}x${even(cssHeight)}`, scale: dpr, codecs, token };
  return `WSSTREAM ${btoa(JSON.stringify(meta))}`;
}

/** The video codecs WebCodecs decodes here, by the names the host's HELLO metadata uses. */
async function decodableCodecs(): Promise<string[]> {
  const probes: [string, string][] = [
    ['H264', 'avc1.42E01F'],
    ['VP8', 'vp8'],
    ['VP9', 'vp09.00.10.08'],
    ['AV1', 'av01.0.08M.08'],
  ];
  const out: string[] = [];
  for (const [name, codec] of probes) {
    try {
      if ((await VideoDecoder.isConfigSupported({ codec })).supported) out.push(name);
    } catch {
      // Not decodable.
    }
  }
  return out;
}

function inbound(over: Partial<InboundSnapshot>): InboundSnapshot {
  return {
    timestamp: performance.now(),
    bytesReceived: 0,
    packetsReceived: 0,
    packetsLost: 0,
    framesDecoded: 0,
    framesPerSecond: 0,
    frameWidth: 0,
    frameHeight: 0,
    jitterBufferDelay: 0,
    jitterBufferEmittedCount: 0,
    totalAudioEnergy: 0,
    totalDecodeTime: 0,
    totalProcessingDelay: 0,
    framesDropped: 0,
    freezeCount: 0,
    nackCount: 0,
    pliCount: 0,
    keyFramesDecoded: 0,
    codec: '',
    ...over,
  };
}

export class WsSession {
  private ws: WebSocket | null = null;
  private video: WsVideo | null = null;
  private audio: WsAudio | null = null;
  private readonly retry: Retrier;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private prevVideo: InboundSnapshot | null = null;
  private prevAudio: InboundSnapshot | null = null;
  private tick = 0;
  /** Sum and count of capture → video message received (ms), reset every stats sample. */
  private receivedSum = 0;
  private receivedCount = 0;
  captureFps: number | null = null;
  serverLatencyMs: number | null = null;
  /** The host's last `video_stages`, stamped with `performance.now()` on arrival. */
  hostStages: HostStages | null = null;

  constructor(private readonly target: SessionTarget) {
    this.retry = new Retrier(target.ui, target.hooks);
  }

  send(text: string): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(text);
    if (this.target.hooks) recordSent(this.target.hooks, text);
    return true;
  }

  restart(reason: string): void {
    this.lost(reason, true);
  }

  /** The host's limit on one message (its WebSocket frame limit is 1 MiB). */
  maxMessageSize(): number {
    return 1 << 19;
  }

  stop(): void {
    this.retry.stop();
    this.teardown();
  }

  async start(): Promise<void> {
    if (!this.retry.begin()) return;
    if (!WsVideo.supported()) {
      this.target.ui.status('This browser cannot decode video here (WebCodecs needs HTTPS or localhost)');
      return;
    }
    this.target.ui.status('Connecting over the WebSocket…');
    const codecs = await decodableCodecs();
    if (this.retry.stopped) return;
    let storage: Storage | null = null;
    try {
      storage = window.localStorage;
    } catch {
      // The token lives for this page only.
    }
    const request = streamRequest(document.body.offsetWidth, document.body.offsetHeight, window.devicePixelRatio, clientToken(storage), codecs);
    const ws = new WebSocket(signallingUrl(window.location));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      ws.send(request);
      this.video = new WsVideo(this.target.videoEl, () => this.send(KEYFRAME_REQUEST));
      if (WsAudio.supported()) {
        this.audio = new WsAudio();
        this.audio.start((resume) => this.target.ui.needsClick(resume)).catch((e: unknown) => console.warn('WebSocket audio not started', e));
      }
      if (this.target.hooks) {
        this.target.hooks.dataChannelState = 'open';
        this.target.hooks.connectionState = 'websocket open';
      }
      this.send(msg.KEY_RESET);
      this.target.ui.channelOpen();
      this.target.ui.connected(true);
      this.target.ui.status('Connected (WebSocket)');
      this.retry.up();
    };
    ws.onmessage = (ev: MessageEvent) => this.onMessage(ev.data);
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      if (ev.code === CLOSE_TAKEN_OVER) {
        this.stop();
        this.target.ui.status('This session was opened in another tab or window; reload to continue here.');
        return;
      }
      const why = ev.reason ? `WebSocket closed: ${ev.reason}` : 'WebSocket closed';
      if (ev.code === 1008 && /disabled|not available/.test(ev.reason)) {
        this.stop();
        this.target.ui.status(why);
        return;
      }
      this.lost(why, opened);
    };
    this.statsTimer = setInterval(() => this.pollStats(), 1000);
  }

  private onMessage(data: unknown): void {
    if (typeof data === 'string') {
      const m = msg.parseHostMessage(data);
      if (!m) {
        console.warn('WebSocket: not a host message', data.slice(0, 200));
        return;
      }
      if (this.target.hooks) this.target.hooks.hostMessages[m.type] = (this.target.hooks.hostMessages[m.type] ?? 0) + 1;
      if (m.type === 'ping') this.send(msg.pong(Date.now()));
      this.target.onHostMessage(m);
      return;
    }
    if (!(data instanceof ArrayBuffer)) return;
    const f = parseFrame(data);
    if ('error' in f) {
      console.warn(`WebSocket: ${f.error}`);
      return;
    }
    if (f.stream === 'video') {
      // The header's capture time (host clock) against this clock: the host's capture, encode
      // and send plus the network, as one stage (docs/protocol.md §13.2).
      const age = Date.now() - f.captureUs / 1000;
      if (Number.isFinite(age) && age >= 0 && age < 60_000) {
        this.receivedSum += age;
        this.receivedCount++;
      }
      this.video?.push(f);
    } else this.audio?.push(f);
  }

  private teardown(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close();
    }
    this.video?.close();
    this.audio?.close();
    this.video = this.audio = null;
    this.prevVideo = this.prevAudio = null;
    if (this.target.hooks) {
      this.target.hooks.dataChannelState = 'closed';
      this.target.hooks.connectionState = 'closed';
    }
    this.target.ui.connected(false);
  }

  private lost(reason: string, wasOpen: boolean): void {
    this.retry.lost(reason, wasOpen, () => this.teardown(), () => void this.start());
  }

  private pollStats(): void {
    const v = this.video;
    const a = this.audio;
    if (!v) return;
    const vs = inbound({
      bytesReceived: v.bytesReceived,
      framesDecoded: v.framesDecoded,
      frameWidth: v.width,
      frameHeight: v.height,
      framesDropped: v.framesDropped,
      keyFramesDecoded: v.keyFramesDecoded,
      codec: v.codecName ? `${v.codecName} (WebSocket)` : 'WebSocket',
    });
    const as = inbound({
      bytesReceived: a?.bytesReceived ?? 0,
      framesDecoded: a?.framesDecoded ?? 0,
      jitterBufferDelay: (a?.buffered ?? 0) / 48000,
      jitterBufferEmittedCount: 1,
      codec: 'opus (WebSocket)',
    });
    const video: PcSnapshot = { video: vs, audio: null, rtt: null, candidateType: 'websocket', availableIncomingBitrate: null, bytesSent: 0 };
    const audio: PcSnapshot = { video: null, audio: as, rtt: null, candidateType: 'websocket', availableIncomingBitrate: null, bytesSent: 0 };
    if (this.target.hooks) {
      this.target.hooks.stats = { video, audio };
      this.target.hooks.ws = {
        framesDecoded: v.framesDecoded,
        keyFramesDecoded: v.keyFramesDecoded,
        framesDropped: v.framesDropped,
        decodeErrors: v.decodeErrors,
        audioFramesDecoded: a?.framesDecoded ?? 0,
        audioBufferedFrames: a?.buffered ?? 0,
      };
    }
    const first = this.prevVideo === null;
    const r = rates(this.prevVideo, vs);
    const ar = rates(this.prevAudio, as);
    this.prevVideo = vs;
    this.prevAudio = as;
    const captureToReceived = this.receivedCount ? this.receivedSum / this.receivedCount : null;
    this.receivedSum = this.receivedCount = 0;
    if (first) return;
    const captureToDecode = v.takeDelay();
    if (this.target.hooks?.ws) this.target.hooks.ws.stages = { captureToReceivedMs: captureToReceived, captureToDecodedMs: captureToDecode };
    const rtt = this.serverLatencyMs !== null ? this.serverLatencyMs / 1000 : null;
    // The frames carry their capture time, so most of the figure is measured here
    // (stats.ts `glassToGlassWs`); before the first decoded frame, the WebRTC estimate's parts.
    const fps = this.captureFps ?? r.fps;
    const side = { stages: this.hostStages, now: performance.now(), captureToReceivedMs: captureToReceived };
    const g2g = captureToDecode === null ? glassToGlass(fps, rtt, null, r, side) : glassToGlassWs(fps, captureToDecode, side);
    if (this.target.hooks) {
      this.target.hooks.glassToGlassMs = g2g.totalMs;
      this.target.hooks.glassToGlassParts = { captureMs: g2g.captureMs, encodeMs: g2g.encodeMs, networkMs: g2g.networkMs, receiveToDisplayMs: g2g.receiveToDisplayMs };
    }
    const lat = captureToDecode ?? (rtt ?? 0) * 1000;
    this.target.ui.stats({
      video,
      audio,
      videoRates: r,
      audioRates: ar,
      latencyMs: lat,
      g2g,
      connectionState: 'connected (websocket)',
      host: freshHostStages(this.hostStages, side.now),
    });
    if (++this.tick % 5 === 0) {
      this.send(msg.clientFps(Math.round(r.fps)));
      this.send(msg.clientLatency(Math.round(lat)));
    }
  }
}
