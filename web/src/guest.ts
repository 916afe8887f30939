//! The page of a guest who opened a share link (`?share=<token>`): one sharing socket, one peer
//! connection carrying video, audio and the `input` data channel, the same input capture as the
//! owner's page (the host drops what the role does not allow), gamepads for players, and a
//! status line naming the role. The host also sends what the owner's page gets of the desktop and
//! the role may see: cursor shapes to everyone, the host clipboard to controllers. Rejoins when the owner's stream comes back; stops for good when
//! the link is refused or revoked.

import { ClipboardSync } from './clipboard-sync.ts';
import { installE2eHooks, recordSent, type E2eHooks } from './e2e.ts';
import { GamepadPoller } from './gamepad-poll.ts';
import { InputCapture } from './input.ts';
import * as msg from './messages.ts';
import { mungeAnswer } from './sdp.ts';
import { zeroJitterBuffer } from './peer.ts';
import * as share from './sharing.ts';

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`index.html lacks #${id}`);
  return e as T;
}

interface GuestHooks extends E2eHooks {
  share: share.ShareState;
  shareClose: { code: number; reason: string } | null;
}

export class GuestApp {
  private readonly video = el<HTMLVideoElement>('video');
  private readonly audio = el<HTMLAudioElement>('audio');
  private readonly status = el<HTMLDivElement>('status');
  private readonly overlay = el<HTMLDivElement>('overlay');
  private state = share.initialState();
  private ws: WebSocket | null = null;
  private pc: RTCPeerConnection | null = null;
  private dc: RTCDataChannel | null = null;
  private readonly hooks: GuestHooks | null;
  private readonly input: InputCapture;
  private readonly pads: GamepadPoller;
  private readonly clipboard: ClipboardSync;

  constructor(private readonly token: string) {
    const send = (text: string): boolean => this.send(text);
    this.hooks = installE2eHooks(window, this.video, send) as GuestHooks | null;
    if (this.hooks) {
      this.hooks.share = this.state;
      this.hooks.shareClose = null;
    }
    this.input = new InputCapture(this.video, (t) => void this.send(t), {
      shortcut: () => false,
      ignore: () => false,
    });
    this.pads = new GamepadPoller((t) => void this.send(t), () => {});
    this.clipboard = new ClipboardSync({
      send,
      status: () => {},
      log: (t) => console.info(t),
      received: (text) => {
        if (this.hooks) this.hooks.clipboardText = text;
      },
    });
  }

  start(): void {
    document.title = 'Selkies - shared desktop';
    el<HTMLButtonElement>('menu-button').hidden = true;
    this.input.attach();
    this.pads.attach();
    void this.clipboard.attach();
    // Reading the clipboard needs a gesture; only a role that may use it asks.
    this.video.addEventListener('click', () => {
      if (share.mayUseClipboard(this.state.role)) void this.clipboard.enable();
    });
    void this.join();
  }

  private show(text: string): void {
    this.status.textContent = text;
  }

  private send(text: string): boolean {
    if (this.dc?.readyState !== 'open') return false;
    this.dc.send(text);
    if (this.hooks) recordSent(this.hooks, text);
    return true;
  }

  private async rtcConfig(): Promise<RTCConfiguration> {
    try {
      const r = await fetch('turn', { credentials: 'same-origin' });
      if (r.ok) return (await r.json()) as RTCConfiguration;
    } catch {
      // no /turn: host candidates only
    }
    return {};
  }

  private async join(): Promise<void> {
    this.show('Joining the shared desktop…');
    const config = await this.rtcConfig();
    const ws = new WebSocket(share.shareSocketUrl(window.location, this.token));
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', name: '' }));
    ws.onmessage = (ev) => void this.onMessage(String(ev.data), config);
    ws.onclose = (ev) => this.onClose(ev.code, ev.reason);
  }

  private setState(next: share.ShareState): void {
    this.state = next;
    if (this.hooks) this.hooks.share = next;
    const others = next.members.filter((m) => m.uid !== next.uid).map((m) => `${m.name} (${m.role})`);
    this.show(`${share.describeRole(next.role)} · connected: ${others.join(', ') || 'nobody else'}`);
  }

  private async onMessage(text: string, config: RTCConfiguration): Promise<void> {
    const notice = share.parseNotice(text);
    if (notice) {
      this.setState(share.reduce(this.state, notice));
      return;
    }
    let v: { sdp?: RTCSessionDescriptionInit; ice?: RTCIceCandidateInit };
    try {
      v = JSON.parse(text) as typeof v;
    } catch {
      return;
    }
    if (v.sdp?.type === 'offer') await this.answer(v.sdp, config);
    else if (v.ice && this.pc) await this.pc.addIceCandidate(v.ice).catch(() => {});
  }

  private async answer(offer: RTCSessionDescriptionInit, config: RTCConfiguration): Promise<void> {
    const pc = new RTCPeerConnection(config);
    this.pc = pc;
    pc.onicecandidate = (e) => {
      if (e.candidate) this.ws?.send(JSON.stringify({ ice: e.candidate.toJSON() }));
    };
    pc.ontrack = (e) => {
      zeroJitterBuffer(e.receiver);
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      if (e.track.kind === 'video') {
        this.video.srcObject = new MediaStream([e.track]);
        void this.video.play().catch(() => {});
        this.overlay.hidden = true;
      } else {
        this.audio.srcObject = new MediaStream(stream.getAudioTracks());
        void this.audio.play().catch(() => {});
      }
    };
    pc.ondatachannel = (e) => {
      this.dc = e.channel;
      e.channel.onopen = () => {
        if (this.hooks) this.hooks.dataChannelState = 'open';
        this.pads.reset();
        if (share.mayUseClipboard(this.state.role)) this.clipboard.channelOpened();
      };
      e.channel.onmessage = (m) => this.onHostMessage(String(m.data));
      e.channel.onclose = () => {
        if (this.hooks) this.hooks.dataChannelState = 'closed';
      };
    };
    pc.onconnectionstatechange = () => {
      if (this.hooks) this.hooks.connectionState = pc.connectionState;
    };
    await pc.setRemoteDescription(offer);
    const answer = await pc.createAnswer();
    const sdp = mungeAnswer(answer.sdp ?? '');
    await pc.setLocalDescription({ type: 'answer', sdp });
    this.ws?.send(JSON.stringify({ sdp: { type: 'answer', sdp } }));
  }

  /** What the host forwards of the owner's desktop messages (the host filters by role). */
  private onHostMessage(text: string): void {
    const m = msg.parseHostMessage(text);
    if (!m) return;
    if (m.type === 'cursor') this.video.style.cursor = msg.cursorCss(m.data);
    else if (m.type === 'clipboard' || m.type === 'clipboard_part') this.clipboard.hostMessage(m.type, m.data);
  }

  private onClose(code: number, reason: string): void {
    if (this.hooks) this.hooks.shareClose = { code, reason };
    this.pc?.close();
    this.pc = null;
    this.dc = null;
    this.overlay.hidden = false;
    this.show(share.closeReason(code, reason));
    if (share.shouldRejoin(code)) {
      setTimeout(() => void this.join(), 2000);
    }
  }
}
