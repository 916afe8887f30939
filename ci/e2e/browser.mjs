// Debian's Chromium driven by playwright-core (installed by `npm ci` in web/; it downloads no
// browser). Flags and the media-permission grant are those of docs/testing.md G2/G3: without them
// Chromium gathers no ICE candidate in a loopback-only namespace.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, waitFor } from './harness.mjs';

const require = createRequire(join(ROOT, 'web', 'package.json'));
const { chromium } = require('playwright-core');

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const FLAGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
  // Extra flags for an experiment (space-separated), e.g. what the display refresh costs:
  // CHROMIUM_EXTRA_ARGS="--disable-gpu-vsync --disable-frame-rate-limit" (docs/benchmarks.md).
  ...(process.env.CHROMIUM_EXTRA_ARGS ?? '').split(/\s+/).filter(Boolean),
];

/**
 * `path` with the client's test flag (`?e2e=1`): without it the client installs no `window.__e2e`
 * (web/src/e2e.ts), so every page the harness opens carries it.
 */
export function withE2eFlag(path) {
  const hash = path.indexOf('#');
  const [base, frag] = hash < 0 ? [path, ''] : [path.slice(0, hash), path.slice(hash)];
  return `${base}${base.includes('?') ? '&' : '?'}e2e=1${frag}`;
}

export class Browser {
  constructor(ctx, page, profile, origin) {
    this.ctx = ctx;
    this.page = page;
    this.profile = profile;
    this.origin = origin;
    this.console = [];
  }

  /**
   * Launches a fresh profile, grants media permission (plus `permissions`) for `origin`, and
   * opens one page. `context` adds Playwright context options (hasTouch, isMobile,
   * deviceScaleFactor…); `args` adds Chromium flags (a fake microphone or camera).
   */
  static async launch(origin, { credentials, viewport = { width: 1280, height: 720 }, permissions = [], context = {}, args = [] } = {}) {
    const profile = mkdtempSync(join(tmpdir(), 'selkies-chromium-'));
    const ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...FLAGS, ...args],
      viewport,
      httpCredentials: credentials,
      ...context,
    });
    await ctx.grantPermissions(['camera', 'microphone', ...permissions], { origin });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const b = new Browser(ctx, page, profile, origin);
    page.on('console', (m) => b.log(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => b.log(`pageerror: ${e.message}`));
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) b.navigations++;
    });
    b.navigations = 0;
    // Signalling as it crossed the wire: SDP offers received and answers sent, for assertions
    // on what the browser negotiated.
    b.sdp = { offers: [], answers: [] };
    page.on('websocket', (ws) => {
      const keep = (list, payload) => {
        try {
          const sdp = JSON.parse(String(payload))?.sdp;
          if (sdp && typeof sdp.sdp === 'string') list.push(sdp.sdp);
        } catch {
          // not JSON: HELLO, SESSION_OK and the like
        }
      };
      ws.on('framereceived', (f) => keep(b.sdp.offers, f.payload));
      ws.on('framesent', (f) => keep(b.sdp.answers, f.payload));
    });
    return b;
  }

  log(line) {
    this.console.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
    if (this.console.length > 400) this.console.shift();
  }

  consoleTail(n = 40) {
    return this.console.slice(-n).join('\n');
  }

  /**
   * Loads the client (with the test flag) and waits for the first presented video frame; returns
   * its time (ms).
   */
  async open(path = '/', timeoutMs = 20000) {
    const res = await this.page.goto(`${this.origin}${withE2eFlag(path)}`);
    if (!res || res.status() !== 200) throw new Error(`page load: HTTP ${res?.status()}`);
    // Polled with a bare CDP evaluation, not `waitForFunction`: Playwright first injects its own
    // ~330 KB script into the page for that, ~15 ms of the page's main thread in the middle of
    // its first connection, which no user's page has (docs/benchmarks.md, "First frame: the
    // page's first script").
    const cdp = this.cdp ?? (this.cdp = await this.ctx.newCDPSession(this.page));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { result } = await cdp.send('Runtime.evaluate', { expression: 'window.__e2e?.firstFrameMs ?? null', returnByValue: true });
      if (typeof result?.value === 'number') return result.value;
      if (Date.now() > deadline) throw new Error(`no video frame shown within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  e2e(fn, arg) {
    return this.page.evaluate(fn, arg);
  }

  /** Decoded frames over `ms` from getStats (inbound-rtp video), plus the last snapshot. */
  async measureVideo(ms) {
    // Start from a snapshot of the current session (stats are cleared when a session ends).
    const first = await waitFor(() => this.e2e(() => window.__e2e.stats.video?.video ?? null), 5000, 200);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, ms));
    const last = await this.e2e(() => window.__e2e.stats.video?.video ?? null);
    const dt = (last?.timestamp ?? 0) - (first?.timestamp ?? 0);
    const fps = first && last && dt > 0 ? ((last.framesDecoded - first.framesDecoded) * 1000) / dt : 0;
    return { fps, last, wallMs: Date.now() - t0 };
  }

  /**
   * Types one character the way a non-US layout delivers it: a keydown whose `key` is the
   * character itself (Playwright's press() only knows the US layout). `code` is the physical key.
   */
  async typeChar(ch, code) {
    const cdp = this.cdp ?? (this.cdp = await this.ctx.newCDPSession(this.page));
    await cdp.send('Input.dispatchKeyEvent', { type: 'keyDown', key: ch, code, text: ch, unmodifiedText: ch });
    await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: ch, code });
  }

  /** Decoded fps and received video kbit/s over `ms`, from two getStats snapshots. */
  async measureRates(ms) {
    const first = await waitFor(() => this.e2e(() => window.__e2e.stats.video?.video ?? null), 5000, 200);
    await new Promise((r) => setTimeout(r, ms));
    const last = await this.e2e(() => window.__e2e.stats.video?.video ?? null);
    const dt = ((last?.timestamp ?? 0) - (first?.timestamp ?? 0)) / 1000;
    if (!first || !last || dt <= 0) return { fps: 0, kbps: 0, last };
    return {
      fps: (last.framesDecoded - first.framesDecoded) / dt,
      kbps: ((last.bytesReceived - first.bytesReceived) * 8) / 1000 / dt,
      last,
    };
  }

  /** Data-channel messages the page sent since index `from` (window.__e2e.sent). */
  sent(from = 0) {
    return this.e2e((n) => window.__e2e.sent.slice(n), from);
  }

  /** A dead key (key "Dead"), pressed and released: the layout composes it with the next key. */
  async deadKey(code) {
    const cdp = this.cdp ?? (this.cdp = await this.ctx.newCDPSession(this.page));
    await cdp.send('Input.dispatchKeyEvent', { type: 'keyDown', key: 'Dead', code });
    await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Dead', code });
  }

  async close() {
    await this.ctx.close().catch(() => {});
    rmSync(this.profile, { recursive: true, force: true });
  }
}
