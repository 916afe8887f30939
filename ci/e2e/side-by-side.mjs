// Benchmark (prints numbers, asserts nothing): this project's host against the legacy v1.6.2
// host and Selkies 2.1, in one run on one machine with one headless Chromium and one
// glass-to-glass method (xsetroot paints the root window; an injected requestVideoFrameCallback
// detector, ci/e2e/g2g-probe.mjs, finds the colour in a displayed frame). Cases (ci/e2e/peers.mjs)
// are alternated, round after round; each case gets a fresh host and browser on the same Xvfb,
// PulseAudio tone and moving scene. Run through ci/bench-side-by-side (root, private network
// namespace with a veth pair the Python hosts' ICE agents can gather on).
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Browser } from './browser.mjs';
import { COLOURS, SX, SY } from './g2g.mjs';
import { probeScript } from './g2g-probe.mjs';
import { Env, sleep } from './harness.mjs';
import { CASES } from './peers.mjs';

const PORT = Number(process.env.E2E_PORT ?? 18091);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const TRIALS = Number(process.env.BENCH_TRIALS ?? 40);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CPU_SECONDS = Number(process.env.BENCH_CPU_SECONDS ?? 20);
const ONLY = (process.env.BENCH_CASES ?? '').split(',').filter(Boolean);
// BENCH_RTP=1: RTP timing of the video on the wire over each CPU window (ci/e2e/rtp-sniff.py).
const RTP = process.env.BENCH_RTP === '1';

/** Runs the sniffer for `seconds`; resolves with its JSON summary (or an error object). */
function sniffRtp(seconds) {
  return new Promise((resolve) => {
    execFile('python3', [new URL('./rtp-sniff.py', import.meta.url).pathname, String(seconds)], { timeout: (seconds + 10) * 1000 }, (err, stdout) => {
      try {
        resolve(JSON.parse(stdout));
      } catch {
        resolve({ error: String(err?.message ?? 'no output').split('\n')[0] });
      }
    });
  });
}

const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
const load = () => loadavg().map((v) => v.toFixed(1)).join(' ');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const p90 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(0.9 * s.length))] : NaN;
};

/** CPU seconds and RSS bytes of `pid` and all its live descendants (reaped ones included in the CPU), from /proc. */
function treeUsage(pid) {
  const stats = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      // utime + stime + cutime + cstime: a helper the host ran and reaped keeps counting.
      const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      stats.set(Number(d), { ppid: Number(f[1]), ticks, rss: Number(f[21]) * 4096 });
    } catch {
      // gone meanwhile
    }
  }
  let cpu = 0;
  let rss = 0;
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop();
    const s = stats.get(p);
    if (!s) continue;
    cpu += s.ticks / 100;
    rss += s.rss;
    for (const [child, c] of stats) if (c.ppid === p) todo.push(child);
  }
  return { cpu, rss };
}

async function startMotion(env) {
  // The harness's scene: a bouncing ball of BENCH_MOTION_SIZE (320x180; the larger scene
  // is 1280x720), moved into the screen's lower right.
  if (!env.alive('motion')) await env.startMotion();
}

/** TRIALS colour changes: glass-to-glass and its split, wall-clock ms of this machine. */
async function latency(env, page) {
  await env.x('xsetroot', '-solid', '#808080');
  await sleep(500);
  const r = { g2g: [], toReceived: [], receivedToDisplay: [], missed: 0 };
  for (let i = 0; i < TRIALS; i++) {
    const c = COLOURS[i % COLOURS.length];
    await page.evaluate(([x, y, rgb]) => {
      window.__pending = window.__sbs.waitForColour(x, y, rgb, 40, 3000);
    }, [SX, SY, c]);
    await env.x('xsetroot', '-solid', hex(c));
    const returnedAt = Date.now();
    const hit = await page.evaluate(() => window.__pending);
    if (!hit) r.missed++;
    else {
      r.g2g.push(hit.detectedAt - returnedAt);
      if (hit.receivedAt !== null && hit.expectedDisplayAt !== null) {
        r.toReceived.push(hit.receivedAt - returnedAt);
        r.receivedToDisplay.push(hit.expectedDisplayAt - hit.receivedAt);
      }
    }
    await sleep(150 + Math.random() * 100);
  }
  return r;
}

