// The WebSocket transport end to end (docs/connectivity.md "Two transports"): the real host,
// Xvfb, PulseAudio and Debian's Chromium. Loopback cases (run by ci/checks/72-ws-transport.sh
// in `unshare --net`): `?transport=websocket` decodes 1920x1080 video and Opus audio with
// WebCodecs, keyboard and clipboard work over the socket's text messages, hostile binary frames
// close only that connection, and a client that stops reading for 5 s leaves the host's memory
// bounded and gets a keyframe when it reads again. Numbers are printed, not asserted.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Browser } from './browser.mjs';
import { diagnostics, Env, pageState, sleep, waitFor } from './harness.mjs';
import { mediaHeader, OP, RawWs } from './ws-raw.mjs';
import { parseXev, typedText } from './xev.mjs';

const PORT = Number(process.env.E2E_PORT ?? 18090);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const USER = 'user';
const PASSWORD = 'mypasswd';
const AUTH = ['--enable_basic_auth=true', `--basic_auth_user=${USER}`, `--basic_auth_password=${PASSWORD}`, '--enable_resize=false'];
const AUTH_HEADER = { Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` };
const XEV = { x: 200, y: 200, w: 600, h: 400 };
// web/src/transport.ts FALLBACK_MS.
const FALLBACK_MS = Number(/FALLBACK_MS = (\d+)/.exec(readFileSync(new URL('../../web/src/transport.ts', import.meta.url), 'utf8'))?.[1] ?? 0);

const env = new Env();
let browser = null;

const withDiagnostics = diagnostics(env, () => browser, {
  page: pageState(() => {
    const h = window.__e2e;
    return h && { transport: h.transport, firstFrameMs: h.firstFrameMs, ws: h.ws, dc: h.dataChannelState, host: h.hostMessages, status: document.getElementById('status')?.textContent };
  }),
});

function xclip(args, input) {
  return new Promise((resolve) => {
    const c = spawn('xclip', ['-selection', 'clipboard', ...args], { env: env.env(), stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'ignore'] });
    const chunks = [];
    c.stdout.on('data', (d) => chunks.push(d));
    c.on('exit', () => resolve(Buffer.concat(chunks).toString('utf8')));
    c.on('error', () => resolve(''));
    if (input !== undefined) c.stdin.end(input);
  });
}

/** The host's resident memory (kB). */
function hostRssKb() {
  const pid = env.procs.get('host')?.pid;
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** The raw clients' takeover token: each replaces the previous one, like a reloaded page. */
const RAW_REQUEST = `WSSTREAM ${Buffer.from(JSON.stringify({ token: 'raw-client-token-0001' })).toString('base64')}`;

/**
 * A raw streaming socket (WSSTREAM sent) and its media frames as they arrive. While a browser's
 * session is still ending the host answers 1013 (another browser streams): try again.
 */
async function rawStream() {
  const end = Date.now() + 10000;
  for (;;) {
    const ws = await RawWs.open('127.0.0.1', PORT, '/ws', AUTH_HEADER);
    ws.text(RAW_REQUEST);
    await sleep(300);
    if (ws.close?.code !== 1013 || Date.now() > end) return ws;
    ws.destroy();
  }
}

const videoFrames = (ws) => ws.frames.filter((f) => f.op === OP.binary && f.payload[0] === 0);

const PROXY = process.env.WS_PROXY_ORIGIN ?? null;

describe('WebSocket transport on loopback', { timeout: 180000, skip: PROXY !== null }, () => {
  before(async () => {
    await env.startX();
    await env.startAudio();
    env.startXev('xev', XEV.x, XEV.y, XEV.w, XEV.h);
    await env.startHost(PORT, ['--encoder=x264enc', `--json_config=${env.dir}/selkies_config.json`, ...AUTH]);
  });

  after(async () => {
    await browser?.close();
    await env.stopAll();
  });

  test('auto on a healthy network stays on WebRTC (ICE connect times printed)', (t) =>
    withDiagnostics(async () => {
      // Forced WebRTC first, to measure how long ICE takes here without a fallback in the way.
      const times = [];
      for (const path of ['/?transport=webrtc', '/?transport=webrtc', '/?transport=webrtc', '/']) {
        browser = await Browser.launch(ORIGIN, { credentials: { username: USER, password: PASSWORD } });
        await browser.open(path, 30000);
        const ice = await waitFor(() => browser.e2e(() => window.__e2e.iceConnectedMs ?? null), 15000, 50);
        times.push(ice);
        if (path === '/') {
          // Past the fallback deadline: still WebRTC.
          const left = await browser.e2e((f) => Math.max(0, f - performance.now()), FALLBACK_MS);
          await sleep(left + 500);
          assert.equal(await browser.e2e(() => window.__e2e.transport), 'webrtc', 'a healthy network fell back');
        }
        await browser.close();
        browser = null;
      }
      t.diagnostic(`WebRTC connected ${times.join(', ')} ms after the page started (last one in auto mode)`);
      assert.ok(times.every((v) => typeof v === 'number'), `ICE did not connect: ${times}`);
    }));

  test('?transport=websocket: 1920x1080 H.264 and Opus decoded with WebCodecs, data messages both ways', (t) =>
    withDiagnostics(async () => {
      browser = await Browser.launch(ORIGIN, { credentials: { username: USER, password: PASSWORD } });
      const first = await browser.open('/?transport=websocket');
      t.diagnostic(`websocket: first frame ${first.toFixed(0)} ms after navigation start`);
      assert.equal(await browser.e2e(() => window.__e2e.transport), 'websocket');
      const size = await browser.e2e(() => `${window.__e2e.frameWidth}x${window.__e2e.frameHeight}`);
      assert.equal(size, '1920x1080', 'presented frame size (rVFC on the <video> element)');
      const n0 = await browser.e2e(() => window.__e2e.ws?.framesDecoded ?? 0);
      const t0 = Date.now();
      await sleep(5000);
      const w = await browser.e2e(() => window.__e2e.ws);
      const fps = ((w.framesDecoded - n0) * 1000) / (Date.now() - t0);
      t.diagnostic(`websocket: ${fps.toFixed(1)} fps decoded over 5 s (1920x1080, x264enc), ${w.keyFramesDecoded} keyframes, ${w.decodeErrors} decoder errors`);
      assert.ok(w.framesDecoded > n0, 'frames keep being decoded');
      assert.equal(w.decodeErrors, 0, 'decoder errors');
      const audio = await waitFor(() => browser.e2e(() => ((window.__e2e.ws?.audioFramesDecoded ?? 0) > 50 ? window.__e2e.ws : null)), 10000, 250);
      assert.ok(audio, 'Opus packets decoded by the AudioDecoder');
      t.diagnostic(`websocket: ${audio.audioFramesDecoded} Opus packets decoded, worklet buffer ${audio.audioBufferedFrames} frames`);
      // The silence gate (--audio_silence_ms, docs/benchmarks.md "Audio"): a silent sink stops
      // the Opus stream, and sound after 5 s of silence is decoded again at once.
      const tone = (await env.x('pactl', 'list', 'short', 'sink-inputs')).trim().split('\n')[0].split('\t')[0];
      const decoded = () => browser.e2e(() => window.__e2e.ws?.audioFramesDecoded ?? 0);
      await env.x('pactl', 'set-sink-input-mute', tone, '1');
      let back = null;
      try {
        await sleep(5000);
        const s0 = await decoded();
        await sleep(2000);
        const s1 = await decoded();
        const unmuted = Date.now();
        await env.x('pactl', 'set-sink-input-mute', tone, '0');
        back = await waitFor(async () => ((await decoded()) > s1 ? Date.now() - unmuted : null), 5000, 20);
        t.diagnostic(`silence gate: ${s1 - s0} Opus packets in 2 s of silence; sound decoded again ${back} ms after unmuting (the page samples its stats once a second)`);
        assert.ok(s1 - s0 < 20, `the silent sink still streamed ${s1 - s0} packets in 2 s`);
      } finally {
        await env.x('pactl', 'set-sink-input-mute', tone, '0');
      }
      assert.ok(back !== null, 'audio decoded again after silence');
      const dc = await waitFor(() => browser.e2e(() => {
        const h = window.__e2e;
        return (h.hostMessages.system ?? 0) >= 5 && (h.hostMessages.latency_measurement ?? 0) > 0 && h.sent.some((m) => m.startsWith('pong,')) ? h.hostMessages : null;
      }), 8000, 250);
      assert.ok(dc, `host messages over the socket: ${JSON.stringify(await browser.e2e(() => window.__e2e.hostMessages))}`);
      const overlay = await browser.e2e(() => window.__e2e.stats.video?.video?.codec);
      assert.match(overlay ?? '', /WebSocket/, 'the stats name the transport');
      // The host's stage times reach this transport's client too (`_stages,1` → `video_stages`).
      const stages = await waitFor(() => browser.e2e(() => ((window.__e2e.hostMessages.video_stages ?? 0) > 0 && window.__e2e.sent.includes('_stages,1') ? window.__e2e.hostMessages.video_stages : null)), 6000, 250);
      assert.ok(stages, `no video_stages over the socket: ${JSON.stringify(await browser.e2e(() => window.__e2e.hostMessages))}`);
    }));

  test('keyboard over the socket reaches the X server (xev)', () =>
    withDiagnostics(async () => {
      assert.ok(browser, 'needs the streaming page');
      const page = browser.page;
      // The page is 1280x720 and the frame 1920x1080: page (330, 270) is frame (495, 405), in xev.
      await page.mouse.move(330, 270);
      await sleep(300);
      const from = env.xevOutput('xev').length;
      for (const ch of 'ws ok') await page.keyboard.press(ch);
      const got = await waitFor(() => {
        const t = typedText(parseXev(env.xevOutput('xev').slice(from)));
        return t === 'ws ok' ? t : null;
      }, 5000);
      assert.equal(got ?? typedText(parseXev(env.xevOutput('xev').slice(from))), 'ws ok');
    }));

  test('clipboard both ways over the socket', () =>
    withDiagnostics(async () => {
      assert.ok(browser, 'needs the streaming page');
      const fromX = 'from X über WebSocket ✓';
      await xclip(['-i'], fromX);
      const got = await waitFor(() => browser.e2e((s) => (window.__e2e.clipboardText === s ? s : null), fromX), 5000, 200);
      assert.equal(got, fromX, 'X → page');
      const fromPage = 'from the page ✓ 世界';
      const b64 = Buffer.from(fromPage).toString('base64');
      assert.ok(await browser.e2e((m) => window.__e2e.send(m), `cw,${b64}`));
      const inX = await waitFor(async () => ((await xclip(['-o'])) === fromPage ? fromPage : null), 5000, 250);
      assert.equal(inX, fromPage, 'page → X');
    }));

  test('hostile binary frames close that connection with a reason; the host keeps serving', (t) =>
    withDiagnostics(async () => {
      await browser?.close();
      browser = null;
      const cases = [
        { name: 'unknown stream id', bytes: Buffer.from([9, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), code: 1003, reason: /unknown stream id 9/ },
        { name: 'truncated header', bytes: Buffer.from([0, 1, 1]), code: 1003, reason: /shorter than the 12-byte header/ },
        { name: 'media from the client', bytes: Buffer.from([1, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xfc]), code: 1003, reason: /may not send media/ },
        { name: '2 MiB message', bytes: Buffer.alloc(2 << 20, 7), code: 1009, reason: /./ },
      ];
      for (const c of cases) {
        const ws = await rawStream();
        const flowing = await waitFor(() => videoFrames(ws).length > 0, 15000, 100);
        assert.ok(flowing, `${c.name}: no video before the hostile frame`);
        ws.send(OP.binary, c.bytes);
        await Promise.race([ws.ended, sleep(5000)]);
        t.diagnostic(`${c.name}: closed ${JSON.stringify(ws.close)}`);
        if (c.name === '2 MiB message') {
          // Over the socket's frame limit: tungstenite refuses it before our parser sees it.
          assert.ok(ws.close === null || ws.close.code === c.code, `${c.name}: ${JSON.stringify(ws.close)}`);
          assert.ok(ws.sock.destroyed || ws.sock.readableEnded, `${c.name}: connection still open`);
        } else {
          assert.equal(ws.close?.code, c.code, `${c.name}: close code`);
          assert.match(ws.close?.reason ?? '', c.reason);
        }
        ws.destroy();
      }
      assert.ok(env.alive('host'), 'host still running');
      const ws = await rawStream();
      const key = await waitFor(() => videoFrames(ws).find((f) => mediaHeader(f.payload)?.keyframe), 15000, 100);
      assert.ok(key, 'a new streaming client gets a keyframe');
      ws.destroy();
    }));

  test('slow consumer: 5 s without reading keeps host memory bounded; video resumes with a keyframe', (t) =>
    withDiagnostics(async () => {
      // Incompressible full-screen motion at 20 Mbit/s so the socket really backs up.
      env.spawn('snow', 'gst-launch-1.0', ['-q', 'videotestsrc', 'pattern=snow', 'is-live=true', '!', 'video/x-raw,width=1920,height=1080,framerate=30/1', '!', 'ximagesink', 'sync=false']);
      await sleep(1500);
      // Small kernel socket buffers in this namespace (the sysctls are per network namespace),
      // so the backlog lands in the host's queue, the part the policy bounds.
      const sysctls = ['tcp_rmem', 'tcp_wmem'].map((k) => [`/proc/sys/net/ipv4/${k}`, readFileSync(`/proc/sys/net/ipv4/${k}`, 'utf8')]);
      for (const [p] of sysctls) writeFileSync(p, '4096 65536 131072');
      const ws = await rawStream();
      // Few, large frames (the encoder's per-frame budget is bitrate / frame rate, ~2.5 MB of
      // noise here), so even a slowed-down encoder on a loaded machine backs the socket up.
      ws.text('_arg_fps,5');
      ws.text('vb,100000');
      await waitFor(() => videoFrames(ws).length > 10, 20000, 100);
      const b0 = ws.bytes;
      await sleep(2000);
      t.diagnostic(`slow consumer: stream at ${(((ws.bytes - b0) * 8) / 2e6).toFixed(1)} Mbit/s before pausing`);
      const keepAlive = setInterval(() => ws.text('kr'), 1000);
      const rssBefore = hostRssKb();
      const logFrom = env.tail('host', 1000000).length;
      ws.sock.pause();
      let rssMax = rssBefore;
      const t0 = Date.now();
      while (Date.now() - t0 < 5000) {
        rssMax = Math.max(rssMax, hostRssKb());
        await sleep(200);
      }
      const seen = ws.frames.length;
      ws.sock.resume();
      const resumedKey = await waitFor(() => ws.frames.slice(seen).some((f) => f.op === OP.binary && mediaHeader(f.payload)?.stream === 0 && mediaHeader(f.payload)?.keyframe), 15000, 100);
      clearInterval(keepAlive);
      const rssAfter = hostRssKb();
      const log = env.tail('host', 1000000).slice(logFrom);
      const lowered = /WebSocket congestion: video bitrate lowered/.test(log);
      t.diagnostic(`slow consumer: host RSS ${(rssBefore / 1024).toFixed(1)} MiB before, ${(rssMax / 1024).toFixed(1)} MiB max while not reading (+${((rssMax - rssBefore) / 1024).toFixed(1)} MiB), ${(rssAfter / 1024).toFixed(1)} MiB after; congestion response: ${lowered}`);
      ws.destroy();
      for (const [p, v] of sysctls) writeFileSync(p, v);
      await env.stop('snow');
      await sleep(500);
      const summary = env.tail('host', 200).split('\n').filter((l) => /WebSocket streaming stopped/.test(l)).pop();
      t.diagnostic(`slow consumer: ${summary ?? '(no summary line)'}`);
      const drops = Number(/congestion_drops=(\d+)/.exec(summary ?? '')?.[1] ?? 0);
      assert.ok(drops > 0 || lowered, 'the host saw the backlog, dropped to a keyframe and lowered the bitrate');
      assert.ok(resumedKey, 'a keyframe after reading again');
      // The queue's bound is 6 MiB (docs/connectivity.md): allow the allocator's slack on top.
      assert.ok(rssMax - rssBefore < 48 * 1024, `host RSS grew ${((rssMax - rssBefore) / 1024).toFixed(1)} MiB`);
    }));

  test('VP8 over the WebSocket: the registry encoder the browser decodes, 1920x1080', (t) =>
    withDiagnostics(async () => {
      await env.stop('host');
      await env.startHost(PORT, ['--encoder=vp8enc', `--json_config=${env.dir}/selkies_config.json`, ...AUTH]);
      browser = await Browser.launch(ORIGIN, { credentials: { username: USER, password: PASSWORD } });
      await browser.open('/?transport=websocket', 30000);
      // The stats refresh every second: wait for one taken after the first VP8 frame.
      const codec = await waitFor(() => browser.e2e(() => {
        const c = window.__e2e.stats.video?.video?.codec ?? '';
        return window.__e2e.frameWidth === 1920 && c.startsWith('VP8') ? c : null;
      }), 10000, 200);
      assert.equal(codec ?? (await browser.e2e(() => window.__e2e.stats.video?.video?.codec)), 'VP8 (WebSocket)');
      const n0 = await browser.e2e(() => window.__e2e.ws.framesDecoded);
      await sleep(3000);
      const w = await browser.e2e(() => window.__e2e.ws);
      t.diagnostic(`websocket VP8: ${((w.framesDecoded - n0) / 3).toFixed(1)} fps decoded over 3 s, ${w.decodeErrors} decoder errors`);
      assert.ok(w.framesDecoded > n0);
      assert.equal(w.decodeErrors, 0);
    }));
});

/** Shared by the proxy case: the stream decodes over the WebSocket (fps printed). */
async function wsStreams(t, label) {
  const size = await waitFor(() => browser.e2e(() => (window.__e2e.frameWidth === 1920 ? `${window.__e2e.frameWidth}x${window.__e2e.frameHeight}` : null)), 10000, 100);
  assert.equal(size ?? (await browser.e2e(() => `${window.__e2e.frameWidth}x${window.__e2e.frameHeight}`)), '1920x1080', 'presented frame size');
  const n0 = await browser.e2e(() => window.__e2e.ws?.framesDecoded ?? 0);
  const t0 = Date.now();
  await sleep(5000);
  const w = await browser.e2e(() => window.__e2e.ws);
  const fps = ((w.framesDecoded - n0) * 1000) / (Date.now() - t0);
  t.diagnostic(`${label}: ${fps.toFixed(1)} fps decoded over 5 s (1920x1080), ${w.decodeErrors} decoder errors`);
  assert.ok(w.framesDecoded > n0, 'frames keep being decoded');
  const audio = await waitFor(() => browser.e2e(() => ((window.__e2e.ws?.audioFramesDecoded ?? 0) > 50 ? window.__e2e.ws : null)), 10000, 250);
  assert.ok(audio, 'Opus packets decoded');
  return fps;
}

describe('WebSocket transport behind nginx, with nothing but its port reachable', { timeout: 180000, skip: PROXY === null }, () => {
  before(async () => {
    await env.startX();
    await env.startAudio();
    env.startXev('xev', XEV.x, XEV.y, XEV.w, XEV.h);
    // Listening on every address of the host's namespace: nginx, in its own namespace, is the
    // only way in; nothing routes between the browser's namespace and this one.
    await env.startHost(PORT, ['--encoder=x264enc', '--addr=0.0.0.0', `--json_config=${env.dir}/selkies_config.json`, ...AUTH]);
  });

  after(async () => {
    await browser?.close();
    await env.stopAll();
  });

  test('auto: ICE fails, the page falls back to the WebSocket; video, audio, keyboard and clipboard work', (t) =>
    withDiagnostics(async () => {
      browser = await Browser.launch(PROXY, { credentials: { username: USER, password: PASSWORD } });
      await browser.open('/', 30000);
      // The first frame of the WebSocket stream (the page may have shown WebRTC's placeholder).
      const first = await waitFor(() => browser.e2e(() => (window.__e2e.ws?.framesDecoded ? performance.now() : null)), 15000, 20);
      const h = await browser.e2e(() => ({ transport: window.__e2e.transport, fallbackMs: window.__e2e.fallbackMs, ice: window.__e2e.iceConnectedMs }));
      t.diagnostic(`behind nginx: fell back after ${h.fallbackMs} ms, first decoded WebSocket frame ${first?.toFixed(0)} ms after navigation start`);
      assert.equal(h.transport, 'websocket', 'the page switched to the WebSocket');
      assert.equal(h.ice, undefined, 'ICE connected although nothing but the proxy is reachable');
      assert.equal(browser.navigations, 1, 'the page reloaded');
      await wsStreams(t, 'behind nginx');
      await browser.page.mouse.move(330, 270);
      await sleep(300);
      const from = env.xevOutput('xev').length;
      for (const ch of 'proxy') await browser.page.keyboard.press(ch);
      const typed = await waitFor(() => (typedText(parseXev(env.xevOutput('xev').slice(from))) === 'proxy' ? 'proxy' : null), 5000);
      assert.equal(typed ?? typedText(parseXev(env.xevOutput('xev').slice(from))), 'proxy', 'keyboard through nginx');
      const fromX = 'X → nginx → page ✓';
      await xclip(['-i'], fromX);
      assert.equal(await waitFor(() => browser.e2e((s) => (window.__e2e.clipboardText === s ? s : null), fromX), 5000, 200), fromX, 'X → page');
      const fromPage = 'page → nginx → X ✓';
      await browser.e2e((m) => window.__e2e.send(m), `cw,${Buffer.from(fromPage).toString('base64')}`);
      assert.equal(await waitFor(async () => ((await xclip(['-o'])) === fromPage ? fromPage : null), 5000, 250), fromPage, 'page → X');
    }));
});
