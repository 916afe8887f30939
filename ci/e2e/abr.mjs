// The adaptive-bitrate rig shared by ci/e2e/bench-abr.mjs and ci/e2e/abr.test.mjs: every media
// packet between the host and Chromium crosses the userspace impairment relay (impair.mjs).
//
//   Chromium ──(relay-only ICE, TURN over UDP)──▶ impairment relay :3479 ──▶ coturn :3478
//   coturn's relay address ⇄ the host's loopback candidates
//
// The page's `/turn` answer is replaced by one TURN URI pointing at the relay with
// `iceTransportPolicy: "relay"`, so Chromium can only reach the host through coturn, and
// coturn only hears Chromium through the relay. The host gets no TURN settings (its loopback
// host candidates are what coturn relays to), so nothing crosses the relay twice.
import { join } from 'node:path';
import { Browser, withE2eFlag } from './browser.mjs';
import { waitFor } from './harness.mjs';
import { UdpImpairRelay } from './impair.mjs';
import { parsePrometheus } from './prom.mjs';

export const TURN_PORT = Number(process.env.E2E_ABR_TURN_PORT ?? 3478);
export const RELAY_PORT = TURN_PORT + 1;
const USER = 'abr';
const PASS = 'abr-secret';

// Records the page's peer connections, and per video frame presented the gap since the last
// one (rVFC on every <video>), so a sampler can read the longest freeze of each second.
const INSTRUMENT = () => {
  const Native = window.RTCPeerConnection;
  const pcs = [];
  class Recorded extends Native {
    constructor(...args) {
      super(...args);
      pcs.push(this);
    }
  }
  window.RTCPeerConnection = Recorded;
  const abr = { pcs, maxGapMs: 0, lastFrameAt: null, watched: new WeakSet() };
  window.__abr = abr;
  const watch = () => {
    for (const v of document.querySelectorAll('video')) {
      if (abr.watched.has(v) || !v.requestVideoFrameCallback) continue;
      abr.watched.add(v);
      const onFrame = (now) => {
        if (abr.lastFrameAt !== null) abr.maxGapMs = Math.max(abr.maxGapMs, now - abr.lastFrameAt);
        abr.lastFrameAt = now;
        v.requestVideoFrameCallback(onFrame);
      };
      v.requestVideoFrameCallback(onFrame);
    }
  };
  setInterval(watch, 200);
};

/**
 * A scene that uses the whole bitrate: a scrolling test pattern with a patch of noise in it
 * (x264 undershoots its target on the pattern alone), beside the harness's bouncing ball.
 */
export function startScene(env) {
  env.spawn('scene', 'gst-launch-1.0', ['-q', 'compositor', 'name=c', 'sink_1::xpos=600', 'sink_1::ypos=300', '!', 'videoconvert', '!', 'ximagesink', 'sync=false',
    'videotestsrc', 'pattern=smpte', 'horizontal-speed=6', 'is-live=true', '!', 'video/x-raw,width=960,height=540,framerate=30/1', '!', 'c.',
    'videotestsrc', 'pattern=snow', 'is-live=true', '!', 'video/x-raw,width=320,height=180,framerate=30/1', '!', 'c.']);
}

/** coturn on 127.0.0.1:TURN_PORT with one static long-term user; resolves when it listens. */
export async function startCoturn(env, name = 'coturn') {
  env.spawn(name, 'turnserver', [
    '-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${TURN_PORT}`,
    '--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls', '--realm=selkies', '--lt-cred-mech',
    `--user=${USER}:${PASS}`, '--log-file=stdout', '--simple-log', `--pidfile=${join(env.dir, `${name}.pid`)}`,
    `--userdb=${join(env.dir, `${name}.sqlite`)}`,
  ]);
  const up = await waitFor(() => env.alive(name) && /listener opened on|Total General servers/.test(env.tail(name, 200)), 10000, 100);
  if (!up) throw new Error(`coturn did not start:\n${env.tail(name)}`);
}

/** The relay in front of coturn. */
export async function startRelay() {
  return new UdpImpairRelay({ listenPort: RELAY_PORT, upstream: { host: '127.0.0.1', port: TURN_PORT } }).start();
}

/** Chromium on the client page, relay-only through the impairment relay; resolves at the first frame. */
export async function openThroughRelay(origin, timeoutMs = 30000) {
  const browser = await Browser.launch(origin, { context: { serviceWorkers: 'block' } });
  await browser.page.addInitScript(INSTRUMENT);
  await browser.page.route('**/turn', (route) =>
    route.fulfill({
      contentType: 'application/json',
      body: JSON.stringify({
        iceServers: [{ urls: [`turn:127.0.0.1:${RELAY_PORT}?transport=udp`], username: USER, credential: PASS }],
        iceTransportPolicy: 'relay',
      }),
    }),
  );
  const res = await browser.page.goto(`${origin}${withE2eFlag('/?transport=webrtc')}`);
  if (res?.status() !== 200) throw new Error(`page load: HTTP ${res?.status()}`);
  await browser.page.waitForFunction(() => window.__e2e?.firstFrameMs != null, null, { timeout: timeoutMs });
  return browser;
}

/** The video inbound-rtp counters and the longest frame gap since the previous call (resets it). */
export function videoCounters(browser) {
  return browser.e2e(async () => {
    const abr = window.__abr;
    const gap = abr.maxGapMs;
    abr.maxGapMs = 0;
    for (const pc of abr.pcs) {
      for (const s of (await pc.getStats()).values()) {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          return {
            t: s.timestamp,
            frames: s.framesDecoded ?? 0,
            bytes: s.bytesReceived ?? 0,
            freezes: s.freezeCount ?? 0,
            freezeS: s.totalFreezesDuration ?? 0,
            lost: s.packetsLost ?? 0,
            maxGapMs: gap,
          };
        }
      }
    }
    return null;
  });
}

/** The host's encoder bitrate and frame rate in force, from its Prometheus exporter. */
export async function hostRates(metricsPort) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const m = parsePrometheus(text);
    const v = (name) => m.find((s) => s.name === name)?.value ?? null;
    return { kbps: v('selkies_video_bitrate_kbps'), fps: v('selkies_framerate') };
  } catch {
    return { kbps: null, fps: null };
  }
}

/** The SDP lines of the offer's video section that negotiate transport-wide congestion control. */
export function twccLines(offer) {
  const video = offer.split('m=video')[1]?.split('\nm=')[0] ?? '';
  return video.split(/\r?\n/).filter((l) => /transport-wide-cc|transport-cc/.test(l));
}
