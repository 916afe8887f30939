// "UDP blocked, one TCP port open" (docs/connectivity.md): the browser runs in its own network
// namespace, joined to the host's by a veth pair, behind an nftables filter (ci/e2e/netns.mjs)
// through which nothing passes but TCP to the host's one HTTP port. No ICE policy is forced and
// no TURN flag is given: the client takes `/turn` as the host serves it, so the only way through
// is the host's embedded TURN relay over TCP on that port. The filter is real netfilter
// (nf_tables in the browser's namespace, Debian `nftables`); the kernel here supports it, and
// the test refuses to run (instead of passing over an unfiltered link) where it does not.
//
// Checked: the filter itself (UDP STUN to the host's port goes unanswered from the browser's
// namespace and is answered from the host's; TCP to another port does not connect); our client
// streams 1920x1080 frames, its input reaches X, and both sides report the path (the page's
// selected pair is a relay candidate over TCP; the host's `/connectivity` — behind Basic auth —
// and `/metrics` say the browser came through the embedded relay over TCP). The legacy-format
// client does the same when its static files are present (SELKIES_LEGACY_ROOT, default
// /tmp/legacy-web/addons/gst-web/src; this repository does not contain it, see
// ci/soak-reload): otherwise that case is skipped with a message, and our client always runs.
// Run through ci/checks/82-connectivity.sh (root, a fresh network namespace).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Browser, FLAGS } from './browser.mjs';
import { Env, sleep, waitFor } from './harness.mjs';
import { BrowserNetns, HOST_IP, nftablesUsable } from './netns.mjs';
import { parsePrometheus } from './prom.mjs';

const PORT = Number(process.env.E2E_ONE_PORT ?? 18095);
const METRICS_PORT = PORT + 1;
const ORIGIN = `http://${HOST_IP}:${PORT}`;
const USER = 'e2e';
const PASSWORD = 'one-port-e2e';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const LEGACY_ROOT = process.env.SELKIES_LEGACY_ROOT ?? '/tmp/legacy-web/addons/gst-web/src';

const env = new Env();
let netns = null;
let browser = null;

// Chromium inside the browser namespace. The page's origin is not localhost, so Chromium is told
// to treat it as secure: the media permission the harness grants (without it Chromium hides its
// host candidates behind mDNS names the host cannot resolve) needs a secure origin.
const LAUNCH = () => ({
  credentials: { username: USER, password: PASSWORD },
  context: { executablePath: netns.chromium, args: [...FLAGS, `--unsafely-treat-insecure-origin-as-secure=${ORIGIN}`] },
});

/** Host flags: no TURN source but the embedded relay, STUN on the relay's own UDP port. */
function oneportFlags(port, extra = []) {
  return [
    '--addr=0.0.0.0', '--encoder=x264enc', '--framerate=30', '--enable_resize=false',
    '--enable_basic_auth=true', `--basic_auth_user=${USER}`, `--basic_auth_password=${PASSWORD}`,
    '--turn_embedded=true', `--rtc_config_json=${env.dir}/no-rtc.json`,
    `--stun_host=${HOST_IP}`, `--stun_port=${port}`,
    '--enable_metrics_http=true', `--metrics_http_port=${port + 1}`, ...extra,
  ];
}

async function hostConnectivity() {
  const res = await fetch(`http://127.0.0.1:${PORT}/connectivity`, { headers: { authorization: AUTH } });
  assert.equal(res.status, 200, '/connectivity with credentials');
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return (await res.json()).peers;
}

/** Both host peers report a relayed browser that reached the embedded relay over TCP. */
async function assertHostSeesRelayOverTcp(t) {
  const peers = await waitFor(async () => {
    const p = await hostConnectivity();
    return p.length === 2 && p.every((x) => x.relay?.embedded) ? p : null;
  }, 15000, 500) ?? (await hostConnectivity());
  t.diagnostic(`host /connectivity: ${JSON.stringify(peers)}`);
  assert.deepEqual(peers.map((p) => p.peer).sort(), ['audio', 'video']);
  for (const p of peers) {
    assert.equal(p.path, 'relayed', JSON.stringify(p));
    assert.equal(p.remote.type, 'relay', JSON.stringify(p));
    assert.equal(p.relay.side, 'remote');
    assert.equal(p.relay.embedded, true, `relayed by the host's embedded relay: ${JSON.stringify(p)}`);
    assert.equal(p.relay.protocol, 'tcp', `the browser reached the relay over TCP: ${JSON.stringify(p)}`);
    assert.ok(p.bytes_sent > 0, `bytes sent: ${JSON.stringify(p)}`);
  }
  const text = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
  const info = parsePrometheus(text).filter((m) => m.name === 'selkies_ice_selected_pair_info');
  assert.equal(info.length, 2, `selkies_ice_selected_pair_info samples:\n${text.split('\n').filter((l) => l.includes('selkies_ice')).join('\n')}`);
  for (const m of info) {
    assert.equal(m.labels.remote_type, 'relay');
    assert.equal(m.labels.relay_protocol, 'tcp');
    assert.equal(m.labels.embedded_relay, 'true');
  }
}

