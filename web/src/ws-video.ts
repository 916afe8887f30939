//! Video of the WebSocket transport: WebCodecs `VideoDecoder` fed with the host's access units
//! (H.264 as Annex B, configured from the SPS of the first keyframe), presented in the page's
//! own `<video>` element so `requestVideoFrameCallback` measurements, scaling and fullscreen work
//! as with WebRTC: through a `MediaStreamTrackGenerator` where the browser has one (Chromium),
//! else by drawing onto a canvas whose `captureStream()` feeds the element.

import { decoderCodec, type WsFrame } from './ws-frame.ts';

interface TrackGenerator extends MediaStreamTrack {
  writable: WritableStream<VideoFrame>;
}
type GeneratorCtor = new (init: { kind: 'video' }) => TrackGenerator;

/** Decoded frames waiting in the decoder past this count mean it cannot keep up: skip to a keyframe. */
const MAX_DECODE_QUEUE = 8;

export class WsVideo {
  private decoder: VideoDecoder | null = null;
  private codec: string | null = null;
  private waitingForKey = true;
  private writer: WritableStreamDefaultWriter<VideoFrame> | null = null;
  private ctx: CanvasRenderingContext2D | null = null;
  private readonly canvas: HTMLCanvasElement | null = null;
  framesDecoded = 0;
  keyFramesDecoded = 0;
  framesDropped = 0;
  bytesReceived = 0;
  width = 0;
  height = 0;
  /** Sum and count of capture → decoded (ms, host clock vs this clock), reset by `takeDelay`. */
  private delaySum = 0;
  private delayCount = 0;
  decodeErrors = 0;
  codecName = '';

  constructor(
    el: HTMLVideoElement,
    /** Asks the host for a keyframe (after a decoder error or a skipped backlog). */
    private readonly needKeyframe: () => void,
  ) {
    const Gen = (window as unknown as { MediaStreamTrackGenerator?: GeneratorCtor }).MediaStreamTrackGenerator;
    if (Gen) {
      const gen = new Gen({ kind: 'video' });
      this.writer = gen.writable.getWriter();
      el.srcObject = new MediaStream([gen]);
    } else {
      this.canvas = document.createElement('canvas');
      this.ctx = this.canvas.getContext('2d');
      el.srcObject = this.canvas.captureStream();
    }
    void el.play().catch(() => undefined);
  }

  /** Whether this browser can decode the stream at all (WebCodecs needs a secure context). */
  static supported(): boolean {
    return typeof VideoDecoder !== 'undefined';
  }

  push(f: WsFrame): void {
    this.bytesReceived += f.payload.length + 12;
    if (this.waitingForKey && !f.keyframe) {
      this.framesDropped++;
      return;
    }
    if (f.keyframe) {
      const codec = decoderCodec(f.codec, f.payload);
      if (codec && (codec !== this.codec || !this.decoder || this.decoder.state === 'closed')) this.configure(codec);
      this.codecName = f.codec;
    }
    const d = this.decoder;
    if (!d || d.state !== 'configured') return;
    if (!f.keyframe && d.decodeQueueSize > MAX_DECODE_QUEUE) {
      this.framesDropped++;
      this.waitingForKey = true;
      this.needKeyframe();
      return;
    }
    this.waitingForKey = false;
    try {
      d.decode(new EncodedVideoChunk({ type: f.keyframe ? 'key' : 'delta', timestamp: f.captureUs, data: f.payload }));
      if (f.keyframe) this.keyFramesDecoded++;
    } catch (e) {
      this.fail(e);
    }
  }

  /** Mean capture → decoded delay since the last call (ms), null without frames. */
  takeDelay(): number | null {
    const v = this.delayCount ? this.delaySum / this.delayCount : null;
    this.delaySum = this.delayCount = 0;
    return v;
  }

  close(): void {
    try {
      this.decoder?.close();
    } catch {
      // Already closed by an error.
    }
    this.decoder = null;
    void this.writer?.close().catch(() => undefined);
    this.writer = null;
  }

  private configure(codec: string): void {
    try {
      this.decoder?.close();
    } catch {
      // Closed by an error already.
    }
    this.codec = codec;
    this.decoder = new VideoDecoder({
      output: (frame) => this.present(frame),
      error: (e) => this.fail(e),
    });
    this.decoder.configure({ codec, optimizeForLatency: true });
  }

  private present(frame: VideoFrame): void {
    this.framesDecoded++;
    this.width = frame.displayWidth;
    this.height = frame.displayHeight;
    const delay = Date.now() - frame.timestamp / 1000;
    if (Number.isFinite(delay) && delay >= 0 && delay < 60_000) {
      this.delaySum += delay;
      this.delayCount++;
    }
    if (this.writer) {
      // The generator takes ownership and closes the frame.
      this.writer.write(frame).catch(() => frame.close());
      return;
    }
    const c = this.canvas;
    if (c && this.ctx) {
      if (c.width !== frame.displayWidth || c.height !== frame.displayHeight) {
        c.width = frame.displayWidth;
        c.height = frame.displayHeight;
      }
      this.ctx.drawImage(frame, 0, 0);
    }
    frame.close();
  }

  private fail(e: unknown): void {
    this.decodeErrors++;
    console.warn('WebSocket video: decoder error; waiting for a keyframe', e);
    this.codec = null;
    this.waitingForKey = true;
    this.needKeyframe();
  }
}
