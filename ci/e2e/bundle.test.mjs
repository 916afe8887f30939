// End to end from the portable tarball: the bundle is extracted into an otherwise empty root
// (under a path with spaces and non-ASCII), selkies-gstreamer-run runs there through
// bundle_chroot (only /dev, /proc, /tmp and the X socket), and Debian's Chromium — outside the
// chroot, in the same loopback-only network namespace — must decode its 1920x1080 stream. Then
// the directory moves and the same must hold with a freshly built plugin registry, and again on a
// restart that reuses it. Run through ci/checks/65-bundle-e2e.sh (root, SELKIES_BUNDLE_TARBALL,
// its own network namespace).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Browser } from './browser.mjs';
import { Env, ROOT, waitFor } from './harness.mjs';

const TARBALL = process.env.SELKIES_BUNDLE_TARBALL;
const PORT = Number(process.env.E2E_PORT ?? 18095);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const USER = 'user';
const PASSWORD = 'bundle-e2e-pass';
const FIRST = 'opt/selkies bundle ü';
const MOVED = 'srv/moved élsewhere';

// The host shares this test's loopback-only network namespace with Chromium (BUNDLE_NET=shared).
const CHROOT_HOST = `
. bundle-scripts/chroot.sh
BUNDLE_NET=shared BUNDLE_X11=1 bundle_chroot "$@"`;

const env = new Env();
const work = mkdtempSync('/tmp/selkies-bundle-e2e-');
const root = join(work, 'root');
const cacheDir = join(root, 'tmp', 'cache', 'selkies-gstreamer');
let host = null;
let browser = null;

/** Registry files the launcher has made under the root's XDG_CACHE_HOME, with their mtimes. */
function registries() {
  if (!existsSync(cacheDir)) return [];
  return readdirSync(cacheDir)
    .filter((f) => f.startsWith('registry-') && f.endsWith('.bin'))
    .map((f) => ({ name: f, mtimeMs: statSync(join(cacheDir, f)).mtimeMs }));
}

/** True while any process of the host's process group (bash, unshare, the host) is alive. */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts selkies-gstreamer-run from `rel` (a path inside the root) in its own process group, so
 * that a stop reaches the host through bash and unshare (which ignores SIGTERM); resolves once
 * /health answers.
 */
async function startHost(rel, name) {
  await stopHost();
  const fd = openSync(env.logPath(name), 'a');
  const args = ['-c', CHROOT_HOST, '_', root, `DISPLAY=${env.display}`, 'RUST_LOG=info', 'GST_DEBUG=1', 'LANG=C.UTF-8',
    '--', `/${rel}/selkies-gstreamer/selkies-gstreamer-run`, '--addr=127.0.0.1', `--port=${PORT}`,
    '--enable_https=false', '--enable_basic_auth=true', `--basic_auth_user=${USER}`,
    `--basic_auth_password=${PASSWORD}`, '--enable_resize=false', '--encoder=x264enc'];
  const child = spawn('bash', args, { cwd: ROOT, detached: true, stdio: ['ignore', fd, fd] });
  host = { child, name };
  const up = await waitFor(async () => {
    if (child.exitCode !== null) return 'dead';
    try {
      await fetch(`${ORIGIN}/health`);
      return 'up';
    } catch {
      return false;
    }
  }, 60000, 10); // 10 ms: the /health time printed below is this precise
  if (up !== 'up') throw new Error(`bundle host did not come up (${up ?? 'timeout'}):\n${env.tail(name, 60)}`);
}

async function stopHost() {
  if (!host) return;
  const pgid = host.child.pid;
  host = null;
  if (!groupAlive(pgid)) return;
  process.kill(-pgid, 'SIGTERM');
  if (!(await waitFor(() => !groupAlive(pgid), 10000, 100))) {
    process.kill(-pgid, 'SIGKILL');
    await waitFor(() => !groupAlive(pgid), 5000, 100);
  }
}

