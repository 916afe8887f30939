//! The streaming session: the two peer connections (video + data channel, audio), the data
//! channel's host messages, the stats loop (UI digest every 1 s, `_stats_video`/`_stats_audio`
//! uploads every 1 s, `_f`/`_l` every 5 s) and reconnection. A lost socket or a failed
//! connection tears both peers down and starts over after a short delay, forever, without
//! ever reloading the page (the legacy client's reload loop is deliberately not reproduced).

import { selectedPath, type SelectedPath } from './connectivity.ts';
import { recordSent, type E2eHooks } from './e2e.ts';
import * as msg from './messages.ts';
import { Retrier } from './reconnect.ts';
import type { Microphone } from './mic.ts';
import { browserPeerDeps, StreamPeer, zeroJitterBuffer, type PeerDeps } from './peer.ts';
import { canSendCamera, webcam } from './webcam.ts';
import { FIRST_FRAME, milestone } from './milestones.ts';
import { takeKept, takePrefetched } from './prefetch.ts';
import { PingClock, frameStages, StageMeans, stageSampling, type SourceTime, type StageSummary } from './stages.ts';
import { AUDIO_PEER_ID, clientToken, decodableVideoCodecs, helloMessage, signallingUrl, VIDEO_PEER_ID, type LocationLike } from './signalling.ts';
import {
  DisplayDelay,
  freshHostStages,
  glassToGlass,
  latencyMs,
  rates,
  snapshot,
  type GlassToGlass,
  type HostStages,
  type InboundSnapshot,
  type PcSnapshot,
  type Rates,
} from './stats.ts';

/** One second of measurements, for the status line, the overlay, the gauges and the drawer. */
export interface StatsSample {
  video: PcSnapshot;
  audio: PcSnapshot;
  videoRates: Rates;
  audioRates: Rates;
  /** What `_l` reports: max RTT of both connections (or the host's estimate) + video jitter buffer. */
  latencyMs: number;
  g2g: GlassToGlass;
  connectionState: string;
  /** How each peer connection got through (selected candidate pair). */
  paths?: { video: SelectedPath | null; audio: SelectedPath | null };
  /** Per-frame stages measured over the interval (stages.ts), while they are sampled. */
  stages?: StageSummary | null;
  /** The host's own stage means (`video_stages`), while fresh; absent from a legacy host. */
  host?: HostStages | null;
}

export interface SessionUi {
  status(text: string): void;
  stats(sample: StatsSample): void;
  /** The `input` data channel opened: a new host session that knows nothing of this page. */
  channelOpen(): void;
  /** Called when autoplay was refused: the UI offers a click that calls `resume`. */
  needsClick(resume: () => void): void;
  connected(yes: boolean): void;
}

/** What a streaming session plays into and reports to; the same for both transports. */
export interface SessionTarget {
  videoEl: HTMLVideoElement;
  /** The WebRTC transport plays audio here; the WebSocket transport plays it through Web Audio. */
  audioEl: HTMLAudioElement;
  ui: SessionUi;
  /** The test hooks, null unless the page was opened with `?e2e=1`. */
  hooks: E2eHooks | null;
  onHostMessage: (m: msg.HostMessage) => void;
}

const DEFAULT_RTC: RTCConfiguration = { iceServers: [{ urls: 'stun:stun.l.google.com:19302' }] };
/** Longest the audio connection waits for the first video frame before it starts anyway. */
const AUDIO_AFTER_VIDEO_MS = 1000;
/**
 * How long a connected video connection may go without showing a frame before the session
 * reconnects. The host sends a keyframe when the connection comes up and a keep-alive frame at
 * least every 500 ms after, so 3 s without one means the media path is broken, as it was in
 * ~2 % of page loads before a host fix (docs/reliability.md "Video that never arrives").
 */
export const NO_VIDEO_MS = 3000;

