//! Pure SDP munging of the browser's answer (docs/protocol.md §5.6), applied before
//! `setLocalDescription`, exactly as the legacy client does so the host sees the same answer.

/** H.264: every keyframe must carry SPS/PPS, or a late joiner / lost packet stalls decoding. */
export function mungeH264(sdp: string): string {
  if (!sdp.includes('packetization-mode=') || sdp.includes('sps-pps-idr-in-keyframe=1')) return sdp;
  if (sdp.includes('sps-pps-idr-in-keyframe=')) {
    return sdp.replace(/sps-pps-idr-in-keyframe=\d+/g, 'sps-pps-idr-in-keyframe=1');
  }
  return sdp.replace(/packetization-mode=/g, 'sps-pps-idr-in-keyframe=1;packetization-mode=');
}

/** Opus: ask for stereo and 10 ms packets (the host encodes 10 ms frames), unless multichannel. */
export function mungeOpus(sdp: string): string {
  if (sdp.includes('multiopus') || !sdp.includes('useinbandfec=')) return sdp;
  let out = sdp;
  out = forceParam(out, 'stereo', '1');
  out = forceParam(out, 'minptime', '10');
  return out;
}

/** The full answer munging, in the legacy order. */
export function mungeAnswer(sdp: string): string {
  return mungeOpus(mungeH264(sdp));
}

function forceParam(sdp: string, name: string, value: string): string {
  // The look-behind keeps `sprop-stereo=` (a different parameter) untouched.
  const re = new RegExp(`(?<![\\w-])${name}=\\d+`, 'g');
  if (re.test(sdp)) return sdp.replace(re, `${name}=${value}`);
  return sdp.replace(/useinbandfec=/g, `${name}=${value};useinbandfec=`);
}
