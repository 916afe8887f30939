//! Audio of the WebSocket transport: WebCodecs `AudioDecoder` (Opus, 48 kHz) whose planar
//! output is posted to an AudioWorklet (ws-audio-worklet.ts) that plays it through a small
//! bounded jitter buffer (jitter.ts).

import type { WsFrame } from './ws-frame.ts';

export class WsAudio {
  private ctx: AudioContext | null = null;
  private node: AudioWorkletNode | null = null;
  private decoder: AudioDecoder | null = null;
  framesDecoded = 0;
  bytesReceived = 0;
  /** The worklet's last report. */
  buffered = 0;
  dropped = 0;
  underruns = 0;

  static supported(): boolean {
    return typeof AudioDecoder !== 'undefined' && typeof AudioWorkletNode !== 'undefined';
  }

  /** Sets up the context, worklet and decoder; `needsClick` when autoplay is refused. */
  async start(needsClick: (resume: () => void) => void): Promise<void> {
    const ctx = new AudioContext({ sampleRate: 48000, latencyHint: 'interactive' });
    this.ctx = ctx;
    await ctx.audioWorklet.addModule('ws-audio-worklet.js');
    if (this.ctx !== ctx) return;
    const node = new AudioWorkletNode(ctx, 'selkies-ws-audio', { outputChannelCount: [2] });
    node.port.onmessage = (ev: MessageEvent) => {
      const s = ev.data as { buffered?: number; dropped?: number; underruns?: number };
      this.buffered = s.buffered ?? 0;
      this.dropped = s.dropped ?? 0;
      this.underruns = s.underruns ?? 0;
    };
    node.connect(ctx.destination);
    this.node = node;
    this.decoder = new AudioDecoder({
      output: (data) => this.play(data),
      error: (e) => console.warn('WebSocket audio: decoder error', e),
    });
    this.decoder.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 2 });
    if (ctx.state !== 'running') {
      await ctx.resume().catch(() => undefined);
      if ((ctx.state as AudioContextState) !== 'running') needsClick(() => void ctx.resume());
    }
  }

  push(f: WsFrame): void {
    this.bytesReceived += f.payload.length + 12;
    const d = this.decoder;
    if (!d || d.state !== 'configured') return;
    try {
      d.decode(new EncodedAudioChunk({ type: 'key', timestamp: f.captureUs, data: f.payload }));
    } catch (e) {
      console.warn('WebSocket audio: packet not decoded', e);
    }
  }

  close(): void {
    try {
      this.decoder?.close();
    } catch {
      // Closed by an error already.
    }
    this.decoder = null;
    this.node?.disconnect();
    this.node = null;
    void this.ctx?.close().catch(() => undefined);
    this.ctx = null;
  }

  private play(data: AudioData): void {
    this.framesDecoded++;
    const planes: Float32Array[] = [];
    for (let c = 0; c < data.numberOfChannels; c++) {
      const p = new Float32Array(data.numberOfFrames);
      data.copyTo(p, { planeIndex: c, format: 'f32-planar' });
      planes.push(p);
    }
    data.close();
    this.node?.port.postMessage(
      planes,
      planes.map((p) => p.buffer),
    );
  }
}
