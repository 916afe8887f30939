// Benchmark (prints numbers, asserts nothing): page load → first frame, glass-to-glass latency
// (xsetroot + requestVideoFrameCallback, e2e-notes §6), host and Xvfb CPU/RSS over 20 s at
// 1080p30. Run through ci/bench-e2e (root, loopback-only network namespace).
import { Browser } from './browser.mjs';
import { Env, sleep } from './harness.mjs';

const PORT = Number(process.env.E2E_PORT ?? 18081);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const ENCODER = process.env.BENCH_ENCODER ?? 'x264enc';
const LOADS = Number(process.env.BENCH_LOADS ?? 3);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);
const CPU_SECONDS = Number(process.env.BENCH_CPU_SECONDS ?? 20);
// Sample point: top-left of the root window, clear of xclock (which sits at the top right).
const SX = 40;
const SY = 40;
const COLOURS = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255]];

const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const row = (name, xs, unit) =>
  console.log(`| ${name.padEnd(38)} | ${String(xs.length).padStart(3)} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 90))} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} | ${unit.padEnd(4)} |`);
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(0) : '-').padStart(6);

const env = new Env();
let browser = null;
try {
  await env.startX();
  await env.startAudio();
  await env.startHost(PORT, [`--encoder=${ENCODER}`, '--framerate=30', '--enable_basic_auth=false', '--enable_resize=false']);

  const loads = [];
  for (let i = 0; i < LOADS; i++) {
    browser = await Browser.launch(ORIGIN);
    loads.push(await browser.open('/', 30000));
    if (i < LOADS - 1) {
      await browser.close();
      browser = null;
      await sleep(1500); // the host tears the previous session down before the next HELLO
    }
  }

  await env.x('xsetroot', '-solid', '#808080');
  await sleep(500);
  const fromReturn = [];
  const fromSpawn = [];
  const toDisplay = [];
  const estimates = [];
  for (let i = 0; i < TRIALS; i++) {
    const c = COLOURS[i % COLOURS.length];
    await browser.e2e(([x, y, rgb]) => {
      window.__pending = window.__e2e.waitForColour(x, y, rgb, 40, 3000);
    }, [SX, SY, c]);
    const t0 = Date.now();
    await env.x('xsetroot', '-solid', hex(c));
    const t1 = Date.now();
    const hit = await browser.e2e(() => window.__pending);
    if (hit) {
      fromReturn.push(hit.detectedAt - t1);
      fromSpawn.push(hit.detectedAt - t0);
      toDisplay.push(hit.expectedDisplayAt - t1);
    }
    const est = await browser.e2e(() => window.__e2e.glassToGlassMs);
    if (typeof est === 'number') estimates.push(est);
    await sleep(150 + Math.random() * 100);
  }

  // CPU and memory twice: with a moving scene (a 320x180 bouncing ball) and on a static desktop
  // (ball stopped), where idle-frame gating should leave the host almost idle.
  const usage = async (label) => {
    const h0 = env.procUsage('host');
    const x0 = env.procUsage('xvfb');
    let maxRss = 0;
    for (let s = 0; s < CPU_SECONDS; s++) {
      await sleep(1000);
      maxRss = Math.max(maxRss, env.procUsage('host')?.rssBytes ?? 0);
    }
    const h1 = env.procUsage('host');
    const x1 = env.procUsage('xvfb');
    const pct = (a, b) => (a && b ? (((b.cpuSeconds - a.cpuSeconds) / CPU_SECONDS) * 100).toFixed(1) : 'n/a');
    return { label, host: pct(h0, h1), xvfb: pct(x0, x1), rss: ((h1?.rssBytes ?? 0) / 2 ** 20).toFixed(1), maxRss: (maxRss / 2 ** 20).toFixed(1) };
  };
  const usages = [await usage('moving scene')];
  await env.stop('motion');
  await sleep(1000);
  usages.push(await usage('static desktop'));
  const video = await browser.measureVideo(2000);
  // Memory once the browser has left: what an idle host keeps between sessions.
  await browser.close();
  browser = null;
  await sleep(3000);
  const idleRss = env.procUsage('host')?.rssBytes ?? 0;

  console.log(`\nselkies e2e benchmark: ${ENCODER}, 1920x1080@30, loopback, ${new Date().toISOString()}`);
  console.log(`| ${'metric'.padEnd(38)} |   n | median |    p90 |    min |    max | unit |`);
  console.log(`|${'-'.repeat(40)}|-----|--------|--------|--------|--------|------|`);
  row('page load → first frame', loads, 'ms');
  row('glass-to-glass (from xsetroot return)', fromReturn, 'ms');
  row('glass-to-glass (from xsetroot spawn)', fromSpawn, 'ms');
  row('xsetroot return → expected display', toDisplay, 'ms');
  row('client estimate (stats overlay)', estimates, 'ms');
  console.log(`\ncolour changes detected: ${fromReturn.length}/${TRIALS}`);
  for (const u of usages) {
    console.log(`${u.label}: host CPU ${u.host} % of one core over ${CPU_SECONDS} s, Xvfb CPU ${u.xvfb} %, host RSS ${u.rss} MiB (max ${u.maxRss} MiB)`);
  }
  console.log(`host RSS 3 s after the browser left: ${(idleRss / 2 ** 20).toFixed(1)} MiB`);
  console.log(`decoded: ${video.fps.toFixed(1)} fps, ${video.last?.frameWidth}x${video.last?.frameHeight} ${video.last?.codec}`);
} catch (e) {
  console.error(String(e?.stack ?? e));
  console.error('--- host log (tail) ---\n' + env.tail('host', 40));
  if (browser) console.error('--- browser console ---\n' + browser.consoleTail(30));
  process.exitCode = 1;
} finally {
  await browser?.close();
  await env.stopAll();
}
