//! Per-frame stage timings measured in the browser, from each displayed frame's
//! `requestVideoFrameCallback` metadata and the capture time the host writes on the frame's
//! first RTP packet (the abs-capture-time header extension, read back through
//! `RTCRtpReceiver.getSynchronizationSources()`, matched to the frame by RTP timestamp):
//! capture → last packet received (host + network), received → decoded (`processingDuration`),
//! decoded → expected on screen, and capture → on screen. Pure: the session feeds it frames and
//! stats reports; the overlay and drawer text for it is here too (docs/benchmarks.md,
//! "Per-stage timings").
//!
//! Host and browser clocks: the capture time is in the host's clock. The offset between the
//! clocks comes from the host's `ping` messages, which carry its wall time ([`PingClock`]);
//! before the first one the clocks are assumed the same, and the figures say which was used.

/** Milliseconds from the NTP epoch (1900) to the Unix epoch. */
export const NTP_UNIX_OFFSET_MS = 2_208_988_800_000;

/** The rVFC metadata fields used here (Chromium, WebRTC video). */
export interface FrameMeta {
  expectedDisplayTime: number;
  receiveTime?: number;
  processingDuration?: number;
  rtpTimestamp?: number;
}

/** One entry of `getSynchronizationSources()`. */
export interface SourceTime {
  rtpTimestamp: number;
  /** Capture time, ms since 1900 in the host's NTP clock (abs-capture-time). */
  captureTimestamp?: number;
  senderCaptureTimeOffset?: number;
}

/** One frame's stages, ms; the capture ones are null without a capture time for the frame. */
export interface FrameStages {
  captureToReceivedMs: number | null;
  receivedToDecodedMs: number;
  decodedToDisplayedMs: number;
  captureToDisplayedMs: number | null;
  /** Wall time (this machine's clock, Unix ms) the frame was captured, when known. */
  capturedAt: number | null;
}

/**
 * The stages of one displayed frame. `timeOrigin` is `performance.timeOrigin`; `clockOffsetMs`
 * is host clock − local clock (null: assumed equal). Null when the frame has no receive time
 * (not a WebRTC frame) or its numbers are absurd (a paused tab, a clock step).
 */
export function frameStages(meta: FrameMeta, timeOrigin: number, src: SourceTime | null, clockOffsetMs: number | null): FrameStages | null {
  const rx = meta.receiveTime;
  if (rx === undefined || !Number.isFinite(rx) || rx <= 0) return null;
  const toDisplay = meta.expectedDisplayTime - rx;
  if (toDisplay < 0 || toDisplay > 5000) return null;
  const decode = Math.min(toDisplay, Math.max(0, (meta.processingDuration ?? 0) * 1000));
  let capturedAt: number | null = null;
  if (src && src.captureTimestamp !== undefined && src.captureTimestamp > 0 && meta.rtpTimestamp === src.rtpTimestamp) {
    capturedAt = src.captureTimestamp - NTP_UNIX_OFFSET_MS - (src.senderCaptureTimeOffset ?? 0) - (clockOffsetMs ?? 0);
  }
  const received = timeOrigin + rx;
  let captureToReceived = capturedAt === null ? null : received - capturedAt;
  if (captureToReceived !== null && (captureToReceived < -50 || captureToReceived > 10_000)) {
    captureToReceived = null;
    capturedAt = null;
  }
  return {
    captureToReceivedMs: captureToReceived,
    receivedToDecodedMs: decode,
    decodedToDisplayedMs: toDisplay - decode,
    captureToDisplayedMs: captureToReceived === null ? null : captureToReceived + toDisplay,
    capturedAt,
  };
}

/**
 * Host clock − local clock from the host's `ping` messages: each carries the host's wall time
 * (`start_time`, epoch seconds to the millisecond), the clock its capture times are written in.
 * A ping that waited on its way (or in a busy page) arrives late and reads the host behind, so the
 * largest of the recent readings is kept, plus half the smallest recent round trip for the
 * path. Not the RTCP sender reports: their NTP time is the media stack's own reckoning of the
 * host clock, and on a single machine, taken one report at a time, they read −61 ms in one
 * session and +22 ms in another.
 */
export class PingClock {
  private readonly readings: number[] = [];

  constructor(private readonly keep = 16) {}

