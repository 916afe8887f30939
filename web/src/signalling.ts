//! Legacy signalling (docs/protocol.md §3): the URL the page derives from its own location, the
//! `HELLO <id> <b64meta>` greeting, the server's text grammar, and a thin WebSocket wrapper that
//! turns frames into typed events. The pure parts are exported for unit tests.

/** Peer ids of the browser side: the video PC (with the data channel) and the audio PC. */
export const VIDEO_PEER_ID = 1;
export const AUDIO_PEER_ID = 3;

export interface LocationLike {
  protocol: string;
  host: string;
  pathname: string;
}

/** `appName`: first path segment when the path ends with `/` and that segment is non-empty. */
export function appName(pathname: string): string {
  if (!pathname.endsWith('/')) return 'webrtc';
  const first = pathname.split('/')[1] ?? '';
  return first === '' ? 'webrtc' : first;
}

/** `ws(s)://<host><page dir><appName>/signalling/` (page dir = path up to its last `/`). */
export function signallingUrl(loc: LocationLike): string {
  const scheme = loc.protocol === 'http:' ? 'ws:' : 'wss:';
  const dir = loc.pathname.slice(0, loc.pathname.lastIndexOf('/') + 1) || '/';
  return `${scheme}//${loc.host}${dir}${appName(loc.pathname)}/signalling/`;
}

/**
 * The HELLO line: size = CSS size × devicePixelRatio, truncated to even integers. `token` is this
 * browser's takeover token (docs/security.md): the host lets a connection carrying the token of
 * the current viewer replace it (reload, new tab), and refuses everyone else while it is live.
 *
 * `codecs`: the video codecs this browser decodes, so the host never offers one it would refuse
 * (docs/reliability.md, "Media and peers").
 */
export function helloMessage(
  peerId: number,
  cssWidth: number,
  cssHeight: number,
  dpr: number,
  token?: string,
  codecs?: string[],
  extra?: Record<string, unknown>,
): string {
  const even = (v: number): number => {
    const t = Math.trunc(v * dpr);
    return t - (t % 2);
  };
  const meta: Record<string, unknown> = { res: `${even(cssWidth)}x${even(cssHeight)}`, scale: dpr };
  if (codecs) meta.codecs = codecs;
  if (token) meta.token = token;
  // Opt-ins the legacy host ignores, e.g. `mic` (docs/microphone.md).
  if (extra) Object.assign(meta, extra);
  return `HELLO ${peerId} ${btoa(JSON.stringify(meta))}`;
}

/** Close code of a socket replaced by a newer one of the same browser: do not reconnect. */
export const CLOSE_TAKEN_OVER = 4001;

const TOKEN_KEY = 'selkies_client_token';

/** This browser's random takeover token, created once and kept in `localStorage`. */
export function clientToken(storage: Pick<Storage, 'getItem' | 'setItem'> | null): string {
  try {
    const kept = storage?.getItem(TOKEN_KEY);
    if (kept && /^[A-Za-z0-9_-]{16,128}$/.test(kept)) return kept;
  } catch {
    // Storage disabled: a token for this page only.
  }
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  try {
    storage?.setItem(TOKEN_KEY, token);
  } catch {
    // As above.
  }
  return token;
}

