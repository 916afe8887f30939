//! The microphone (docs/microphone.md): captured with getUserMedia (echo cancellation and noise
//! suppression as the user chooses in the drawer) and sent to the host on the audio peer
//! connection. The client opts in with `"mic": true` in its HELLO metadata; a host started with
//! `--enable_microphone` then adds a receive-only audio m-line to its offer, which this module
//! finds (`micMid`) and answers send-only with the captured track. Off by default, never
//! remembered across page loads.

/** The `a=mid` of the offer's audio section the host receives on (`a=recvonly`), or null. */
export function micMid(sdp: string): string | null {
  const sections = sdp.split(/\r?\n(?=m=)/);
  for (const s of sections) {
    if (!s.startsWith('m=audio')) continue;
    if (!/^a=recvonly\s*$/m.test(s)) continue;
    const mid = /^a=mid:(\S+)/m.exec(s);
    if (mid) return mid[1];
  }
  return null;
}

export interface MicOptions {
  echoCancellation: boolean;
  noiseSuppression: boolean;
}

/** getUserMedia constraints for the host's virtual microphone (mono, 48 kHz like Opus). */
export function constraints(o: MicOptions): MediaStreamConstraints {
  return {
    audio: {
      echoCancellation: o.echoCancellation,
      noiseSuppression: o.noiseSuppression,
      autoGainControl: o.noiseSuppression,
      channelCount: 1,
      sampleRate: 48000,
    },
    video: false,
  };
}

function byId<T extends HTMLElement>(id: string): T | null {
  return document.getElementById(id) as T | null;
}

/** The captured microphone and the drawer switches that control it. */
export class Microphone {
  private track: MediaStreamTrack | null = null;
  private readonly sw = byId<HTMLInputElement>('sw-mic');
  private readonly swEcho = byId<HTMLInputElement>('sw-mic-echo');
  private readonly swNoise = byId<HTMLInputElement>('sw-mic-noise');
  private readonly status = byId<HTMLElement>('mic-status');

  /** `renegotiate`: restart the audio connection so the offer follows the new state. */
  constructor(
    private readonly renegotiate: (reason: string) => void,
    private readonly log: (text: string) => void,
  ) {}

  /** Whether the HELLO should ask for the microphone. */
  get wanted(): boolean {
    return this.track !== null && this.track.readyState === 'live';
  }

  attach(): void {
    this.sw?.addEventListener('change', () => void this.setOn(this.sw?.checked ?? false));
    const restart = (): void => {
      if (this.track) void this.setOn(true);
    };
    this.swEcho?.addEventListener('change', restart);
    this.swNoise?.addEventListener('change', restart);
  }

  private options(): MicOptions {
    return { echoCancellation: this.swEcho?.checked ?? true, noiseSuppression: this.swNoise?.checked ?? true };
  }

  async setOn(on: boolean): Promise<void> {
    this.track?.stop();
    this.track = null;
    if (on) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia(constraints(this.options()));
        this.track = stream.getAudioTracks()[0] ?? null;
      } catch (e) {
        this.setStatus(`Microphone unavailable: ${String(e)}`);
        if (this.sw) this.sw.checked = false;
        return;
      }
    }
    this.setStatus(on ? 'Microphone: connecting…' : 'Microphone off');
    this.log(`microphone ${on ? 'on' : 'off'}`);
    this.renegotiate(on ? 'microphone on' : 'microphone off');
  }

  /** Before answering the audio offer: send the track on the host's receive-only section. */
  async beforeAnswer(pc: RTCPeerConnection, offer: string): Promise<void> {
    if (!this.track) return;
    const mid = micMid(offer);
    const t = mid === null ? undefined : pc.getTransceivers().find((x) => x.mid === mid);
    if (!t) {
      this.setStatus('The host does not take a microphone (start it with --enable_microphone).');
      return;
    }
    t.direction = 'sendonly';
    await t.sender.replaceTrack(this.track);
    this.setStatus('Microphone: sending to the host');
  }

  private setStatus(text: string): void {
    if (this.status) this.status.textContent = text;
  }
}
