// End-to-end: what the browser sends into the desktop (docs/microphone.md, docs/files.md).
// Microphone: Chromium's fake capture plays a WAV (0.6 s silence, 0.4 s of 1 kHz, looped) into
// the client, which sends it to the host; `parec` on the host's virtual source `selkies_mic`
// records it, and the test finds 1 kHz in the recording (Goertzel) and prints the capture →
// virtual-source latency (tone onsets seen in the page vs. in the recording). Files: an upload
// through the drawer's picker lands byte-exact in the upload directory, the download folder is
// listed and a file fetched through the page, and the routes refuse a request without
// credentials. The virtual microphone is gone after the host exits.
// Run through ci/checks/77-intake.sh (Xvfb, PulseAudio and Chromium started here).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { deflateSync } from 'node:zlib';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Browser } from './browser.mjs';
import { diagnostics, Env, sleep, waitFor } from './harness.mjs';

const PORT = Number(process.env.E2E_PORT ?? 18190);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const CREDS = { username: 'intake', password: 'intake-pw' };
const RATE = 48000;
const TONE_HZ = 1000;

const env = new Env();
const upDir = join(env.dir, 'up');
const downDir = join(env.dir, 'down');
let browser = null;

/** 16-bit mono PCM WAV: `silenceS` of silence then `toneS` of `hz`, at half scale. */
function toneWav(path, silenceS, toneS, hz) {
  const n = Math.round((silenceS + toneS) * RATE);
  const start = Math.round(silenceS * RATE);
  const data = Buffer.alloc(n * 2);
  for (let i = start; i < n; i++) {
    data.writeInt16LE(Math.round(16000 * Math.sin((2 * Math.PI * hz * (i - start)) / RATE)), i * 2);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([h, data]));
}

/** Goertzel power of `hz` in `samples` (Int16 values). */
function goertzel(samples, hz) {
  const k = (2 * Math.cos((2 * Math.PI * hz) / RATE));
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s0 = x + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}

/**
 * Tone onsets in a `parec` recording (`chunks`: arrival time and bytes): the time of the first
 * loud 5 ms block after 300 ms of quiet, from the chunk's arrival less the samples after the
 * block. Each is matched with the page's latest onset before it: the latency.
 */
function latencyFrom(chunks, pageOnsets) {
  const hostOnsets = [];
  let quiet = 0;
  for (const { at, b } of chunks) {
    const s = new Int16Array(b.buffer, b.byteOffset, Math.floor(b.length / 2));
    for (let i = 0; i + 240 <= s.length; i += 240) {
      let sum = 0;
      for (let j = i; j < i + 240; j++) sum += s[j] * s[j];
      const loud = Math.sqrt(sum / 240) > 1500;
      if (loud && quiet > 0.3) hostOnsets.push(at - ((s.length - i) / RATE) * 1000);
      quiet = loud ? 0 : quiet + 240 / RATE;
    }
  }
  const latencies = [];
  for (const h of hostOnsets) {
    const p = pageOnsets.filter((t) => t <= h && h - t < 900).pop();
    if (p !== undefined) latencies.push(h - p);
  }
  latencies.sort((a, b) => a - b);
  const median = latencies.length ? latencies[Math.floor(latencies.length / 2)] : NaN;
  return { hostOnsets, latencies, median };
}

/** A `w`×`h` RGB PNG of one colour (the page and X check the size and the colour). */
function png(w, h, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const x of buf) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => [r, g, b]).flat())]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** Width and height from a PNG's IHDR. */
const pngSize = (b) => (b.length > 24 && b.readUInt32BE(12) === 0x49484452 ? [b.readUInt32BE(16), b.readUInt32BE(20)] : null);

