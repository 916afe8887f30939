// The browser's camera end to end (docs/webcam.md): Debian's Chromium with its fake camera
// (`--use-fake-device-for-media-stream`, a moving test pattern) → the drawer's camera switch, at
// a chosen size → the host (`--enable_webcam`) receives and decodes the VP8 track → the frame
// socket → the webcam interposer under Debian's v4l2-ctl, which must stream frames of exactly
// that size at >= 15 fps that change from frame to frame. Also: the offer asks for a camera only
// with the host option on and the client's opt-in, and the client sends nothing until the user
// turns the camera on; until then (and after it is off) an application sees the device and
// streams black placeholder frames, and one that opened before the camera was on gets the
// camera's frames without reopening. Run through ci/checks/55-webcam.sh (root, loopback-only namespace).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Browser } from './browser.mjs';
import { Env, ROOT, waitFor } from './harness.mjs';

const run = promisify(execFile);
const PORT = Number(process.env.E2E_WEBCAM_PORT ?? 18095);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const env = new Env();
const SOCK = join(env.dir, 'webcam.sock');
const SO = process.env.WEBCAM_SO
  ?? [join(ROOT, 'target/x86_64-unknown-linux-gnu/release/libselkies_v4l2_interposer.so'), join(ROOT, 'target/debug/libselkies_v4l2_interposer.so')]
    .find((p) => existsSync(p));
const FAKE_CAMERA = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];
// 640x480: what a 2-core CI runner encodes (Chromium VP8) and decodes (host) at full rate
// next to the screen stream; docs/webcam.md has the 1280x720 numbers.
const [W, H] = [Number(process.env.WEBCAM_W ?? 640), Number(process.env.WEBCAM_H ?? 480)];

let browser = null;

/** v4l2-ctl under the interposer; resolves with its output whatever the exit status. */
async function v4l2(args, timeout = 30000) {
  try {
    const { stdout, stderr } = await run('v4l2-ctl', ['-d', '/dev/video0', ...args], {
      env: { ...process.env, LD_PRELOAD: SO, SELKIES_WEBCAM_SOCKET: SOCK },
      timeout,
      maxBuffer: 16 << 20,
    });
    return { ok: true, out: stdout + stderr };
  } catch (e) {
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
  }
}

before(async () => {
  assert.ok(SO, 'the webcam interposer is built (v4l2-interposer/build-portable.sh)');
  await env.startX();
  await env.startHost(PORT, ['--enable_basic_auth=false', '--encoder=x264enc', '--framerate=30', '--enable_webcam', `--webcam_socket_path=${SOCK}`]);
  browser = await Browser.launch(ORIGIN, { args: FAKE_CAMERA });
  try {
    await browser.open('/');
  } catch (e) {
    const stats = await browser.e2e(() => JSON.stringify(window.__e2e?.stats ?? null)).catch(() => '?');
    throw new Error(`${e.message}\n--- stats\n${stats}\n--- host\n${env.tail('host', 60)}\n--- console\n${browser.consoleTail()}\n--- offer\n${browser.sdp.offers.at(-1)}\n--- answer\n${browser.sdp.answers.at(-1)}`);
  }
});

after(async () => {
  await browser?.close();
  await env.stopAll();
  if (!process.env.KEEP_E2E) rmSync(env.dir, { recursive: true, force: true });
  else console.log(`# kept ${env.dir}`);
});

test('the host asks for the camera only on the opted-in connection; the client answers sendonly, with no track yet', async () => {
  // The audio connection, which carries the camera section, starts once the first video frame
  // is shown (web/src/session.ts): its offer and answer may still be on their way.
  const camOffers = () => browser.sdp.offers.filter((o) => /m=video \d+ \S+ 102\b/.test(o));
  const audioAnswered = () => browser.sdp.answers.some((a) => a.includes('m=audio'));
  for (let i = 0; i < 100 && !(camOffers().length && audioAnswered()); i++) await new Promise((r) => setTimeout(r, 100));
  const withCam = camOffers();
  assert.equal(withCam.length, 1, 'one offer (the audio connection\'s) carries the camera section');
  assert.match(withCam[0], /m=audio/);
  assert.match(withCam[0], /a=recvonly/);
  const video = browser.sdp.offers.find((o) => o.includes('a=group:BUNDLE video0 application1')) ?? '';
  assert.equal((video.match(/m=video/g) ?? []).length, 1, 'the screen connection is unchanged');
  const answer = browser.sdp.answers.find((a) => a.includes('m=audio')) ?? '';
  assert.match(answer, /m=video[^]*a=sendonly/, 'the camera section is answered sendonly');
  const on = await browser.e2e(() => window.__webcam.on);
  assert.equal(on, false, 'no camera before the user turns it on');
  // The drawer's Camera section appears because the host asked, with its size and rate choices.
  const drawer = await browser.e2e(() => ({
    hidden: document.getElementById('webcam-settings')?.hidden,
    checked: document.getElementById('sw-webcam')?.checked,
    sizes: [...document.getElementById('sel-webcam-size').options].map((o) => o.value),
  }));
  assert.deepEqual(drawer, { hidden: false, checked: false, sizes: ['640x480', '1280x720', '1920x1080', '320x240'] });
  // The device exists before that (applications probe cameras at start-up), at the
  // placeholder size, and streams black frames: nothing of the user's camera.
  const r = await v4l2(['--get-fmt-video'], 8000);
  assert.ok(r.ok, `the device opens before the camera is on:\n${r.out}`);
  assert.match(r.out, /Width\/Height\s+: 640\/480/);
  const raw = join(env.dir, 'before.yuyv');
  const s = await v4l2(['--set-fmt-video=pixelformat=YUYV', '--stream-mmap', '--stream-count=5', `--stream-to=${raw}`], 8000);
  assert.ok(s.ok, s.out);
  assert.deepEqual(kinds(readFileSync(raw), 640 * 480 * 2), Array(5).fill('black'));
});