/** Moves the page's mouse and waits for the X pointer to follow. */
async function assertInputReachesX(page, x, y) {
  const before = await env.pointer();
  let moved = null;
  for (let i = 0; i < 10 && !moved; i++) {
    await page.mouse.move(x + i, y + i);
    moved = await waitFor(async () => {
      const p = await env.pointer();
      return p && (p.x !== before?.x || p.y !== before?.y) ? p : null;
    }, 1000, 100);
  }
  assert.ok(moved, `the X pointer stayed at ${JSON.stringify(before)} after mouse moves in the page`);
  return moved;
}

describe('one TCP port open, UDP blocked (nftables in the browser namespace)', () => {
  before(async () => {
    if (!(await nftablesUsable())) {
      throw new Error('nf_tables is not usable in a network namespace here (nft missing or kernel without nf_tables): install Debian nftables; this test must not run over an unfiltered link');
    }
    await env.startX();
    await env.startAudio();
    netns = await BrowserNetns.create(env.dir);
    await env.startHost(PORT, oneportFlags(PORT));
    await netns.blockAllBut(PORT);
  });

  after(async () => {
    await browser?.close();
    await env.stopAll();
    await netns?.destroy();
  });

  test('the filter passes TCP to the host port and nothing else', async (t) => {
    t.diagnostic(await netns.ruleset());
    assert.equal(await netns.tcpConnects(HOST_IP, PORT), true, 'TCP to the host port');
    assert.equal(await netns.tcpConnects(HOST_IP, METRICS_PORT), false, 'TCP to another host port (the metrics exporter listens there)');
    assert.equal(await netns.udpStunAnswered(HOST_IP, PORT), false, 'UDP STUN from the browser namespace must be dropped');
    // The same request from the host's side is answered: the silence above is the filter's.
    await netns.unblock();
    assert.equal(await netns.udpStunAnswered(HOST_IP, PORT), true, 'UDP STUN without the filter');
    await netns.blockAllBut(PORT);
    const anon = await fetch(`http://127.0.0.1:${PORT}/connectivity`);
    assert.equal(anon.status, 401, '/connectivity needs the Basic auth credentials');
  });

  test('our client streams 1080p through the embedded relay over TCP; input reaches X', async (t) => {
    browser = await Browser.launch(ORIGIN, LAUNCH());
    const firstFrameMs = await browser.open('/?transport=webrtc', 45000);
    t.diagnostic(`page load → first frame through the filtered path: ${firstFrameMs} ms`);
    const m = await browser.measureVideo(3000);
    assert.equal(`${m.last?.frameWidth}x${m.last?.frameHeight}`, '1920x1080', 'frame size');
    assert.ok(m.fps >= 5, `decoded ${m.fps.toFixed(1)} fps through the relay`);
    const paths = await waitFor(async () => {
      const c = await browser.e2e(() => window.__e2e.connectivity);
      return c.video && c.audio ? c : null;
    }, 10000, 250);
    t.diagnostic(`browser selected pairs: ${JSON.stringify(paths)}`);
    assert.ok(paths, 'the page reports both selected pairs');
    for (const p of [paths.video, paths.audio]) {
      assert.equal(p.local.type, 'relay', `the browser's side is a relay candidate: ${JSON.stringify(p)}`);
      assert.equal(p.relayProtocol, 'tcp', `reached over TCP: ${JSON.stringify(p)}`);
      assert.match(p.relayUrl ?? '', new RegExp(`^turn:${HOST_IP.replaceAll('.', '\\.')}:${PORT}\\?transport=tcp$`));
    }
    await assertHostSeesRelayOverTcp(t);
    const p = await assertInputReachesX(browser.page, 400, 300);
    t.diagnostic(`X pointer after the page's mouse move: ${JSON.stringify(p)}`);
    await browser.close();
    browser = null;
    await sleep(1500);
  });

  test('the legacy-format client streams through the same path', async (t) => {
    if (!existsSync(`${LEGACY_ROOT}/index.html`)) {
      t.skip(`legacy web client not found at ${LEGACY_ROOT} (set SELKIES_LEGACY_ROOT; see ci/soak-reload for how to export it)`);
      return;
    }
    await env.stop('host');
    await env.startHost(PORT, oneportFlags(PORT, [`--web_root=${LEGACY_ROOT}`]));
    browser = await Browser.launch(ORIGIN, LAUNCH());
    const t0 = Date.now();
    const res = await browser.page.goto(`${ORIGIN}/`);
    assert.equal(res?.status(), 200, 'legacy page load');
    // The legacy page waits for a click before it plays; the click is input too.
    const frames = () => browser.page.evaluate(() => {
      const v = document.querySelector('video');
      return v ? { n: v.getVideoPlaybackQuality().totalVideoFrames, w: v.videoWidth, h: v.videoHeight } : null;
    });
    const got = await waitFor(async () => {
      await browser.page.mouse.click(300, 300).catch(() => {});
      const f = await frames().catch(() => null);
      return f && f.n > 30 ? f : null;
    }, 45000, 500);
    t.diagnostic(`legacy client: ${JSON.stringify(got)} after ${Date.now() - t0} ms`);
    assert.ok(got, `the legacy client decoded no frames:\n${browser.consoleTail(20)}`);
    assert.equal(`${got.w}x${got.h}`, '1920x1080');
    await assertHostSeesRelayOverTcp(t);
    await assertInputReachesX(browser.page, 500, 350);
  });
});