// In the page, before the client loads: tee every getUserMedia stream into an analyser that
// records when a tone starts after silence (Date.now()), the capture side of the latency.
function micProbe() {
  const orig = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.__micOnsets = [];
  navigator.mediaDevices.getUserMedia = async (c) => {
    const stream = await orig(c);
    const ctx = new AudioContext({ sampleRate: 48000, latencyHint: 'interactive' });
    const src = ctx.createMediaStreamSource(stream);
    const proc = ctx.createScriptProcessor(256, 1, 1);
    let quiet = 0;
    proc.onaudioprocess = (ev) => {
      const d = ev.inputBuffer.getChannelData(0);
      let sum = 0;
      for (const v of d) sum += v * v;
      const loud = Math.sqrt(sum / d.length) > 0.05;
      if (loud && quiet > 0.3) window.__micOnsets.push(Date.now());
      quiet = loud ? 0 : quiet + d.length / 48000;
    };
    src.connect(proc);
    proc.connect(ctx.destination);
    void ctx.resume();
    window.__micCtx = ctx;
    return stream;
  };
}

const withDiagnostics = diagnostics(env, () => browser, {
  hostLines: 60,
  page: async (b) => {
    const log = await b.e2e(() => document.getElementById('log-status')?.value ?? '').catch(() => '');
    return ['--- client status log (tail) ---', log.split('\n').slice(-15).join('\n')];
  },
});

before(async () => {
  mkdirSync(downDir, { recursive: true });
  await env.startX();
  await env.startAudio();
  await env.startHost(PORT, [
    '--encoder=x264enc',
    '--enable_resize=false',
    `--basic_auth_user=${CREDS.username}`,
    `--basic_auth_password=${CREDS.password}`,
    `--json_config=${join(env.dir, 'selkies.json')}`,
    '--enable_microphone=true',
    '--enable_file_transfer=true',
    `--file_upload_dir=${upDir}`,
    `--file_download_dir=${downDir}`,
  ]);
  const wav = join(env.dir, 'tone.wav');
  toneWav(wav, 0.6, 0.4, TONE_HZ);
  browser = await Browser.launch(ORIGIN, {
    credentials: CREDS,
    permissions: ['clipboard-read', 'clipboard-write'],
    args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`],
  });
  await browser.page.addInitScript(micProbe);
  await browser.open('/');
});

after(async () => {
  await browser?.ctx.close().catch(() => {});
  await env.stopAll();
});

test('the virtual microphone exists and is the default source', () =>
  withDiagnostics(async () => {
    const sources = await env.x('pactl', 'list', 'short', 'sources');
    assert.match(sources, /\bselkies_mic\b/);
    const info = await env.x('pactl', 'info');
    assert.match(info, /Default Source: selkies_mic/);
    assert.match(info, /Default Sink: vsink/, 'desktop sound still goes to the desktop sink');
  }));

test('the browser microphone reaches selkies_mic: 1 kHz found, latency printed', () =>
  withDiagnostics(async () => {
    await browser.e2e(() => {
      for (const id of ['sw-mic-echo', 'sw-mic-noise']) {
        const el = document.getElementById(id);
        el.checked = false; // a steady tone is what noise suppression removes
      }
      const sw = document.getElementById('sw-mic');
      sw.checked = true;
      sw.dispatchEvent(new Event('change'));
    });
    const sending = await waitFor(
      () => browser.e2e(() => document.getElementById('mic-status')?.textContent?.includes('sending') ?? false),
      20000,
      200,
    );
    assert.ok(sending, `microphone never sent: ${await browser.e2e(() => document.getElementById('mic-status')?.textContent)}`);
    // Let the new audio connection settle, then record the virtual source.
    await waitFor(() => /microphone: receiving/.test(readFileSync(env.logPath('host'), 'utf8')), 15000, 200);
    await sleep(1000);
    // The virtual source, and the sink's monitor under it (to see what the remap hop costs).
    const record = (device) => {
      const p = spawn('parec', [`--device=${device}`, '--format=s16le', `--rate=${RATE}`, '--channels=1', '--latency-msec=5', '--raw'], {
        env: env.env(),
      });
      const out = [];
      p.stdout.on('data', (b) => out.push({ at: Date.now(), b }));
      return { p, out };
    };
    const mic = record('selkies_mic');
    const monitor = record('SelkiesMic.monitor');
    const pageStart = Date.now();
    await sleep(3000);
    // What PulseAudio itself buffers on the way (printed for the latency breakdown).
    for (const what of ['sink-inputs', 'sinks', 'source-outputs']) {
      const out = await env.x('pactl', 'list', what);
      const lines = out.split('\n').filter((l) => /^\S|Name:|Latency:|media.name|application.name/.test(l.trim() ? l : ''));
      console.log(`# pactl list ${what}: ${lines.map((l) => l.trim()).filter((l) => /Latency|Name:|media.name/.test(l)).join(' | ')}`);
    }
    await sleep(3000);
    mic.p.kill('SIGTERM');
    monitor.p.kill('SIGTERM');
    const chunks = mic.out;
    const pageOnsets = (await browser.e2e(() => window.__micOnsets)).filter((t) => t >= pageStart - 1000);

    const pcm = Buffer.concat(chunks.map((c) => c.b));
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.length / 2));
    assert.ok(samples.length > RATE * 4, `parec recorded only ${samples.length} samples`);
    // Power at the tone against neighbours and the bulk of the spectrum.
    const tone = goertzel(samples, TONE_HZ);
    const others = [440, 700, 1300, 2000, 3000].map((f) => goertzel(samples, f));
    const ratio = tone / Math.max(...others);
    let peak = 0;
    for (const s of samples) peak = Math.max(peak, Math.abs(s));
    console.log(`# microphone: ${samples.length} samples recorded, peak ${peak}, 1 kHz / strongest other = ${ratio.toFixed(1)}`);
    assert.ok(peak > 1000, `the recording is silent (peak ${peak})`);
    assert.ok(ratio > 20, `1 kHz not dominant (ratio ${ratio})`);

    const mine = latencyFrom(chunks, pageOnsets);
    const viaMonitor = latencyFrom(monitor.out, pageOnsets);
    console.log(
      `# microphone latency capture -> selkies_mic: median ${mine.median.toFixed(0)} ms over ${mine.latencies.length} onsets ` +
        `(${mine.latencies.map((l) => l.toFixed(0)).join(', ')}); page onsets ${pageOnsets.length}, host onsets ${mine.hostOnsets.length}`,
    );
    console.log(`# microphone latency capture -> SelkiesMic.monitor: median ${viaMonitor.median.toFixed(0)} ms over ${viaMonitor.latencies.length} onsets`);
    const hostOnsets = mine.hostOnsets;
    assert.ok(hostOnsets.length >= 3, 'the tone bursts are audible in the recording');
  }));