/** Each YUYV frame of `data` as 'black' (the host's placeholder) or 'picture'. */
function kinds(data, size) {
  const out = [];
  for (let i = 0; i + size <= data.length; i += size) {
    let black = true;
    for (let j = i; j < i + size; j += 2) if (data[j] !== 16 || data[j + 1] !== 128) { black = false; break; }
    out.push(black ? 'black' : 'picture');
  }
  return out;
}

test(`the browser's fake camera at ${W}x${H} reaches a V4L2 application through the interposer`, async () => {
  // An application that opened the device before the camera was on (at the placeholder's
  // 640x480) streams on: black frames, then the camera's, scaled to 640x480 by the interposer.
  const early = join(env.dir, 'early.yuyv');
  const earlyRun = v4l2(['--set-fmt-video=pixelformat=YUYV', '--stream-mmap', '--stream-count=150', `--stream-to=${early}`], 90000);
  await new Promise((r) => setTimeout(r, 1000));
  // As a user would: pick the size and rate in the drawer, then flip the switch.
  await browser.e2e(([width, height]) => {
    const pick = (id, value) => {
      const el = document.getElementById(id);
      el.value = value;
      el.dispatchEvent(new Event('change'));
    };
    pick('sel-webcam-size', `${width}x${height}`);
    pick('sel-webcam-fps', '30');
    const sw = document.getElementById('sw-webcam');
    sw.checked = true;
    sw.dispatchEvent(new Event('change'));
  }, [W, H]);
  const settings = await waitFor(() => browser.e2e(() => window.__webcam.settings), 10000, 200);
  assert.equal(settings?.width, W, `camera settings ${JSON.stringify(settings)}`);
  const er = await earlyRun;
  assert.ok(er.ok, `the application opened before the camera:\n${er.out}`);
  const ek = kinds(readFileSync(early), 640 * 480 * 2);
  const lead = ek.indexOf('picture');
  // A stall of the browser's camera over a second (seen once on a loaded runner, just after it
  // started) shows placeholders again, by design; they are counted, not failed on.
  const stalls = ek.slice(lead).filter((k) => k === 'black').length;
  console.log(`# webcam e2e: opened before the camera: ${lead} black placeholders, then ${ek.length - lead} frames (${stalls} placeholders during camera stalls)`);
  assert.equal(ek.length, 150);
  assert.ok(lead >= 1 && ek.length - lead - stalls >= 10, `placeholders then the camera: ${ek.join(' ')}`);
  if (ek.at(-1) !== 'picture') {
    // The run ended inside such a stall (Chromium's CPU adaptation lowers the camera's rate on a
    // loaded runner): the application must get the camera's frames again, not placeholders for good.
    const again = join(env.dir, 'again.yuyv');
    const ar = await v4l2(['--stream-mmap', '--stream-count=60', `--stream-to=${again}`], 60000);
    assert.ok(ar.ok, `a second run of the application:\n${ar.out}`);
    const ak = kinds(readFileSync(again), 640 * 480 * 2);
    console.log(`# webcam e2e: the first run ended in a stall (${ek.join(' ')}); a second run: ${ak.filter((k) => k === 'picture').length} of ${ak.length} frames are the camera's`);
    assert.ok(ak.includes('picture'), `the camera did not come back after the stall: ${ak.join(' ')}`);
  }
  const fmt = await waitFor(async () => {
    const r = await v4l2(['--get-fmt-video'], 8000);
    return r.ok && new RegExp(`Width/Height\\s+: ${W}/${H}`).test(r.out) ? r.out : false;
  }, 20000, 500);
  assert.ok(fmt, `the device did not come up:\n${env.tail('host')}`);
  assert.match(fmt, new RegExp(`Width/Height\\s+: ${W}/${H}`));

  // 45 frames within 60 s: on a loaded 2-core runner Chromium's CPU adaptation lowers the camera's
  // rate while the 1080p screen stream encodes beside it (seen: 17 → 2.6 fps within 20 s), and a
  // stall of over a second makes the device stream placeholders meanwhile. So the camera's own
  // frames are judged apart from the placeholders, and a run that got too few of them (a stall)
  // is followed by one more before the test fails.
  const FRAMES = 45;
  const size = W * H * 2;
  let camera = [];
  for (let attempt = 1; attempt <= 2 && camera.length < FRAMES / 3; attempt++) {
    const raw = join(env.dir, `frames${attempt}.yuyv`);
    const t0 = Date.now();
    const r = await v4l2(['--stream-mmap', `--stream-count=${FRAMES}`, `--stream-to=${raw}`], 60000);
    const wallS = (Date.now() - t0) / 1000;
    assert.ok(r.ok, r.out);
    const fps = Number([...r.out.matchAll(/([\d.]+) fps/g)].at(-1)?.[1] ?? 0);
    // The rate is printed, not asserted (it depends on the runner's load; the >= 15 fps check of
    // the interposer itself is 55-webcam.sh's webcam-feed part). Frames must flow and change.
    assert.ok(fps > 0, `frame rate ${fps} fps`);
    const data = readFileSync(raw);
    assert.equal(data.length, FRAMES * size, 'whole YUYV frames of the chosen size');
    const frames = Array.from({ length: FRAMES }, (_, i) => data.subarray(i * size, (i + 1) * size));
    camera = frames.filter((f) => kinds(f, size)[0] === 'picture');
    console.log(`# webcam e2e: run ${attempt}: v4l2-ctl --stream-mmap ${W}x${H}: ${fps} fps (v4l2-ctl), ${FRAMES} frames in ${wallS.toFixed(1)} s, ${camera.length} of them the camera's`);
  }
  assert.ok(camera.length >= FRAMES / 3, `the camera's frames reach the application (${camera.length} of ${FRAMES} in the last run)`);
  const distinct = new Set(camera.map((f) => createHash('md5').update(f).digest('hex')));
  console.log(`# webcam e2e: ${distinct.size} distinct of the camera's ${camera.length} frames`);
  assert.ok(distinct.size >= camera.length / 3, `the picture changes (${distinct.size} distinct of ${camera.length})`);
});

