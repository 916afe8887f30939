//! Pure values behind the drawer's five gauges (docs/web-client.md "What the client does"): bitrate against the
//! selected bitrate, fps out of 60, network round trip + jitter buffer ("Network") out of
//! 1000 ms, GPU load when the encoder is hardware (`nv*`/`va*`) else host CPU, GPU memory when
//! hardware else host RAM. Also parses the host's
//! `system_stats` / `gpu_stats` payloads without trusting them.

export interface Gauge {
  label: string;
  /** Text in the middle of the ring. */
  text: string;
  /** 0..1, the filled part of the ring. */
  fraction: number;
  /** Tooltip. */
  title: string;
}

export interface SystemStats {
  cpuPercent: number;
  memTotalBytes: number;
  memUsedBytes: number;
}

export interface GpuStats {
  /** 0..1 */
  load: number;
  memTotalMb: number;
  memUsedMb: number;
}

const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function parseSystemStats(data: unknown): SystemStats | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  const cpu = finite(d.cpu_percent);
  const total = finite(d.mem_total);
  const used = finite(d.mem_used);
  if (cpu === null || total === null || used === null) return null;
  return { cpuPercent: cpu, memTotalBytes: total, memUsedBytes: used };
}

export function parseGpuStats(data: unknown): GpuStats | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  const load = finite(d.load);
  const total = finite(d.memory_total);
  const used = finite(d.memory_used);
  if (load === null || total === null || used === null) return null;
  return { load, memTotalMb: total, memUsedMb: used };
}

export function isHardwareEncoder(name: string): boolean {
  return name.startsWith('nv') || name.startsWith('va');
}

/** "hardware (nvh264enc)" / "software (x264enc)", as the legacy drawer shows it. */
export function encoderLabel(name: string): string {
  if (!name) return 'unknown';
  return `${isHardwareEncoder(name) ? 'hardware' : 'software'} (${name})`;
}

export interface GaugeInputs {
  kbps: number;
  selectedKbps: number;
  fps: number;
  latencyMs: number;
  encoder: string;
  system: SystemStats | null;
  gpu: GpuStats | null;
}

const clamp01 = (v: number): number => (Number.isFinite(v) ? Math.max(0, Math.min(1, v)) : 0);
const GB = 1024 ** 3;

export function gauges(g: GaugeInputs): Gauge[] {
  const mbps = g.kbps / 1000;
  const selMbps = g.selectedKbps / 1000;
  const out: Gauge[] = [
    {
      label: 'Bitrate',
      text: mbps >= 10 ? mbps.toFixed(0) : mbps.toFixed(1),
      fraction: clamp01(selMbps > 0 ? mbps / selMbps : 0),
      title: `Current video bitrate ${mbps.toFixed(2)} Mbps of ${selMbps} Mbps selected`,
    },
    { label: 'FPS', text: g.fps.toFixed(0), fraction: clamp01(g.fps / 60), title: `Current FPS ${g.fps.toFixed(1)}` },
    {
      // The legacy "Latency" gauge: network round trip + jitter buffer, not glass-to-glass
      // (the stats overlay has that estimate), so it is labelled for what it measures.
      label: 'Network',
      text: g.latencyMs.toFixed(0),
      fraction: clamp01(g.latencyMs / 1000),
      title: `Network round trip + video jitter buffer ${g.latencyMs.toFixed(0)} ms (measured)`,
    },
  ];
  const hw = isHardwareEncoder(g.encoder) && g.gpu !== null;
  if (hw && g.gpu) {
    const pct = g.gpu.load * 100;
    out.push({ label: 'GPU', text: pct.toFixed(0), fraction: clamp01(g.gpu.load), title: `GPU load ${pct.toFixed(1)} %` });
    const used = g.gpu.memUsedMb / 1024;
    const total = g.gpu.memTotalMb / 1024;
    out.push({
      label: 'GPU mem',
      text: used.toFixed(1),
      fraction: clamp01(total > 0 ? used / total : 0),
      title: `GPU memory ${used.toFixed(2)} / ${total.toFixed(2)} GB`,
    });
  } else {
    const cpu = g.system?.cpuPercent ?? 0;
    out.push({ label: 'CPU', text: cpu.toFixed(0), fraction: clamp01(cpu / 100), title: `Host CPU ${cpu.toFixed(1)} %` });
    const used = (g.system?.memUsedBytes ?? 0) / GB;
    const total = (g.system?.memTotalBytes ?? 0) / GB;
    out.push({
      label: 'Memory',
      text: used.toFixed(1),
      fraction: clamp01(total > 0 ? used / total : 0),
      title: `Host memory ${used.toFixed(2)} / ${total.toFixed(2)} GB`,
    });
  }
  return out;
}
