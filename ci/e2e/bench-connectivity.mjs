// Benchmark (prints numbers, asserts nothing): page load → first frame and glass-to-glass
// latency for the direct path and for the "one TCP port open" path, on the same two network
// namespaces joined by a veth pair (ci/e2e/netns.mjs): first with no filter (the browser and the
// host reach each other over UDP host candidates), then with the nftables filter that passes only
// TCP to the host's port (the browser goes through the embedded TURN relay over TCP). Each row
// also says which path the page's selected pair actually took. 1920x1080@30, x264enc, our
// client. Run through ci/bench-connectivity (root). Results: docs/benchmarks.md.
import { Browser, FLAGS } from './browser.mjs';
import { colourTrial } from './g2g.mjs';
import { Env, reportFailure, sleep } from './harness.mjs';
import { BrowserNetns, HOST_IP } from './netns.mjs';

const PORT = Number(process.env.E2E_PORT ?? 18097);
const ORIGIN = `http://${HOST_IP}:${PORT}`;
const LOADS = Number(process.env.BENCH_LOADS ?? 3);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(0) : '-').padStart(6);
const row = (name, xs) => console.log(`| ${name.padEnd(56)} | ${String(xs.length).padStart(3)} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 90))} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} |`);

/** The page's selected pair (window.__e2e.connectivity.video) in a few words. */
const pathText = (p) =>
  p ? `${p.local.type}${p.relayProtocol ? ` over ${p.relayProtocol}` : ` ${p.local.protocol}`} → ${p.remote.type} ${p.remote.protocol}` : 'unknown';

const env = new Env();
let netns = null;
let browser = null;

const launch = () =>
  Browser.launch(ORIGIN, {
    context: { executablePath: netns.chromium, args: [...FLAGS, `--unsafely-treat-insecure-origin-as-secure=${ORIGIN}`] },
  });

/** LOADS page loads → first frame, then TRIALS colour changes → first displayed frame showing it. */
async function measure(label) {
  const loads = [];
  for (let i = 0; i < LOADS; i++) {
    browser = await launch();
    loads.push(await browser.open('/?transport=webrtc', 45000));
    if (i < LOADS - 1) {
      await browser.close();
      browser = null;
      await sleep(1500);
    }
  }
  await sleep(2000);
  const path = await browser.e2e(() => window.__e2e.connectivity.video);
  await env.x('xsetroot', '-solid', '#808080');
  await sleep(500);
  const g2g = [];
  for (let i = 0; i < TRIALS; i++) {
    // From before xsetroot starts: on a loaded machine its return can come after the frame.
    const { hit, spawnedAt } = await colourTrial(env, browser, i);
    if (hit) g2g.push(hit.detectedAt - spawnedAt);
    await sleep(150 + Math.random() * 100);
  }
  const video = await browser.measureVideo(2000);
  await browser.close();
  browser = null;
  await sleep(1500);
  return { label, loads, g2g, path, fps: video.fps };
}

try {
  await env.startX();
  await env.startAudio();
  netns = await BrowserNetns.create(env.dir);
  await env.startHost(PORT, [
    '--addr=0.0.0.0', '--encoder=x264enc', '--framerate=30', '--enable_resize=false', '--enable_basic_auth=false',
    '--turn_embedded=true', `--rtc_config_json=${env.dir}/no-rtc.json`, `--stun_host=${HOST_IP}`, `--stun_port=${PORT}`,
  ]);
  const results = [await measure('direct (no filter)')];
  await netns.blockAllBut(PORT);
  results.push(await measure('one TCP port (nftables)'));
  console.log(`\nselkies connectivity benchmark: x264enc 1920x1080@30, browser and host in two network namespaces over veth, ${new Date().toISOString()}`);
  console.log(`| ${'metric'.padEnd(56)} |   n | median |    p90 |    min |    max |`);
  console.log(`|${'-'.repeat(58)}|-----|--------|--------|--------|--------|`);
  for (const r of results) {
    row(`${r.label}: page load → first frame (ms)`, r.loads);
    row(`${r.label}: glass-to-glass (ms)`, r.g2g);
  }
  console.log('');
  for (const r of results) console.log(`${r.label}: selected pair ${pathText(r.path)}; colour changes seen ${r.g2g.length}/${TRIALS}; ${r.fps.toFixed(1)} fps decoded`);
} catch (e) {
  reportFailure(e, env, browser);
} finally {
  await browser?.close();
  await env.stopAll();
  await netns?.destroy();
}
