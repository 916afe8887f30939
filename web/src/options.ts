//! The option lists of the legacy client's drawer (docs/web-client.md "What the client does"), their defaults
//! and labels. Values are in the units of the wire messages: `vb` kbit/s, `ab` bit/s, fps.

export interface Option {
  value: number;
  label: string;
}

/** `vb,<kbps>`: 250 kbit/s … 400 Mbit/s. */
export const VIDEO_BITRATES_KBPS: readonly number[] = [
  250, 500, 750, 1000, 2000, 3000, 4000, 6000, 8000, 10000, 12000, 16000, 20000, 25000, 30000, 40000,
  50000, 60000, 75000, 80000, 100000, 150000, 200000, 300000, 400000,
];
/** `_arg_fps,<fps>`. */
export const FRAMERATES: readonly number[] = [10, 15, 30, 45, 60, 75, 90, 100, 120, 144, 165, 180, 200, 240];
/** `ab,<bps>`: 24 … 510 kbit/s. */
export const AUDIO_BITRATES_BPS: readonly number[] = [
  24000, 32000, 48000, 64000, 96000, 128000, 192000, 256000, 320000, 510000,
];

export const DEFAULT_VIDEO_KBPS = 8000;
export const DEFAULT_FRAMERATE = 60;
export const DEFAULT_AUDIO_BPS = 128000;

export function videoBitrateLabel(kbps: number): string {
  return kbps < 1000 ? `${kbps} kbps` : `${trim(kbps / 1000)} Mbps`;
}

export function audioBitrateLabel(bps: number): string {
  return `${trim(bps / 1000)} kb/s`;
}

export function framerateLabel(fps: number): string {
  return `${fps} fps`;
}

/**
 * The options of a select, with `current` inserted in order when the host runs a value that is
 * not in the legacy list (e.g. `--video_bitrate=5000`), so the select never lies about it.
 */
export function optionsWith(list: readonly number[], current: number | null, label: (v: number) => string): Option[] {
  const values = [...list];
  if (current !== null && Number.isFinite(current) && current > 0 && !values.includes(current)) {
    values.push(current);
    values.sort((a, b) => a - b);
  }
  return values.map((value) => ({ value, label: label(value) }));
}

function trim(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0+$/, '').replace(/\.$/, '');
}
