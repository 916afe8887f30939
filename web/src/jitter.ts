//! The audio jitter buffer of the WebSocket transport's AudioWorklet: a bounded ring of decoded
//! samples (planar, per channel). Playback starts once `targetFrames` are buffered; when the
//! buffer runs dry it outputs silence and waits for the target again; when a burst pushes it
//! past `maxFrames`, the oldest samples are discarded so latency never grows past the bound.
//! Pure (no Web Audio); unit-tested in test/jitter.test.ts.

export class JitterBuffer {
  private readonly ring: Float32Array[];
  private read = 0;
  private size = 0;
  private playing = false;
  /** Counters for the stats: frames discarded on overflow, and output frames of silence. */
  dropped = 0;
  underruns = 0;

  constructor(
    readonly channels: number,
    readonly maxFrames: number,
    readonly targetFrames: number,
  ) {
    this.ring = Array.from({ length: channels }, () => new Float32Array(maxFrames));
  }

  get buffered(): number {
    return this.size;
  }

  /** Appends planar samples (one array per channel, equal lengths). */
  push(planes: Float32Array[]): void {
    const n = planes[0]?.length ?? 0;
    if (n === 0) return;
    // Keep only the newest maxFrames of what arrives.
    const skip = Math.max(0, n - this.maxFrames);
    const take = n - skip;
    const overflow = Math.max(0, this.size + take - this.maxFrames);
    if (overflow > 0) {
      this.read = (this.read + overflow) % this.maxFrames;
      this.size -= overflow;
      this.dropped += overflow;
    }
    this.dropped += skip;
    let write = (this.read + this.size) % this.maxFrames;
    for (let i = 0; i < take; i++) {
      for (let c = 0; c < this.channels; c++) {
        const src = planes[Math.min(c, planes.length - 1)];
        (this.ring[c] as Float32Array)[write] = src?.[skip + i] ?? 0;
      }
      write = (write + 1) % this.maxFrames;
    }
    this.size += take;
  }

  /** Fills `out` (one array per output channel); returns the frames that came from the buffer. */
  pull(out: Float32Array[]): number {
    const n = out[0]?.length ?? 0;
    if (!this.playing && this.size >= this.targetFrames) this.playing = true;
    if (!this.playing) {
      for (const o of out) o.fill(0);
      return 0;
    }
    const got = Math.min(n, this.size);
    for (let i = 0; i < got; i++) {
      const at = (this.read + i) % this.maxFrames;
      for (let c = 0; c < out.length; c++) {
        (out[c] as Float32Array)[i] = (this.ring[Math.min(c, this.channels - 1)] as Float32Array)[at] ?? 0;
      }
    }
    for (const o of out) o.fill(0, got);
    this.read = (this.read + got) % this.maxFrames;
    this.size -= got;
    if (got < n) {
      this.underruns += n - got;
      this.playing = false;
    }
    return got;
  }
}
