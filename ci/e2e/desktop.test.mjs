// End-to-end (browser side): the full client against the real host, Xvfb and Chromium.
// Drawer and stats overlay (screenshots), live settings (bitrate drop, 15 fps) surviving a host
// restart through --json_config, gamepads through a scripted navigator.getGamepads, touch through
// Playwright's touch emulation (phone viewport, xev), clipboard both ways (UTF-8 and 1 MB),
// cursors from XFixes, RandR resize and DPI, the Prometheus exporter. Every case runs: none is skipped
// on what the host's source looks like. Run through ci/checks/75-e2e-desktop.sh.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Browser } from './browser.mjs';
import { parsePrometheus } from './prom.mjs';
import { diagnostics, Env, pageState, ROOT, sleep, waitFor } from './harness.mjs';
import { parseXev } from './xev.mjs';

const PORT = Number(process.env.E2E_PORT ?? 18090);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const SHOTS = process.env.E2E_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'selkies-screenshots-'));
// A window of noise at the top left makes the encoder spend whatever bitrate it is given.
const NOISE = ['videotestsrc', 'pattern=snow', '!', 'video/x-raw,width=480,height=270,framerate=30/1', '!', 'ximagesink'];
// The touch xev window: frame (700..1300, 400..800), under the phone viewport's centre.
const TOUCH_XEV = { x: 700, y: 400, w: 600, h: 400 };

const env = new Env();
const jsonConfig = join(env.dir, 'selkies.json');
let browser = null;

const METRICS_PORT = PORT + 1;
const hostFlags = ['--encoder=x264enc', '--enable_basic_auth=false', '--enable_resize=false', `--json_config=${jsonConfig}`];
hostFlags.push('--enable_metrics_http=true', `--metrics_http_port=${METRICS_PORT}`);

const withDiagnostics = diagnostics(env, () => browser, {
  page: pageState(() => {
    const h = window.__e2e;
    return h && { dc: h.dataChannelState, pc: h.connectionState, host: h.hostMessages, sent: h.sent.slice(-15), status: document.getElementById('status')?.textContent };
  }),
});

async function shot(name) {
  const path = join(SHOTS, `${name}.png`);
  await browser.page.screenshot({ path });
  return path;
}

async function openBrowser(opts = {}) {
  await browser?.close();
  browser = await Browser.launch(ORIGIN, opts);
  await browser.open('/');
  await waitFor(() => browser.e2e(() => window.__e2e.dataChannelState === 'open' && (window.__e2e.hostMessages.system ?? 0) >= 5), 10000, 100);
}

/** Resolves once some message the page sent since `from` satisfies `pred`; returns it. */
async function waitSent(from, pred, timeoutMs = 5000) {
  return waitFor(async () => (await browser.sent(from)).find(pred) ?? null, timeoutMs, 100);
}

const sentCount = () => browser.e2e(() => window.__e2e.sent.length);
const xevButtons = (from) => parseXev(env.xevOutput('touch').slice(from)).filter((e) => e.type.startsWith('Button'));

/** Sets the X CLIPBOARD through xclip (a real X client that owns the selection and serves INCR). */
function xclipSet(text) {
  return new Promise((resolve, reject) => {
    const c = spawn('xclip', ['-selection', 'clipboard', '-i'], { env: env.env(), stdio: ['pipe', 'ignore', 'ignore'] });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`xclip exited ${code}`))));
    c.stdin.end(text);
  });
}

