//! The AudioWorklet processor of the WebSocket transport, built into its own file
//! (ws-audio-worklet.js) because worklets load as modules from the page's origin. It receives
//! decoded planar samples on its port and plays them through a bounded jitter buffer (jitter.ts):
//! 40 ms to start, 200 ms at most; the main thread reads its counters through `stats` messages.

import { JitterBuffer } from './jitter.ts';

declare const sampleRate: number;
declare function registerProcessor(name: string, ctor: unknown): void;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}

class WsAudioProcessor extends AudioWorkletProcessor {
  private readonly buf = new JitterBuffer(2, Math.round(sampleRate * 0.2), Math.round(sampleRate * 0.04));
  private frames = 0;

  constructor() {
    super();
    this.port.onmessage = (ev: MessageEvent) => {
      const planes = ev.data as Float32Array[];
      if (Array.isArray(planes)) this.buf.push(planes);
    };
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0];
    if (out) this.buf.pull(out);
    // Every ~0.5 s: how full the buffer is and what it dropped, for the stats.
    if (++this.frames % 188 === 0) {
      this.port.postMessage({ buffered: this.buf.buffered, dropped: this.buf.dropped, underruns: this.buf.underruns });
    }
    return true;
  }
}

registerProcessor('selkies-ws-audio', WsAudioProcessor);
