// The example image (deploy/containers/example), built as a root and started by its own
// entrypoint in container namespaces by ci/test-example-root; this side is the user's browser in
// another network namespace that reaches the container only through its one published TCP port.
// The container's firewall drops every other packet, so the media must come through the
// embedded TURN relay on that port (docs/connectivity.md): Chromium decodes the desktop, then a
// terminal opened on the Xfce desktop receives a command typed in the page, and the command's
// file appears in the root.
//
// Env (set by ci/test-example-root): EXAMPLE_ORIGIN (http://<container>:<port>), EXAMPLE_USER,
// EXAMPLE_PASSWORD, EXAMPLE_EXEC (runs a command in the container as its user, like
// `podman exec`), EXAMPLE_HOME (the user's home as seen from here).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Browser } from './browser.mjs';
import { sleep, waitFor } from './harness.mjs';

const ORIGIN = process.env.EXAMPLE_ORIGIN;
const USER = process.env.EXAMPLE_USER;
const PASSWORD = process.env.EXAMPLE_PASSWORD;
const EXEC = process.env.EXAMPLE_EXEC;
const HOME = process.env.EXAMPLE_HOME;

// Records the page's RTCPeerConnections so the selected candidate pair can be read back.
const RECORD_PCS = () => {
  const Native = window.RTCPeerConnection;
  const pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      pcs.push(this);
    }
  };
  window.__exampleE2e = { pcs };
};

/** The selected pair of every connected peer: local candidate type and relay protocol. */
function selectedPairs(browser) {
  return browser.e2e(async () => {
    const out = [];
    for (const pc of window.__exampleE2e.pcs) {
      if (pc.connectionState !== 'connected') continue;
      const stats = [...(await pc.getStats()).values()];
      const byId = new Map(stats.map((s) => [s.id, s]));
      const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
      const local = transport && byId.get(byId.get(transport.selectedCandidatePairId)?.localCandidateId);
      out.push({ type: local?.candidateType ?? null, relayProtocol: local?.relayProtocol ?? null, url: local?.url ?? null });
    }
    return out;
  });
}

const inContainer = (...args) => execFileSync(EXEC, args, { encoding: 'utf8', timeout: 30000 });

let browser = null;
let terminal = null;

describe('example image through its one published port', { timeout: 240000 }, () => {
  after(async () => {
    await browser?.close();
    if (terminal && terminal.exitCode === null) terminal.kill('SIGTERM');
  });

  test('Chromium decodes the Xfce desktop through the embedded TURN relay on the published port', async (t) => {
    for (const v of ['EXAMPLE_ORIGIN', 'EXAMPLE_USER', 'EXAMPLE_PASSWORD', 'EXAMPLE_EXEC', 'EXAMPLE_HOME']) {
      assert.ok(process.env[v], `${v} is not set (run ci/test-example-root)`);
    }
    const t0 = Date.now();
    // The published port is reached at the container's address, not localhost: Chromium must
    // treat it as a secure context (as it treats http://localhost:8080 of `podman run -p`),
    // or it refuses the media permission the client asks for.
    browser = await Browser.launch(ORIGIN, {
      credentials: { username: USER, password: PASSWORD },
      args: [`--unsafely-treat-insecure-origin-as-secure=${ORIGIN}`],
    });
    await browser.page.addInitScript(RECORD_PCS);
    const firstFrameMs = await browser.open('/', 60000);
    const m = await browser.measureVideo(5000);
    assert.ok(m.last, 'no inbound video stats');
    assert.equal(`${m.last.frameWidth}x${m.last.frameHeight}`, '1920x1080', 'the image default XVFB_SIZE');
    // An idle Xfce desktop changes little and the capture only sends what changed, so the rate
    // is reported, not asserted; the next test checks that the picture follows the desktop.
    assert.ok(m.last.framesDecoded > 0, 'no decoded frame');
    const pairs = (await waitFor(async () => {
      const p = await selectedPairs(browser);
      return p.length > 0 && p.every((x) => x.type) ? p : null;
    }, 10000, 250)) ?? (await selectedPairs(browser));
    assert.ok(pairs.length > 0, 'no connected peer connection');
    for (const p of pairs) {
      assert.equal(p.type, 'relay', `only the published TCP port passes, so the pair must be relayed: ${JSON.stringify(pairs)}`);
      assert.equal(p.relayProtocol, 'tcp', `relay reached over TCP: ${JSON.stringify(pairs)}`);
    }
    t.diagnostic(`page navigation → first frame ${firstFrameMs.toFixed(0)} ms (${Date.now() - t0} ms with Chromium's start); ` +
      `${m.fps.toFixed(1)} fps ${m.last.codec} ${m.last.frameWidth}x${m.last.frameHeight}; selected pairs ${JSON.stringify(pairs)}`);
  });

  test('a command typed in the page runs in an xfce4-terminal on the desktop', async (t) => {
    assert.ok(browser, 'needs the streaming page');
    const nonce = `typed-${Date.now() % 1000000}`;
    const framesBefore = (await browser.e2e(() => window.__e2e.stats.video?.video ?? null))?.framesDecoded ?? 0;
    const file = join(HOME, 'typed.txt');
    assert.ok(!existsSync(file) || !readFileSync(file, 'utf8').includes(nonce));
    // Opened inside the container as its user, like `podman exec`; --disable-server: no D-Bus
    // activation needed for one window.
    terminal = spawn(EXEC, ['xfce4-terminal', '--disable-server', '--title=selkies-e2e', '--working-directory=/home/selkies'], { stdio: 'ignore' });
    const id = await waitFor(() => {
      try {
        return inContainer('xdotool', 'search', '--name', '^selkies-e2e$').trim().split('\n')[0] || null;
      } catch {
        return null;
      }
    }, 30000, 500);
    assert.ok(id, 'the xfce4-terminal window never appeared');
    inContainer('xdotool', 'windowactivate', '--sync', id);
    const focused = await waitFor(() => (inContainer('xdotool', 'getwindowfocus').trim() === id ? true : null), 10000, 200);
    assert.ok(focused, 'xfwm4 did not focus the terminal');
    await sleep(500); // the shell prompt
    const typedAt = Date.now();
    await browser.page.keyboard.type(`echo ${nonce} > typed.txt`, { delay: 20 });
    await browser.page.keyboard.press('Enter');
    const got = await waitFor(() => (existsSync(file) && readFileSync(file, 'utf8').includes(nonce) ? true : null), 15000, 100);
    assert.ok(got, `typed command did not create ${file}`);
    const fileMs = Date.now() - typedAt;
    // The terminal that appeared and the typed text were streamed: more frames decoded.
    const after = await waitFor(async () => {
      const v = await browser.e2e(() => window.__e2e.stats.video?.video ?? null);
      return v && v.framesDecoded > framesBefore ? v.framesDecoded : null;
    }, 5000, 200);
    assert.ok(after, 'no frame decoded while the terminal opened and text was typed');
    t.diagnostic(`keys typed in the page → file written by the terminal's shell: ${fileMs} ms; ` +
      `frames decoded meanwhile: ${after - framesBefore}`);
  });
});
