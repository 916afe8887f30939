// Benchmark (prints numbers, asserts nothing): adaptive bitrate through the userspace impairment
// relay (abr.mjs). x264enc 1080p30 at BENCH_KBPS (4000) with a moving scene; phases: unimpaired,
// capped at BENCH_CAP_KBPS (3000) with BENCH_LOSS % (2) loss, cap lifted. Runs the host with
// `--congestion_control` on and off (BENCH_MODES, default "on off") and prints, per second: decoded
// fps (a second counts as under 20 fps only beyond the ±1 frame a count can be off), received
// kbit/s, the longest gap between presented frames, Chromium's freeze counters and
// the encoder bitrate/frame rate the host has in force; then a summary per mode.
// Run through ci/bench-abr (root, loopback-only network namespace).
import { loadavg } from 'node:os';
import { hostRates, openThroughRelay, startCoturn, startRelay, startScene, twccLines, videoCounters } from './abr.mjs';
import { Env, reportFailure, sleep } from './harness.mjs';

const PORT = Number(process.env.E2E_PORT ?? 18095);
const METRICS_PORT = PORT + 1;
const ORIGIN = `http://127.0.0.1:${PORT}`;
const KBPS = Number(process.env.BENCH_KBPS ?? 4000);
const CAP = Number(process.env.BENCH_CAP_KBPS ?? 3000);
const LOSS = Number(process.env.BENCH_LOSS ?? 2);
const MODES = (process.env.BENCH_MODES ?? 'on off').split(' ').filter(Boolean);
const PHASES = [
  { name: 'unimpaired', seconds: Number(process.env.BENCH_CLEAR_S ?? 10), cfg: { rateKbps: 0, lossPercent: 0 } },
  { name: `cap ${CAP} kbit/s + ${LOSS} % loss`, seconds: Number(process.env.BENCH_CAP_S ?? 20), cfg: { rateKbps: CAP, lossPercent: LOSS } },
  { name: 'cap lifted', seconds: Number(process.env.BENCH_LIFTED_S ?? 15), cfg: { rateKbps: 0, lossPercent: 0 } },
];
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

const env = new Env();
let browser = null;
let relay = null;

