//! Pure text of the stats overlay (ours, better than legacy: glass-to-glass and its parts, the
//! host's own stage times, the jitter-buffer delay) and of the drawer's status list (the legacy
//! stats list). Each figure says whether it is measured or assumed: the host's capture wait and
//! encode time are known only from a host that sends `video_stages`, and glass-to-glass is called
//! an estimate while any part of it is assumed.

import { pathText } from './connectivity.ts';
import type { StatsSample } from './session.ts';
import { stageRows, stagesLine } from './stages.ts';
import { allMeasured, type GlassToGlass, type HostStages, type NetworkSource } from './stats.ts';

export interface Context {
  encoder: string;
  /** Remote desktop size from the last `system resolution`, or '' when unknown. */
  resolution: string;
  windowSize: string;
}

const ms = (v: number): string => `${v.toFixed(0)} ms`;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;
/** The host's stage means: below a millisecond matters there. */
const hostMs = (v: number | null): string => (v === null ? '-' : `${v.toFixed(1)} ms`);

const NETWORK_LABEL: Record<NetworkSource, string> = {
  stamps: 'measured',
  stampsWithHost: 'measured',
  rtt: '½ RTT',
  none: 'assumed',
};

/** The overlay's glass-to-glass line: every part with its own label. */
export function glassToGlassLine(g: GlassToGlass): string {
  const label = (measured: boolean, source: string): string => (measured ? source : 'assumed');
  const parts = [`change→capture ${ms(g.captureMs)} (${label(g.measured.capture, 'host')})`];
  // Without the host's capture → sent the WebSocket's capture → received holds it.
  if (g.networkFrom === 'stampsWithHost') parts.push(`capture→received ${ms(g.networkMs)} (measured)`);
  else parts.push(`capture→sent ${ms(g.encodeMs)} (${label(g.measured.encode, 'host')})`, `network ${ms(g.networkMs)} (${NETWORK_LABEL[g.networkFrom]})`);
  parts.push(`received→displayed ${ms(g.receiveToDisplayMs)} (${label(g.measured.display, 'measured')})`);
  return `glass-to-glass ${allMeasured(g) ? '≈' : 'estimate'} ${ms(g.totalMs)} = ${parts.join(' + ')}`;
}

/** The overlay's line of the host's own stage means. */
export function hostStagesLine(h: HostStages): string {
  return `host: change→capture ${hostMs(h.changeToCaptureMs)} · capture→encoder ${hostMs(h.captureToEncoderMs)} · capture→encoded ${hostMs(h.captureToEncodedMs)} · encoded→sent ${hostMs(h.encodedToSentMs)} (${h.frames} frames)`;
}

/** The drawer's glass-to-glass label: what it is made of. */
export function glassToGlassLabel(g: GlassToGlass): string {
  if (allMeasured(g)) return 'Glass-to-glass (measured parts)';
  const assumed = [
    g.measured.capture ? null : 'capture wait',
    g.measured.encode ? null : 'host encode',
    g.measured.network ? null : 'network',
    g.measured.display ? null : 'display',
  ].filter((p): p is string => p !== null);
  return `Glass-to-glass (estimate: ${assumed.join(', ')} assumed)`;
}

function hostRows(h: HostStages | null | undefined): Array<[string, string]> {
  if (!h) return [];
  return [
    ['Change → capture (host)', hostMs(h.changeToCaptureMs)],
    ['Capture → encoder input (host)', hostMs(h.captureToEncoderMs)],
    ['Capture → encoded (host)', hostMs(h.captureToEncodedMs)],
    ['Encoded → sent (host)', hostMs(h.encodedToSentMs)],
    ['Host frames (last second)', String(h.frames)],
  ];
}