test('a new camera size in the drawer reaches a streaming application at the size it opened with', async () => {
  const raw = join(env.dir, 'resize.yuyv');
  const streaming = v4l2(['--set-fmt-video=pixelformat=YUYV', '--stream-mmap', '--stream-count=60', `--stream-to=${raw}`], 90000);
  await new Promise((r) => setTimeout(r, 1500));
  await browser.e2e(() => {
    const el = document.getElementById('sel-webcam-size');
    el.value = '320x240';
    el.dispatchEvent(new Event('change'));
  });
  const settings = await waitFor(async () => {
    const s = await browser.e2e(() => window.__webcam.settings);
    return s?.width === 320 ? s : false;
  }, 10000, 200);
  assert.ok(settings, 'the browser restarted the camera at 320x240');
  const r = await streaming;
  assert.ok(r.ok, `the application streamed through the size change:\n${r.out}`);
  const k = kinds(readFileSync(raw), W * H * 2);
  assert.equal(k.length, 60, `60 whole ${W}x${H} frames`);
  assert.equal(k.at(-1), 'picture', k.join(' '));
  const fmt = await waitFor(async () => {
    const f = await v4l2(['--get-fmt-video'], 8000);
    return f.ok && /Width\/Height\s+: 320\/240/.test(f.out) ? f.out : false;
  }, 10000, 500);
  assert.ok(fmt, 'a new open gets the camera\'s new size');
  console.log(`# webcam e2e: ${W}x${H} application streamed 60 frames across the camera's switch to 320x240`);
});

test('turning the camera off stops the track; the application then gets placeholders', async () => {
  await browser.e2e(() => {
    const sw = document.getElementById('sw-webcam');
    sw.checked = false;
    sw.dispatchEvent(new Event('change'));
  });
  assert.equal(await waitFor(() => browser.e2e(() => !window.__webcam.on), 5000, 100), true);
  // The host's last frame turns stale after a second; from then on only placeholders.
  await new Promise((r) => setTimeout(r, 1500));
  const raw = join(env.dir, 'off.yuyv');
  const r = await v4l2(['--stream-mmap', '--stream-count=5', `--stream-to=${raw}`], 8000);
  assert.ok(r.ok, r.out);
  const data = readFileSync(raw);
  assert.deepEqual(kinds(data, data.length / 5), Array(5).fill('black'), 'no camera frame while the camera is off');
});
