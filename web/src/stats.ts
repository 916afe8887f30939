//! Pure digestion of `RTCPeerConnection.getStats()` reports (docs/testing.md G13, docs/protocol.md §9.3):
//! picks the inbound video/audio streams and the selected candidate pair out of a list of report
//! objects, and turns two snapshots into rates (fps, kbit/s) and a latency estimate. Also the
//! glass-to-glass figure, built from the host's own stage times (`video_stages`, parsed here
//! without trusting it) where it sends them and from assumptions where it does not; each part
//! says which it is.

/** The fields the client uses; every counter is cumulative as in the W3C stats spec. */
export interface InboundSnapshot {
  timestamp: number;
  bytesReceived: number;
  packetsReceived: number;
  packetsLost: number;
  framesDecoded: number;
  framesPerSecond: number;
  frameWidth: number;
  frameHeight: number;
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  totalAudioEnergy: number;
  /** Cumulative seconds: decode, and first packet received → frame decoded (assembly + jitter buffer + decode). */
  totalDecodeTime: number;
  totalProcessingDelay: number;
  framesDropped: number;
  freezeCount: number;
  nackCount: number;
  pliCount: number;
  /** Keyframes decoded (a static screen should need none after the first). */
  keyFramesDecoded: number;
  codec: string;
}

export interface PcSnapshot {
  video: InboundSnapshot | null;
  audio: InboundSnapshot | null;
  /** Selected candidate pair's current RTT in seconds, when known. */
  rtt: number | null;
  /** Selected pair: the remote candidate type (host, srflx, prflx, relay), when known. */
  candidateType: string | null;
  availableIncomingBitrate: number | null;
  bytesSent: number;
}

type Report = Record<string, unknown>;

const num = (r: Report, k: string): number => {
  const v = r[k];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
};

/** Extracts the snapshot from the report objects of one `getStats()` call. */
export function snapshot(reports: Iterable<Report>): PcSnapshot {
  const all = Array.from(reports);
  const byId = new Map<string, Report>();
  for (const r of all) if (typeof r.id === 'string') byId.set(r.id, r);
  let video: InboundSnapshot | null = null;
  let audio: InboundSnapshot | null = null;
  let rtt: number | null = null;
  let candidateType: string | null = null;
  let availableIncomingBitrate: number | null = null;
  let bytesSent = 0;
  for (const r of all) {
    if (r.type === 'transport') bytesSent += num(r, 'bytesSent');
    if (r.type === 'inbound-rtp' && (r.kind === 'video' || r.kind === 'audio')) {
      const codecReport = typeof r.codecId === 'string' ? byId.get(r.codecId) : undefined;
      const mime = codecReport && typeof codecReport.mimeType === 'string' ? codecReport.mimeType : '';
      const s: InboundSnapshot = {
        timestamp: num(r, 'timestamp'),
        bytesReceived: num(r, 'bytesReceived'),
        packetsReceived: num(r, 'packetsReceived'),
        packetsLost: num(r, 'packetsLost'),
        framesDecoded: num(r, 'framesDecoded'),
        framesPerSecond: num(r, 'framesPerSecond'),
        frameWidth: num(r, 'frameWidth'),
        frameHeight: num(r, 'frameHeight'),
        jitterBufferDelay: num(r, 'jitterBufferDelay'),
        jitterBufferEmittedCount: num(r, 'jitterBufferEmittedCount'),
        totalAudioEnergy: num(r, 'totalAudioEnergy'),
        totalDecodeTime: num(r, 'totalDecodeTime'),
        totalProcessingDelay: num(r, 'totalProcessingDelay'),
        framesDropped: num(r, 'framesDropped'),
        freezeCount: num(r, 'freezeCount'),
        nackCount: num(r, 'nackCount'),
        pliCount: num(r, 'pliCount'),
        keyFramesDecoded: num(r, 'keyFramesDecoded'),
        codec: mime.replace(/^(video|audio)\//, ''),
      };
      if (r.kind === 'video') video = s;
      else audio = s;
    }
    if (r.type === 'candidate-pair' && r.nominated === true && r.state === 'succeeded') {
      if (typeof r.currentRoundTripTime === 'number') rtt = r.currentRoundTripTime;
      if (typeof r.availableIncomingBitrate === 'number') availableIncomingBitrate = r.availableIncomingBitrate;
      const remote = typeof r.remoteCandidateId === 'string' ? byId.get(r.remoteCandidateId) : undefined;
      if (remote && typeof remote.candidateType === 'string') candidateType = remote.candidateType;
    }
  }
  return { video, audio, rtt, candidateType, availableIncomingBitrate, bytesSent };
}

export interface Rates {
  fps: number;
  kbps: number;
  /** Mean jitter-buffer delay per emitted frame over the interval, ms. */
  jitterMs: number;
  /** Mean first-packet → decoded time per frame over the interval, ms (0 when unknown). */
  processingMs: number;
  /** Mean decode time per frame over the interval, ms. */
  decodeMs: number;
}

/** Rates between two snapshots of the same stream; zeros when the interval is empty. */
export function rates(prev: InboundSnapshot | null, cur: InboundSnapshot): Rates {
  if (!prev || cur.timestamp <= prev.timestamp) {
    return { fps: cur.framesPerSecond, kbps: 0, jitterMs: 0, processingMs: 0, decodeMs: 0 };
  }
  const dt = (cur.timestamp - prev.timestamp) / 1000;
  const frames = cur.framesDecoded - prev.framesDecoded;
  const bytes = cur.bytesReceived - prev.bytesReceived;
  const emitted = cur.jitterBufferEmittedCount - prev.jitterBufferEmittedCount;
  const jb = cur.jitterBufferDelay - prev.jitterBufferDelay;
  return {
    fps: Math.max(0, frames / dt),
    kbps: Math.max(0, (bytes * 8) / 1000 / dt),
    jitterMs: emitted > 0 ? (jb / emitted) * 1000 : 0,
    processingMs: frames > 0 ? ((cur.totalProcessingDelay - prev.totalProcessingDelay) / frames) * 1000 : 0,
    decodeMs: frames > 0 ? ((cur.totalDecodeTime - prev.totalDecodeTime) / frames) * 1000 : 0,
  };
}

/** Latency shown to the user: network RTT plus the jitter-buffer delay (docs/protocol.md §9.3), in ms. */
export function latencyMs(rttSeconds: number | null, jitterMs: number): number {
  return Math.round((rttSeconds ?? 0) * 1000 + jitterMs);
}

/**
 * The host's stage means over its last ~1 s (`video_stages`, our extension asked for with
 * `_stages,1`), ms; null where no frame of that window had the stage (keep-alives only, or the
 * ximagesrc capture, which sees no damage).
 */
export interface HostStages {
  /** First X DAMAGE report of a change → start of that frame's capture (the pacing's wait). */
  changeToCaptureMs: number | null;
  /** Capture start → frame at the encoder's input (fetch, colour conversion, queue). */
  captureToEncoderMs: number | null;
  /** Capture start → encoded frame out of the encoder (includes the above). */
  captureToEncodedMs: number | null;
  /** Encoded frame → its last packet handed to webrtcbin or the WebSocket sender. */
  encodedToSentMs: number | null;
  /** Frames in the host's window. */
  frames: number;
  /** When the message arrived, in the clock of the `now` later compared with it (ms). */
  receivedAt: number;
}

/** Host stages older than this describe a past the screen has left (or a host that stopped). */
export const HOST_STAGES_STALE_MS = 5000;
/** A mean above this is no stage of a live stream; the host's clock or a hostile peer made it. */
const MAX_STAGE_MS = 10_000;

/** A stage mean: a finite number in 0..MAX_STAGE_MS, anything else unknown. */
const stageMs = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_STAGE_MS ? v : null);