/** One host run with congestion control `on`/`off`: per-second rows and the summary. */
async function run(mode) {
  await env.startHost(PORT, [
    '--encoder=x264enc', '--framerate=30', `--video_bitrate=${KBPS}`, '--enable_basic_auth=false', '--enable_resize=false',
    '--enable_metrics_http=true', `--metrics_http_port=${METRICS_PORT}`, `--congestion_control=${mode === 'on'}`,
  ]);
  relay.set(PHASES[0].cfg);
  browser = await openThroughRelay(ORIGIN);
  const twcc = twccLines(browser.sdp.offers.find((o) => o.includes('m=video')) ?? '');
  await sleep(2000); // past the first keyframe's burst
  console.log(`\n## congestion control ${mode} (offer: ${twcc.length ? twcc.join(' | ') : 'no TWCC'}); load ${load()}`);
  console.log('|   s | phase                          |  fps | kbit/s | max gap ms | freezes | freeze ms | host kbit/s | host fps |');
  console.log('|----:|--------------------------------|-----:|-------:|-----------:|--------:|----------:|------------:|---------:|');
  const rows = [];
  let prev = await videoCounters(browser);
  let t = 0;
  for (const phase of PHASES) {
    relay.set(phase.cfg);
    for (let s = 0; s < phase.seconds; s++) {
      await sleep(1000);
      t++;
      const cur = await videoCounters(browser);
      const host = await hostRates(METRICS_PORT);
      const dt = (cur.t - prev.t) / 1000 || 1;
      const row = {
        t, phase: phase.name,
        fps: (cur.frames - prev.frames) / dt,
        // A window of 1.005 s holds 20 or 21 frames of an exact 20 fps stream: a count is
        // under 20 fps only when one more frame would still be (the counting error is ±1).
        under20: (cur.frames - prev.frames + 1) / dt < 20,
        kbps: ((cur.bytes - prev.bytes) * 8) / 1000 / dt,
        gap: cur.maxGapMs,
        freezes: cur.freezes - prev.freezes,
        freezeMs: (cur.freezeS - prev.freezeS) * 1000,
        hostKbps: host.kbps, hostFps: host.fps,
      };
      rows.push(row);
      prev = cur;
      const f = (v, n, d = 0) => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(d)).padStart(n);
      console.log(`| ${String(t).padStart(3)} | ${phase.name.padEnd(30)} | ${f(row.fps, 4, 1)} | ${f(row.kbps, 6)} | ${f(row.gap, 10)} | ${f(row.freezes, 7)} | ${f(row.freezeMs, 9)} | ${f(row.hostKbps, 11)} | ${f(row.hostFps, 8)} |`);
    }
  }
  const during = rows.filter((r) => r.phase === PHASES[1].name);
  const lifted = rows.filter((r) => r.phase === PHASES[2].name);
  const clear = rows.filter((r) => r.phase === PHASES[0].name);
  const clearKbps = clear.reduce((a, r) => a + r.kbps, 0) / Math.max(1, clear.length);
  const liftAt = lifted[0]?.t ?? t;
  const hostBack = lifted.find((r) => r.hostKbps !== null && r.hostKbps >= KBPS);
  const rxBack = lifted.find((r) => r.kbps >= 0.9 * clearKbps);
  const summary = {
    mode,
    minFpsCapped: Math.min(...during.map((r) => r.fps)),
    meanFpsCapped: during.reduce((a, r) => a + r.fps, 0) / Math.max(1, during.length),
    secondsUnder20: during.filter((r) => r.under20).length,
    longestGapMs: Math.max(...[...during, ...lifted].map((r) => r.gap)),
    freezes: [...during, ...lifted].reduce((a, r) => a + r.freezes, 0),
    lowestHostKbps: Math.min(...during.map((r) => r.hostKbps ?? KBPS)),
    hostRecoveredS: hostBack ? hostBack.t - liftAt + 1 : null,
    rxRecoveredS: rxBack ? rxBack.t - liftAt + 1 : null,
    clearKbps,
    relay: relay.stats(),
    load: load(),
  };
  console.log(`summary ${mode}: fps ≥ 20 held while capped: ${summary.secondsUnder20 === 0 ? 'yes' : `no (${summary.secondsUnder20} s under)`} ` +
    `(per-second min ${summary.minFpsCapped.toFixed(1)}, mean ${summary.meanFpsCapped.toFixed(1)}); ` +
    `longest gap ${summary.longestGapMs.toFixed(0)} ms (freeze > 500 ms: ${summary.longestGapMs > 500 ? 'yes' : 'no'}), Chromium freezes ${summary.freezes}; ` +
    `host bitrate min ${summary.lowestHostKbps} kbit/s, back to ${KBPS} after ${summary.hostRecoveredS ?? `> ${lifted.length}`} s; ` +
    `received back to 90 % of unimpaired (${clearKbps.toFixed(0)} kbit/s) after ${summary.rxRecoveredS ?? `> ${lifted.length}`} s; load ${summary.load}`);
  console.log(`relay: ${JSON.stringify(summary.relay)}`);
  await browser.close();
  browser = null;
  await env.stop('host');
  await sleep(1000);
  return summary;
}

try {
  await env.startX();
  startScene(env);
  await startCoturn(env);
  relay = await startRelay();
  console.log(`selkies ABR benchmark: x264enc 1920x1080@30 ${KBPS} kbit/s, ${new Date().toISOString()}, load ${load()}`);
  const results = [];
  for (const mode of MODES) results.push(await run(mode));
  console.log('\n| congestion control | min / mean fps capped | s < 20 fps | longest gap ms | freezes | host kbit/s min | host back to configured | received back |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(`| ${r.mode} | ${r.minFpsCapped.toFixed(1)} / ${r.meanFpsCapped.toFixed(1)} | ${r.secondsUnder20} | ${r.longestGapMs.toFixed(0)} | ${r.freezes} | ${r.lowestHostKbps} | ${r.hostRecoveredS ?? '-'} s | ${r.rxRecoveredS ?? '-'} s |`);
  }
} catch (e) {
  reportFailure(e, env, browser);
} finally {
  await browser?.close();
  relay?.close();
  await env.stopAll();
}