/** Streams once from the bundle at `rel`; returns what it measured. */
async function streamFrom(rel, name) {
  const t0 = Date.now();
  await startHost(rel, name);
  const healthMs = Date.now() - t0;
  browser = await Browser.launch(ORIGIN, { credentials: { username: USER, password: PASSWORD } });
  const firstFrameMs = await browser.open('/', 30000);
  const launchToFrameMs = Date.now() - t0;
  const m = await browser.measureVideo(5000);
  assert.ok(m.last, 'no inbound video stats');
  assert.equal(`${m.last.frameWidth}x${m.last.frameHeight}`, '1920x1080', 'decoded frame size');
  assert.equal(m.last.codec.toUpperCase(), 'H264');
  assert.ok(m.fps >= 20, `decoded ${m.fps.toFixed(1)} fps over 5 s, want ≥ 20`);
  assert.equal(await browser.e2e(() => window.__e2e.dataChannelState), 'open', 'data channel');
  // The root has no libc: the launcher must have said it runs the host on the bundled one.
  assert.match(readFileSync(env.logPath(name), 'utf8'), /on bundled glibc/, 'glibc mode in the launcher log');
  await browser.close();
  browser = null;
  await stopHost();
  return { healthMs, firstFrameMs, launchToFrameMs, fps: m.fps };
}

/** Runs a case; on failure attaches the host log and browser console, then stops both so the
 * next case starts on a free port. */
async function withDiagnostics(name, body) {
  try {
    await body();
  } catch (e) {
    const parts = [String(e?.stack ?? e), `--- ${name} log (tail) ---`, env.tail(name, 60)];
    if (browser) parts.push('--- browser console (tail) ---', browser.consoleTail(40));
    await browser?.close();
    browser = null;
    await stopHost();
    throw new Error(parts.join('\n'));
  }
}

const report = (t, label, r) =>
  t.diagnostic(`[${label}] launcher exec → /health ${r.healthMs} ms; page navigation → first frame ` +
    `${r.firstFrameMs.toFixed(0)} ms; launcher exec → first frame ${r.launchToFrameMs} ms ` +
    `(includes Chromium start); ${r.fps.toFixed(1)} fps`);

describe('portable tarball end to end', { timeout: 170000 }, () => {
  before(async () => {
    assert.ok(TARBALL && existsSync(TARBALL), `SELKIES_BUNDLE_TARBALL is not a file: ${TARBALL}`);
    execFileSync('bash', ['-c', '. bundle-scripts/chroot.sh && bundle_extract "$@" >/dev/null', '_', TARBALL, root, FIRST],
      { cwd: ROOT, stdio: 'inherit' });
    await env.startX();
  });

  after(async () => {
    await browser?.close();
    await stopHost();
    await env.stopAll();
    rmSync(work, { recursive: true, force: true });
    rmSync(env.dir, { recursive: true, force: true });
  });

  test('extracted under a path with spaces: streams 1920x1080 H.264 from the chroot', (t) =>
    withDiagnostics('host-extracted', async () => {
      assert.deepEqual(readdirSync(root).sort(), ['dev', 'opt', 'proc', 'tmp'], 'the root holds only the bundle');
      const r = await streamFrom(FIRST, 'host-extracted');
      report(t, 'extracted', r);
      assert.equal(registries().length, 1, `registries: ${JSON.stringify(registries())}`);
    }));

  test('moved elsewhere: streams again with a freshly built registry', (t) =>
    withDiagnostics('host-moved', async () => {
      const before = registries();
      assert.equal(before.length, 1, 'needs the first run');
      mkdirSync(join(root, MOVED), { recursive: true });
      renameSync(join(root, FIRST, 'selkies-gstreamer'), join(root, MOVED, 'selkies-gstreamer'));
      const movedAt = Date.now();
      const r = await streamFrom(MOVED, 'host-moved');
      report(t, 'moved', r);
      const fresh = registries().filter((f) => f.name !== before[0].name);
      assert.equal(fresh.length, 1, `a new registry for the new path: ${JSON.stringify(registries())}`);
      assert.ok(fresh[0].mtimeMs >= movedAt, 'the new registry was written after the move');
    }));

  test('restarted in place: streams with the registry reused', (t) =>
    withDiagnostics('host-warm', async () => {
      const before = registries();
      assert.equal(before.length, 2, 'needs the first two runs');
      const r = await streamFrom(MOVED, 'host-warm');
      report(t, 'warm registry', r);
      assert.deepEqual(registries(), before, 'no registry was rewritten or added');
    }));
});
