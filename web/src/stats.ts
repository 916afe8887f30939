//! Pure digestion of `RTCPeerConnection.getStats()` reports (docs/testing.md G13, docs/protocol.md §9.3):
//! picks the inbound video/audio streams and the selected candidate pair out of a list of report
//! objects, and turns two snapshots into rates (fps, kbit/s) and a latency estimate.

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

export interface GlassToGlass {
  /** Sum of the parts below, ms. */
  totalMs: number;
  /** Mean wait for the next capture tick: half a frame interval. */
  captureMs: number;
  /** Host encode and send, assumed half a frame interval (x264/vpx realtime presets keep up). */
  encodeMs: number;
  /** One-way network: half the selected pair's RTT. */
  networkMs: number;
  /** Last packet received → frame expected on screen (rVFC), or processing + one 60 Hz refresh. */
  receiveToDisplayMs: number;
}

/**
 * Glass-to-glass estimate from what the browser can measure. Only the host's encode time is an
 * assumption; `ci/bench-e2e` prints this estimate next to the pixel-measured value.
 */
export function glassToGlass(fps: number, rttSeconds: number | null, receiveToDisplayMs: number | null, r: Rates): GlassToGlass {
  const frame = fps > 0 ? 1000 / fps : 0;
  const captureMs = frame / 2;
  const encodeMs = frame / 2;
  const networkMs = ((rttSeconds ?? 0) * 1000) / 2;
  const rx = receiveToDisplayMs ?? r.processingMs + 1000 / 60;
  return { totalMs: captureMs + encodeMs + networkMs + rx, captureMs, encodeMs, networkMs, receiveToDisplayMs: rx };
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
