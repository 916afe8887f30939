// SDP text as the e2e tests read it: the media sections and their header-extension maps.

/** Splits SDP text into media sections: [{ kind, lines }] (the session part is left out). */
export function mediaSections(sdp) {
  const out = [];
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^m=(\w+) /.exec(line);
    if (m) out.push({ kind: m[1], lines: [] });
    else if (out.length && line) out[out.length - 1].lines.push(line);
  }
  return out;
}

/** `a=extmap:<id>[/direction] <uri>` of the first section of `kind`: Map uri → id. */
export function extmaps(sdp, kind) {
  const section = mediaSections(sdp).find((s) => s.kind === kind);
  const map = new Map();
  for (const line of section?.lines ?? []) {
    const m = /^a=extmap:(\d+)(?:\/\w+)? (\S+)/.exec(line);
    if (m) map.set(m[2], Number(m[1]));
  }
  return map;
}

/** Value of an `a=fmtp` parameter for the first payload of `encoding` in a section of `kind`. */
export function fmtpParam(sdp, kind, encoding, key) {
  const section = mediaSections(sdp).find((s) => s.kind === kind);
  if (!section) return null;
  const pt = section.lines
    .map((l) => /^a=rtpmap:(\d+) ([^/]+)\//.exec(l))
    .find((m) => m && m[2].toUpperCase() === encoding.toUpperCase())?.[1];
  const fmtp = section.lines.find((l) => l.startsWith(`a=fmtp:${pt} `));
  if (!pt || !fmtp) return null;
  for (const kv of fmtp.slice(fmtp.indexOf(' ') + 1).split(';')) {
    const [k, v] = kv.trim().split('=');
    if (k === key) return v ?? '';
  }
  return null;
}
