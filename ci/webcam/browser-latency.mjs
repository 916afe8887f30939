// Browser → application latency of the webcam (docs/webcam.md, run by ci/bench-webcam): Chromium
// opens our client with getUserMedia answered by a canvas's captureStream (30 fps) whose colour
// the script switches between dark grey and white at known wall-clock times; the host
// (--enable_webcam) decodes the VP8 track and serves it through the frame socket; a V4L2
// application under the interposer (ci/webcam/reader.py, read() I/O) prints when the centre of
// its frames changes class. Latency = reader's time − the page's Date.now() at the switch (same
// machine, same clock): capture, VP8 encode, RTP, decode, socket and the interposer together.
// Prints median, p95, min and max over SWITCHES (default 20) switches, with the load average.
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Browser } from '../e2e/browser.mjs';
import { Env, ROOT, sleep, waitFor } from '../e2e/harness.mjs';

const PORT = Number(process.env.E2E_WEBCAM_PORT ?? 18096);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const SWITCHES = Number(process.env.SWITCHES ?? 20);
const env = new Env();
const SOCK = join(env.dir, 'webcam.sock');
const SO = process.env.WEBCAM_SO
  ?? join(ROOT, 'target/x86_64-unknown-linux-gnu/release/libselkies_v4l2_interposer.so');
if (!existsSync(SO)) throw new Error(`no interposer at ${SO} (v4l2-interposer/build-portable.sh)`);

const COLOURS = { dark: '#404040', bright: '#ffffff' };
let browser = null;
let reader = null;
try {
  await env.startX();
  await env.startHost(PORT, ['--enable_basic_auth=false', '--encoder=x264enc', '--framerate=30', '--enable_webcam', `--webcam_socket_path=${SOCK}`]);
  browser = await Browser.launch(ORIGIN);
  await browser.page.addInitScript((colour) => {
    const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (c) => {
      if (!c?.video || c.audio) return real(c);
      const canvas = document.createElement('canvas');
      canvas.width = 640;
      canvas.height = 480;
      const g = canvas.getContext('2d');
      window.__camColour = colour;
      window.__camPaint = () => {
        g.fillStyle = window.__camColour;
        g.fillRect(0, 0, 640, 480);
      };
      // Repainted continuously (a frame per capture); a switch also paints at once.
      setInterval(window.__camPaint, 10);
      return canvas.captureStream(30);
    };
  }, COLOURS.dark);
  await browser.open('/');

  // The application opens the device first (placeholder), as a real one would at start-up.
  reader = spawn('python3', [join(ROOT, 'ci/webcam/reader.py')], {
    env: { ...process.env, LD_PRELOAD: SO, SELKIES_WEBCAM_SOCKET: SOCK },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const events = [];
  const beats = [];
  createInterface({ input: reader.stdout }).on('line', (l) => {
    const [t, kind] = l.split(' ');
    if (kind !== "beat") events.push({ t: Number(t), kind });
    else beats.push(l);
  });
  await waitFor(() => events.some((e) => e.kind === 'placeholder'), 15000);

  await browser.e2e(() => {
    const sw = document.getElementById('sw-webcam');
    sw.checked = true;
    sw.dispatchEvent(new Event('change'));
  });
  const on = await waitFor(() => events.some((e) => e.kind === 'dark'), 30000, 50);
  if (!on) throw new Error(`the camera never reached the application:\n${env.tail('host')}`);
  await sleep(2000);

  const lat = [];
  let missed = 0;
  let want = 'bright';
  for (let i = 0; i < SWITCHES; i++) {
    await sleep(600 + Math.random() * 400);
    const from = events.length;
    const t0 = await browser.e2e((c) => {
      window.__camColour = c;
      const t = Date.now();
      window.__camPaint();
      return t;
    }, COLOURS[want]);
    const seen = await waitFor(() => events.slice(from).find((e) => e.kind === want), 10000, 5);
    if (seen) lat.push(seen.t - t0);
    else {
      missed++;
      console.log(`switch ${i} to ${want}: not seen within 10 s; reader: ${JSON.stringify(events.slice(-3))} ${beats.slice(-4).join(" / ")}`);
    }
    want = want === 'bright' ? 'dark' : 'bright';
  }
  if (lat.length === 0) throw new Error('no switch reached the application');
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  console.log(`webcam browser→application latency over ${lat.length} colour switches (640x480, canvas at 30 fps): `
    + `median ${q(0.5).toFixed(0)} ms, p95 ${q(0.95).toFixed(0)} ms, min ${lat[0].toFixed(0)} ms, max ${lat.at(-1).toFixed(0)} ms, ${missed} missed `
    + `(load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
} finally {
  reader?.kill();
  await browser?.close();
  await env.stopAll();
  if (!process.env.KEEP_E2E) rmSync(env.dir, { recursive: true, force: true });
}
