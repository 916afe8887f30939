// Load benchmark (prints numbers, asserts nothing): one host with a live browser session, then
// at once: LOAD_WS WebSocket connections that never say HELLO, an HTTP request flood and
// LOAD_SLOW slow-header (slowloris) clients. Prints the session's decoded fps, host RSS, open
// fds and threads before, under and after the load, and what happened to each kind of client.
// Clients use distinct loopback source addresses (127.0.x.y) so the per-IP cap does not hide
// the server's behaviour; one extra burst from a single address shows the cap itself.
// Run through ci/bench-load (root, loopback-only network namespace).
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import { Browser } from './browser.mjs';
import { Env, sleep, reportFailure } from './harness.mjs';

const PORT = Number(process.env.E2E_PORT ?? 18091);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const N_WS = Number(process.env.LOAD_WS ?? 500);
const N_SLOW = Number(process.env.LOAD_SLOW ?? 200);
const N_FLOOD = Number(process.env.LOAD_FLOOD_CLIENTS ?? 32);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 30);
const WS_TIMEOUT = Number(process.env.LOAD_WS_TIMEOUT ?? 15);

const srcAddr = (i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;

function hostStats(env) {
  const pid = env.procs.get('host')?.pid;
  if (!pid) return { rss: NaN, fds: NaN, threads: NaN };
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS') / 1024, fds: readdirSync(`/proc/${pid}/fd`).length, threads: field('Threads') };
}

/** A raw WebSocket upgrade that then stays silent (after `hello`, if given): a peer that never
 * answers a ping, like a browser whose network vanished. */
function silentWebSocket(i, hello = null) {
  const s = net.connect({ host: '127.0.0.1', port: PORT, localAddress: srcAddr(i) });
  const st = { upgraded: false, closed: false, closedAt: 0, openedAt: Date.now(), sock: s };
  s.on('connect', () =>
    s.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'));
  s.on('data', (d) => {
    if (!st.upgraded && d.toString('latin1').startsWith('HTTP/1.1 101')) {
      st.upgraded = true;
      if (hello) {
        // One masked client text frame.
        const p = Buffer.from(hello);
        const mask = [1, 2, 3, 4];
        s.write(Buffer.concat([Buffer.from([0x81, 0x80 | p.length, ...mask]), Buffer.from(p.map((b, k) => b ^ mask[k % 4]))]));
        st.openedAt = Date.now();
      }
    }
  });
  const end = () => {
    if (!st.closed) Object.assign(st, { closed: true, closedAt: Date.now() });
  };
  s.on('close', end);
  s.on('error', end);
  return st;
}

/** Slowloris: the request line, then one header byte every 5 s. */
function slowClient(i) {
  const s = net.connect({ host: '127.0.0.1', port: PORT, localAddress: srcAddr(1000 + i) });
  const st = { closed: false, closedAt: 0, openedAt: Date.now(), sock: s };
  let timer = null;
  s.on('connect', () => {
    s.write('GET / HTTP/1.1\r\nHost: x\r\n');
    timer = setInterval(() => s.write('X'), 5000);
  });
  const end = () => {
    clearInterval(timer);
    if (!st.closed) Object.assign(st, { closed: true, closedAt: Date.now() });
  };
  s.on('close', end);
  s.on('error', end);
  return st;
}

/** Keep-alive GET flood from `n` clients until `stop()`; counts responses by status. */
function flood(n) {
  const counts = { ok: 0, other: 0, errors: 0 };
  let running = true;
  const one = (i) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: srcAddr(2000 + i) });
    const loop = () => {
      if (!running) return agent.destroy();
      http.get({ host: '127.0.0.1', port: PORT, path: '/index.html', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) counts.ok++;
          else counts.other++;
          loop();
        });
      }).on('error', () => {
        counts.errors++;
        setTimeout(loop, 10);
      });
    };
    loop();
  };
  for (let i = 0; i < n; i++) one(i);
  return { counts, stop: () => (running = false) };
}