export function overlayText(s: StatsSample, ctx: Context): string {
  const v = s.video.video;
  const r = s.videoRates;
  const g = s.g2g;
  const size = v && v.frameWidth > 0 ? `${v.frameWidth}x${v.frameHeight}` : '-';
  const lines = [
    `${v?.codec || '-'} ${size} ${r.fps.toFixed(1)} fps ${(r.kbps / 1000).toFixed(2)} Mbit/s${ctx.encoder ? ` (${ctx.encoder})` : ''}`,
    ...[stagesLine(s.stages), s.host ? hostStagesLine(s.host) : null].filter((l): l is string => l !== null),
    glassToGlassLine(g),
    `jitter buffer ${r.jitterMs.toFixed(1)} ms/frame · decode ${r.decodeMs.toFixed(1)} ms/frame · round trip + jitter buffer ${ms(s.latencyMs)}`,
    `lost ${(v?.packetsLost ?? 0) + (s.audio.audio?.packetsLost ?? 0)} pkts · dropped ${v?.framesDropped ?? 0} frames · freezes ${v?.freezeCount ?? 0} · NACK ${v?.nackCount ?? 0} · PLI ${v?.pliCount ?? 0}`,
    `audio ${s.audio.audio?.codec || '-'} ${s.audioRates.kbps.toFixed(0)} kbit/s · jitter buffer ${s.audioRates.jitterMs.toFixed(1)} ms`,
  ];
  if (s.paths) lines.push(`path video ${pathText(s.paths.video)} · audio ${pathText(s.paths.audio)}`);
  return lines.join('\n');
}

/** The legacy drawer's stats list, as label/value rows. */
export function statusRows(s: StatsSample | null, ctx: Context): Array<[string, string]> {
  const rows: Array<[string, string]> = [['Video encoder', ctx.encoder || '-']];
  if (!s) return [...rows, ['Connection', 'not connected']];
  const v = s.video.video;
  const a = s.audio.audio;
  const vt = s.video.candidateType ?? '-';
  const at = s.audio.candidateType ?? '-';
  rows.push(
    ['Connection state', s.connectionState],
    ['Connection type', vt === at ? vt : `${vt} / ${at}`],
    ...(s.paths
      ? ([
          ['Video path', pathText(s.paths.video)],
          ['Audio path', pathText(s.paths.audio)],
        ] as Array<[string, string]>)
      : []),
    ['Packets received', String((v?.packetsReceived ?? 0) + (a?.packetsReceived ?? 0))],
    ['Packets lost', String((v?.packetsLost ?? 0) + (a?.packetsLost ?? 0))],
    ['Bytes received', mb((v?.bytesReceived ?? 0) + (a?.bytesReceived ?? 0))],
    ['Bytes sent', mb(s.video.bytesSent + s.audio.bytesSent)],
    ['Round trip + jitter buffer', ms(s.latencyMs)],
    [`Received → displayed (${s.g2g.measured.display ? 'measured' : 'assumed'})`, ms(s.g2g.receiveToDisplayMs)],
    ...stageRows(s.stages),
    ...hostRows(s.host),
    [glassToGlassLabel(s.g2g), ms(s.g2g.totalMs)],
    ['Jitter buffer', `${s.videoRates.jitterMs.toFixed(1)} ms/frame`],
    ['Video', `${v?.codec || '-'} ${v && v.frameWidth > 0 ? `${v.frameWidth}x${v.frameHeight}` : ''}`.trim()],
    ['Remote resolution', ctx.resolution || '-'],
    ['Window size', ctx.windowSize],
    ['Framerate', `${s.videoRates.fps.toFixed(1)} fps`],
    ['Video bitrate', `${(s.videoRates.kbps / 1000).toFixed(2)} Mbit/s`],
    ['Available bandwidth', s.video.availableIncomingBitrate !== null ? `${(s.video.availableIncomingBitrate / 1e6).toFixed(2)} Mbit/s` : '-'],
    ['Audio', `${a?.codec || '-'} ${s.audioRates.kbps.toFixed(0)} kbit/s`],
  );
  return rows;
}
