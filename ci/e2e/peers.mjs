// The cases of ci/bench-side-by-side: which host to start, with which web client, and how.
// Every host streams the same Xvfb screen with x264 at 1920x1080, 30 fps, 4000 kbit/s CBR, no
// basic auth, no STUN/TURN (an ICE configuration with no servers: nothing outside is
// contacted). The peers (the legacy v1.6.2 host and Selkies 2.1) live outside this repository:
// docs/benchmarks.md "Side by side with the legacy host and Selkies 2.1" says how they are
// installed; their locations come from the environment, and a case whose peer is missing is
// skipped with one line.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, hostBinary, waitFor } from './harness.mjs';

const PEERS = process.env.PEERS_DIR ?? '/work/peers';
const LEGACY_VENV = process.env.PEER_LEGACY_VENV ?? join(PEERS, 'legacy');
const LEGACY_WEB = process.env.PEER_LEGACY_WEB ?? join(PEERS, 'legacy-src', 'addons', 'gst-web', 'src');
const SELKIES21_VENV = process.env.PEER_SELKIES21_VENV ?? join(PEERS, 'selkies21');

const FPS = 30;
const KBPS = 4000;

/** Extra flags for our host (`BENCH_HOST_FLAGS`, space-separated), e.g. an A/B switch. */
const OUR_EXTRA = (process.env.BENCH_HOST_FLAGS ?? '').split(' ').filter(Boolean);

const need = (path, what) => (existsSync(path) ? null : `${what} not found at ${path}`);

/** Waits for `url` to answer HTTP (any status) while `name` lives. */
async function httpUp(env, name, url, timeoutMs) {
  const up = await waitFor(async () => {
    if (!env.alive(name)) return 'dead';
    try {
      await fetch(url);
      return 'up';
    } catch {
      return false;
    }
  }, timeoutMs, 100);
  if (up !== 'up') throw new Error(`${name} did not answer HTTP (${up ?? 'timeout'}):\n${env.tail(name, 40)}`);
}

function ourHost(webRoot, bin = () => hostBinary(), transport = 'webrtc') {
  return async (env, port) => {
    const args = ['--addr=127.0.0.1', `--port=${port}`, '--enable_https=false', `--web_root=${webRoot}`,
      `--json_config=${join(env.dir, 'our-config.json')}`, '--encoder=x264enc', `--framerate=${FPS}`,
      `--video_bitrate=${KBPS}`, '--enable_basic_auth=false', '--enable_resize=false',
      // One transport per case: with `auto`, a starved machine would make our client fall back to
      // the WebSocket transport after 6 s without ICE (docs/connectivity.md) mid-case.
      `--rtc_config_json=${noIceServers(env)}`, `--transport=${transport}`, ...OUR_EXTRA];
    env.spawn('host', bin(), args, { RUST_LOG: process.env.RUST_LOG ?? 'warn', GST_DEBUG: '1' });
    await httpUp(env, 'host', `http://127.0.0.1:${port}/health`, 20000);
  };
}

function noIceServers(env) {
  const file = join(env.dir, 'rtc.json');
  writeFileSync(file, JSON.stringify({ lifetimeDuration: '86400s', iceServers: [], blockStatus: 'NOT_BLOCKED', iceTransportPolicy: 'all' }));
  return file;
}

async function legacyHost(env, port) {
  const args = ['--addr=127.0.0.1', `--port=${port}`, '--enable_https=false', `--web_root=${LEGACY_WEB}`,
    `--json_config=${join(env.dir, 'legacy-config.json')}`, `--rtc_config_json=${noIceServers(env)}`,
    '--encoder=x264enc', `--framerate=${FPS}`, `--video_bitrate=${KBPS}`, '--enable_basic_auth=false',
    '--enable_resize=false', '--enable_metrics_http=false'];
  env.spawn('host', join(LEGACY_VENV, 'bin', 'selkies-gstreamer'), args, { GST_DEBUG: '1', PYTHONUNBUFFERED: '1' });
  await httpUp(env, 'host', `http://127.0.0.1:${port}/`, 30000);
}

function selkies21(mode) {
  return async (env, port) => {
    const args = ['--addr=127.0.0.1', `--port=${port}`, `--mode=${mode}`, '--enable-basic-auth=false',
      '--enable-https=false', `--rtc-config-json=${noIceServers(env)}`, '--encoder=h264enc',
      `--framerate=${FPS}-${FPS}`, `--video-bitrate=${KBPS}-${KBPS}`, '--rate-control-mode=cbr',
      '--manual-width=1920', '--manual-height=1080', '--enable-dual-mode=false'];
    env.spawn('host', join(SELKIES21_VENV, 'bin', 'selkies'), args, {
      PYTHONUNBUFFERED: '1',
      HOME: env.dir,
      XDG_RUNTIME_DIR: env.dir,
      SELKIES_FRAMERATE: `${FPS}-${FPS}`,
      SELKIES_VIDEO_BITRATE: `${KBPS}-${KBPS}`,
    });
    await httpUp(env, 'host', `http://127.0.0.1:${port}/`, 30000);
  };
}

/** The cases, in the order a round runs them. */
export const CASES = [
  { id: 'a', label: 'ours, own client', start: ourHost(join(ROOT, 'web', 'dist')), missing: () => null },
  { id: 'w', label: 'ours, own client, WebSocket', start: ourHost(join(ROOT, 'web', 'dist'), undefined, 'websocket'), missing: () => null },
  { id: 'b', label: 'ours, legacy client', start: ourHost(LEGACY_WEB), missing: () => need(join(LEGACY_WEB, 'index.html'), 'legacy web client (PEER_LEGACY_WEB)') },
  { id: 'c', label: 'legacy v1.6.2', start: legacyHost, missing: () => need(join(LEGACY_VENV, 'bin', 'selkies-gstreamer'), 'legacy host (PEER_LEGACY_VENV)') ?? need(join(LEGACY_WEB, 'index.html'), 'legacy web client (PEER_LEGACY_WEB)') },
  { id: 'd', label: 'Selkies 2.1 websockets', start: selkies21('websockets'), missing: () => need(join(SELKIES21_VENV, 'bin', 'selkies'), 'Selkies 2.1 (PEER_SELKIES21_VENV)') },
  { id: 'e', label: 'Selkies 2.1 webrtc', start: selkies21('webrtc'), missing: () => need(join(SELKIES21_VENV, 'bin', 'selkies'), 'Selkies 2.1 (PEER_SELKIES21_VENV)') },
  // An A/B of two builds of our host in one run: SELKIES_HOST_BIN_B, our client.
  { id: 'x', label: 'ours (build B), own client', start: ourHost(join(ROOT, 'web', 'dist'), () => process.env.SELKIES_HOST_BIN_B), missing: () => (process.env.SELKIES_HOST_BIN_B ? need(process.env.SELKIES_HOST_BIN_B, 'SELKIES_HOST_BIN_B') : 'SELKIES_HOST_BIN_B not set') },
];
