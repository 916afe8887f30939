//! How a peer connection got through, from the browser's side: the selected candidate pair of one
//! `RTCPeerConnection.getStats()` report (candidate types host/srflx/prflx/relay, the
//! transport, the relay's transport and TURN server when the local side is relayed, the RTT).
//! Pure; the host reports the same from its side on `/connectivity` (docs/connectivity.md).

type Report = Record<string, unknown>;

export interface PathEnd {
  type: string;
  protocol: string;
  address: string;
  port: number;
}

export interface SelectedPath {
  local: PathEnd;
  remote: PathEnd;
  /** Transport between this browser and its TURN server (udp/tcp/tls), when relayed locally. */
  relayProtocol: string | null;
  /** The TURN server's URL, when relayed locally. */
  relayUrl: string | null;
  /** Current RTT of the pair in ms, when known. */
  rttMs: number | null;
}

const str = (r: Report | undefined, k: string): string => (r && typeof r[k] === 'string' ? (r[k] as string) : '');
const num = (r: Report | undefined, k: string): number => (r && typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : 0);

function end(r: Report | undefined): PathEnd {
  return { type: str(r, 'candidateType') || '?', protocol: str(r, 'protocol') || '?', address: str(r, 'address') || str(r, 'ip'), port: num(r, 'port') };
}

/**
 * The selected pair: the one the `transport` report names, else a nominated succeeded pair
 * (Firefox has no `selectedCandidatePairId`). Null while ICE has not selected one.
 */
export function selectedPath(reports: Iterable<Report>): SelectedPath | null {
  const all = Array.from(reports);
  const byId = new Map<string, Report>();
  for (const r of all) if (typeof r.id === 'string') byId.set(r.id, r);
  const named = all.find((r) => r.type === 'transport' && typeof r.selectedCandidatePairId === 'string');
  const pair =
    (named && byId.get(named.selectedCandidatePairId as string)) ??
    all.find((r) => r.type === 'candidate-pair' && (r.selected === true || (r.nominated === true && r.state === 'succeeded')));
  if (!pair) return null;
  const local = byId.get(str(pair, 'localCandidateId'));
  const remote = byId.get(str(pair, 'remoteCandidateId'));
  if (!local || !remote) return null;
  const relayed = str(local, 'candidateType') === 'relay';
  const rtt = pair.currentRoundTripTime;
  return {
    local: end(local),
    remote: end(remote),
    relayProtocol: relayed ? str(local, 'relayProtocol') || null : null,
    relayUrl: relayed ? str(local, 'url') || null : null,
    rttMs: typeof rtt === 'number' && Number.isFinite(rtt) ? rtt * 1000 : null,
  };
}

/** One line for the drawer and the overlay, e.g. `relay (tcp via turn:h:8080?transport=tcp) → host udp · 3 ms`. */
export function pathText(p: SelectedPath | null): string {
  if (!p) return 'not connected';
  const local = p.local.type === 'relay' ? `relay (${p.relayProtocol ?? '?'}${p.relayUrl ? ` via ${p.relayUrl}` : ''})` : `${p.local.type} ${p.local.protocol}`;
  const remote = `${p.remote.type} ${p.remote.protocol}`;
  const rtt = p.rttMs !== null ? ` · ${p.rttMs.toFixed(0)} ms` : '';
  return `${local} → ${remote}${rtt}`;
}
