//! One browser peer connection of the legacy protocol (video = peer 1, audio = peer 3): its own
//! signalling socket, the answer to the host's offer (munged, §5.6), trickled ICE both ways with
//! remote candidates queued until the answer is sent (docs/testing.md G8; nothing but the
//! answer's own steps runs between the offer and the answer: docs/benchmarks.md, "First frame:
//! nothing ahead of the answer"), and receiver latency hints.

import { milestone, watchPeer } from './milestones.ts';
import { takePeer, takeSocket } from './prefetch.ts';
import { mungeAnswer } from './sdp.ts';
import { CLOSE_TAKEN_OVER, Signalling, type OpenSocket } from './signalling.ts';

export interface PeerEvents {
  onStatus(text: string): void;
  onTrack(ev: RTCTrackEvent): void;
  onDataChannel(dc: RTCDataChannel): void;
  /** The host's offer is applied and the answer not yet created (the webcam claims its sender). */
  onOffer?(pc: RTCPeerConnection, sdp: string): void;
  onStateChange(): void;
  /** The signalling socket closed or the connection failed: the session must restart. */
  onLost(reason: string, wasOpen: boolean): void;
  /** Another tab of this browser took the session over: stop without reconnecting. */
  onTakenOver(): void;
}

/** Sets every latency hint Chromium knows to 0 (`playoutDelayHint` is the pre-standard name). */
export function zeroJitterBuffer(receiver: RTCRtpReceiver): void {
  const r = receiver as RTCRtpReceiver & { jitterBufferTarget?: number | null; playoutDelayHint?: number };
  try {
    if (r.jitterBufferTarget !== 0) r.jitterBufferTarget = 0;
    if ('playoutDelayHint' in r && r.playoutDelayHint !== 0) r.playoutDelayHint = 0;
  } catch (e) {
    console.warn('jitterBufferTarget not settable', e);
  }
}

/** Where a peer gets its connection and its signalling socket (fakes in unit tests). */
export interface PeerDeps {
  createPc(config: RTCConfiguration): RTCPeerConnection;
  openSocket: OpenSocket;
}

export const browserPeerDeps: PeerDeps = {
  createPc: (config) => takePeer(config) ?? new RTCPeerConnection(config),
  openSocket: (url) => takeSocket(url) ?? new WebSocket(url),
};

export class StreamPeer {
  readonly pc: RTCPeerConnection;
  private readonly sig: Signalling;
  private pendingIce: RTCIceCandidateInit[] = [];
  private remoteApplied = false;
  private stopped = false;
  /** Settles once the ICE servers are applied to the connection. */
  private readonly configured: Promise<void>;
  /** Tracks announced while an offer is being answered, delivered once the answer is sent. */
  private heldTracks: RTCTrackEvent[] | null = null;

