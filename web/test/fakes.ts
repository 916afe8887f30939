// Small fakes of the browser objects the client's classes are given at construction: a
// WebSocket, an RTCPeerConnection with its data channel, and a DOM element/event target. They
// record what the class did and let a test play the other side. Not a test file itself (the
// build compiles test/*.test.ts only).

/** An event with extra fields, the way the classes read DOM events. */
export function event(type: string, fields: Record<string, unknown> = {}): Event {
  const e = new Event(type, { cancelable: true });
  for (const [k, v] of Object.entries(fields)) Object.defineProperty(e, k, { value: v });
  return e;
}

/** A signalling socket: `sent` holds what the client sent; `serverSays` plays the host. */
export class FakeSocket {
  static readonly all: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  closed = false;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  send(text: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(text);
  }

  close(): void {
    this.closed = true;
    this.readyState = 3;
  }

  /** The server accepted the connection. */
  accept(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }

  serverSays(text: string): void {
    this.onmessage?.(new MessageEvent('message', { data: text }));
  }

  /** The server closed the socket with `code`. */
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.(Object.assign(new Event('close'), { code }) as CloseEvent);
  }

  json(): unknown[] {
    return this.sent.filter((t) => t.startsWith('{')).map((t) => JSON.parse(t) as unknown);
  }
}

/** The `input` data channel as the host opens it. */
export class FakeChannel {
  readyState: RTCDataChannelState = 'connecting';
  sent: string[] = [];
  onopen: ((ev: Event) => void) | null = null;
  onclose: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;

  send(text: string): void {
    this.sent.push(text);
  }

  close(): void {
    this.readyState = 'closed';
  }

  open(): void {
    this.readyState = 'open';
    this.onopen?.(new Event('open'));
  }

  hostSays(text: string): void {
    this.onmessage?.(new MessageEvent('message', { data: text }));
  }
}

/** A peer connection that records the negotiation; `answerSdp` is what createAnswer returns.
 * An EventTarget too: the page-load milestones listen with addEventListener. */
export class FakePc extends EventTarget {
  static readonly all: FakePc[] = [];
  remote: RTCSessionDescriptionInit | null = null;
  localDescription: { type: string; sdp: string; toJSON(): RTCSessionDescriptionInit } | null = null;
  candidates: RTCIceCandidateInit[] = [];
  connectionState: RTCPeerConnectionState = 'new';
  iceConnectionState = 'new';
  closed = false;
  answerSdp = 'v=0\r\na=fake-answer\r\n';
  sctp = null;
  onicecandidate: ((ev: { candidate: { toJSON(): RTCIceCandidateInit } | null }) => void) | null = null;
  ontrack: ((ev: unknown) => void) | null = null;
  ondatachannel: ((ev: { channel: FakeChannel }) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  oniceconnectionstatechange: (() => void) | null = null;

  constructor(public config: RTCConfiguration) {
    super();
    FakePc.all.push(this);
  }

  setConfiguration(config: RTCConfiguration): void {
    // Like Chromium: a policy that differs from the connection's own cannot be changed.
    if ((config.bundlePolicy ?? 'balanced') !== (this.config.bundlePolicy ?? 'balanced')) {
      throw new DOMException('bundlePolicy cannot be changed', 'InvalidModificationError');
    }
    this.config = config;
  }

  async setRemoteDescription(d: RTCSessionDescriptionInit): Promise<void> {
    this.remote = d;
  }

  async addIceCandidate(c: RTCIceCandidateInit): Promise<void> {
    this.candidates.push(c);
  }

  async createAnswer(): Promise<RTCSessionDescriptionInit> {
    return { type: 'answer', sdp: this.answerSdp };
  }

  async setLocalDescription(d: RTCSessionDescriptionInit): Promise<void> {
    const desc = { type: d.type ?? 'answer', sdp: d.sdp ?? '' };
    this.localDescription = { ...desc, toJSON: () => ({ type: desc.type as RTCSdpType, sdp: desc.sdp }) };
  }

  getTransceivers(): unknown[] {
    return [];
  }

  getReceivers(): unknown[] {
    return [];
  }

  async getStats(): Promise<Map<string, unknown>> {
    return new Map();
  }

  close(): void {
    this.closed = true;
  }

  /** This side gathered a local candidate. */
  gather(candidate: RTCIceCandidateInit): void {
    this.onicecandidate?.({ candidate: { toJSON: () => candidate } });
  }

  /** The host opened its data channel. */
  hostOpensChannel(): FakeChannel {
    const ch = new FakeChannel();
    this.ondatachannel?.({ channel: ch });
    return ch;
  }

  setState(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.onconnectionstatechange?.();
    this.dispatchEvent(new Event('connectionstatechange'));
  }
}

/** Dependencies that build the fakes above, for `StreamPeer` and `Session`. */
export const fakePeerDeps = {
  createPc: (config: RTCConfiguration) => new FakePc(config) as unknown as RTCPeerConnection,
  openSocket: (url: string) => new FakeSocket(url) as unknown as WebSocket,
};

export function resetFakes(): void {
  FakeSocket.all.length = 0;
  FakePc.all.length = 0;
}

/** A video element: an event target with a box, a frame size, focus and pointer lock. */
export class FakeVideo extends EventTarget {
  videoWidth = 1920;
  videoHeight = 1080;
  focused = 0;
  lockRequests = 0;
  srcObject: unknown = null;
  played = 0;
  style: Record<string, string> = {};

  getBoundingClientRect(): DOMRect {
    return { left: 0, top: 0, width: 960, height: 540, right: 960, bottom: 540, x: 0, y: 0, toJSON: () => ({}) } as DOMRect;
  }

  focus(): void {
    this.focused++;
  }

  async requestPointerLock(): Promise<void> {
    this.lockRequests++;
  }

  async play(): Promise<void> {
    this.played++;
  }
}

/** The document as input capture sees it: an event target with a pointer-lock element. */
export class FakeDocument extends EventTarget {
  pointerLockElement: Element | null = null;
}

/**
 * Resolves once `cond()` holds, checking after each turn of the event loop; throws after
 * `timeoutMs`, so a test whose awaited state never comes fails instead of hanging the run.
 */
export async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${cond.toString()}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
