//! The camera, sent to the host (docs/webcam.md). Only when the host enables `--enable_webcam`
//! does its offer carry a receive-only video section beside the screen; the client then answers
//! that section `sendonly` with no track, and the drawer shows the camera switch. Turning it on
//! asks `getUserMedia` for the chosen size and rate and puts the track on that sender with
//! `replaceTrack`, which needs no renegotiation; turning it off stops the track. Nothing is
//! captured before the user turns the camera on (privacy), and a reconnect re-attaches the
//! running camera to the new session's sender.

/** The sizes offered in the drawer (the browser may pick the nearest its camera supports). */
export const WEBCAM_SIZES: ReadonlyArray<readonly [number, number]> = [
  [640, 480],
  [1280, 720],
  [1920, 1080],
  [320, 240],
];
export const WEBCAM_RATES: readonly number[] = [30, 15, 24, 60];

/**
 * The `a=mid` of the offer's webcam section: the first `m=video` section the host offers
 * `recvonly` (the screen's section is `sendonly`). Null when the host does not ask for a camera.
 */
export function webcamMid(offerSdp: string): string | null {
  for (const section of offerSdp.split(/\r?\nm=/).slice(1)) {
    if (!section.startsWith('video')) continue;
    const lines = section.split(/\r?\n/);
    if (!lines.includes('a=recvonly')) continue;
    const mid = lines.find((l) => l.startsWith('a=mid:'));
    if (mid) return mid.slice('a=mid:'.length).trim();
  }
  return null;
}

/** Whether this browser can send the camera at all (the host receives VP8 only). */
export function canSendCamera(caps: { codecs: { mimeType: string }[] } | null): boolean {
  return !!caps?.codecs.some((c) => c.mimeType.toLowerCase() === 'video/vp8');
}

/** `"1280x720"` → [1280, 720]; null for anything else. */
export function parseSize(text: string): [number, number] | null {
  const m = /^(\d{2,4})x(\d{2,4})$/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2])] : null;
}

export interface WebcamChoice {
  width: number;
  height: number;
  fps: number;
}

type Listener = (available: boolean, on: boolean, detail: string) => void;

/** The camera's state across sessions: the current session's sender and the running track. */
export class WebcamSender {
  private sender: RTCRtpSender | null = null;
  private track: MediaStreamTrack | null = null;
  private listeners: Listener[] = [];
  choice: WebcamChoice = { width: 640, height: 480, fps: 30 };

  get available(): boolean {
    return this.sender !== null;
  }

  get on(): boolean {
    return this.track !== null;
  }

  /** Size of the running track as the browser captures it, for the drawer and the tests. */
  get settings(): MediaTrackSettings | null {
    return this.track?.getSettings() ?? null;
  }

  onChange(l: Listener): void {
    this.listeners.push(l);
    l(this.available, this.on, '');
  }

  private emit(detail = ''): void {
    for (const l of this.listeners) l(this.available, this.on, detail);
  }

  /**
   * Called with the video connection's offer applied (before the answer): claims the webcam
   * section's transceiver as `sendonly`. A session without one (host option off) detaches.
   */
  attach(pc: RTCPeerConnection, offerSdp: string): void {
    const mid = webcamMid(offerSdp);
    const t = mid === null ? undefined : pc.getTransceivers().find((x) => x.mid === mid);
    if (!t) {
      this.sender = null;
      this.emit();
      return;
    }
    t.direction = 'sendonly';
    this.sender = t.sender;
    if (this.track) void this.put(this.track);
    this.emit();
  }

  /** The session ended: its sender is gone; a running camera keeps running for the next one. */
  detach(): void {
    this.sender = null;
    this.emit();
  }

  private async put(track: MediaStreamTrack | null): Promise<void> {
    const s = this.sender;
    if (!s) return;
    await s.replaceTrack(track);
    if (track) {
      try {
        const p = s.getParameters();
        // A V4L2 application cannot follow size changes: keep the size, drop frames instead.
        p.degradationPreference = 'maintain-resolution';
        await s.setParameters(p);
      } catch (e) {
        console.warn('webcam: sender parameters not set', e);
      }
    }
  }

  /** Starts (or restarts with a new choice) or stops the camera. */
  async set(on: boolean, choice?: WebcamChoice): Promise<void> {
    if (choice) this.choice = choice;
    this.stopTrack();
    if (!on) {
      await this.put(null);
      this.emit();
      return;
    }
    const { width, height, fps } = this.choice;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: fps } },
        audio: false,
      });
      const track = stream.getVideoTracks()[0] ?? null;
      if (!track) throw new Error('no video track');
      track.contentHint = 'detail';
      this.track = track;
      track.onended = () => {
        if (this.track === track) void this.set(false);
      };
      await this.put(track);
      const s = track.getSettings();
      this.emit(`${s.width ?? '?'}×${s.height ?? '?'} at ${s.frameRate ?? '?'} fps`);
    } catch (e) {
      console.warn('webcam: camera refused', e);
      this.emit(`camera unavailable: ${String(e)}`);
    }
  }

  private stopTrack(): void {
    this.track?.stop();
    this.track = null;
  }
}

/** The one camera of the page. */
// Pure: a bundle that never uses it (boot.js) leaves it out.
export const webcam = /* @__PURE__ */ new WebcamSender();

/** Binds the drawer's camera section (`#webcam-settings`), shown only when the host asks. */
export function bindWebcamDrawer(doc: Document, cam: WebcamSender): void {
  const section = doc.getElementById('webcam-settings');
  const sw = doc.getElementById('sw-webcam') as HTMLInputElement | null;
  const selSize = doc.getElementById('sel-webcam-size') as HTMLSelectElement | null;
  const selFps = doc.getElementById('sel-webcam-fps') as HTMLSelectElement | null;
  const status = doc.getElementById('webcam-status');
  if (!section || !sw || !selSize || !selFps) return;
  for (const [w, h] of WEBCAM_SIZES) selSize.add(new Option(`${w}×${h}`, `${w}x${h}`));
  for (const r of WEBCAM_RATES) selFps.add(new Option(`${r} fps`, String(r)));
  const choice = (): WebcamChoice => {
    const [width, height] = parseSize(selSize.value) ?? [640, 480];
    return { width, height, fps: Number(selFps.value) || 30 };
  };
  const apply = (): void => void cam.set(sw.checked, choice());
  sw.addEventListener('change', apply);
  selSize.addEventListener('change', () => sw.checked && apply());
  selFps.addEventListener('change', () => sw.checked && apply());
  cam.onChange((available, on, detail) => {
    section.hidden = !available;
    sw.checked = on;
    if (status) status.textContent = detail;
  });
}