/** Video codec names (`H264`, `VP8`…) the browser can receive, from its RTP capabilities. */
export function decodableVideoCodecs(caps: { codecs: { mimeType: string }[] } | null): string[] | undefined {
  if (!caps) return undefined;
  const names = caps.codecs
    .map((c) => c.mimeType.replace(/^video\//i, '').toUpperCase())
    .filter((n) => !['RTX', 'RED', 'ULPFEC', 'FLEXFEC-03'].includes(n));
  return [...new Set(names)];
}

export type ServerSignal =
  | { kind: 'hello' }
  | { kind: 'error'; text: string }
  | { kind: 'sdp'; sdp: RTCSessionDescriptionInit }
  | { kind: 'ice'; ice: RTCIceCandidateInit }
  | { kind: 'other'; text: string };

/** Classifies one server text frame; malformed JSON is `other`, never a throw. */
export function parseSignal(text: string): ServerSignal {
  if (text === 'HELLO') return { kind: 'hello' };
  if (text.startsWith('ERROR')) return { kind: 'error', text };
  if (!text.startsWith('{')) return { kind: 'other', text };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { kind: 'other', text };
  }
  if (typeof v !== 'object' || v === null) return { kind: 'other', text };
  const o = v as Record<string, unknown>;
  const sdp = o.sdp;
  if (typeof sdp === 'object' && sdp !== null) {
    const s = sdp as Record<string, unknown>;
    if (typeof s.type === 'string' && typeof s.sdp === 'string') {
      return { kind: 'sdp', sdp: { type: s.type as RTCSdpType, sdp: s.sdp } };
    }
  }
  const ice = o.ice;
  if (typeof ice === 'object' && ice !== null) {
    const c = ice as Record<string, unknown>;
    if (typeof c.candidate === 'string') {
      const init: RTCIceCandidateInit = { candidate: c.candidate };
      if (typeof c.sdpMLineIndex === 'number') init.sdpMLineIndex = c.sdpMLineIndex;
      if (typeof c.sdpMid === 'string') init.sdpMid = c.sdpMid;
      // The host sends no sdpMid; Chromium needs one of the two, and mline 0 is the safe default.
      if (init.sdpMLineIndex === undefined && init.sdpMid === undefined) init.sdpMLineIndex = 0;
      return { kind: 'ice', ice: init };
    }
  }
  return { kind: 'other', text };
}

export interface SignallingEvents {
  onRegistered(): void;
  onSdp(sdp: RTCSessionDescriptionInit): void;
  onIce(ice: RTCIceCandidateInit): void;
  onServerError(text: string): void;
  /** The socket closed; `wasOpen` tells a lost session from a failed connection attempt. */
  onClosed(wasOpen: boolean, code: number): void;
}

/** `WebSocket.OPEN`, spelled out so the class also runs against a fake socket (unit tests). */
const WS_OPEN = 1;
const WS_CLOSING = 2;
const WS_CLOSED = 3;

/**
 * A socket opened before its peer existed (prefetch.ts): `greeted` once it sent the peer's HELLO
 * itself, and `backlog` holds the text frames the host sent since, in order.
 */
export interface EarlySocket {
  ws: WebSocket;
  greeted: boolean;
  backlog: string[];
}

function isEarly(s: WebSocket | EarlySocket): s is EarlySocket {
  return typeof (s as Partial<EarlySocket>).greeted === 'boolean';
}

/** Opens the socket, or hands over one opened early; unit tests pass a fake. */
export type OpenSocket = (url: string) => WebSocket | EarlySocket;

/** One signalling socket for one peer id. Single use: make a new one to reconnect. */
export class Signalling {
  private ws: WebSocket | null = null;
  private opened = false;
  private closedReported = false;

  constructor(
    private readonly url: string,
    private readonly hello: () => string,
    private readonly events: SignallingEvents,
    private readonly open: OpenSocket = (url) => new WebSocket(url),
  ) {}

  connect(): void {
    const got = this.open(this.url);
    const early = isEarly(got) ? got : null;
    const ws = early ? early.ws : (got as WebSocket);
    this.ws = ws;
    ws.onopen = () => {
      this.opened = true;
      ws.send(this.hello());
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data === 'string') this.received(ev.data);
    };
    ws.onclose = (ev: CloseEvent) => this.reportClosed(ev.code);
    ws.onerror = () => this.reportClosed(0);
    if (early?.greeted) {
      // The early socket sent this peer's HELLO: what the host answered meanwhile comes first.
      this.opened = true;
      for (const text of early.backlog.splice(0)) this.received(text);
    } else if (ws.readyState === WS_OPEN) ws.onopen(new Event('open'));
    // A socket opened ahead of time may have closed, or failed, already.
    if (ws.readyState === WS_CLOSING || ws.readyState === WS_CLOSED) this.reportClosed(0);
  }

  /** One text frame from the host, live or kept by an early socket. */
  private received(text: string): void {
    const sig = parseSignal(text);
    switch (sig.kind) {
      case 'hello':
        this.events.onRegistered();
        break;
      case 'error':
        this.events.onServerError(sig.text);
        break;
      case 'sdp':
        this.events.onSdp(sig.sdp);
        break;
      case 'ice':
        this.events.onIce(sig.ice);
        break;
      case 'other':
        console.warn('signalling: ignored frame', sig.text.slice(0, 200));
        break;
    }
  }

  send(obj: unknown): void {
    if (this.ws?.readyState === WS_OPEN) this.ws.send(JSON.stringify(obj));
  }

  /** Closes without reporting: the caller is already tearing the session down. */
  close(): void {
    this.closedReported = true;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close();
    }
  }

  private reportClosed(code: number): void {
    if (this.closedReported) return;
    this.closedReported = true;
    this.events.onClosed(this.opened, code);
  }
}
