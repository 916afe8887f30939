//! Pure digestion of `RTCPeerConnection.getStats()` reports (e2e-notes G13, protocol §9.3):
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
  codec: string;
}

export interface PcSnapshot {
  video: InboundSnapshot | null;
  audio: InboundSnapshot | null;
  /** Selected candidate pair's current RTT in seconds, when known. */
  rtt: number | null;
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
  for (const r of all) {
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
        codec: mime.replace(/^(video|audio)\//, ''),
      };
      if (r.kind === 'video') video = s;
      else audio = s;
    }
    if (r.type === 'candidate-pair' && r.nominated === true && r.state === 'succeeded') {
      if (typeof r.currentRoundTripTime === 'number') rtt = r.currentRoundTripTime;
    }
  }
  return { video, audio, rtt };
}

export interface Rates {
  fps: number;
  kbps: number;
  /** Mean jitter-buffer delay per emitted frame over the interval, ms. */
  jitterMs: number;
}

/** Rates between two snapshots of the same stream; zeros when the interval is empty. */
export function rates(prev: InboundSnapshot | null, cur: InboundSnapshot): Rates {
  if (!prev || cur.timestamp <= prev.timestamp) return { fps: cur.framesPerSecond, kbps: 0, jitterMs: 0 };
  const dt = (cur.timestamp - prev.timestamp) / 1000;
  const frames = cur.framesDecoded - prev.framesDecoded;
  const bytes = cur.bytesReceived - prev.bytesReceived;
  const emitted = cur.jitterBufferEmittedCount - prev.jitterBufferEmittedCount;
  const jb = cur.jitterBufferDelay - prev.jitterBufferDelay;
  return {
    fps: Math.max(0, frames / dt),
    kbps: Math.max(0, (bytes * 8) / 1000 / dt),
    jitterMs: emitted > 0 ? (jb / emitted) * 1000 : 0,
  };
}

/** Latency shown to the user: network RTT plus the jitter-buffer delay (legacy §9.3), in ms. */
export function latencyMs(rttSeconds: number | null, jitterMs: number): number {
  return Math.round((rttSeconds ?? 0) * 1000 + jitterMs);
}

/** The one-line stats text under the video. */
export function statsLine(r: Rates, latency: number, width: number, height: number, codec: string): string {
  const size = width > 0 ? `${width}x${height}` : '-';
  return `${codec || '-'} ${size} · ${r.fps.toFixed(1)} fps · ${(r.kbps / 1000).toFixed(2)} Mbit/s · ${latency} ms`;
}
