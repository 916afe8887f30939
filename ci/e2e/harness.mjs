// The real components of an end-to-end run, started as child processes: Xvfb, a visible app,
// PulseAudio with a null sink and a tone playing into it, xev windows, the selkies host. Every
// process logs into one directory so a failure can print the tails. Must run as root inside a
// loopback-only network namespace (ci/checks/70-e2e.sh arranges that).
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = promisify(execFile);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes; returns the last value. */
export async function waitFor(fn, timeoutMs, intervalMs = 100) {
  const end = Date.now() + timeoutMs;
  let v;
  while (Date.now() < end) {
    v = await fn();
    if (v) return v;
    await sleep(intervalMs);
  }
  return v;
}

/** A workspace binary: $`envVar`, else the newest of target/{debug,release}/`name`. */
export function workspaceBinary(name, envVar, pkg) {
  if (process.env[envVar]) return process.env[envVar];
  const found = ['debug', 'release']
    .map((p) => join(ROOT, 'target', p, name))
    .filter((p) => existsSync(p))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (found.length === 0) throw new Error(`no ${name}: build it with cargo build -p ${pkg}`);
  return found[0];
}

/** The host binary: $SELKIES_HOST_BIN, else the newest of target/{debug,release}/selkies-gstreamer. */
export function hostBinary() {
  return workspaceBinary('selkies-gstreamer', 'SELKIES_HOST_BIN', 'selkies-host');
}