test('files: picker upload lands byte-exact, the download folder is listed and fetched, no auth = 401', () =>
  withDiagnostics(async () => {
    const size = 12 * 1024 * 1024 + 123;
    const data = Buffer.alloc(size);
    for (let i = 0; i + 4 <= size; i += 4) data.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, i);
    await browser.page.setInputFiles('#file-picker', { name: '../../evil name ü.bin', mimeType: 'application/octet-stream', buffer: data }, { timeout: 90000 });
    const saved = await waitFor(
      () => browser.e2e(() => [...document.querySelectorAll('#upload-list li')].map((l) => l.textContent).find((t) => t.includes('saved as'))),
      60000,
      200,
    );
    assert.ok(saved, 'the upload did not finish');
    assert.match(saved, /saved as evil name ü\.bin/);
    assert.ok(readFileSync(join(upDir, 'evil name ü.bin')).equals(data), 'uploaded bytes differ');

    writeFileSync(join(downDir, 'report ü.txt'), 'hello from the host\n');
    await browser.e2e(() => document.getElementById('btn-files-refresh').click());
    const href = await waitFor(
      () => browser.e2e(() => document.querySelector('#download-list a')?.getAttribute('href') ?? null),
      10000,
      200,
    );
    assert.equal(href, './files/download/report%20%C3%BC.txt');
    const body = await browser.e2e(async (h) => (await fetch(h)).text(), href);
    assert.equal(body, 'hello from the host\n');
    // Clicking the link downloads the file under its own name.
    const [download] = await Promise.all([
      browser.page.waitForEvent('download', { timeout: 15000 }),
      browser.e2e(() => document.querySelector('#download-list a').click()),
    ]);
    assert.equal(download.suggestedFilename(), 'report ü.txt');
    assert.equal(readFileSync(await download.path(), 'utf8'), 'hello from the host\n');

    for (const [method, path] of [['GET', '/files/list'], ['POST', '/files/upload?name=x&size=1'], ['GET', '/files/download/report%20%C3%BC.txt']]) {
      const res = await fetch(`${ORIGIN}${path}`, { method });
      assert.equal(res.status, 401, `${method} ${path} without credentials`);
    }
  }));