function xclipGet() {
  return new Promise((resolve) => {
    const c = spawn('xclip', ['-selection', 'clipboard', '-o'], { env: env.env(), stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks = [];
    c.stdout.on('data', (d) => chunks.push(d));
    c.on('exit', () => resolve(Buffer.concat(chunks).toString('utf8')));
    c.on('error', () => resolve(''));
  });
}

describe('selkies desktop integration and the full web client', { timeout: 300000 }, () => {
  before(async () => {
    console.log(`# screenshots: ${SHOTS}`);
    await env.startX();
    await env.startAudio();
    env.spawn('noise', 'gst-launch-1.0', ['-q', ...NOISE]);
    env.startXev('touch', TOUCH_XEV.x, TOUCH_XEV.y, TOUCH_XEV.w, TOUCH_XEV.h);
    await env.startHost(PORT, hostFlags);
  });

  after(async () => {
    await browser?.close();
    await env.stopAll();
    console.log(`# screenshots: ${SHOTS}`);
  });

  test('drawer (1366x768): legacy option lists, encoder, gauges; stats overlay with glass-to-glass', (t) =>
    withDiagnostics(async () => {
      await openBrowser({ viewport: { width: 1366, height: 768 } });
      const page = browser.page;
      await page.keyboard.press('Control+Shift+KeyM');
      await page.waitForSelector('#drawer.open', { timeout: 3000 });
      const ui = await browser.e2e(() => ({
        video: Array.from(document.querySelectorAll('#sel-video-bitrate option'), (o) => o.value),
        fps: Array.from(document.querySelectorAll('#sel-framerate option'), (o) => o.value),
        audio: Array.from(document.querySelectorAll('#sel-audio-bitrate option'), (o) => o.value),
        videoValue: document.querySelector('#sel-video-bitrate').value,
      }));
      assert.equal(ui.video.length >= 25, true, `video bitrate options ${ui.video}`);
      assert.ok(ui.video.includes('250') && ui.video.includes('400000'));
      assert.deepEqual(ui.fps.slice(0, 3), ['10', '15', '30']);
      assert.ok(ui.audio.includes('510000'));
      assert.notEqual(ui.videoValue, '', 'the host-announced bitrate is selected');
      // Stats arrive once a second; the gauges and the encoder row render while the drawer is open.
      const rows = await waitFor(() => browser.e2e(() => {
        const t = document.getElementById('status-list')?.textContent ?? '';
        return t.includes('software (x264enc)') && /Video bitrate[\d.]+ Mbit/.test(t) && document.querySelectorAll('.gauge').length === 5 ? t : null;
      }), 5000, 250);
      assert.ok(rows, 'drawer status list with the encoder and 5 gauges');
      t.diagnostic(`screenshot ${await shot('drawer-1366x768')}`);
      await page.keyboard.press('Control+Shift+KeyM');
      await page.keyboard.press('Control+Shift+KeyS');
      const overlay = await waitFor(() => browser.e2e(() => {
        const o = document.getElementById('stats-overlay');
        return o && !o.hidden && o.textContent.includes('glass-to-glass') ? o.textContent : null;
      }), 4000, 200);
      assert.ok(overlay, 'stats overlay with a glass-to-glass line');
      assert.match(overlay, /jitter buffer [\d.]+ ms\/frame/);
      const g2g = await browser.e2e(() => window.__e2e.glassToGlassMs);
      assert.ok(g2g > 0 && g2g < 1000, `glass-to-glass estimate ${g2g}`);
      // The host's own stage times (`_stages,1` → `video_stages`, docs/protocol.md §4.2) replace
      // the assumed host part of the figure.
      const hosted = await waitFor(() => browser.e2e(() => {
        const t = document.getElementById('stats-overlay')?.textContent ?? '';
        return /capture→sent [\d.]+ ms \(host\)/.test(t) && /\nhost: change→capture/.test(t) ? t : null;
      }), 6000, 250);
      assert.ok(hosted, `overlay without the host's stages: ${await browser.e2e(() => document.getElementById('stats-overlay')?.textContent)}; host messages ${JSON.stringify(await browser.e2e(() => window.__e2e.hostMessages))}`);
      assert.ok((await browser.sent()).includes('_stages,1'), 'the client asks for the host stages');
      await sleep(400); // the drawer's closing transition
      t.diagnostic(`glass-to-glass estimate ${g2g.toFixed(0)} ms; screenshot ${await shot('stats-overlay-1366x768')}`);
      // Telemetry uploads (legacy: every second while both connections are up).
      const uploads = (await browser.sent()).filter((m) => /^_stats_(video|audio),\[\{/.test(m)).map((m) => m.slice(0, 12));
      assert.ok(uploads.includes('_stats_video') && uploads.includes('_stats_audio'), `stats uploads: ${uploads.slice(0, 4)}`);
      // Fullscreen on Ctrl+Shift+F and off again.
      await page.keyboard.press('Control+Shift+KeyF');
      assert.ok(await waitFor(() => browser.e2e(() => document.fullscreenElement !== null), 3000), 'fullscreen on');
      await page.keyboard.press('Control+Shift+KeyF');
      assert.ok(await waitFor(() => browser.e2e(() => document.fullscreenElement === null), 3000), 'fullscreen off');
      // The drawer's shortcut keys never reach the desktop as a stray M/S/F.
      const keys = (await browser.sent()).filter((m) => /^k[du],(77|109|83|115|70|102)$/.test(m));
      assert.deepEqual(keys, [], 'shortcut letters sent to the host');
    }));

  test('gamepad: a scripted navigator.getGamepads becomes js,c/b/a/d, only changes, dead zone 0.05', () =>
    withDiagnostics(async () => {
      const from = await sentCount();
      await browser.e2e(() => {
        const pad = {
          index: 0, id: 'Scripted pad (STANDARD GAMEPAD)', connected: true, mapping: 'standard',
          axes: [0, 0, 0, 0], buttons: Array.from({ length: 17 }, () => ({ value: 0, pressed: false })),
        };
        window.__pad = pad;
        navigator.getGamepads = () => [window.__pad, null, null, null];
        window.dispatchEvent(new Event('gamepadconnected'));
      });
      const name = Buffer.from('Scripted pad (STANDARD GAMEPAD)').toString('base64');
      assert.ok(await waitSent(from, (m) => m === `js,c,0,${name},4,17`), 'js,c with axes before buttons');
      await browser.e2e(() => {
        window.__pad.buttons[0] = { value: 1, pressed: true };
        window.__pad.axes[1] = -0.5;
        window.__pad.axes[2] = 0.03; // inside the dead zone
      });
      await waitSent(from, (m) => m === 'js,a,0,1,-0.5');
      await sleep(200); // several 16 ms polls with no change
      await browser.e2e(() => {
        window.__pad = null;
        window.dispatchEvent(new Event('gamepaddisconnected'));
      });
      await waitSent(from, (m) => m === 'js,d,0');
      const js = (await browser.sent(from)).filter((m) => m.startsWith('js,'));
      assert.deepEqual(js, [`js,c,0,${name},4,17`, 'js,b,0,0,1', 'js,a,0,1,-0.5', 'js,d,0']);
      assert.ok(await browser.e2e(() => document.getElementById('icon-gamepad').title === 'Gamepad disconnected'));
    }));

  test('live settings: a lower bitrate in the drawer drops the received bitrate; 15 fps decodes ~15', (t) =>
    withDiagnostics(async () => {
      const page = browser.page;
      const high = await browser.measureRates(3000);
      await page.keyboard.press('Control+Shift+KeyM');
      await page.waitForSelector('#drawer.open');
      const from = await sentCount();
      await page.selectOption('#sel-video-bitrate', '500');
      assert.ok(await waitSent(from, (m) => m === 'vb,500'), 'vb,500 sent');
      await sleep(3000);
      const low = await browser.measureRates(3000);
      t.diagnostic(`received video: ${high.kbps.toFixed(0)} kbit/s before, ${low.kbps.toFixed(0)} kbit/s after vb,500`);
      assert.ok(high.kbps > 1000, `noise should need more than 1 Mbit/s at the default bitrate, got ${high.kbps.toFixed(0)}`);
      assert.ok(low.kbps < 900 && low.kbps < high.kbps / 2, `after vb,500: ${low.kbps.toFixed(0)} kbit/s`);
      await page.selectOption('#sel-framerate', '15');
      assert.ok(await waitSent(from, (m) => m === '_arg_fps,15'), '_arg_fps,15 sent');
      await sleep(2000);
      const slow = await browser.measureRates(3000);
      t.diagnostic(`decoded ${high.fps.toFixed(1)} fps before, ${slow.fps.toFixed(1)} fps after _arg_fps,15`);
      assert.ok(slow.fps > 12 && slow.fps < 17.5, `decoded ${slow.fps.toFixed(1)} fps at 15`);
      const saved = await browser.e2e(() => [localStorage.getItem('webrtc_videoBitRate'), localStorage.getItem('webrtc_videoFramerate')]);
      assert.deepEqual(saved, ['500', '15'], 'settings persisted per app in localStorage');
      await page.keyboard.press('Control+Shift+KeyM');
    }));

  test('metrics: /metrics parses as Prometheus text and carries the client fps (_f) and the encoder', (t) =>
    withDiagnostics(async () => {
      const body = await waitFor(async () => {
        const text = await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`).then((r) => r.text()).catch(() => '');
        return /^fps [1-9]/m.test(text) ? text : null;
      }, 8000, 500);
      assert.ok(body, 'no fps sample > 0 (the page sends _f every 5 s)');
      const samples = parsePrometheus(body);
      const fps = samples.find((s) => s.name === 'fps');
      t.diagnostic(`${samples.length} samples; fps ${fps?.value}`);
      assert.ok(fps && fps.value > 0);
      assert.ok(samples.some((s) => Object.values(s.labels).includes('x264enc')), 'a sample labelled with the encoder');
      // Every host stage of a streamed frame, down to its last packet reaching the socket
      // through webrtcbin (change → capture needs a change the capture waited for, so it may be 0).
      const counts = Object.fromEntries(samples.filter((s) => s.name === 'selkies_video_stage_ms_count').map((s) => [s.labels.stage, s.value]));
      t.diagnostic(`stage counts ${JSON.stringify(counts)}`);
      for (const stage of ['capture_to_encoder', 'capture_to_encoded', 'encoded_to_sent', 'sent_to_wire']) assert.ok(counts[stage] > 0, `no ${stage} samples`);
    }));

  test('live settings survive a host restart through --json_config (fresh browser profile)', (t) =>
    withDiagnostics(async () => {
      await browser.close();
      browser = null;
      await env.stop('host');
      const json = JSON.parse(readFileSync(jsonConfig, 'utf8'));
      t.diagnostic(`json_config after the changes: ${JSON.stringify(json)}`);
      const values = Object.values(json).map(String);
      assert.ok(values.includes('500') && values.includes('15'), 'bitrate and framerate persisted');
      await env.startHost(PORT, hostFlags);
      await openBrowser({ viewport: { width: 1366, height: 768 } });
      const shown = await browser.e2e(() => [document.querySelector('#sel-video-bitrate').value, document.querySelector('#sel-framerate').value]);
      assert.deepEqual(shown, ['500', '15'], 'the drawer shows what the restarted host announced');
      await sleep(1500);
      const r = await browser.measureRates(3000);
      t.diagnostic(`after restart: ${r.fps.toFixed(1)} fps, ${r.kbps.toFixed(0)} kbit/s`);
      assert.ok(r.fps > 12 && r.fps < 17.5, `decoded ${r.fps.toFixed(1)} fps`);
      assert.ok(r.kbps < 900, `received ${r.kbps.toFixed(0)} kbit/s`);
    }));

  test('touch (phone 390x844): tap = click, long press = right click, drag, two-finger scroll; screenshots', (t) =>
    withDiagnostics(async () => {
      await openBrowser({ viewport: { width: 390, height: 844 }, context: { hasTouch: true, isMobile: true, deviceScaleFactor: 2 } });
      const page = browser.page;
      await waitFor(() => browser.e2e(() => window.__e2e.frameWidth > 0), 5000);
      const fw = await browser.e2e(() => window.__e2e.frameWidth);
      const fh = await browser.e2e(() => window.__e2e.frameHeight);
      // The letterboxed frame in the page: full width, centred vertically.
      const h = (390 * fh) / fw;
      const top = (844 - h) / 2;
      const toFrame = (x, y) => ({ x: Math.floor((x * fw) / 390), y: Math.floor(((y - top) * fh) / h) });
      assert.equal(await page.isVisible('#osk-button'), true, 'on-screen keyboard button on a touch device');
      const cdp = await browser.ctx.newCDPSession(page);
      const touch = (type, points) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map(([x, y], id) => ({ x, y, id })) });

      let from = env.xevOutput('touch').length;
      await page.touchscreen.tap(195, 422);
      let ev = await waitFor(() => (xevButtons(from).some((e) => e.type === 'ButtonRelease') ? xevButtons(from) : null), 3000);
      const tap = toFrame(195, 422);
      assert.deepEqual(ev?.map((e) => `${e.type} ${e.button}`), ['ButtonPress 1', 'ButtonRelease 1'], `tap: ${JSON.stringify(xevButtons(from))}`);
      for (const e of ev) assert.ok(Math.abs(e.rootX - tap.x) <= 1 && Math.abs(e.rootY - tap.y) <= 1, `tap at ${e.rootX},${e.rootY}, want ${tap.x},${tap.y}`);

      from = env.xevOutput('touch').length;
      await touch('touchStart', [[180, 430]]);
      await sleep(800);
      await touch('touchEnd', []);
      ev = await waitFor(() => (xevButtons(from).some((e) => e.type === 'ButtonRelease') ? xevButtons(from) : null), 3000);
      assert.deepEqual(ev?.map((e) => `${e.type} ${e.button}`), ['ButtonPress 3', 'ButtonRelease 3'], `long press: ${JSON.stringify(xevButtons(from))}`);

      from = env.xevOutput('touch').length;
      await touch('touchStart', [[170, 410]]);
      for (let i = 1; i <= 6; i++) {
        await touch('touchMove', [[170 + i * 10, 410 + i * 5]]);
        await sleep(20);
      }
      await touch('touchEnd', []);
      ev = await waitFor(() => (xevButtons(from).some((e) => e.type === 'ButtonRelease') ? xevButtons(from) : null), 3000);
      const [p0, p1] = [toFrame(170, 410), toFrame(230, 440)];
      assert.deepEqual(ev?.map((e) => `${e.type} ${e.button}`), ['ButtonPress 1', 'ButtonRelease 1'], 'drag');
      assert.ok(Math.abs(ev[0].rootX - p0.x) <= 1 && Math.abs(ev[0].rootY - p0.y) <= 1, `drag press at ${ev[0].rootX},${ev[0].rootY}, want ${p0.x},${p0.y}`);
      assert.ok(Math.abs(ev[1].rootX - p1.x) <= 1 && Math.abs(ev[1].rootY - p1.y) <= 1, `drag release at ${ev[1].rootX},${ev[1].rootY}, want ${p1.x},${p1.y}`);

      from = env.xevOutput('touch').length;
      await touch('touchStart', [[170, 440], [220, 440]]);
      for (let i = 1; i <= 5; i++) {
        await touch('touchMove', [[170, 440 - i * 15], [220, 440 - i * 15]]);
        await sleep(20);
      }
      await touch('touchEnd', []);
      ev = await waitFor(() => (xevButtons(from).some((e) => e.button === 5 && e.type === 'ButtonRelease') ? xevButtons(from) : null), 3000);
      const presses = (ev ?? xevButtons(from)).filter((e) => e.type === 'ButtonPress').map((e) => e.button);
      assert.ok(presses.length >= 1 && presses.every((b) => b === 5), `two-finger swipe up scrolls down (button 5): ${presses}`);

      // The on-screen keyboard: its text field's input events become keysyms.
      const sentFrom = await sentCount();
      await page.locator('#osk-button').tap();
      assert.equal(await browser.e2e(() => document.activeElement?.id), 'osk-input', 'the button focuses the keyboard field');
      await page.keyboard.insertText('hé');
      await page.keyboard.press('Backspace');
      await waitSent(sentFrom, (m) => m === 'ku,65288');
      const keys = (await browser.sent(sentFrom)).filter((m) => /^k[du],/.test(m));
      assert.deepEqual(keys, ['kd,104', 'ku,104', 'kd,233', 'ku,233', 'kd,65288', 'ku,65288'], 'on-screen keyboard keysyms');
      await page.locator('#osk-button').tap();

      t.diagnostic(`screenshot ${await shot('phone-390x844')}`);
      await page.locator('#menu-button').tap();
      await page.waitForSelector('#drawer.open');
      await sleep(400);
      t.diagnostic(`screenshot ${await shot('phone-drawer-390x844')}`);
    }));

  test('clipboard: UTF-8 text both ways between X CLIPBOARD and the page', () =>
    withDiagnostics(async () => {
      await openBrowser({ permissions: ['clipboard-read', 'clipboard-write'] });
      const page = browser.page;
      await page.keyboard.press('Control+Shift+KeyM');
      await page.click('#btn-clipboard');
      await waitFor(() => browser.e2e(() => document.getElementById('btn-clipboard').classList.contains('on')), 3000);
      await page.keyboard.press('Control+Shift+KeyM');
      const fromX = 'Grüße из X: 世界 ✓ 🙂';
      await xclipSet(fromX);
      const got = await waitFor(() => browser.e2e(() => window.__e2e.clipboardText), 5000);
      assert.equal(got, fromX, 'X → page');
      assert.equal(await browser.e2e(() => navigator.clipboard.readText()), fromX, 'written to the page clipboard');
      const fromPage = 'Από τη σελίδα: مرحبا ✓';
      await browser.e2e((s) => navigator.clipboard.writeText(s).then(() => window.dispatchEvent(new Event('focus'))), fromPage);
      const inX = await waitFor(async () => ((await xclipGet()) === fromPage ? fromPage : null), 5000, 250);
      assert.equal(inX ?? (await xclipGet()), fromPage, 'page → X');
    }));

  test('clipboard: a 1 MB string both ways', () =>
    withDiagnostics(async () => {
      const big = 'Grüße, мир, 世界 🙂 '.repeat(40000).slice(0, 1 << 20);
      await xclipSet(big);
      const got = await waitFor(() => browser.e2e((n) => (window.__e2e.clipboardText?.length === n ? true : null), big.length), 10000, 250);
      assert.ok(got, 'X → page: 1 MB');
      assert.equal(await browser.e2e(() => window.__e2e.clipboardText), big);
      assert.equal(await browser.e2e(() => navigator.clipboard.readText()), big, 'written to the page clipboard');
      const mine = `page ${big}`.slice(0, 1 << 20);
      await browser.e2e((s) => navigator.clipboard.writeText(s).then(() => window.dispatchEvent(new Event('focus'))), mine);
      const inX = await waitFor(async () => ((await xclipGet()) === mine ? true : null), 10000, 500);
      assert.ok(inX, 'page → X: 1 MB');
    }));

  test('cursor: an X cursor change becomes the video element\'s CSS cursor with its hotspot', () =>
    withDiagnostics(async () => {
      // A 16x16 XBM cursor with its hotspot at (5, 9), set on the root window under the pointer.
      const bits = Array.from({ length: 32 }, (_, i) => (i % 2 ? '0x0f' : '0xf0')).join(', ');
      const xbm = (name, hot) => `#define ${name}_width 16\n#define ${name}_height 16\n${hot ? `#define ${name}_x_hot 5\n#define ${name}_y_hot 9\n` : ''}static unsigned char ${name}_bits[] = {\n  ${bits} };\n`;
      writeFileSync(join(env.dir, 'cur.xbm'), xbm('cur', true));
      writeFileSync(join(env.dir, 'mask.xbm'), xbm('mask', false).replaceAll('0x0f', '0xff').replaceAll('0xf0', '0xff'));
      await browser.page.mouse.move(1180, 620); // frame (1770, 930): bare root window
      await sleep(500);
      const before = await browser.e2e(() => document.getElementById('video').style.cursor);
      await env.x('xsetroot', '-cursor', join(env.dir, 'cur.xbm'), join(env.dir, 'mask.xbm'));
      const css = await waitFor(() => browser.e2e((prev) => {
        const c = document.getElementById('video').style.cursor;
        return c.startsWith('url(') && c !== prev ? c : null;
      }, before), 5000, 100);
      const hostCursorLog = () => env.tail('host', 2000).split('\n').filter((l) => /cursor/i.test(l)).slice(-5).join('\n');
      assert.ok(css, `video cursor became a data: URL; host cursor log:\n${hostCursorLog()}`);
      const m = /^url\("?(data:image\/png;base64,[A-Za-z0-9+/=]+)"?\) (\d+) (\d+), auto$/.exec(css);
      assert.ok(m, `cursor CSS ${css.slice(0, 80)}…`);
      const size = await browser.e2e((src) => new Promise((r) => {
        const i = new Image();
        i.onload = () => r([i.naturalWidth, i.naturalHeight]);
        i.onerror = () => r(null);
        i.src = src;
      }), m[1]);
      assert.ok(size, 'the cursor PNG decodes');
      assert.deepEqual([Number(m[2]), Number(m[3])], [Math.floor((5 * size[0]) / 16), Math.floor((9 * size[1]) / 16)], `hotspot for a ${size} image`);
    }));

  test('resize: remote resize on → X screen (RandR) and decoded frame follow the viewport; DPI → Xft.dpi', (t) =>
    withDiagnostics(async () => {
      await openBrowser({ viewport: { width: 1280, height: 720 }, context: { deviceScaleFactor: 1.25 } });
      const page = browser.page;
      const screen = async () => /current (\d+) x (\d+)/.exec(await env.x('xrandr', '--current'))?.slice(1, 3).join('x');
      await page.keyboard.press('Control+Shift+KeyM');
      const from = await sentCount();
      await page.check('#sw-resize');
      assert.ok(await waitSent(from, (m) => m === '_arg_resize,true,1600x900'), '_arg_resize with CSS size × DPR');
      await page.keyboard.press('Control+Shift+KeyM');
      assert.equal(await waitFor(async () => ((await screen()) === '1600x900' ? '1600x900' : null), 5000), '1600x900', `X screen ${await screen()}`);
      await waitFor(() => browser.e2e(() => window.__e2e.frameWidth === 1600 && window.__e2e.frameHeight === 900), 5000);
      assert.deepEqual(await browser.e2e(() => [window.__e2e.frameWidth, window.__e2e.frameHeight]), [1600, 900], 'decoded frame follows');
      await page.setViewportSize({ width: 1024, height: 640 });
      assert.ok(await waitSent(from, (m) => m === 'r,1280x800'), 'r,1280x800 after the resize settles');
      assert.ok(await waitSent(from, (m) => m === 's,1.25'), 's,1.25');
      assert.equal(await waitFor(async () => ((await screen()) === '1280x800' ? '1280x800' : null), 5000), '1280x800', `X screen ${await screen()}`);
      await waitFor(() => browser.e2e(() => window.__e2e.frameWidth === 1280), 5000);
      assert.deepEqual(await browser.e2e(() => [window.__e2e.frameWidth, window.__e2e.frameHeight]), [1280, 800]);
      t.diagnostic(`screenshot ${await shot('resized-1024x640')}`);
      const dpi = await waitFor(async () => /Xft\.dpi:\s*(\d+)/.exec(await env.x('xrdb', '-query'))?.[1], 5000, 200);
      assert.equal(dpi, '120', 'Xft.dpi = 96 × 1.25');
    }));

  test('PWA: the service worker controls the page and a rebuilt client is served on the next load', () =>
    withDiagnostics(async () => {
      // A copy of the built client as the web root, so the test can "upgrade" it in place.
      const root = mkdtempSync(join(env.dir, 'webroot-'));
      cpSync(join(ROOT, 'web', 'dist'), root, { recursive: true });
      await browser?.close();
      browser = null;
      await env.stop('host');
      await env.startHost(PORT, [...hostFlags, `--web_root=${root}`]);
      await openBrowser();
      const page = browser.page;
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
      await page.reload();
      await page.waitForFunction(() => window.__e2e?.firstFrameMs != null, null, { timeout: 20000 });
      const first = await page.evaluate(() => ({ controlled: !!navigator.serviceWorker.controller, caches: [] }));
      first.caches = await page.evaluate(() => caches.keys());
      assert.equal(first.controlled, true, 'the worker controls the page after a reload');
      const { hash } = JSON.parse(readFileSync(join(root, 'build.json'), 'utf8'));
      assert.deepEqual(first.caches, [`selkies-web-${hash}`]);
      // The upgrade, as a new build writes it: new bundle, new ?v= in index.html, new worker hash.
      const next = `${hash.slice(0, 8)}upgrade`;
      writeFileSync(join(root, 'app.js'), `window.__upgraded=true;\n${readFileSync(join(root, 'app.js'), 'utf8')}`);
      writeFileSync(join(root, 'index.html'), readFileSync(join(root, 'index.html'), 'utf8').replaceAll(hash, next));
      writeFileSync(join(root, 'sw.js'), readFileSync(join(root, 'sw.js'), 'utf8').replaceAll(hash, next));
      await page.reload();
      assert.equal(await page.evaluate(() => window.__upgraded === true), true, 'the first load after the upgrade runs the new bundle');
      const caches = await waitFor(async () => {
        const k = await page.evaluate(() => caches.keys());
        return k.length === 1 && k[0] === `selkies-web-${next}` ? k : null;
      }, 5000, 200);
      assert.ok(caches, `old caches deleted: ${JSON.stringify(await page.evaluate(() => caches.keys()))}`);
    }));
});