/** Fetches `./turn`; any failure falls back to the built-in config (the host may have none). */
export async function rtcConfig(): Promise<RTCConfiguration> {
  try {
    const res = await fetch('./turn', { cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) return DEFAULT_RTC;
    const cfg = (await res.json()) as RTCConfiguration;
    return Array.isArray(cfg.iceServers) ? cfg : DEFAULT_RTC;
  } catch {
    return DEFAULT_RTC;
  }
}

/** What the HELLO greetings and the signalling URL are made of. */
export interface PageFacts {
  location: LocationLike;
  /** CSS size of the page body. */
  width: number;
  height: number;
  dpr: number;
  /** Where the takeover token is kept; null when the browser blocks storage. */
  storage: Storage | null;
  receiveCaps: { codecs: { mimeType: string }[] } | null;
  sendCaps: { codecs: { mimeType: string }[] } | null;
}

/** The browser behind a session (fakes in unit tests). */
export interface SessionDeps {
  peer: PeerDeps;
  rtcConfig(): Promise<RTCConfiguration>;
  page(): PageFacts;
}

/** Peer `id`'s HELLO from the page's facts as they are now, with the audio peer's opt-ins. */
export function pageHello(id: number, page: PageFacts, token: string, extra?: Record<string, unknown>): string {
  return helloMessage(id, page.width, page.height, page.dpr, token, decodableVideoCodecs(page.receiveCaps), extra);
}

/**
 * The browser's video RTP capabilities, asked once per page (they do not change) and each only
 * when first needed: every call costs the main thread a few ms, and only the audio peer's
 * HELLO, after the first frame, needs the sending side.
 */
let receiveCaps: PageFacts['receiveCaps'] | undefined;
let sendCaps: PageFacts['sendCaps'] | undefined;

export function browserPage(): PageFacts {
  let storage: Storage | null = null;
  try {
    storage = window.localStorage;
  } catch {
    // Storage blocked by the browser: the token lives for this page only.
  }
  return {
    location: window.location,
    // The window's size, not the body's: the body fills the window (app.css), and reading
    // `offsetWidth` forced a layout before the HELLO on the way to the first frame.
    width: window.innerWidth,
    height: window.innerHeight,
    dpr: window.devicePixelRatio,
    storage,
    // Only a HELLO reads them: the session's start asks for the page's location and storage,
    // and a call made there while WebRTC's thread was busy held the main thread 11 ms.
    get receiveCaps() {
      receiveCaps ??= RTCRtpReceiver.getCapabilities?.('video') ?? null;
      return receiveCaps;
    },
    get sendCaps() {
      sendCaps ??= RTCRtpSender.getCapabilities?.('video') ?? null;
      return sendCaps;
    },
  };
}

export const browserSessionDeps: SessionDeps = { peer: browserPeerDeps, rtcConfig, page: browserPage };

export class Session {
  private video: StreamPeer | null = null;
  private audio: StreamPeer | null = null;
  private dc: RTCDataChannel | null = null;
  private readonly retry: Retrier;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private prevVideo: InboundSnapshot | null = null;
  private prevAudio: InboundSnapshot | null = null;
  private tick = 0;
  /** Runs once, at the next video frame shown (the audio connection's start). */
  private firstFrame: (() => void) | null = null;
  /** A frame was shown since this attempt started (false where the browser cannot tell). */
  private videoShown = false;
  /** Reconnects when the connected video shows no frame within `NO_VIDEO_MS`. */
  private noVideoTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly displayDelay = new DisplayDelay();
  private readonly stageMeans = new StageMeans();
  /** Host clock − local clock (stages.ts), when known. */
  private clockOffsetMs: number | null = null;
  /** Host clock − local clock from the host's pings. */
  private readonly pingClock = new PingClock();
  /** Smallest round trip seen recently (ms), for the ping clock's path delay. */
  private minRttMs: number | null = null;
  /** The host's capture frame rate (its `framerate` setting), when known. */
  captureFps: number | null = null;
  /** The microphone sent on the audio connection when the user turned it on. */
  microphone: Microphone | null = null;
  /** 2 × the host's `latency_measurement`: the RTT estimate when ICE reports none. */
  serverLatencyMs: number | null = null;
  /** The host's last `video_stages`, stamped with `performance.now()` on arrival. */
  hostStages: HostStages | null = null;

  constructor(
    private readonly target: SessionTarget,
    private readonly deps: SessionDeps = browserSessionDeps,
  ) {
    this.retry = new Retrier(target.ui, target.hooks);
    this.watchFrames();
  }

  /** Sends one data-channel message; false when the channel is not open (the message is dropped). */
  send(text: string): boolean {
    if (this.dc?.readyState !== 'open') return false;
    try {
      this.dc.send(text);
    } catch (e) {
      // Too large for the SCTP association, or the channel closed between the check and here.
      console.warn(`data channel: cannot send ${text.length} bytes`, e);
      return false;
    }
    if (this.target.hooks) recordSent(this.target.hooks, text);
    return true;
  }

  /** The host asked for a reload: restart the connections (never the page). */
  restart(reason: string): void {
    this.lost(reason, true);
  }

  /** The largest message the data channel carries, from the negotiated SCTP parameters. */
  maxMessageSize(): number {
    return this.video?.pc.sctp?.maxMessageSize ?? 65536;
  }

  /** Ends the session for good, without reconnecting (the page switched transport). */
  stop(): void {
    this.retry.stop();
    this.teardown();
  }

  async start(): Promise<void> {
    if (!this.retry.begin()) return;
    this.target.ui.status('Connecting…');
    milestone('session start (TURN config asked)');
    // The first connection's ICE servers, requested at the page's start, are not awaited: the
    // video connection applies and answers the host's offer meanwhile and waits for them only
    // where its answer is set (peer.ts). A reconnection waits for fresh ones, so a connection
    // that refuses them (a `--rtc_config_json` with a bundle policy, say) is made with them
    // from the start on the next attempt.
    const early = takePrefetched<RTCConfiguration>('turn');
    const cfg = early ?? (await this.deps.rtcConfig());
    if (this.retry.stopped) return;
    void Promise.resolve(cfg).then(() => milestone('TURN config ready'));
    const page = this.deps.page();
    const url = signallingUrl(page.location);
    // The token the early socket's HELLO carried (early.ts): both peers must carry the same one.
    const token = takeKept<string>('token') ?? clientToken(page.storage);
    // Measured when each socket opens, as the page may have been resized meanwhile.
    const hello = (id: number) => () => {
      const now = this.deps.page();
      return pageHello(id, now, token, {
        ...(id === AUDIO_PEER_ID && this.microphone?.wanted ? { mic: true } : {}),
        // A browser that cannot send VP8 would refuse the camera section (port 0), which
        // ends the host's session: it does not offer its camera at all.
        ...(id === AUDIO_PEER_ID && canSendCamera(now.sendCaps) ? { webcam: true } : {}),
      });
    };
    const events = {
      onStatus: (text: string) => this.target.ui.status(text),
      onTrack: (ev: RTCTrackEvent) => this.attachTrack(ev),
      onDataChannel: (dc: RTCDataChannel) => this.attachChannel(dc),
      onStateChange: () => this.stateChanged(),
      onLost: (reason: string, wasOpen: boolean) => this.lost(reason, wasOpen),
      onTakenOver: () => {
        this.retry.cancel();
        this.teardown();
        this.target.ui.status('This session was opened in another tab or window; reload to continue here.');
      },
    };
    // Audio starts once the first video frame is shown (or after AUDIO_AFTER_VIDEO_MS, or where
    // the browser cannot tell when a frame is shown): negotiating it while the video connects
    // keeps the page's main thread busy on the video's way to its first frame. Its peer
    // connection is created then too: creating one costs the main thread 3–25 ms on 2 cores.
    this.videoShown = false;
    const video = new StreamPeer('video', url, cfg, hello(VIDEO_PEER_ID), events, undefined, this.deps.peer);
    this.video = video;
    const mic = this.microphone;
    let audioStarted = false;
    const startAudio = (): void => {
      // Not after this session was torn down: `this.video` is then null or a newer session's.
      if (audioStarted || this.video !== video || this.retry.stopped) return;
      audioStarted = true;
      this.audio = new StreamPeer(
        'audio',
        url,
        cfg,
        hello(AUDIO_PEER_ID),
        { ...events, onOffer: (pc: RTCPeerConnection, sdp: string) => webcam.attach(pc, sdp) },
        mic ? (pc, offer) => mic.beforeAnswer(pc, offer) : undefined,
        this.deps.peer,
      );
      this.audio.start();
    };
    this.firstFrame = startAudio;
    if (this.target.hooks) this.target.hooks.frameSource = () => this.videoSource();
    video.start();
    setTimeout(startAudio, AUDIO_AFTER_VIDEO_MS);
    this.statsTimer = setInterval(() => void this.pollStats(), 1000);
  }

  private teardown(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
    if (this.noVideoTimer) clearTimeout(this.noVideoTimer);
    this.noVideoTimer = null;
    this.dc?.close();
    this.dc = null;
    webcam.detach();
    this.video?.stop();
    this.audio?.stop();
    this.video = this.audio = null;
    this.prevVideo = null;
    this.prevAudio = null;
    // A reconnection may reach another host, with another clock.
    this.pingClock.clear();
    this.minRttMs = null;
    if (this.target.hooks) {
      this.target.hooks.stats = { video: null, audio: null };
      this.target.hooks.connectivity = { video: null, audio: null };
      this.target.hooks.dataChannelState = 'closed';
      this.target.hooks.connectionState = 'closed';
    }
    this.target.ui.connected(false);
  }

  private lost(reason: string, wasOpen: boolean): void {
    this.retry.lost(reason, wasOpen, () => this.teardown(), () => void this.start());
  }

  private attachTrack(ev: RTCTrackEvent): void {
    const el = ev.track.kind === 'video' ? this.target.videoEl : this.target.audioEl;
    el.srcObject = ev.streams[0] ?? new MediaStream([ev.track]);
    el.play().catch((e: unknown) => {
      console.warn(`autoplay of ${ev.track.kind} refused`, e);
      this.target.ui.needsClick(() => {
        void this.target.videoEl.play();
        void this.target.audioEl.play();
      });
    });
  }

  private attachChannel(dc: RTCDataChannel): void {
    this.dc = dc;
    const update = (): void => {
      if (this.target.hooks) this.target.hooks.dataChannelState = dc.readyState;
    };
    update();
    dc.onopen = () => {
      update();
      // Keys held while disconnected are unknown to the new host session: start clean.
      this.send(msg.KEY_RESET);
      this.target.ui.channelOpen();
    };
    dc.onclose = update;
    dc.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data !== 'string') return;
      const m = msg.parseHostMessage(ev.data);
      if (!m) {
        console.warn('data channel: not a host message', ev.data.slice(0, 200));
        return;
      }
      if (this.target.hooks) this.target.hooks.hostMessages[m.type] = (this.target.hooks.hostMessages[m.type] ?? 0) + 1;
      if (m.type === 'ping') {
        this.pingClock.ping(m.data, Date.now());
        this.send(msg.pong(Date.now()));
      }
      this.target.onHostMessage(m);
    };
  }

  private stateChanged(): void {
    const v = this.video?.pc.connectionState ?? 'closed';
    // No audio peer yet: it starts after the first video frame.
    const a = this.audio?.pc.connectionState ?? 'new';
    if (this.target.hooks) this.target.hooks.connectionState = `video ${v}, audio ${a}`;
    const up = v === 'connected';
    this.target.ui.connected(up);
    if (up) {
      this.retry.up();
      this.target.ui.status(a === 'connected' ? 'Connected' : `Connected (audio ${a})`);
      this.watchForVideo();
    }
  }

  /** Once connected, the first frame must follow: else the media path is broken, reconnect. */
  private watchForVideo(): void {
    if (this.videoShown || this.noVideoTimer || !this.canSeeFrames()) return;
    const peer = this.video;
    this.noVideoTimer = setTimeout(() => {
      this.noVideoTimer = null;
      if (this.videoShown || this.video !== peer || this.retry.stopped) return;
      console.warn(`video: connected, but no frame within ${NO_VIDEO_MS / 1000} s; reconnecting`);
      this.lost(`connected, but no video within ${NO_VIDEO_MS / 1000} s`, true);
    }, NO_VIDEO_MS);
  }

  private canSeeFrames(): boolean {
    return typeof (this.target.videoEl as { requestVideoFrameCallback?: unknown }).requestVideoFrameCallback === 'function';
  }

  /** rVFC: last packet received → expected display, averaged per stats tick. */
  private watchFrames(): void {
    type Meta = { expectedDisplayTime: number; receiveTime?: number; processingDuration?: number; rtpTimestamp?: number };
    const v = this.target.videoEl as HTMLVideoElement & {
      requestVideoFrameCallback?: (cb: (now: number, meta: Meta) => void) => number;
    };
    if (!v.requestVideoFrameCallback) return;
    const onFrame = (_now: number, meta: Meta): void => {
      milestone(FIRST_FRAME);
      this.videoShown = true;
      const first = this.firstFrame;
      this.firstFrame = null;
      first?.();
      this.displayDelay.add(meta.receiveTime, meta.expectedDisplayTime);
      if (stageSampling.enabled || this.target.hooks) this.stageMeans.add(frameStages(meta, performance.timeOrigin, this.videoSource(), this.clockOffsetMs));
      v.requestVideoFrameCallback?.(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
  }

  /** The capture time of the video frame last delivered (abs-capture-time), if any. */
  private videoSource(): SourceTime | null {
    const r = this.video?.pc.getReceivers().find((x) => x.track.kind === 'video');
    return (r?.getSynchronizationSources()[0] as SourceTime | undefined) ?? null;
  }

  private async pollStats(): Promise<void> {
    const vpc = this.video?.pc;
    const apc = this.audio?.pc;
    if (!vpc || !apc) return;
    for (const r of vpc.getReceivers()) zeroJitterBuffer(r);
    for (const r of apc.getReceivers()) zeroJitterBuffer(r);
    const [vs, as] = await Promise.all([vpc.getStats(), apc.getStats()]);
    // The session may have been torn down or restarted while the stats were gathered: these
    // reports then belong to closed peers and must not reach the UI or the host.
    if (this.video?.pc !== vpc || this.audio?.pc !== apc) return;
    const vReports = Array.from(vs.values() as Iterable<Record<string, unknown>>);
    const aReports = Array.from(as.values() as Iterable<Record<string, unknown>>);
    const v = snapshot(vReports);
    const a = snapshot(aReports);
    const paths = { video: selectedPath(vReports), audio: selectedPath(aReports) };
    const rttMs = v.rtt !== null ? v.rtt * 1000 : null;
    if (rttMs !== null && Number.isFinite(rttMs)) this.minRttMs = Math.min(this.minRttMs ?? rttMs, rttMs);
    this.clockOffsetMs = this.pingClock.offset(this.minRttMs);
    if (this.target.hooks) {
      this.target.hooks.stats = { video: v, audio: a };
      this.target.hooks.connectivity = paths;
    }
    const bothUp = vpc.connectionState === 'connected' && apc.connectionState === 'connected';
    if (bothUp) this.upload(vReports, aReports);
    if (!v.video) return;
    // Rates need two samples: the first one of a session would show 0 Mbit/s.
    const first = this.prevVideo === null;
    const r = rates(this.prevVideo, v.video);
    this.prevVideo = v.video;
    const ar = a.audio ? rates(this.prevAudio, a.audio) : { fps: 0, kbps: 0, jitterMs: 0, processingMs: 0, decodeMs: 0 };
    if (a.audio) this.prevAudio = a.audio;
    if (first) return;
    const rtt = v.rtt !== null || a.rtt !== null ? Math.max(v.rtt ?? 0, a.rtt ?? 0) : null;
    const rttOrHost = rtt ?? (this.serverLatencyMs !== null ? this.serverLatencyMs / 1000 : null);
    const lat = latencyMs(rttOrHost, r.jitterMs);
    // Taken before the estimate, which splits this interval's capture → received into the
    // host's part and the network's.
    const stages = this.stageMeans.take(this.clockOffsetMs);
    const now = performance.now();
    // The host's capture rate, not the decoded rate: idle gating sends few frames of a static
    // screen, and half a 250 ms gap is not what a change waits for.
    const g2g = glassToGlass(this.captureFps ?? r.fps, rttOrHost, this.displayDelay.take(), r, {
      stages: this.hostStages,
      now,
      captureToReceivedMs: stages?.captureToReceivedMs ?? null,
    });
    if (this.target.hooks) {
      this.target.hooks.glassToGlassMs = g2g.totalMs;
      this.target.hooks.glassToGlassParts = { captureMs: g2g.captureMs, encodeMs: g2g.encodeMs, networkMs: g2g.networkMs, receiveToDisplayMs: g2g.receiveToDisplayMs };
    }
    this.target.ui.stats({
      video: v,
      audio: a,
      videoRates: r,
      audioRates: ar,
      latencyMs: lat,
      g2g,
      connectionState: `${vpc.connectionState} (webrtc)`,
      paths,
      stages,
      host: freshHostStages(this.hostStages, now),
    });
    if (++this.tick % 5 === 0) {
      if (Number.isInteger(v.video.framesPerSecond)) this.send(msg.clientFps(v.video.framesPerSecond));
      this.send(msg.clientLatency(lat));
    }
  }

  /** `_stats_video` / `_stats_audio` (legacy: every second while both connections are up). */
  private upload(video: unknown[], audio: unknown[]): void {
    const max = this.maxMessageSize();
    for (const [kind, reports] of [
      ['video', video],
      ['audio', audio],
    ] as const) {
      const text = msg.statsUpload(kind, reports);
      if (text.length <= max) this.send(text);
      else if (this.tick % 60 === 0) console.warn(`_stats_${kind}: ${text.length} bytes exceed the ${max}-byte message limit; skipped`);
    }
  }
}
