// Diagnostic (prints, asserts nothing): a Chromium trace of fresh page loads and, for each, the
// page's main-thread tasks of 1.5 ms or more from navigation start to the first frame shown, with
// the client's milestones between them and each task's largest parts. This is how the page's own
// start was taken apart (docs/benchmarks.md, "First frame: the page's first script"). Run through
// ci/trace-first-frame (root, loopback-only network namespace); the traces stay in TRACE_DIR.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser } from './browser.mjs';
import { Env, reportFailure, sleep } from './harness.mjs';

const PORT = 18091;
const LOADS = Number(process.env.TRACE_LOADS ?? 3);
const DIR = process.env.TRACE_DIR ?? '/tmp';
const CATEGORIES = 'devtools.timeline,toplevel,v8.execute,blink.user_timing,loading,disabled-by-default-devtools.timeline,webrtc';
const EXTRA = (process.env.TRACE_HOST_FLAGS ?? '').split(' ').filter(Boolean);
const TASK = new Set(['ThreadControllerImpl::RunTask', 'RunTask']);

/** The main thread's tasks of the navigated page, with the milestones, as printable lines. */
function mainThread(events) {
  const nav = events.filter((e) => e.name === 'navigationStart' && String(e.cat).includes('blink.user_timing'));
  if (!nav.length) return ['(no navigationStart in the trace)'];
  const start = nav.reduce((a, b) => (b.ts > a.ts ? b : a));
  const renderer = events.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === start.pid && e.args?.name === 'CrRendererMain');
  const ms = (ts) => (ts - start.ts) / 1000;
  const marks = events
    .filter((e) => e.pid === start.pid && String(e.name).startsWith('selkies:') && e.ph !== 'X')
    .map((e) => [ms(e.ts), e.name.slice('selkies:'.length)])
    .sort((a, b) => a[0] - b[0]);
  const end = marks.find(([, n]) => n === 'video first frame shown')?.[0] ?? 1000;
  const slices = events.filter((e) => e.pid === start.pid && e.tid === renderer?.tid && e.ph === 'X' && e.dur !== undefined);
  // Outermost tasks only (a RunTask inside another is the same work).
  const tasks = slices.filter((e) => e.name === 'ThreadControllerImpl::RunTask').sort((a, b) => a.ts - b.ts);
  const lines = [];
  let m = 0;
  for (const t of tasks) {
    const at = ms(t.ts);
    if (at < -5 || at > end + 5) continue;
    while (m < marks.length && marks[m][0] <= at) lines.push(`        ---- ${marks[m][0].toFixed(1).padStart(6)} ${marks[m++][1]}`);
    if (t.dur < 1500) continue;
    const parts = new Map();
    for (const e of slices) {
      if (e === t || TASK.has(e.name) || e.ts < t.ts || e.ts >= t.ts + t.dur) continue;
      parts.set(e.name, (parts.get(e.name) ?? 0) + e.dur);
    }
    const top = [...parts].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([n, d]) => `${n} ${(d / 1000).toFixed(1)}`);
    lines.push(`${at.toFixed(1).padStart(7)} +${(t.dur / 1000).toFixed(1).padStart(5)} ms  ${top.join(', ')}`);
  }
  while (m < marks.length) lines.push(`        ---- ${marks[m][0].toFixed(1).padStart(6)} ${marks[m++][1]}`);
  return lines;
}

const env = new Env();
let browser = null;
try {
  await env.startX();
  await env.startAudio();
  await env.startHost(PORT, ['--encoder=x264enc', '--framerate=30', '--enable_basic_auth=false', '--enable_resize=false', ...EXTRA]);
  for (let i = 0; i < LOADS; i++) {
    browser = await Browser.launch(`http://127.0.0.1:${PORT}`);
    const cdp = await browser.ctx.newCDPSession(browser.page);
    const events = [];
    cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
    const complete = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
    await cdp.send('Tracing.start', { categories: CATEGORIES, transferMode: 'ReportEvents' });
    const firstFrame = await browser.open('/', 20000);
    await sleep(300);
    await cdp.send('Tracing.end');
    await complete;
    const file = join(DIR, `selkies-first-frame-${i}.json`);
    writeFileSync(file, JSON.stringify(events));
    console.log(`\nload ${i}: first frame ${firstFrame.toFixed(0)} ms (trace ${file}); main-thread tasks ≥ 1.5 ms, ms after navigation start:`);
    for (const line of mainThread(events)) console.log(line);
    await browser.close();
    browser = null;
    await sleep(1500);
  }
} catch (e) {
  reportFailure(e, env, browser);
} finally {
  await browser?.close();
  await env.stopAll();
}
