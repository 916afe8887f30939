//! The WebSocket transport's binary framing (docs/protocol.md "WebSocket streaming"): a 12-byte
//! header — stream id, flags (keyframe, config), codec, reserved, capture time in µs — before
//! each H.264 access unit (Annex B) or Opus packet; and the WebCodecs codec string of an H.264
//! stream, read from the SPS in front of its keyframes. Pure; unit-tested in test/ws-frame.test.ts.

export const HEADER_LEN = 12;
export const STREAM_VIDEO = 0;
export const STREAM_AUDIO = 1;
const FLAG_KEYFRAME = 0x01;
const FLAG_CONFIG = 0x02;

export type WsCodec = 'H264' | 'H265' | 'VP8' | 'VP9' | 'AV1' | 'OPUS';
const CODECS: Record<number, WsCodec> = { 1: 'H264', 2: 'H265', 3: 'VP8', 4: 'VP9', 5: 'AV1', 16: 'OPUS' };

export interface WsFrame {
  stream: 'video' | 'audio';
  keyframe: boolean;
  config: boolean;
  codec: WsCodec;
  /** Capture time, µs since the Unix epoch (the host's clock). */
  captureUs: number;
  payload: Uint8Array;
}

/** Parses one binary message; a message that is not a valid frame gives an error string. */
export function parseFrame(buf: ArrayBuffer | Uint8Array): WsFrame | { error: string } {
  const b = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (b.length < HEADER_LEN) return { error: `frame of ${b.length} bytes is shorter than the header` };
  const streamId = b[0] ?? 255;
  if (streamId !== STREAM_VIDEO && streamId !== STREAM_AUDIO) return { error: `unknown stream id ${streamId}` };
  const flags = b[1] ?? 0;
  if ((flags & ~(FLAG_KEYFRAME | FLAG_CONFIG)) !== 0 || b[3] !== 0) return { error: 'reserved header bits set' };
  const codec = CODECS[b[2] ?? 0];
  if (!codec) return { error: `unknown codec ${b[2]}` };
  const stream = streamId === STREAM_VIDEO ? 'video' : 'audio';
  if ((codec === 'OPUS') !== (stream === 'audio')) return { error: `codec ${codec} on the ${stream} stream` };
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const captureUs = Number(view.getBigUint64(4));
  return {
    stream,
    keyframe: (flags & FLAG_KEYFRAME) !== 0,
    config: (flags & FLAG_CONFIG) !== 0,
    codec,
    captureUs,
    payload: b.subarray(HEADER_LEN),
  };
}

/** Builds a frame (tests, and the hostile-client e2e case). */
export function buildFrame(f: Omit<WsFrame, 'payload'>, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LEN + payload.length);
  out[0] = f.stream === 'video' ? STREAM_VIDEO : STREAM_AUDIO;
  out[1] = (f.keyframe ? FLAG_KEYFRAME : 0) | (f.config ? FLAG_CONFIG : 0);
  out[2] = Number(Object.entries(CODECS).find(([, c]) => c === f.codec)?.[0] ?? 0);
  new DataView(out.buffer).setBigUint64(4, BigInt(f.captureUs));
  out.set(payload, HEADER_LEN);
  return out;
}

/** The NAL units of an Annex B byte stream (without start codes). */
export function nalUnits(au: Uint8Array): Uint8Array[] {
  const starts: { at: number; len: number }[] = [];
  for (let i = 0; i + 2 < au.length; i++) {
    if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 1) {
      starts.push({ at: i + 3, len: i > 0 && au[i - 1] === 0 ? 4 : 3 });
      i += 2;
    }
  }
  return starts.map((s, k) => {
    const next = starts[k + 1];
    const end = next ? next.at - next.len : au.length;
    return au.subarray(s.at, end);
  });
}

/** `avc1.PPCCLL` from the first SPS of an access unit; null when it has none. */
export function h264CodecString(au: Uint8Array): string | null {
  for (const nal of nalUnits(au)) {
    if (nal.length >= 4 && ((nal[0] ?? 0) & 0x1f) === 7) {
      const hex = (v: number | undefined): string => (v ?? 0).toString(16).padStart(2, '0').toUpperCase();
      return `avc1.${hex(nal[1])}${hex(nal[2])}${hex(nal[3])}`;
    }
  }
  return null;
}

/** The WebCodecs codec string to configure a decoder with, for a keyframe of `codec`. */
export function decoderCodec(codec: WsCodec, keyframe: Uint8Array): string | null {
  switch (codec) {
    case 'H264':
      return h264CodecString(keyframe) ?? 'avc1.42E01F';
    case 'VP8':
      return 'vp8';
    case 'VP9':
      return 'vp09.00.10.08';
    case 'AV1':
      return 'av01.0.08M.08';
    default:
      return null;
  }
}