/**
 * The `data` of a `video_stages` message, or null when it is not an object with a whole,
 * non-negative frame count. A stage that is not a plausible ms value is unknown, as a null is:
 * the other stages of the window still hold.
 */
export function parseVideoStages(data: unknown, receivedAt: number): HostStages | null {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const d = data as Record<string, unknown>;
  const frames = d.frames;
  if (typeof frames !== 'number' || !Number.isSafeInteger(frames) || frames < 0) return null;
  return {
    changeToCaptureMs: stageMs(d.change_to_capture_ms),
    captureToEncoderMs: stageMs(d.capture_to_encoder_ms),
    captureToEncodedMs: stageMs(d.capture_to_encoded_ms),
    encodedToSentMs: stageMs(d.encoded_to_sent_ms),
    frames,
    receivedAt,
  };
}

/** `h` unless it is older than `HOST_STAGES_STALE_MS` at `now`. */
export function freshHostStages(h: HostStages | null | undefined, now: number): HostStages | null {
  return h && now - h.receivedAt <= HOST_STAGES_STALE_MS ? h : null;
}

/**
 * What both transports' figures take from the host: its change → capture (null: unknown) and
 * capture → sent (null unless both of its stages are known) while fresh, and the capture wait
 * to use, the host's or half a frame at `fps`.
 */
function hostPart(fps: number, side: HostSide): { change: number | null; sent: number | null; captureMs: number; frameMs: number } {
  const frameMs = fps > 0 ? 1000 / fps : 0;
  const h = freshHostStages(side.stages, side.now);
  const change = h?.changeToCaptureMs ?? null;
  const sent = h && h.captureToEncodedMs !== null && h.encodedToSentMs !== null ? h.captureToEncodedMs + h.encodedToSentMs : null;
  return { change, sent, captureMs: change ?? frameMs / 2, frameMs };
}

/**
 * Where the network part came from: capture → received measured here less the host's capture →
 * sent (`stamps`); the same with the host's part left in because the host did not say it
 * (`stampsWithHost`: `encodeMs` is then 0 and inside `networkMs`); half the round trip (`rtt`);
 * nothing (`none`, 0 ms).
 */
export type NetworkSource = 'stamps' | 'stampsWithHost' | 'rtt' | 'none';

