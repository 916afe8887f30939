// End to end for `--congestion_control`: every media packet crosses the userspace impairment
// relay (abr.mjs). With the flag, the offer negotiates transport-wide congestion control and,
// under a 1 Mbit/s cap, the host lowers its encoder bitrate below the configured 4 Mbit/s; once
// the screen stops moving it returns to the configured bitrate (a still picture converges to
// sharp). Directions are asserted, not how fast: ci/bench-abr measures that. Without the flag
// the offer carries no TWCC. Run through ci/checks/84-abr.sh (root, loopback-only network namespace).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hostRates, openThroughRelay, startCoturn, startRelay, startScene, twccLines, videoCounters } from './abr.mjs';
import { Env, waitFor } from './harness.mjs';

const PORT = Number(process.env.E2E_PORT ?? 18097);
const METRICS_PORT = PORT + 1;
const ORIGIN = `http://127.0.0.1:${PORT}`;
const KBPS = 4000;
const flags = (cc) => [
  '--encoder=x264enc', '--framerate=30', `--video_bitrate=${KBPS}`, '--enable_basic_auth=false', '--enable_resize=false',
  '--enable_metrics_http=true', `--metrics_http_port=${METRICS_PORT}`, `--congestion_control=${cc}`,
];

const env = new Env();
let relay = null;
let browser = null;

before(async () => {
  await env.startX();
  startScene(env);
  await startCoturn(env);
  relay = await startRelay();
});

after(async () => {
  await browser?.close();
  relay?.close();
  await env.stopAll();
});

const withLogs = async (body) => {
  try {
    await body();
  } catch (e) {
    throw new Error(`${e?.stack ?? e}\n--- host log ---\n${env.tail('host', 40)}\n--- relay ---\n${JSON.stringify(relay?.stats())}\n--- browser ---\n${browser?.consoleTail(20)}`);
  } finally {
    await browser?.close();
    browser = null;
    await env.stop('host');
  }
};

test('with --congestion_control a capped path lowers the encoder bitrate; a still screen restores it', { timeout: 90000 }, () =>
  withLogs(async () => {
    relay.set({ rateKbps: 0, lossPercent: 0 });
    await env.startHost(PORT, flags(true));
    browser = await openThroughRelay(ORIGIN);
    const offer = browser.sdp.offers.find((o) => o.includes('m=video')) ?? '';
    const lines = twccLines(offer);
    assert.ok(lines.some((l) => /^a=extmap:\d+ http:\/\/www\.ietf\.org\/id\/draft-holmer-rmcat-transport-wide-cc-extensions-01/.test(l)), `TWCC extmap in ${lines}`);
    assert.ok(lines.some((l) => /^a=rtcp-fb:\d+ transport-cc/.test(l)), `transport-cc feedback in ${lines}`);
    // Unimpaired, the encoder runs at the configured bitrate (GCC's first estimates may dip
    // below it for a moment while both connections start; it climbs back on a clear path).
    const first = await waitFor(async () => ((await hostRates(METRICS_PORT)).kbps === KBPS ? true : null), 20000, 250);
    assert.ok(first, `the host runs at the configured bitrate on an unimpaired path (now ${(await hostRates(METRICS_PORT)).kbps})`);
    relay.set({ rateKbps: 1000, lossPercent: 0 });
    const lowered = await waitFor(async () => {
      const r = await hostRates(METRICS_PORT);
      return r.kbps !== null && r.kbps < KBPS ? r : null;
    }, 45000, 500);
    assert.ok(lowered, `the encoder bitrate stayed at ${KBPS} kbit/s under a 1 Mbit/s cap`);
    // Media really crossed the relay, and still arrives.
    assert.ok(relay.stats().toClient.out > 100, JSON.stringify(relay.stats()));
    const v = await videoCounters(browser);
    assert.ok(v && v.frames > 0, 'frames decoded');
    // The screen stops moving (cap still on): the still picture gets the configured bitrate back.
    await env.stop('scene');
    await env.stop('motion');
    const sharp = await waitFor(async () => (await hostRates(METRICS_PORT)).kbps === KBPS, 45000, 500);
    assert.ok(sharp, `a static screen stayed at ${(await hostRates(METRICS_PORT)).kbps} kbit/s`);
  }));

test('without the flag the offer has no TWCC and the bitrate stays put', { timeout: 60000 }, () =>
  withLogs(async () => {
    relay.set({ rateKbps: 0, lossPercent: 0 });
    await env.startHost(PORT, flags(false));
    browser = await openThroughRelay(ORIGIN);
    const offer = browser.sdp.offers.find((o) => o.includes('m=video')) ?? '';
    assert.ok(!offer.includes('transport-wide-cc'), 'no TWCC extmap');
    assert.equal((await hostRates(METRICS_PORT)).kbps, KBPS);
  }));
