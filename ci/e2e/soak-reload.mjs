// Reconnect soak (prints numbers; exits non-zero when a reload shows no frame or growth exceeds
// the targets): one host, one Chromium page reloaded SOAK_RELOADS times; each load must reach a
// decoded video frame. Every 10 reloads it samples the host's RSS, open fds and threads twice:
// 1 s into the live session, and idle (page on about:blank, the host's session torn down). Growth
// after SOAK_WARMUP reloads is judged on the idle samples (the live ones swing with encoder and
// jitter buffers): last idle sample minus the first after the warm-up, plus the least-squares
// slope. SOAK_CLIENT=ours (web/dist, opened with the test flag) or legacy (the legacy project's
// static client from SOAK_LEGACY_ROOT). Run through ci/soak-reload. Targets: docs/reliability.md.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Browser, withE2eFlag } from './browser.mjs';
import { Env, sleep, waitFor } from './harness.mjs';

const PORT = Number(process.env.E2E_PORT ?? 18091);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const CLIENT = process.env.SOAK_CLIENT ?? 'ours';
const RELOADS = Number(process.env.SOAK_RELOADS ?? 200);
const WARMUP = Number(process.env.SOAK_WARMUP ?? 20);
/** How long the page stays on about:blank before an idle sample (the host ends the session). */
const IDLE_MS = Number(process.env.SOAK_IDLE_MS ?? 2500);
const SETTLE_MS = Number(process.env.SOAK_SETTLE_MS ?? 20000);
const RSS_TARGET_MB = 5;

/** RSS (MB; anonymous = heap and stacks, file = mapped libraries), open fds and threads of `pid`. */
function usage(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
  return {
    rssMb: mb('VmRSS'),
    anonMb: mb('RssAnon'),
    fileMb: mb('RssFile'),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    threads: readdirSync(`/proc/${pid}/task`).length,
  };
}

/** Thread names of `pid` with their counts, e.g. `tokio-rt-worker×2`. */
function threadNames(pid) {
  const counts = new Map();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
      counts.set(name, (counts.get(name) ?? 0) + 1);
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return [...counts].map(([n, c]) => (c > 1 ? `${n}×${c}` : n)).sort().join(', ');
}

/** What the open fds of `pid` point at, by kind (socket, pipe, anon_inode:[eventfd], a path). */
function fdKinds(pid) {
  const counts = new Map();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/:\[\d+\]$/, '');
    } catch {
      continue;
    }
    counts.set(target, (counts.get(target) ?? 0) + 1);
  }
  return [...counts].map(([n, c]) => (c > 1 ? `${n}×${c}` : n)).sort().join(', ');
}

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den ? num / den : 0;
}

/** True once a `<video>` of the page has decoded a frame: works for any client. */
const decodedFrame = () =>
  [...document.querySelectorAll('video')].some((v) => v.videoWidth > 0 && (v.getVideoPlaybackQuality?.().totalVideoFrames ?? 0) > 0);

const flags = ['--encoder=x264enc', '--framerate=30', '--enable_basic_auth=false', '--enable_resize=false'];
if (CLIENT === 'legacy') {
  if (!process.env.SOAK_LEGACY_ROOT) throw new Error('SOAK_CLIENT=legacy needs SOAK_LEGACY_ROOT (see ci/soak-reload)');
  flags.push(`--web_root=${process.env.SOAK_LEGACY_ROOT}`);
} else if (CLIENT !== 'ours') {
  throw new Error(`SOAK_CLIENT must be ours or legacy, not ${CLIENT}`);
}

