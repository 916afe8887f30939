// Sharing cost benchmark (prints numbers, asserts nothing; docs/benchmarks.md "Sharing"): one
// host, the harness's moving scene (1920x1080, xclock + a moving ball), one owner on the legacy
// path, then guests joined with share links until 1, 2, 4 and 8 peers receive the stream. For
// each count: host CPU (% of one core, from /proc over BENCH_SECONDS) and RSS, and the frames
// the owner and the guests present. Guests run as contexts of one Chromium so the browsers cost
// less of the machine the host is measured on. Run through ci/bench-sharing.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Browser, CHROMIUM } from './browser.mjs';
import { Env, ROOT, sleep, waitFor } from './harness.mjs';

const require = createRequire(join(ROOT, 'web', 'package.json'));
const { chromium } = require('playwright-core');

const PORT = Number(process.env.E2E_PORT ?? 18092);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const SETTLE = Number(process.env.BENCH_SETTLE ?? 6);
const COUNTS = (process.env.BENCH_PEERS ?? '1,2,4,8').split(',').map(Number);

function rssMiB(env) {
  const pid = env.procs.get('host')?.pid;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN) / 1024;
}

async function presented(pages) {
  return Promise.all(pages.map((p) => p.evaluate(() => window.__e2e?.framesPresented ?? 0).catch(() => 0)));
}

const env = new Env();
let owner = null;
let guestBrowser = null;
try {
  await env.startX();
  await env.startAudio();
  await env.startHost(PORT, ['--encoder=x264enc', '--enable_resize=false', '--enable_basic_auth=false', '--max_viewers=8', '--framerate=30']);
  owner = await Browser.launch(ORIGIN);
  await owner.open('/', 60000).catch((e) => {
    throw new Error(`${e.message}\n--- host ---\n${env.tail('host', 40)}\n--- owner ---\n${owner.consoleTail(20)}`);
  });
  guestBrowser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'],
  });
  // A viewer joins with a fresh share link, in its own context of the guests' browser, and is
  // returned once it shows its first frame.
  const joinGuest = async () => {
    const r = await fetch(`${ORIGIN}/share/api/links?role=viewer&ttl=3600`, { method: 'POST' });
    const { token } = await r.json();
    const ctx = await guestBrowser.newContext({ viewport: { width: 640, height: 360 } });
    const page = await ctx.newPage();
    await page.goto(`${ORIGIN}/?e2e=1&share=${encodeURIComponent(token)}`);
    await page.waitForFunction(() => window.__e2e?.firstFrameMs != null, null, { timeout: 60000 });
    return { ctx, page };
  };
  const guests = [];
  const rows = [];
  for (const n of COUNTS) {
    while (guests.length < n - 1) guests.push((await joinGuest()).page);
    await sleep(SETTLE * 1000);
    const pages = [owner.page, ...guests];
    const f0 = await presented(pages);
    const u0 = env.procUsage('host');
    const t0 = Date.now();
    await sleep(SECONDS * 1000);
    const u1 = env.procUsage('host');
    const f1 = await presented(pages);
    const wall = (Date.now() - t0) / 1000;
    const fps = f1.map((f, i) => (f - f0[i]) / wall);
    rows.push({
      peers: n,
      cpu: ((u1.cpuSeconds - u0.cpuSeconds) / wall) * 100,
      rss: rssMiB(env),
      ownerFps: fps[0],
      guestFps: fps.length > 1 ? Math.min(...fps.slice(1)) : NaN,
    });
    console.log(`measured ${n} peer(s)`);
  }
  // Joins on a static desktop (BENCH_STATIC_JOINS=N): the ball stops, and N viewers join one
  // after another, each closed once it shows its first frame. The encoder only makes a keyframe
  // from its next input, so this measures how soon a join's keyframe request meets a frame when
  // nothing moves (xclock still ticks once a second).
  const joins = [];
  const staticJoins = Number(process.env.BENCH_STATIC_JOINS ?? 0);
  if (staticJoins > 0) {
    await env.stop('motion');
    await sleep(1500);
    for (let i = 0; i < staticJoins; i++) {
      const { ctx, page } = await joinGuest();
      joins.push(await page.evaluate(() => window.__e2e.firstFrameMs));
      await ctx.close();
      await sleep(300 + Math.random() * 700);
    }
  }
  const base = rows[0];
  // The encoder's work follows the frames it encodes, which a loaded machine lowers: CPU per
  // frame the owner presented (about one per encoded frame) is the fairer comparison.
  const perFrame = (r) => (r.cpu * 10) / Math.max(r.ownerFps, 0.1);
  console.log('\npeers | host CPU (% of a core) | vs 1 peer | host CPU ms per owner frame | host RSS (MiB) | owner fps | slowest guest fps');
  console.log('---|---|---|---|---|---|---');
  for (const r of rows) {
    const extra = base && r.peers > 1 ? `+${((r.cpu - base.cpu) / (r.peers - 1)).toFixed(1)} per added peer` : '—';
    console.log(`${r.peers} | ${r.cpu.toFixed(1)} | ${extra} | ${perFrame(r).toFixed(1)} | ${r.rss.toFixed(0)} | ${r.ownerFps.toFixed(1)} | ${Number.isNaN(r.guestFps) ? '—' : r.guestFps.toFixed(1)}`);
  }
  if (joins.length) {
    const sorted = [...joins].sort((x, y) => x - y);
    const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    console.log(`\nviewer joins on a static desktop, page load → first frame (ms): median ${at(0.5).toFixed(0)}, p90 ${at(0.9).toFixed(0)}, min ${sorted[0].toFixed(0)}, max ${sorted.at(-1).toFixed(0)} (n=${joins.length})`);
  }
  const state = await (await fetch(`${ORIGIN}/share/api/state`)).json();
  console.log(`\nkeyframes: ${JSON.stringify(state.keyframes)}`);
} finally {
  await guestBrowser?.close().catch(() => {});
  await owner?.close();
  await env.stopAll();
}