test('clipboard images: a PNG copied on the desktop reaches the page, one copied in the page reaches X', () =>
  withDiagnostics(async () => {
    await browser.page.bringToFront();
    // The drawer's clipboard button (the drawer itself stays closed).
    await browser.e2e(() => document.getElementById('btn-clipboard').click());
    await waitFor(() => browser.e2e(() => document.getElementById('btn-clipboard').classList.contains('on')), 5000);
    // Desktop → page: xclip owns CLIPBOARD with image/png only.
    const fromX = png(31, 17, [200, 30, 40]);
    const xc = spawn('xclip', ['-selection', 'clipboard', '-t', 'image/png', '-i'], { env: env.env(), stdio: ['pipe', 'ignore', 'ignore'] });
    xc.stdin.end(fromX);
    const got = await waitFor(
      () =>
        browser.e2e(async () => {
          try {
            for (const item of await navigator.clipboard.read()) {
              if (!item.types.includes('image/png')) continue;
              const bmp = await createImageBitmap(await item.getType('image/png'));
              return [bmp.width, bmp.height];
            }
          } catch {
            // not there yet
          }
          return null;
        }),
      15000,
      300,
    );
    assert.deepEqual(got, [31, 17], 'the page clipboard holds the desktop image');

    // Page → desktop: the page copies a PNG; the client sends it when the window gains focus.
    const fromPage = png(23, 11, [20, 180, 60]);
    await browser.e2e(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      await navigator.clipboard.write([new ClipboardItem({ 'image/png': new Blob([bytes], { type: 'image/png' }) })]);
      window.dispatchEvent(new Event('focus'));
    }, fromPage.toString('base64'));
    const readX = async () => {
      const c = spawn('xclip', ['-selection', 'clipboard', '-t', 'image/png', '-o'], { env: env.env(), stdio: ['ignore', 'pipe', 'ignore'] });
      const out = [];
      c.stdout.on('data', (d) => out.push(d));
      await new Promise((r) => c.on('close', r));
      return Buffer.concat(out);
    };
    const onX = await waitFor(async () => {
      const b = await readX();
      const size = pngSize(b);
      return size && size[0] === 23 ? size : null;
    }, 15000, 300);
    assert.deepEqual(onX, [23, 11], 'X CLIPBOARD holds the page image as image/png');
    // The legacy text clipboard still works next to it.
    await browser.e2e(() => navigator.clipboard.writeText('plain text after an image').then(() => window.dispatchEvent(new Event('focus'))));
    const text = await waitFor(async () => {
      const c = spawn('xclip', ['-selection', 'clipboard', '-o'], { env: env.env(), stdio: ['ignore', 'pipe', 'ignore'] });
      const out = [];
      c.stdout.on('data', (d) => out.push(d));
      await new Promise((r) => c.on('close', r));
      const t = Buffer.concat(out).toString('utf8');
      return t === 'plain text after an image' ? t : null;
    }, 10000, 300);
    assert.equal(text, 'plain text after an image');
  }));

test('the virtual microphone is removed when the host exits', () =>
  withDiagnostics(async () => {
    await browser.ctx.close();
    browser = null;
    await env.stop('host');
    const sources = await env.x('pactl', 'list', 'short', 'sources');
    assert.doesNotMatch(sources, /\bselkies_mic\b/);
    const info = await env.x('pactl', 'info');
    assert.match(info, /Default Source: vsink\.monitor/, 'the previous default source is back');
  }));
