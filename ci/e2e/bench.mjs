// Benchmark (prints numbers, asserts nothing): page load → first frame, glass-to-glass latency
// split into host and browser parts (xsetroot + requestVideoFrameCallback), with a moving scene
// and on a static desktop; host and Xvfb CPU/RSS and the browser's video statistics over 20 s at
// 1080p30. Run through ci/bench-e2e (root, loopback-only network namespace).
import { Browser } from './browser.mjs';
import { colourTrial } from './g2g.mjs';
import { Env, reportFailure, sleep } from './harness.mjs';
import { loadavg } from 'node:os';
import { parsePrometheus } from './prom.mjs';

const PORT = Number(process.env.E2E_PORT ?? 18081);
const METRICS_PORT = PORT + 1;
const ORIGIN = `http://127.0.0.1:${PORT}`;
const ENCODER = process.env.BENCH_ENCODER ?? 'x264enc';
const LOADS = Number(process.env.BENCH_LOADS ?? 3);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);
const CPU_SECONDS = Number(process.env.BENCH_CPU_SECONDS ?? 20);
// The page to open: `/?transport=websocket` measures the WebSocket transport (docs/connectivity.md).
const PAGE = process.env.BENCH_PAGE ?? '/';
// Extra host flags, space-separated (e.g. `--playout_delay_ms=-1` for the before/after).
const EXTRA = (process.env.BENCH_HOST_FLAGS ?? '').split(' ').filter(Boolean);
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const row = (name, xs, unit) =>
  console.log(`| ${name.padEnd(46)} | ${String(xs.length).padStart(3)} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 90))} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} | ${unit.padEnd(4)} |`);
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(0) : '-').padStart(6);

// Per-load spans printed under the milestones: the page's answer, then the host's part after it.
const SPANS = [
  ['video offer received', 'video answer sent', 'span: offer received → answer sent'],
  ['video answer sent', 'video DTLS connected', 'span: answer sent → DTLS connected'],
  ['video DTLS connected', 'video first frame shown', 'span: DTLS connected → first frame shown'],
];

