//! Pure text of the stats overlay (ours, better than legacy: the glass-to-glass estimate and its
//! parts, the jitter-buffer delay) and of the drawer's status list (the legacy stats list). Each
//! figure says whether it is measured or assumed: the host's capture and encode times are not
//! visible to the browser.

import { pathText } from './connectivity.ts';
import type { StatsSample } from './session.ts';
import { stageRows, stagesLine } from './stages.ts';

export interface Context {
  encoder: string;
  /** Remote desktop size from the last `system resolution`, or '' when unknown. */
  resolution: string;
  windowSize: string;
}

const ms = (v: number): string => `${v.toFixed(0)} ms`;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;

export function overlayText(s: StatsSample, ctx: Context): string {
  const v = s.video.video;
  const r = s.videoRates;
  const g = s.g2g;
  const size = v && v.frameWidth > 0 ? `${v.frameWidth}x${v.frameHeight}` : '-';
  const lines = [
    `${v?.codec || '-'} ${size} ${r.fps.toFixed(1)} fps ${(r.kbps / 1000).toFixed(2)} Mbit/s${ctx.encoder ? ` (${ctx.encoder})` : ''}`,
    ...[stagesLine(s.stages)].filter((l): l is string => l !== null),
    `glass-to-glass estimate ${ms(g.totalMs)} = capture ${ms(g.captureMs)} + encode ${ms(g.encodeMs)} (assumed) + network ${ms(g.networkMs)} + received→displayed ${ms(g.receiveToDisplayMs)} (measured)`,
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
    ['Received → displayed (measured)', ms(s.g2g.receiveToDisplayMs)],
    ...stageRows(s.stages),
    ['Glass-to-glass (estimate, host part assumed)', ms(s.g2g.totalMs)],
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
