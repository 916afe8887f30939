// Benchmark (prints numbers, asserts nothing): page load → first frame of two builds, A and B,
// side by side. Both hosts stream the same Xvfb screen (with the moving scene) on two ports and
// the page loads alternate A B B A A B…, each in a fresh browser, so the machine's drift hits
// both alike: rounds of 8–10 loads of one build after the other differed by ±50 ms on the same
// build (docs/benchmarks.md, "First frame: the page's first script"). Run through
// ci/bench-first-frame (root, loopback-only network namespace).
import { Browser } from './browser.mjs';
import { Env, reportFailure, sleep } from './harness.mjs';

const LOADS = Number(process.env.FF_LOADS ?? 20);
const variants = ['A', 'B'].map((name, i) => ({
  name,
  port: 18101 + 10 * i,
  bin: process.env[`FF_HOST_${name}`],
  root: process.env[`FF_ROOT_${name}`],
  frames: [],
  marks: new Map(),
  failed: 0,
}));
// The milestones printed under each build (web/src/milestones.ts), medians over its loads.
const MARKS = [
  'early start', 'script start', 'video WebSocket open, HELLO sent', 'TURN config ready', 'video offer received',
  'video answer sent', 'video ICE connected', 'video DTLS connected', 'video first RTP', 'video first frame shown',
];
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

const env = new Env();
let browser = null;
try {
  await env.startX();
  await env.startAudio();
  for (const v of variants) {
    process.env.SELKIES_HOST_BIN = v.bin;
    await env.startHost(v.port, ['--encoder=x264enc', '--framerate=30', '--enable_basic_auth=false', '--enable_resize=false', `--web_root=${v.root}`], `host-${v.name}`);
  }
  console.log(`first-frame A/B, ${LOADS} loads each: A = ${variants[0].bin} ${variants[0].root}, B = ${variants[1].bin} ${variants[1].root}`);
  for (let i = 0; i < LOADS; i++) {
    for (const v of i % 2 ? [...variants].reverse() : variants) {
      browser = await Browser.launch(`http://127.0.0.1:${v.port}`);
      try {
        v.frames.push(await browser.open('/', 20000));
        for (const [name, ms] of await browser.e2e(() => window.__e2e.milestones?.() ?? [])) {
          if (!v.marks.has(name)) v.marks.set(name, []);
          v.marks.get(name).push(ms);
        }
      } catch (e) {
        v.failed++;
        console.log(`${v.name}: load ${i} failed: ${String(e)}`);
      }
      await browser.close();
      browser = null;
      await sleep(1200); // the host tears the previous session down before the next HELLO
    }
  }
  for (const v of variants) {
    const mean = v.frames.reduce((a, b) => a + b, 0) / Math.max(1, v.frames.length);
    console.log(`${v.name}: page load → first frame over ${v.frames.length} loads (${v.failed} failed): median ${pct(v.frames, 50).toFixed(0)} ms, p90 ${pct(v.frames, 90).toFixed(0)}, mean ${mean.toFixed(0)}, min ${Math.min(...v.frames).toFixed(0)}`);
    console.log(`   milestone medians: ${MARKS.filter((k) => v.marks.has(k)).map((k) => `${k} ${pct(v.marks.get(k), 50).toFixed(0)}`).join(' | ')}`);
  }
} catch (e) {
  reportFailure(e, env, browser);
} finally {
  await browser?.close();
  await env.stopAll();
}