/** Host CPU (process tree) and peak RSS over CPU_SECONDS, with the browser's video stats. */
async function usage(env, browser) {
  const page = browser.page;
  const ws0 = browser.wsBytes;
  const pid = env.procs.get('host').pid;
  const stats = () => page.evaluate(() => window.__sbs.videoStats());
  const frames = () => page.evaluate(() => window.__sbs.state.frames);
  const u0 = treeUsage(pid);
  const s0 = await stats();
  const f0 = await frames();
  const t0 = Date.now();
  const rtp = RTP ? sniffRtp(CPU_SECONDS - 0.5) : Promise.resolve(null);
  let rss = 0;
  for (let s = 0; s < CPU_SECONDS; s++) {
    await sleep(1000);
    rss = Math.max(rss, treeUsage(pid).rss);
  }
  const u1 = treeUsage(pid);
  const s1 = await stats();
  const dt = (Date.now() - t0) / 1000;
  const d = (k) => (s0 && s1 ? s1[k] - s0[k] : NaN);
  const emitted = d('jitterBufferEmittedCount');
  return {
    cpu: ((u1.cpu - u0.cpu) / dt) * 100,
    rss: rss / 2 ** 20,
    fps: ((await frames()) - f0) / dt,
    kbps: (d('bytesReceived') * 8) / 1000 / dt,
    wsKbps: ((browser.wsBytes - ws0) * 8) / 1000 / dt,
    jitter: emitted > 0 ? (d('jitterBufferDelay') * 1000) / emitted : NaN,
    plis: d('pliCount'),
    load: load(),
    rtp: await rtp,
  };
}

async function runCase(env, c) {
  const t0 = Date.now();
  const out = {};
  let browser = null;
  try {
    await c.start(env, PORT);
    out.startMs = Date.now() - t0;
    out.startRss = treeUsage(env.procs.get('host').pid).rss / 2 ** 20;
    browser = await Browser.launch(ORIGIN, { viewport: { width: 1920, height: 1080 } });
    // Bytes the page receives over WebSockets: the video of Selkies 2.1's WebSocket mode.
    browser.wsBytes = 0;
    browser.page.on('websocket', (ws) => ws.on('framereceived', (f) => {
      browser.wsBytes += typeof f.payload === 'string' ? Buffer.byteLength(f.payload) : f.payload.length;
    }));
    await browser.ctx.addInitScript(probeScript(1920));
    const res = await browser.page.goto(`${ORIGIN}/`);
    if (!res || res.status() !== 200) throw new Error(`page load: HTTP ${res?.status()}`);
    await browser.page.waitForFunction(() => window.__sbs?.state.firstFrameMs != null, null, { timeout: 90000, polling: 50 });
    out.firstFrameMs = await browser.page.evaluate(() => window.__sbs.state.firstFrameMs);
    // Whether the browser's answer kept the playout-delay header extension (docs/benchmarks.md
    // "Latency"): without it Chromium holds frames for its jitter-buffer target.
    out.playoutDelay = browser.sdp.answers.length ? browser.sdp.answers.some((a) => a.includes('playout-delay')) : null;
    await startMotion(env);
    await sleep(2000);
    out.motion = { ...(await latency(env, browser.page)), ...(await usage(env, browser)) };
    await env.stop('motion');
    await sleep(1000);
    out.static = { ...(await latency(env, browser.page)), ...(await usage(env, browser)) };
  } catch (e) {
    console.error(`case ${c.id} (${c.label}) failed: ${e.message}\n--- host log ---\n${env.tail('host', 30)}\n--- page ---\n${browser?.consoleTail(20)}`);
    out.error = e.message.split('\n')[0];
  } finally {
    await browser?.close();
    await env.stop('host');
    await sleep(1500);
  }
  return out;
}

const env = new Env();
const results = new Map();
try {
  const cases = CASES.filter((c) => ONLY.length === 0 || ONLY.includes(c.id)).filter((c) => {
    const why = c.missing();
    if (why) console.log(`skipping case ${c.id} (${c.label}): ${why}`);
    return !why;
  });
  await env.startX();
  await env.startAudio();
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      console.log(`round ${round + 1}/${ROUNDS}, case ${c.id} (${c.label}), load average ${load()}`);
      const r = await runCase(env, c);
      if (!results.has(c.id)) results.set(c.id, []);
      results.get(c.id).push(r);
    }
  }
  printTable(cases);
} catch (e) {
  console.error(String(e?.stack ?? e));
  process.exitCode = 1;
} finally {
  await env.stopAll();
}