  constructor(
    readonly name: string,
    url: string,
    /**
     * The ICE servers; while `./turn` has not answered, a promise of them: the offer is then
     * applied and answered meanwhile, and only the answer's `setLocalDescription` (where ICE
     * gathering starts) waits for them.
     */
    rtcConfig: RTCConfiguration | Promise<RTCConfiguration>,
    hello: () => string,
    private readonly events: PeerEvents,
    /** Runs after the offer is applied and before the answer is made (the microphone's track). */
    private readonly beforeAnswer?: (pc: RTCPeerConnection, offer: string) => Promise<void>,
    deps: PeerDeps = browserPeerDeps,
  ) {
    if (rtcConfig instanceof Promise) {
      this.pc = deps.createPc({});
      this.configured = rtcConfig.then((cfg) => this.pc.setConfiguration(cfg));
      // A failure is reported where the answer waits for it (applyOffer).
      this.configured.catch(() => {});
    } else {
      this.pc = deps.createPc(rtcConfig);
      this.configured = Promise.resolve();
    }
    watchPeer(name, this.pc);
    this.pc.onicecandidate = (ev) => {
      if (ev.candidate) this.sig.send({ ice: ev.candidate.toJSON() });
    };
    this.pc.ontrack = (ev) => {
      zeroJitterBuffer(ev.receiver);
      // Attaching a track to its media element costs the main thread several ms; while the
      // answer is being made it waits until the answer is sent (the first media comes later).
      if (this.heldTracks) this.heldTracks.push(ev);
      else this.events.onTrack(ev);
    };
    this.pc.ondatachannel = (ev) => this.events.onDataChannel(ev.channel);
    this.pc.onconnectionstatechange = () => {
      this.events.onStateChange();
      if (this.pc.connectionState === 'failed') this.lose('peer connection failed', true);
    };
    this.pc.oniceconnectionstatechange = () => this.events.onStateChange();
    const greet = (): string => {
      milestone(`${name} WebSocket open, HELLO sent`);
      return hello();
    };
    this.sig = new Signalling(url, greet, {
      onRegistered: () => this.events.onStatus(`${name}: registered, waiting for the stream`),
      onSdp: (sdp) => void this.applyOffer(sdp),
      onIce: (ice) => void this.addIce(ice),
      onServerError: (text) => this.events.onStatus(`${name}: ${text}`),
      onClosed: (wasOpen, code) => {
        if (code === CLOSE_TAKEN_OVER) {
          // Another tab of this browser holds the session now; reconnecting would take it back.
          if (!this.stopped) this.events.onTakenOver();
          return;
        }
        this.lose(wasOpen ? 'signalling closed' : 'cannot reach the host', wasOpen);
      },
    }, deps.openSocket);
  }

  start(): void {
    this.sig.connect();
  }

  stop(): void {
    this.stopped = true;
    this.sig.close();
    this.pc.close();
  }

  private lose(reason: string, wasOpen: boolean): void {
    if (this.stopped) return;
    this.events.onLost(`${this.name}: ${reason}`, wasOpen);
  }

  private async applyOffer(desc: RTCSessionDescriptionInit): Promise<void> {
    if (desc.type !== 'offer') {
      this.events.onStatus(`${this.name}: ignored SDP of type ${String(desc.type)}`);
      return;
    }
    milestone(`${this.name} offer received`);
    this.heldTracks ??= [];
    try {
      await this.pc.setRemoteDescription(desc);
      this.events.onOffer?.(this.pc, desc.sdp ?? '');
      if (this.beforeAnswer) await this.beforeAnswer(this.pc, desc.sdp ?? '');
      const answer = await this.pc.createAnswer();
      answer.sdp = mungeAnswer(answer.sdp ?? '');
      await this.configured;
      await this.pc.setLocalDescription(answer);
      const local = this.pc.localDescription;
      if (local) this.sig.send({ sdp: local.toJSON() });
      milestone(`${this.name} answer sent`);
      this.events.onStatus(`${this.name}: answer sent`);
    } catch (e) {
      if (!this.stopped) {
        console.error(`${this.name}: negotiation failed`, e);
        this.lose(`negotiation failed: ${String(e)}`, true);
      }
    } finally {
      this.releaseTracks();
    }
    // The host's candidates that came before the offer: after the answer, which does not
    // depend on them, so they do not hold it back (each is a round trip to WebRTC's thread).
    // Checks start once the answer is applied, by which time they are in.
    if (this.stopped) return;
    this.remoteApplied = true;
    const queued = this.pendingIce;
    this.pendingIce = [];
    for (const c of queued) await this.addIce(c);
  }

  private releaseTracks(): void {
    const held = this.heldTracks ?? [];
    this.heldTracks = null;
    for (const ev of held) this.events.onTrack(ev);
  }

  private async addIce(ice: RTCIceCandidateInit): Promise<void> {
    if (!this.remoteApplied) {
      this.pendingIce.push(ice);
      return;
    }
    try {
      await this.pc.addIceCandidate(ice);
    } catch (e) {
      console.warn(`${this.name}: bad remote candidate`, ice.candidate, e);
    }
  }
}