const env = new Env();
let browser = null;
let failed = 0;
try {
  await env.startX();
  await env.startAudio();
  await env.startHost(PORT, flags);
  const pid = env.procs.get('host').pid;
  browser = await Browser.launch(ORIGIN);
  const page = browser.page;
  const url = `${ORIGIN}${CLIENT === 'ours' ? withE2eFlag('/') : '/'}`;
  console.log(`soak: ${RELOADS} reloads of the ${CLIENT} client, host pid ${pid} (${process.env.SELKIES_HOST_BIN}), warm-up ${WARMUP}`);
  console.log(`start (idle): ${JSON.stringify(usage(pid))}`);
  const idle = [];
  const frameMs = [];
  let fresh = true;
  for (let i = 1; i <= RELOADS; i++) {
    const t0 = Date.now();
    const res = fresh ? await page.goto(url) : await page.reload();
    fresh = false;
    if (!res || res.status() !== 200) throw new Error(`reload ${i}: HTTP ${res?.status()}`);
    const ok = await waitFor(() => page.evaluate(decodedFrame).catch(() => false), 20000, 50);
    if (!ok) {
      failed++;
      console.log(`reload ${i}: no decoded frame within 20 s\n${browser.consoleTail(10)}\n${env.tail('host', 10)}`);
      continue;
    }
    frameMs.push(Date.now() - t0);
    if (i % 10 === 0 || i === WARMUP) {
      await sleep(1000);
      const live = usage(pid);
      await page.goto('about:blank');
      fresh = true;
      await sleep(IDLE_MS);
      const u = { reload: i, ...usage(pid) };
      if (i % 10 === 0) idle.push(u);
      if (i === WARMUP) {
        idle.warm = u;
        // fds and threads are judged on settled samples: pools (Tokio's blocking threads, GLib's
        // resolver threads with their contexts' eventfds) keep idle workers for 10–15 s.
        await sleep(SETTLE_MS);
        idle.settledWarm = usage(pid);
      }
      const s = [...frameMs.slice(-10)].sort((a, b) => a - b);
      console.log(
        `reload ${String(i).padStart(4)}: live RSS ${live.rssMb.toFixed(1)} MB, fds ${live.fds}, threads ${live.threads} | ` +
          `idle RSS ${u.rssMb.toFixed(1)} MB (anon ${u.anonMb.toFixed(1)}, file ${u.fileMb.toFixed(1)}), fds ${u.fds}, threads ${u.threads} | reload → frame median ${s[Math.floor(s.length / 2)] ?? '-'} ms (last 10)`,
      );
    }
  }
  const end = idle.at(-1) ?? usage(pid);
  const warm = idle.warm ?? idle[0] ?? end;
  const after = idle.filter((u) => u.reload >= warm.reload);
  const perHundred = slope(after.map((u) => ({ x: u.reload, y: u.rssMb }))) * 100;
  const sorted = [...frameMs].sort((a, b) => a - b);
  // Tokio's blocking-pool threads (also named tokio-rt-worker) exit after 10 s idle and GLib's
  // pool threads after 15 s: what is left then is what the host really keeps.
  // The page ends connected when the reload count is not a multiple of 10.
  await page.goto('about:blank');
  await sleep(SETTLE_MS);
  const settled = usage(pid);
  console.log(`idle ${SETTLE_MS / 1000} s after the last sample: ${JSON.stringify(settled)}; threads: ${threadNames(pid)}; fds: ${fdKinds(pid)}`);
  const settledWarm = idle.settledWarm ?? settled;
  console.log(`settled (${SETTLE_MS / 1000} s idle) after reload ${warm.reload} → after the last: fds ${settledWarm.fds} → ${settled.fds}, threads ${settledWarm.threads} → ${settled.threads}`);
  const growth = { rssMb: end.rssMb - warm.rssMb, fds: settled.fds - settledWarm.fds, threads: settled.threads - settledWarm.threads };
  console.log(
    `summary (${CLIENT} client): ${RELOADS - failed}/${RELOADS} reloads reached a decoded frame; ` +
      `reload → frame median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms; ` +
      `idle after reload ${warm.reload} → ${end.reload}: RSS ${warm.rssMb.toFixed(1)} → ${end.rssMb.toFixed(1)} MB ` +
      `(growth ${growth.rssMb.toFixed(1)} MB, trend ${perHundred.toFixed(2)} MB per 100 reloads, ` +
      `range ${Math.min(...after.map((u) => u.rssMb)).toFixed(1)}–${Math.max(...after.map((u) => u.rssMb)).toFixed(1)} MB), ` +
      `anon ${warm.anonMb.toFixed(1)} → ${end.anonMb.toFixed(1)} MB, file ${warm.fileMb.toFixed(1)} → ${end.fileMb.toFixed(1)} MB, ` +
      `fds ${warm.fds} → ${end.fds}, threads ${warm.threads} → ${end.threads}`,
  );
  const over = growth.rssMb >= RSS_TARGET_MB || growth.fds > 0 || growth.threads > 0;
  if (over) console.log(`over target: RSS growth < ${RSS_TARGET_MB} MB, fd and thread growth 0 (settled samples)`);
  process.exitCode = failed > 0 ? 1 : over ? 2 : 0;
} catch (e) {
  console.error(e);
  console.error(env.tail('host', 40));
  process.exitCode = 1;
} finally {
  await browser?.close();
  await env.stopAll();
}