  /** A `ping` whose `start_time` (s) arrived at local epoch ms `arrivedAt`; ignored if malformed. */
  ping(data: unknown, arrivedAt: number): void {
    const t = (data as { start_time?: unknown } | null)?.start_time;
    if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) return;
    this.readings.push(t * 1000 - arrivedAt);
    if (this.readings.length > this.keep) this.readings.shift();
  }

  /** The offset, or null before the first ping; `rttMs`: the smallest recent round trip. */
  offset(rttMs: number | null): number | null {
    if (!this.readings.length) return null;
    return Math.max(...this.readings) + (rttMs !== null && Number.isFinite(rttMs) && rttMs > 0 ? rttMs / 2 : 0);
  }

  clear(): void {
    this.readings.length = 0;
  }
}

/** Means of the stages over one stats interval. */
export interface StageSummary {
  frames: number;
  /** Frames among them that carried a capture time. */
  withCapture: number;
  captureToReceivedMs: number | null;
  receivedToDecodedMs: number;
  decodedToDisplayedMs: number;
  captureToDisplayedMs: number | null;
  /** How host time was brought into this clock: 'same clock assumed' or 'host clock offset ±N ms' (from the pings). */
  clock: string;
}

/** `+3 ms`, `-2 ms`, `0 ms` (never `-0`). */
function offsetText(ms: number): string {
  const r = Math.round(ms) || 0;
  return `${r > 0 ? '+' : ''}${r} ms`;
}

/** Running sums of [`FrameStages`], reset on read. */
export class StageMeans {
  private n = 0;
  private nc = 0;
  private c2r = 0;
  private r2d = 0;
  private d2s = 0;

  add(s: FrameStages | null): void {
    if (!s) return;
    this.n++;
    this.r2d += s.receivedToDecodedMs;
    this.d2s += s.decodedToDisplayedMs;
    if (s.captureToReceivedMs !== null) {
      this.nc++;
      this.c2r += s.captureToReceivedMs;
    }
  }

  /** Means since the previous call (null without frames); starts a new interval. */
  take(clockOffsetMs: number | null): StageSummary | null {
    const out =
      this.n === 0
        ? null
        : {
            frames: this.n,
            withCapture: this.nc,
            captureToReceivedMs: this.nc > 0 ? this.c2r / this.nc : null,
            receivedToDecodedMs: this.r2d / this.n,
            decodedToDisplayedMs: this.d2s / this.n,
            captureToDisplayedMs: this.nc > 0 ? this.c2r / this.nc + (this.r2d + this.d2s) / this.n : null,
            clock: clockOffsetMs === null ? 'same clock assumed' : `host clock offset ${offsetText(clockOffsetMs)}`,
          };
    this.n = this.nc = 0;
    this.c2r = this.r2d = this.d2s = 0;
    return out;
  }
}

/**
 * Whether the session measures stages on every displayed frame: only while someone looks at
 * them (overlay shown or drawer open) or a test asked for the hooks, so a hidden overlay costs
 * one flag test per frame.
 */
export const stageSampling = { enabled: false };

const ms = (v: number): string => `${v.toFixed(v < 10 ? 1 : 0)} ms`;

/** The overlay's measured line, or null when nothing was measured yet. */
export function stagesLine(s: StageSummary | null | undefined): string | null {
  if (!s) return null;
  const rx = `received→decoded ${ms(s.receivedToDecodedMs)} + decoded→displayed ${ms(s.decodedToDisplayedMs)}`;
  if (s.captureToReceivedMs === null || s.captureToDisplayedMs === null) return `measured: ${rx} (no capture time from the host)`;
  return `measured: capture→displayed ${ms(s.captureToDisplayedMs)} = capture→received ${ms(s.captureToReceivedMs)} (host + network) + ${rx} · ${s.clock}`;
}

/** The drawer's measured rows. */
export function stageRows(s: StageSummary | null | undefined): Array<[string, string]> {
  if (!s) return [];
  const rows: Array<[string, string]> = [];
  if (s.captureToDisplayedMs !== null && s.captureToReceivedMs !== null) {
    rows.push(
      ['Capture → displayed (measured)', ms(s.captureToDisplayedMs)],
      ['Capture → received, host + network (measured)', `${ms(s.captureToReceivedMs)} (${s.clock})`],
    );
  }
  rows.push(['Received → decoded (measured)', ms(s.receivedToDecodedMs)], ['Decoded → displayed (measured)', ms(s.decodedToDisplayedMs)]);
  return rows;
}