const env = new Env();
let browser = null;
const rows = [];
const note = (phase, fps, extra = '') => {
  const h = hostStats(env);
  rows.push({ phase, fps, ...h, extra });
};
try {
  await env.startX();
  await env.startAudio();
  // LOAD_HOST_FLAGS replaces the limit flags (e.g. empty, to measure a host that lacks them).
  const limits = process.env.LOAD_HOST_FLAGS !== undefined
    ? process.env.LOAD_HOST_FLAGS.split(' ').filter(Boolean)
    : [`--ws_timeout=${WS_TIMEOUT}`, '--header_read_timeout=10', '--max_connections_per_ip=64'];
  await env.startHost(PORT, ['--encoder=x264enc', '--framerate=30', '--enable_basic_auth=false', ...limits]);
  browser = await Browser.launch(ORIGIN);
  await browser.open('/', 30000);
  await sleep(2000);
  note('before', (await browser.measureVideo(3000)).fps);

  const t0 = Date.now();
  // A registered peer whose network is gone: how long until the host frees its uid.
  const dead = silentWebSocket(4001, 'HELLO 9');
  const ws = Array.from({ length: N_WS }, (_, i) => silentWebSocket(i));
  const slow = Array.from({ length: N_SLOW }, (_, i) => slowClient(i));
  const fl = flood(N_FLOOD);
  // The per-IP cap: 100 more silent WebSockets from one address.
  const capped = Array.from({ length: 100 }, () => silentWebSocket(4000));
  await sleep(3000);
  const wsUp = ws.filter((w) => w.upgraded && !w.closed).length;
  const cappedUp = capped.filter((w) => !w.closed).length;
  note('under load (t=3 s)', (await browser.measureVideo(3000)).fps);
  const wait = Math.max(0, SECONDS * 1000 - (Date.now() - t0));
  await sleep(wait / 2);
  note(`under load (t=${Math.round((Date.now() - t0) / 1000)} s)`, (await browser.measureVideo(3000)).fps);
  await sleep(Math.max(0, SECONDS * 1000 - (Date.now() - t0)));
  const elapsed = (Date.now() - t0) / 1000;
  fl.stop();
  const flooded = { ...fl.counts };
  const wsClosed = ws.filter((w) => w.closed);
  const slowClosed = slow.filter((s) => s.closed);
  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? (s[Math.floor(s.length / 2)] / 1000).toFixed(1) : '-';
  };
  const deadResult = dead.closed
    ? `closed by the host ${((dead.closedAt - dead.openedAt) / 1000).toFixed(1)} s after its last frame`
    : `still open after ${((Date.now() - dead.openedAt) / 1000).toFixed(0)} s`;
  for (const c of [...ws, ...slow, ...capped, dead]) c.sock.destroy();
  await sleep(5000);
  note('after (load gone 5 s)', (await browser.measureVideo(3000)).fps);

  // SIGTERM with a half-sent request and an idle WebSocket open (besides the browser's).
  const half = net.connect({ host: '127.0.0.1', port: PORT, localAddress: srcAddr(4002) });
  half.on('connect', () => half.write('GET / HTTP/1.1\r\n'));
  half.on('error', () => {});
  const idle = silentWebSocket(4003, 'HELLO 8');
  await sleep(1000);
  const child = env.procs.get('host');
  const exited = new Promise((r) => child.once('exit', r));
  const tStop = Date.now();
  child.kill('SIGTERM');
  const gone = await Promise.race([exited.then(() => true), sleep(30000).then(() => false)]);
  const stopResult = gone ? `process gone after ${((Date.now() - tStop) / 1000).toFixed(1)} s` : 'process still running after 30 s';
  half.destroy();
  idle.sock.destroy();

  console.log(`\nselkies load benchmark: x264enc 1920x1080@30, loopback, ${new Date().toISOString()}`);
  console.log(`load: ${N_WS} silent WebSockets, ${N_SLOW} slowloris clients, ${N_FLOOD} keep-alive GET / clients, for ${elapsed.toFixed(0)} s`);
  console.log('| phase                      | session fps | host RSS MiB | fds  | threads |');
  console.log('|----------------------------|-------------|--------------|------|---------|');
  for (const r of rows) {
    console.log(`| ${r.phase.padEnd(26)} | ${r.fps.toFixed(1).padStart(11)} | ${r.rss.toFixed(1).padStart(12)} | ${String(r.fds).padStart(4)} | ${String(r.threads).padStart(7)} |`);
  }
  console.log(`silent WebSockets: ${wsUp}/${N_WS} upgraded and open at t=3 s; ${wsClosed.length} closed by the host by t=${elapsed.toFixed(0)} s, median ${med(wsClosed.map((w) => w.closedAt - w.openedAt))} s after opening (--ws_timeout=${WS_TIMEOUT})`);
  console.log(`slowloris: ${slowClosed.length}/${N_SLOW} closed by the host, median ${med(slowClosed.map((s) => s.closedAt - s.openedAt))} s after connecting (--header_read_timeout=10)`);
  console.log(`flood: ${flooded.ok} × 200 (${(flooded.ok / elapsed).toFixed(0)} req/s), ${flooded.other} other status, ${flooded.errors} errors`);
  console.log(`dead peer after HELLO: ${deadResult} (--ws_timeout=${WS_TIMEOUT})`);
  console.log(`SIGTERM with a half-sent request, an idle WebSocket and the browser connected: ${stopResult} (--shutdown_timeout=3)`);
  console.log(`per-IP cap: ${cappedUp}/100 connections from one address still open at t=3 s (--max_connections_per_ip=64)`);
} catch (e) {
  reportFailure(e, env, browser);
} finally {
  await browser?.close();
  await env.stopAll();
}
