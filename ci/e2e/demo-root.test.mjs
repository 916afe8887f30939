// The README's first command on a fresh machine: ci/test-demo-fresh-root runs `ci/demo` in a
// fresh Debian root and, once the host has printed its URL and generated password, this test
// (Debian's Chromium, outside the root) logs in with them and must decode the demo's screen.
//
// Env (set by ci/test-demo-fresh-root): DEMO_ORIGIN, DEMO_USER, DEMO_PASSWORD.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Browser } from './browser.mjs';

const ORIGIN = process.env.DEMO_ORIGIN;
let browser = null;

describe('ci/demo from a fresh root', { timeout: 120000 }, () => {
  after(async () => {
    await browser?.close();
  });

  test('the page shows decoded frames of the demo screen', async (t) => {
    for (const v of ['DEMO_ORIGIN', 'DEMO_USER', 'DEMO_PASSWORD']) assert.ok(process.env[v], `${v} is not set (run ci/test-demo-fresh-root)`);
    browser = await Browser.launch(ORIGIN, { credentials: { username: process.env.DEMO_USER, password: process.env.DEMO_PASSWORD } });
    const firstFrameMs = await browser.open('/', 60000);
    const m = await browser.measureVideo(5000);
    assert.ok(m.last && m.last.framesDecoded > 0, 'no decoded frame');
    // The demo's Xvfb is 1920x1080 and xclock ticks every second.
    assert.equal(`${m.last.frameWidth}x${m.last.frameHeight}`, '1920x1080');
    assert.ok(m.fps > 0, 'the ticking clock produced no new frame in 5 s');
    t.diagnostic(`first frame ${firstFrameMs.toFixed(0)} ms after navigation; ${m.fps.toFixed(1)} fps ${m.last.codec}`);
  });
});