export interface GlassToGlass {
  /** Sum of the parts below, ms. */
  totalMs: number;
  /** Change → capture start: the host's measure, else half a frame interval. */
  captureMs: number;
  /** Host capture start → sent: the host's measure, else half a frame interval. */
  encodeMs: number;
  /** Sent → last packet received (see `networkFrom`). */
  networkMs: number;
  /** Last packet received → frame expected on screen (rVFC), or processing + one 60 Hz refresh. */
  receiveToDisplayMs: number;
  /** Which parts were measured (by the host or here); the others hold an assumption. */
  measured: { capture: boolean; encode: boolean; network: boolean; display: boolean };
  networkFrom: NetworkSource;
}

/** What the estimate learns beyond the browser's own stats. */
export interface HostSide {
  /** The host's last `video_stages` (null: a legacy host, or none yet); ignored once stale. */
  stages: HostStages | null;
  /** Now, in the clock of `stages.receivedAt`. */
  now: number;
  /** Capture → last packet received, measured here from the frames' capture times, or null. */
  captureToReceivedMs: number | null;
}

const NO_HOST: HostSide = { stages: null, now: 0, captureToReceivedMs: null };

/** True when no part of `g` is an assumption. */
export function allMeasured(g: GlassToGlass): boolean {
  return g.measured.capture && g.measured.encode && g.measured.network && g.measured.display;
}

/**
 * Glass-to-glass of the WebRTC transport. The host's stage means replace the half-frame
 * assumptions for the capture wait and the host's encode + send when it sends them; with them,
 * the network is the measured capture → received less the host's part (the clocks' offset, when
 * wrongly estimated, can only push it below 0, hence the floor). Without them, the network is half
 * the round trip. `ci/bench-e2e` prints this figure next to the pixel-measured value.
 */
export function glassToGlass(fps: number, rttSeconds: number | null, receiveToDisplayMs: number | null, r: Rates, side: HostSide = NO_HOST): GlassToGlass {
  const { change, sent, captureMs, frameMs } = hostPart(fps, side);
  const encodeMs = sent ?? frameMs / 2;
  let networkMs = 0;
  let networkFrom: NetworkSource = 'none';
  if (sent !== null && side.captureToReceivedMs !== null) {
    networkMs = Math.max(0, side.captureToReceivedMs - sent);
    networkFrom = 'stamps';
  } else if (rttSeconds !== null) {
    networkMs = (rttSeconds * 1000) / 2;
    networkFrom = 'rtt';
  }
  const rx = receiveToDisplayMs ?? r.processingMs + 1000 / 60;
  return {
    totalMs: captureMs + encodeMs + networkMs + rx,
    captureMs,
    encodeMs,
    networkMs,
    receiveToDisplayMs: rx,
    measured: { capture: change !== null, encode: sent !== null, network: networkFrom !== 'none', display: receiveToDisplayMs !== null },
    networkFrom,
  };
}

/**
 * Glass-to-glass of the WebSocket transport, whose frames carry their capture time: capture →
 * received and capture → decoded are measured here (same clock on one machine, else skewed by
 * the clocks' offset). The host's capture → sent, when it says it, is split out of capture →
 * received; the capture wait is the host's, else half a frame; the display adds half a 60 Hz
 * refresh on average, an assumption.
 */
export function glassToGlassWs(fps: number, captureToDecodedMs: number, side: HostSide): GlassToGlass {
  const { change, sent, captureMs } = hostPart(fps, side);
  const toReceived = Math.min(side.captureToReceivedMs ?? captureToDecodedMs, captureToDecodedMs);
  const encodeMs = sent === null ? 0 : Math.min(sent, toReceived);
  const rx = captureToDecodedMs - toReceived + 1000 / 60 / 2;
  return {
    totalMs: captureMs + captureToDecodedMs + 1000 / 60 / 2,
    captureMs,
    encodeMs,
    networkMs: toReceived - encodeMs,
    receiveToDisplayMs: rx,
    measured: { capture: change !== null, encode: true, network: true, display: false },
    networkFrom: sent === null ? 'stampsWithHost' : 'stamps',
  };
}

/** Running mean of rVFC "last packet received → expected display" delays, reset on read. */
export class DisplayDelay {
  private sum = 0;
  private n = 0;

  add(receiveTime: number | undefined, expectedDisplayTime: number): void {
    if (receiveTime === undefined || !Number.isFinite(receiveTime) || receiveTime <= 0) return;
    const d = expectedDisplayTime - receiveTime;
    // Clock glitches and paused tabs produce absurd samples; they would swamp the mean.
    if (d < 0 || d > 5000) return;
    this.sum += d;
    this.n++;
  }

  /** Mean since the previous call, or null when no frame carried a receive time. */
  take(): number | null {
    const v = this.n > 0 ? this.sum / this.n : null;
    this.sum = 0;
    this.n = 0;
    return v;
  }
}

/** The one-line stats text under the video. */
export function statsLine(r: Rates, latency: number, width: number, height: number, codec: string): string {
  const size = width > 0 ? `${width}x${height}` : '-';
  return `${codec || '-'} ${size} · ${r.fps.toFixed(1)} fps · ${(r.kbps / 1000).toFixed(2)} Mbit/s · ${latency} ms`;
}