function printTable(cases) {
  const cols = cases.map((c) => `${c.id}: ${c.label}`);
  const rows = [];
  const ok = (id) => results.get(id).filter((r) => !r.error);
  const pool = (id, f) => ok(id).flatMap(f);
  const each = (id, f, digits = 0) => {
    const vs = ok(id).map(f).filter(Number.isFinite);
    return vs.length ? vs.map((v) => v.toFixed(digits)).join(' / ') : '-';
  };
  const stat = (id, f) => {
    const xs = pool(id, f);
    const rounds = ok(id).map((r) => median(f(r))).filter(Number.isFinite).map((v) => v.toFixed(0));
    return xs.length ? `${median(xs).toFixed(1)} (p90 ${p90(xs).toFixed(0)}, n=${xs.length}; rounds ${rounds.join(' / ')})` : '-';
  };
  const add = (name, f) => rows.push([name, ...cases.map((c) => f(c.id))]);
  add('host start → HTTP answering, ms', (id) => each(id, (r) => r.startMs));
  add('host RSS after start, MiB', (id) => each(id, (r) => r.startRss, 1));
  add('navigation → first frame, ms', (id) => each(id, (r) => r.firstFrameMs));
  add('answer keeps the playout-delay extension', (id) => ok(id).map((r) => (r.playoutDelay === null ? 'no SDP seen' : r.playoutDelay ? 'yes' : 'no')).join(' / ') || '-');
  for (const scene of ['static', 'motion']) {
    const s = (r) => r[scene];
    add(`${scene}: glass-to-glass median, ms`, (id) => stat(id, (r) => s(r).g2g));
    add(`${scene}: paint → last packet received, ms`, (id) => stat(id, (r) => s(r).toReceived));
    add(`${scene}: received → displayed, ms`, (id) => stat(id, (r) => s(r).receivedToDisplay));
    add(`${scene}: colour changes missed`, (id) => each(id, (r) => s(r).missed));
    add(`${scene}: host CPU % of one core`, (id) => each(id, (r) => s(r).cpu, 1));
    add(`${scene}: host RSS peak, MiB`, (id) => each(id, (r) => s(r).rss, 1));
    add(`${scene}: frames displayed/s`, (id) => each(id, (r) => s(r).fps, 1));
    add(`${scene}: video kbit/s (WebRTC stats)`, (id) => each(id, (r) => s(r).kbps));
    add(`${scene}: WebSocket kbit/s received`, (id) => each(id, (r) => s(r).wsKbps));
    const num = (v, digits) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
    add(`${scene}: jitter buffer ms/frame; PLIs`, (id) => ok(id).map((r) => `${num(s(r).jitter, 1)}; ${num(s(r).plis, 0)}`).join(' / ') || '-');
    if (RTP) {
      const q = (r, k) => (r.rtp?.[k] ? `${r.rtp[k].p50}/${r.rtp[k].p90}/${r.rtp[k].max}` : r.rtp?.error ?? '-');
      add(`${scene}: RTP frames; packets, bytes per frame`, (id) => ok(id).map((r) => `${s(r).rtp?.frames}; ${s(r).rtp?.packets_per_frame}, ${s(r).rtp?.bytes_per_frame}`).join(' / ') || '-');
      add(`${scene}: RTP frame spread on the wire p50/p90/max, ms`, (id) => ok(id).map((r) => q(s(r), 'spread_ms')).join(' / ') || '-');
      add(`${scene}: RTP frame interval p50/p90/max, ms`, (id) => ok(id).map((r) => q(s(r), 'interval_ms')).join(' / ') || '-');
      add(`${scene}: RTP arrival − timestamp, above min, p50/p90/max, ms`, (id) => ok(id).map((r) => q(s(r), 'lateness_ms')).join(' / ') || '-');
    }
    add(`${scene}: load average during the window`, (id) => ok(id).map((r) => s(r).load.split(' ')[0]).join(' / ') || '-');
  }
  add('errors', (id) => results.get(id).filter((r) => r.error).map((r) => r.error).join('; ') || '-');
  console.log(`\nside by side: x264 1920x1080@30 4000 kbit/s, ${TRIALS} trials × ${ROUNDS} rounds per case, ${CPU_SECONDS} s CPU windows, ${new Date().toISOString()}`);
  console.log(`load average at the end: ${load()} (2 cores: above ~1.5 other work competes)`);
  console.log(`| metric | ${cols.join(' | ')} |`);
  console.log(`|---|${cols.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log('latency: medians (p90, n) pooled over rounds, then the median of each round; other figures per round, separated by " / ".');
}
