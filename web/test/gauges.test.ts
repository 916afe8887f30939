import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encoderLabel, gauges, parseGpuStats, parseSystemStats } from '../src/gauges.ts';
import { formatEntry, LogBuffer } from '../src/logs.ts';

test('host stats payloads parse, garbage does not', () => {
  assert.deepEqual(parseSystemStats({ cpu_percent: 12.5, mem_total: 8e9, mem_used: 2e9 }), { cpuPercent: 12.5, memTotalBytes: 8e9, memUsedBytes: 2e9 });
  assert.equal(parseSystemStats({ cpu_percent: '12' }), null);
  assert.deepEqual(parseGpuStats({ load: 0.5, memory_total: 8192, memory_used: 1024 }), { load: 0.5, memTotalMb: 8192, memUsedMb: 1024 });
  assert.equal(parseGpuStats(null), null);
});

test('encoder label and the five gauges, CPU or GPU by encoder', () => {
  assert.equal(encoderLabel('nvh264enc'), 'hardware (nvh264enc)');
  assert.equal(encoderLabel('vah264enc'), 'hardware (vah264enc)');
  assert.equal(encoderLabel('x264enc'), 'software (x264enc)');
  const sys = { cpuPercent: 25, memTotalBytes: 8 * 1024 ** 3, memUsedBytes: 2 * 1024 ** 3 };
  const sw = gauges({ kbps: 4000, selectedKbps: 8000, fps: 30, latencyMs: 250, encoder: 'x264enc', system: sys, gpu: null });
  assert.deepEqual(sw.map((g) => [g.label, g.text, g.fraction]), [
    ['Bitrate', '4.0', 0.5],
    ['FPS', '30', 0.5],
    ['Network', '250', 0.25],
    ['CPU', '25', 0.25],
    ['Memory', '2.0', 0.25],
  ]);
  const hw = gauges({ kbps: 30000, selectedKbps: 20000, fps: 90, latencyMs: 2000, encoder: 'nvh264enc', system: sys, gpu: { load: 0.4, memTotalMb: 8192, memUsedMb: 2048 } });
  assert.deepEqual(hw.map((g) => [g.label, g.text, g.fraction]), [
    ['Bitrate', '30', 1],
    ['FPS', '90', 1],
    ['Network', '2000', 1],
    ['GPU', '40', 0.4],
    ['GPU mem', '2.0', 0.25],
  ]);
  // A hardware encoder without gpu_stats (no NVML) falls back to the host CPU.
  assert.equal(gauges({ kbps: 0, selectedKbps: 0, fps: 0, latencyMs: 0, encoder: 'vah264enc', system: null, gpu: null })[3]?.label, 'CPU');
});

test('log buffer: bounded, debug only when enabled, UTC timestamps', () => {
  const l = new LogBuffer(3);
  l.add('debug', 'hidden', 0);
  for (let i = 0; i < 5; i++) l.add('status', `s${i}`, Date.UTC(2025, 0, 1, 12, 0, i));
  assert.deepEqual(l.lines('status'), ['[12:00:02.000] s2', '[12:00:03.000] s3', '[12:00:04.000] s4']);
  assert.deepEqual(l.lines('debug'), []);
  l.debug = true;
  l.add('debug', 'shown', 0);
  assert.deepEqual(l.lines('debug'), ['[00:00:00.000] shown']);
  assert.equal(formatEntry({ at: 1500, level: 'status', text: 'x' }), '[00:00:01.500] x');
});