export class Env {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'selkies-e2e-'));
    this.procs = new Map();
    this.display = null;
    this.pulseServer = `unix:${join(this.dir, 'pulse', 'native')}`;
  }

  logPath(name) {
    return join(this.dir, `${name}.log`);
  }

  /** Last `lines` lines of a process log, for failure diagnostics. */
  tail(name, lines = 40) {
    const p = this.logPath(name);
    if (!existsSync(p)) return `(no ${name} log)`;
    return readFileSync(p, 'utf8').split('\n').slice(-lines).join('\n');
  }

  env(extra = {}) {
    return {
      ...process.env,
      DISPLAY: this.display ?? '',
      PULSE_SERVER: this.pulseServer,
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      MALLOC_ARENA_MAX: '2',
      ...extra,
    };
  }

  spawn(name, cmd, args, extra = {}) {
    const fd = openSync(this.logPath(name), 'a');
    const child = spawn(cmd, args, { env: this.env(extra), stdio: ['ignore', fd, fd], cwd: ROOT });
    child.on('error', (e) => console.error(`${name}: ${e.message}`));
    this.procs.set(name, child);
    return child;
  }

  async stop(name) {
    const child = this.procs.get(name);
    this.procs.delete(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }

  async stopAll() {
    for (const name of [...this.procs.keys()].reverse()) await this.stop(name);
  }

  alive(name) {
    const c = this.procs.get(name);
    return !!c && c.exitCode === null && c.signalCode === null;
  }

  async x(cmd, ...args) {
    const { stdout } = await run(cmd, args, { env: this.env(), timeout: 10000 });
    return stdout;
  }

  /** Xvfb 1920x1080 on the first free display number, -noreset (docs/testing.md G10), xclock and a moving ball. */
  async startX() {
    let n = 90;
    while (existsSync(`/tmp/.X${n}-lock`) || existsSync(`/tmp/.X11-unix/X${n}`)) n++;
    this.display = `:${n}`;
    // Without the SECURITY extension, like the launcher's Xvfb: it refuses XFixes GetCursorImage
    // (BadAccess) for cursors whose creator has exited, e.g. one set by xsetroot.
    this.spawn('xvfb', 'Xvfb', [this.display, '-screen', '0', '1920x1080x24', '-noreset', '-nolisten', 'tcp', '-extension', 'SECURITY']);
    const ok = await waitFor(async () => {
      try {
        await this.x('xdpyinfo');
        return true;
      } catch {
        return false;
      }
    }, 10000, 100);
    if (!ok) throw new Error(`Xvfb did not start:\n${this.tail('xvfb')}`);
    await this.x('xsetroot', '-solid', '#204060');
    this.spawn('xclock', 'xclock', ['-geometry', '300x300+1500+50', '-update', '1']);
    await this.startMotion();
  }

  /** A moving scene: the host encodes only frames that changed (idle gating), so frame-rate
   *  checks need something that moves every frame. `stop('motion')` ends it. */
  async startMotion() {
    // BENCH_MOTION_SIZE (320x180): the benchmarks' larger scene is 1280x720.
    // BENCH_MOTION_PATTERN (ball): a videotestsrc pattern; solid-color repaints the same pixels.
    const [w, h] = (process.env.BENCH_MOTION_SIZE || '320x180').split('x').map(Number);
    const pattern = process.env.BENCH_MOTION_PATTERN || 'ball';
    this.spawn('motion', 'gst-launch-1.0', ['-q', 'videotestsrc', `pattern=${pattern}`, 'is-live=true', '!',
      `video/x-raw,width=${w},height=${h},framerate=30/1`, '!', 'ximagesink', 'sync=false']);
    const moved = await waitFor(async () => {
      try {
        const ids = (await this.x('xdotool', 'search', '--name', 'gst-launch')).trim().split('\n').filter(Boolean);
        for (const id of ids) await this.x('xdotool', 'windowmove', id, `${Math.min(1500, 1820 - w)}`, `${Math.min(600, 1020 - h)}`);
        return ids.length > 0;
      } catch {
        return false;
      }
    }, 10000, 100);
    if (!moved) throw new Error(`motion window did not appear:\n${this.tail('motion')}`);
  }

  /** PulseAudio as root with a null sink (G11) and a live tone playing into it. */
  async startAudio() {
    const sock = this.pulseServer.slice('unix:'.length);
    this.spawn('pulseaudio', 'pulseaudio', [
      '-n', '--daemonize=no', '--exit-idle-time=-1', '--disallow-exit', '--use-pid-file=no',
      `--load=module-native-protocol-unix auth-anonymous=1 socket=${sock}`,
      '--load=module-null-sink sink_name=vsink',
    ], { HOME: this.dir, XDG_RUNTIME_DIR: this.dir, PULSE_RUNTIME_PATH: join(this.dir, 'pulse') });
    const ok = await waitFor(async () => {
      try {
        await this.x('pactl', 'info');
        return true;
      } catch {
        return false;
      }
    }, 10000, 200);
    if (!ok) throw new Error(`PulseAudio did not start:\n${this.tail('pulseaudio')}`);
    await this.x('pactl', 'set-default-sink', 'vsink');
    await this.x('pactl', 'set-default-source', 'vsink.monitor');
    this.spawn('tone', 'gst-launch-1.0', ['-q', 'audiotestsrc', 'is-live=true', 'wave=sine', 'freq=440', 'volume=0.5', '!', 'pulsesink', 'device=vsink']);
  }

  /** Starts the host; resolves once its HTTP port answers (any status). */
  async startHost(port, flags, name = 'host') {
    const bin = hostBinary();
    // A `--web_root=` among `flags` replaces the source checkout's web/dist.
    const root = flags.some((f) => f.startsWith('--web_root=')) ? [] : [`--web_root=${join(ROOT, 'web', 'dist')}`];
    const args = ['--addr=127.0.0.1', `--port=${port}`, '--enable_https=false', ...root, ...flags];
    this.spawn(name, bin, args, { RUST_LOG: process.env.RUST_LOG ?? 'info', GST_DEBUG: process.env.GST_DEBUG ?? '1' });
    const up = await waitFor(async () => {
      if (!this.alive(name)) return 'dead';
      try {
        await fetch(`http://127.0.0.1:${port}/health`);
        return 'up';
      } catch {
        return false;
      }
    }, 20000, 200);
    if (up !== 'up') throw new Error(`host did not come up (${up ?? 'timeout'}): ${bin} ${args.join(' ')}\n${this.tail(name, 60)}`);
  }

  /** An xev window at (x, y) of size w×h; its output is read back with `xevOutput`. */
  startXev(name, x, y, w, h) {
    this.spawn(name, 'stdbuf', ['-oL', 'xev', '-geometry', `${w}x${h}+${x}+${y}`, '-name', name]);
  }

  xevOutput(name) {
    const p = this.logPath(name);
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  }

  async pointer() {
    const out = await this.x('xdotool', 'getmouselocation');
    const m = /x:(\d+) y:(\d+)/.exec(out);
    return m ? { x: Number(m[1]), y: Number(m[2]) } : null;
  }

  /** CPU seconds (user+system) per thread name of a child, summed over threads of one name
   *  (GStreamer names its streaming threads after their elements), from /proc/PID/task. */
  threadUsage(name) {
    const c = this.procs.get(name);
    const out = new Map();
    if (!c?.pid) return out;
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${c.pid}/task`);
    } catch {
      return out;
    }
    for (const t of tasks) {
      try {
        const stat = readFileSync(`/proc/${c.pid}/task/${t}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(comm, (out.get(comm) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
      } catch {
        // the thread ended meanwhile
      }
    }
    return out;
  }

  /** A child's resident memory by mapping (file path, `[heap]`, `[stack]`, or `anon` for
   *  anonymous mappings: thread stacks, glibc arenas, GStreamer buffers), MiB, largest first. */
  rssByMapping(name) {
    const c = this.procs.get(name);
    const out = new Map();
    if (!c?.pid) return [];
    let text = '';
    try {
      text = readFileSync(`/proc/${c.pid}/smaps`, 'utf8');
    } catch {
      return [];
    }
    let current = 'anon';
    for (const line of text.split('\n')) {
      const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (m) {
        current = m[1] ? m[1].replace(/^.*\//, '') : 'anon';
        continue;
      }
      const r = /^Rss:\s+(\d+) kB/.exec(line);
      if (r) out.set(current, (out.get(current) ?? 0) + Number(r[1]) / 1024);
    }
    return [...out.entries()].sort((a, b) => b[1] - a[1]);
  }

  /** CPU seconds (user+system) and RSS bytes of a child, from /proc. */
  procUsage(name) {
    const c = this.procs.get(name);
    if (!c?.pid) return null;
    const stat = readFileSync(`/proc/${c.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { cpuSeconds: ticks / 100, rssBytes: rssPages * 4096 };
  }
}

/** A script's failure: the error, the host log's tail and the page console, exit status 1. */
export function reportFailure(e, env, browser) {
  console.error(String(e?.stack ?? e));
  console.error('--- host log (tail) ---\n' + env.tail('host', 40));
  if (browser) console.error('--- browser console ---\n' + browser.consoleTail(30));
  process.exitCode = 1;
}

/**
 * The wrapper of a test case body: on failure it re-throws with the host log's tail, the browser
 * console and, when `page` is given, what `page(browser)` returns (label and text lines) attached.
 * `currentBrowser` returns the case's browser or null (test files replace it between cases).
 */
export function diagnostics(env, currentBrowser, { hostLines = 50, page = null } = {}) {
  return async (body) => {
    try {
      await body();
    } catch (e) {
      const browser = currentBrowser();
      const parts = [String(e?.stack ?? e), '--- host log (tail) ---', env.tail('host', hostLines)];
      if (browser) parts.push('--- browser console (tail) ---', browser.consoleTail(40));
      if (browser && page) parts.push(...(await page(browser)));
      throw new Error(parts.join('\n'));
    }
  };
}

/** A `page` for [`diagnostics`]: the JSON of `fn`'s result, evaluated in the page. */
export const pageState = (fn) => async (browser) => [
  '--- page state ---',
  JSON.stringify(await browser.e2e(fn).catch((err) => String(err))),
];