const env = new Env();
let browser = null;
try {
  await env.startX();
  await env.startAudio();
  await env.startHost(PORT, [`--encoder=${ENCODER}`, '--framerate=30', '--enable_basic_auth=false', '--enable_resize=false', '--enable_metrics_http=true', `--metrics_http_port=${METRICS_PORT}`, ...EXTRA]);

  const loads = [];
  const marks = new Map(); // milestone → ms after navigation start, one per load
  const spans = new Map(); // label → per-load durations between two milestones
  // The page loads see the moving scene unless BENCH_LOAD_SCENE=static: then only xclock
  // changes the screen (once a second), like an idle desktop a user opens.
  const staticLoads = process.env.BENCH_LOAD_SCENE === 'static';
  if (staticLoads) {
    await env.stop('motion');
    await sleep(500);
  }
  for (let i = 0; i < LOADS; i++) {
    browser = await Browser.launch(ORIGIN);
    loads.push(await browser.open(PAGE, 30000));
    const got = new Map(await browser.e2e(() => window.__e2e.milestones?.() ?? []));
    for (const [name, ms] of got) {
      if (!marks.has(name)) marks.set(name, []);
      marks.get(name).push(ms);
    }
    // Spans within one load (the medians of two milestones come from different loads).
    for (const [from, to, label] of SPANS) {
      if (got.has(from) && got.has(to)) {
        if (!spans.has(label)) spans.set(label, []);
        spans.get(label).push(got.get(to) - got.get(from));
      }
    }
    if (i < LOADS - 1) {
      await browser.close();
      browser = null;
      await sleep(1500); // the host tears the previous session down before the next HELLO
    }
  }

  if (staticLoads) await env.startMotion();

  // Glass-to-glass: each trial paints the root window a new colour and waits for the first
  // displayed frame showing it. The rVFC metadata splits it: paint (xsetroot returned) → last
  // packet of that frame received (host: capture, convert, encode, send), and received → expected
  // display (browser: jitter buffer, decode, render).
  const latency = async (label) => {
    await env.x('xsetroot', '-solid', '#808080');
    await sleep(500);
    const r = { label, fromReturn: [], fromSpawn: [], toDisplay: [], toReceived: [], receivedToDisplay: [], estimates: [], estimateParts: { captureMs: [], encodeMs: [], networkMs: [], receiveToDisplayMs: [] }, toCapture: [], captureToReceived: [], decode: [], decodedToDisplay: [], captureToDisplay: [] };
    for (let i = 0; i < TRIALS; i++) {
      const { hit, spawnedAt: t0, returnedAt: t1 } = await colourTrial(env, browser, i);
      if (hit) {
        r.fromReturn.push(hit.detectedAt - t1);
        r.fromSpawn.push(hit.detectedAt - t0);
        r.toDisplay.push(hit.expectedDisplayAt - t1);
        if (hit.receivedAt !== null) {
          r.toReceived.push(hit.receivedAt - t1);
          r.receivedToDisplay.push(hit.expectedDisplayAt - hit.receivedAt);
          if (typeof hit.decodeMs === 'number') {
            r.decode.push(hit.decodeMs);
            r.decodedToDisplay.push(hit.expectedDisplayAt - hit.receivedAt - hit.decodeMs);
          }
          // abs-capture-time (host clock = this machine's clock: same machine).
          if (typeof hit.capturedAt === 'number') {
            r.toCapture.push(hit.capturedAt - t1);
            r.captureToReceived.push(hit.receivedAt - hit.capturedAt);
            r.captureToDisplay.push(hit.expectedDisplayAt - hit.capturedAt);
          }
        }
      }
      const est = await browser.e2e(() => window.__e2e.glassToGlassMs);
      if (typeof est === 'number') r.estimates.push(est);
      const parts = await browser.e2e(() => window.__e2e.glassToGlassParts ?? null);
      if (parts) for (const k of Object.keys(r.estimateParts)) r.estimateParts[k].push(parts[k]);
      await sleep(150 + Math.random() * 100);
    }
    return r;
  };

  // A window of CPU_SECONDS: host and Xvfb CPU, host RSS, and what Chromium's inbound video
  // stats say over the same window (PLIs it sent, keyframes it decoded, jitter-buffer delay per
  // frame, received kbit/s, decoded fps).
  // The host's own measurement of capture → encoded frame at the payloader (mean of the last
  // second), from its Prometheus exporter; null when the host does not export it.
  const hostLatency = async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`);
      const s = parsePrometheus(await res.text()).find((m) => m.name === 'selkies_host_latency_ms');
      return s ? s.value : null;
    } catch {
      return null;
    }
  };
  // The host's per-frame stage histograms (selkies_video_stage_ms), cumulative bucket counts by
  // stage; the median of a window comes from the difference of two readings.
  const stageBuckets = async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`);
      const out = {};
      for (const m of parsePrometheus(await res.text())) {
        if (m.name !== 'selkies_video_stage_ms_bucket') continue;
        const stage = m.labels?.stage;
        (out[stage] ??= []).push([m.labels.le === '+Inf' ? Infinity : Number(m.labels.le), m.value]);
      }
      return out;
    } catch {
      return {};
    }
  };
  // Median (linear within the bucket) and count of the frames between two readings.
  const stageMedians = (a, b) => {
    const out = {};
    for (const [stage, end] of Object.entries(b)) {
      const start = new Map((a[stage] ?? []).map(([le, v]) => [le, v]));
      const d = end.map(([le, v]) => [le, v - (start.get(le) ?? 0)]).sort((x, y) => x[0] - y[0]);
      const n = d.at(-1)?.[1] ?? 0;
      if (n <= 0) continue;
      let prevLe = 0;
      let prevC = 0;
      let med = NaN;
      for (const [le, c] of d) {
        if (c >= n / 2) {
          med = Number.isFinite(le) ? prevLe + ((le - prevLe) * (n / 2 - prevC)) / Math.max(1, c - prevC) : prevLe;
          break;
        }
        prevLe = le;
        prevC = c;
      }
      out[stage] = { n, median: med };
    }
    return out;
  };
  const usage = async (label) => {
    const s0 = await stageBuckets();
    const h0 = env.procUsage('host');
    const t0 = env.threadUsage('host');
    const x0 = env.procUsage('xvfb');
    const v0 = await browser.e2e(() => window.__e2e.stats.video?.video ?? null);
    let maxRss = 0;
    const hostMs = [];
    // The WebSocket transport's client stages (1 s means from the frame header's capture time).
    const wsReceived = [];
    const wsDecoded = [];
    for (let s = 0; s < CPU_SECONDS; s++) {
      await sleep(1000);
      maxRss = Math.max(maxRss, env.procUsage('host')?.rssBytes ?? 0);
      const h = await hostLatency();
      if (h !== null) hostMs.push(h);
      const st = await browser.e2e(() => window.__e2e.ws?.stages ?? null);
      if (st?.captureToReceivedMs != null) wsReceived.push(st.captureToReceivedMs);
      if (st?.captureToDecodedMs != null) wsDecoded.push(st.captureToDecodedMs);
    }
    const h1 = env.procUsage('host');
    const t1 = env.threadUsage('host');
    const mappings = env.rssByMapping('host');
    const mapped = mappings
      .slice(0, Number(process.env.BENCH_MAPPINGS ?? 8))
      .map(([n, v]) => `${n} ${v.toFixed(1)}`)
      .join(', ');
    const x1 = env.procUsage('xvfb');
    // The host's busiest threads over the window, % of one core (where the CPU goes).
    const threads = [...t1.entries()]
      .map(([n, v]) => [n, ((v - (t0.get(n) ?? 0)) / CPU_SECONDS) * 100])
      .filter(([, v]) => v >= 0.05)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([n, v]) => `${n} ${v.toFixed(1)}`)
      .join(', ');
    const stages = stageMedians(s0, await stageBuckets());
    const v1 = await browser.e2e(() => window.__e2e.stats.video?.video ?? null);
    const pct = (a, b) => (a && b ? (((b.cpuSeconds - a.cpuSeconds) / CPU_SECONDS) * 100).toFixed(1) : 'n/a');
    const d = (k) => (v0 && v1 ? v1[k] - v0[k] : NaN);
    const dt = (d('timestamp') || NaN) / 1000;
    const emitted = d('jitterBufferEmittedCount');
    return {
      label,
      host: pct(h0, h1),
      xvfb: pct(x0, x1),
      rss: ((h1?.rssBytes ?? 0) / 2 ** 20).toFixed(1),
      maxRss: (maxRss / 2 ** 20).toFixed(1),
      plis: d('pliCount'),
      keyframes: d('keyFramesDecoded'),
      jitterMs: emitted > 0 ? ((d('jitterBufferDelay') * 1000) / emitted).toFixed(1) : 'n/a',
      kbps: ((d('bytesReceived') * 8) / 1000 / dt).toFixed(1),
      fps: (d('framesDecoded') / dt).toFixed(1),
      statsSeconds: dt.toFixed(1),
      hostMs,
      stages,
      wsReceived,
      wsDecoded,
      threads,
      mapped,
    };
  };

  // With the moving scene (a 320x180 bouncing ball) running, then on a static desktop (ball
  // stopped; xclock still ticks once a second), where idle-frame gating should leave the host
  // almost idle.
  const lat = [await latency('moving scene')];
  const usages = [await usage('moving scene')];
  await env.stop('motion');
  await sleep(1000);
  lat.push(await latency('static desktop'));
  // An idle desktop plays no sound: the tone stops before the static window (the silence gate
  // then stops encoding audio), unless BENCH_STATIC_SOUND=1 keeps it.
  if (process.env.BENCH_STATIC_SOUND !== '1') await env.stop('tone');
  await sleep(1000);
  usages.push(await usage('static desktop'));
  const video = await browser.measureVideo(2000);
  // Memory once the browser has left: what an idle host keeps between sessions.
  await browser.close();
  browser = null;
  await sleep(3000);
  const idleRss = env.procUsage('host')?.rssBytes ?? 0;

  console.log(`\nselkies e2e benchmark: ${ENCODER}, 1920x1080@30, loopback, host flags [${EXTRA.join(' ')}], ${new Date().toISOString()}, load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  console.log(`| ${'metric'.padEnd(46)} |   n | median |    p90 |    min |    max | unit |`);
  console.log(`|${'-'.repeat(48)}|-----|--------|--------|--------|--------|------|`);
  row('page load → first frame', loads, 'ms');
  for (const r of lat) {
    row(`${r.label}: glass-to-glass (return)`, r.fromReturn, 'ms');
    row(`${r.label}: glass-to-glass (spawn)`, r.fromSpawn, 'ms');
    row(`${r.label}: paint → last packet recv`, r.toReceived, 'ms');
    row(`${r.label}: received → displayed`, r.receivedToDisplay, 'ms');
    row(`${r.label}: paint → expected display`, r.toDisplay, 'ms');
    row(`${r.label}: client estimate (overlay)`, r.estimates, 'ms');
    const parts = { captureMs: 'change → capture', encodeMs: 'capture → sent', networkMs: 'network', receiveToDisplayMs: 'received → displayed' };
    for (const [k, name] of Object.entries(parts)) if (r.estimateParts[k].length) row(`${r.label}: client estimate, ${name}`, r.estimateParts[k], 'ms');
    row(`${r.label}: paint → captured (abs-capture-time)`, r.toCapture, 'ms');
    row(`${r.label}: captured → last packet recv`, r.captureToReceived, 'ms');
    row(`${r.label}: received → decoded (rVFC)`, r.decode, 'ms');
    row(`${r.label}: decoded → expected display`, r.decodedToDisplay, 'ms');
    row(`${r.label}: captured → expected display`, r.captureToDisplay, 'ms');
  }
  console.log('');
  console.log(`page-load milestones over ${LOADS} loads (ms after navigation start; web/src/milestones.ts):`);
  for (const [name, xs] of [...marks.entries()].sort((a, b) => pct(a[1], 50) - pct(b[1], 50))) row(name, xs, 'ms');
  for (const [label, xs] of spans) row(label, xs, 'ms');
  console.log('');
  console.log('host per-frame stages over each CPU window (selkies_video_stage_ms; median interpolated in its bucket):');
  for (const u of usages) {
    const st = u.stages;
    const f = (k) => (st[k] ? `${st[k].median.toFixed(1)} ms (${st[k].n} frames)` : 'n/a');
    console.log(`${u.label}: change → capture ${f('change_to_capture')}, capture → encoder input ${f('capture_to_encoder')}, capture → encoded ${f('capture_to_encoded')}, encoded → sent ${f('encoded_to_sent')}, sent → socket (webrtcbin) ${f('sent_to_wire')}`);
  }
  // What the host does not measure: the loopback hop and the browser's receive path up to its
  // packet receive time (the stage medians are bucket interpolations, so this is an estimate).
  for (const r of lat) {
    const st = usages.find((x) => x.label === r.label)?.stages ?? {};
    const parts = ['capture_to_encoded', 'encoded_to_sent', 'sent_to_wire'];
    const onWire = parts.every((k) => st[k]) ? parts.reduce((sum, k) => sum + st[k].median, 0) : NaN;
    const c2r = pct(r.captureToReceived, 50);
    if (Number.isFinite(onWire) && Number.isFinite(c2r)) console.log(`${r.label}: network + browser receive (estimate: captured → received median − host capture → socket median) ${(c2r - onWire).toFixed(1)} ms`);
  }
  console.log('');
  for (const u of usages) row(`${u.label}: host capture → encoded (1 s means)`, u.hostMs, 'ms');
  for (const u of usages.filter((x) => x.wsDecoded.length)) {
    row(`${u.label}: WebSocket capture → received`, u.wsReceived, 'ms');
    row(`${u.label}: WebSocket capture → decoded`, u.wsDecoded, 'ms');
  }
  console.log('');
  for (const r of lat) console.log(`${r.label}: colour changes detected ${r.fromReturn.length}/${TRIALS}`);
  for (const u of usages) {
    console.log(`${u.label}: host CPU ${u.host} % of one core over ${CPU_SECONDS} s, Xvfb CPU ${u.xvfb} %, host RSS ${u.rss} MiB (max ${u.maxRss} MiB)`);
    console.log(`${u.label}: host threads (% of one core): ${u.threads || 'n/a'}`);
    console.log(`${u.label}: host RSS by mapping at the end (MiB): ${u.mapped || 'n/a'}`);
    console.log(`${u.label}: browser over ${u.statsSeconds} s: ${u.plis} PLIs sent, ${u.keyframes} keyframes decoded, jitter buffer ${u.jitterMs} ms/frame, ${u.kbps} kbit/s, ${u.fps} fps decoded`);
  }
  console.log(`host RSS 3 s after the browser left: ${(idleRss / 2 ** 20).toFixed(1)} MiB`);
  console.log(`decoded: ${video.fps.toFixed(1)} fps, ${video.last?.frameWidth}x${video.last?.frameHeight} ${video.last?.codec}`);
} catch (e) {
  reportFailure(e, env, browser);
} finally {
  await browser?.close();
  await env.stopAll();
}
