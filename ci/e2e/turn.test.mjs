// End to end through a real TURN server: Debian's coturn on 127.0.0.1:3478, the host with
// matching TURN flags, and Debian's Chromium forced to relay-only ICE (the page's `/turn`
// answer is rewritten to `iceTransportPolicy: "relay"`, which the client hands to
// RTCPeerConnection unchanged). Cases: shared-secret (HMAC) credentials, static long-term
// credentials, TURN over TCP, an `--rtc_config_json` file, and a wrong secret that must not
// connect; and credentials from our TURN-REST service (selkies-turn-rest, with coturn in
// `use-auth-secret` mode) fetched by the host through `--turn_rest_uri`. The relay in use is
// cross-checked against coturn's own log. Last, the host's own embedded relay (no coturn, no
// TURN flags): the page keeps only its `?transport=tcp` URI, so the browser reaches the host
// through nothing but TURN-over-TCP on the HTTP port.
// Run through ci/checks/80-turn.sh (root, loopback-only network namespace).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Browser, withE2eFlag } from './browser.mjs';
import { Env, sleep, waitFor, workspaceBinary } from './harness.mjs';

const PORT = Number(process.env.E2E_TURN_HTTP_PORT ?? 18090);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const TURN_PORT = 3478;
const REALM = 'selkies';
const SECRET = 'e2e-turn-secret';
const AUTH_USER = 'e2e-user';
// The user the host asks credentials for its own webrtcbin (--turn_rest_username).
const HOST_USER = 'e2e-host';
const REST_PORT = Number(process.env.E2E_TURN_REST_PORT ?? 18008);
const REST_URI = `http://127.0.0.1:${REST_PORT}/`;
// What every case gives the host: no Basic auth (the page's /turn fetch is re-issued by the
// test), STUN on coturn itself, H.264, and an rtc_config_json path that does not exist unless
// the case writes it (the default /tmp/rtc.json could exist on the machine and win).
const env = new Env();
const NO_FILE = join(env.dir, 'no-rtc.json');
const BASE = ['--enable_basic_auth=false', '--encoder=x264enc', '--enable_resize=false', '--stun_host=127.0.0.1', `--stun_port=${TURN_PORT}`];
const TURN_FLAGS = ['--turn_host=127.0.0.1', `--turn_port=${TURN_PORT}`, '--turn_protocol=udp', '--turn_tls=false'];

// Records every RTCPeerConnection the page makes and the type of each local candidate it
// gathers, so the test can read the selected pair without the client exposing its peers.
const RECORD_PCS = () => {
  const Native = window.RTCPeerConnection;
  const pcs = [];
  const gathered = [];
  class Recorded extends Native {
    constructor(...args) {
      super(...args);
      pcs.push(this);
      this.addEventListener('icecandidate', (ev) => {
        if (ev.candidate) gathered.push(ev.candidate.type ?? 'unknown');
      });
    }
  }
  window.RTCPeerConnection = Recorded;
  window.__turnE2e = { pcs, gathered };
};

let browser = null;
let served = [];

/** selkies-turn-rest on 127.0.0.1:REST_PORT for coturn's secret; resolves once it answers. */
async function startTurnRest(name, secret) {
  env.spawn(name, workspaceBinary('selkies-turn-rest', 'SELKIES_TURN_REST_BIN', 'selkies-turn-rest'), [`--port=${REST_PORT}`, '--bind=127.0.0.1'], {
    TURN_SHARED_SECRET: secret, TURN_HOST: '127.0.0.1', TURN_PORT: String(TURN_PORT), TURN_PROTOCOL: 'udp', TURN_TLS: 'false', RUST_LOG: 'debug',
  });
  const up = await waitFor(async () => {
    if (!env.alive(name)) return 'dead';
    try {
      return (await fetch(REST_URI)).ok ? 'up' : false;
    } catch {
      return false;
    }
  }, 10000, 100);
  if (up !== 'up') throw new Error(`selkies-turn-rest did not answer (${up}):\n${env.tail(name)}`);
}

/** coturn in the foreground, logging to the case log; resolves once it answers a STUN binding. */
async function startTurn(name, authArgs) {
  env.spawn(name, 'turnserver', [
    '-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${TURN_PORT}`,
    '--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls', `--realm=${REALM}`,
    '--log-file=stdout', '--simple-log', '--verbose', `--pidfile=${join(env.dir, `${name}.pid`)}`,
    `--userdb=${join(env.dir, `${name}.sqlite`)}`, ...authArgs,
  ]);
  const ok = await waitFor(() => env.alive(name) && stunBinding(), 10000, 200);
  if (!ok) throw new Error(`coturn did not answer a STUN binding:\n${env.tail(name)}`);
}

/** One STUN Binding request to coturn over UDP; true when a success response comes back. */
function stunBinding() {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const req = Buffer.alloc(20);
    req.writeUInt16BE(0x0001, 0);
    req.writeUInt32BE(0x2112a442, 4);
    for (let i = 8; i < 20; i++) req[i] = (Math.random() * 256) | 0;
    const done = (v) => {
      clearTimeout(timer);
      sock.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), 300);
    sock.on('message', (m) => done(m.length >= 20 && m.readUInt16BE(0) === 0x0101 && m.subarray(8, 20).equals(req.subarray(8, 20))));
    sock.on('error', () => done(false));
    sock.send(req, TURN_PORT, '127.0.0.1');
  });
}

/**
 * Launches Chromium with service workers blocked (they would answer `/turn` out of the test's
 * reach), re-issues the page's `/turn` with the auth-user header, records the host's body and
 * hands the page the same JSON with `iceTransportPolicy: "relay"`.
 */
async function openRelayOnly(rewrite = (cfg) => cfg) {
  browser = await Browser.launch(ORIGIN, { context: { serviceWorkers: 'block' } });
  served = [];
  await browser.page.addInitScript(RECORD_PCS);
  await browser.page.route('**/turn', async (route) => {
    const resp = await route.fetch({ headers: { ...route.request().headers(), 'x-auth-user': AUTH_USER } });
    const body = await resp.text();
    served.push({ status: resp.status(), contentType: resp.headers()['content-type'], body });
    let cfg;
    try {
      cfg = JSON.parse(body);
    } catch {
      await route.fulfill({ response: resp, body });
      return;
    }
    await route.fulfill({ response: resp, body: JSON.stringify({ ...rewrite(cfg), iceTransportPolicy: 'relay' }), contentType: 'application/json' });
  });
  // WebRTC only: these cases are about ICE through the relay, not the WebSocket fallback.
  const res = await browser.page.goto(`${ORIGIN}${withE2eFlag('/?transport=webrtc')}`);
  assert.equal(res?.status(), 200, 'page load');
  // The client asks for /turn after the load event, before it opens the signalling sockets.
  assert.ok(await waitFor(() => served.length > 0, 10000), 'the page never asked for /turn');
}

/** Per peer connection: its policy, states, the selected pair's candidate types and addresses. */
function peerReport() {
  return browser.e2e(async () => {
    const out = [];
    for (const pc of window.__turnE2e.pcs) {
      const stats = [...(await pc.getStats()).values()];
      const byId = new Map(stats.map((s) => [s.id, s]));
      const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
      const pair = transport ? byId.get(transport.selectedCandidatePairId) : stats.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
      const local = pair && byId.get(pair.localCandidateId);
      const remote = pair && byId.get(pair.remoteCandidateId);
      out.push({
        policy: pc.getConfiguration().iceTransportPolicy,
        connection: pc.connectionState,
        ice: pc.iceConnectionState,
        local: local ? `${local.candidateType} ${local.protocol} ${local.address}:${local.port} via ${local.relayProtocol ?? '-'} ${local.url ?? ''}` : null,
        localType: local?.candidateType ?? null,
        localAddr: local ? `${local.address}:${local.port}` : null,
        relayProtocol: local?.relayProtocol ?? null,
        remote: remote ? `${remote.candidateType} ${remote.address}:${remote.port}` : null,
      });
    }
    return { peers: out, gathered: window.__turnE2e.gathered };
  });
}

/**
 * Frames decode and every peer's selected local candidate is a relay address that `turnName`'s
 * coturn allocated (so the relay in use is the one under test, not some other path).
 */
async function assertRelayStreaming(t, turnName) {
  await browser.page.waitForFunction(() => window.__e2e?.firstFrameMs != null, null, { timeout: 20000 });
  const m = await browser.measureVideo(3000);
  assert.ok(m.last, 'no inbound video stats');
  assert.ok(m.fps >= 10, `decoded ${m.fps.toFixed(1)} fps over 3 s through the relay, want ≥ 10`);
  const report = await waitFor(async () => {
    const r = await peerReport();
    return r.peers.length >= 2 && r.peers.every((p) => p.connection === 'connected' && p.localType) ? r : null;
  }, 10000, 250) ?? (await peerReport());
  t.diagnostic(`peers: ${JSON.stringify(report.peers)}`);
  assert.ok(report.peers.length >= 2, `video and audio peers: ${JSON.stringify(report)}`);
  for (const p of report.peers) {
    assert.equal(p.policy, 'relay', 'the page kept the relay-only policy');
    assert.equal(p.connection, 'connected', `peer state: ${JSON.stringify(p)}`);
    assert.equal(p.localType, 'relay', `selected local candidate: ${JSON.stringify(p)}`);
  }
  assert.ok(report.gathered.length > 0 && report.gathered.every((c) => c === 'relay'), `gathered candidate types: ${report.gathered}`);
  if (turnName === null) return m.fps;
  const relays = relayAddresses(turnName);
  for (const p of report.peers) assert.ok(relays.has(p.localAddr), `${p.localAddr} is not among coturn's relay addresses ${[...relays]}`);
  return m.fps;
}

/** The relay transport addresses coturn logged (`Local relay addr: 127.0.0.1:PORT`). */
function relayAddresses(name) {
  const out = new Set();
  for (const m of env.tail(name, 100000).matchAll(/Local relay addr: (\S+)/g)) out.add(m[1]);
  return out;
}

/** coturn's log line for a successful ALLOCATE by `user` (the log is the case's). */
function allocatedFor(name, user) {
  const ok = (l) => l.includes('incoming packet ALLOCATE processed, success') && (user instanceof RegExp ? user.test(l) : l.includes(`user <${user}>:`));
  return env.tail(name, 100000).split('\n').find(ok) ?? null;
}

/** Runs a case body; on failure re-throws with coturn, host and browser diagnostics attached. */
async function withDiagnostics(turnName, body) {
  try {
    await body();
  } catch (e) {
    const parts = [String(e?.stack ?? e), `--- coturn log (${turnName}, tail) ---`, env.tail(turnName, 40), '--- host log (tail) ---', env.tail('host', 40)];
    parts.push('--- /turn as served ---', JSON.stringify(served));
    if (browser) {
      parts.push('--- peers ---', JSON.stringify(await peerReport().catch((err) => String(err))));
      parts.push('--- browser console (tail) ---', browser.consoleTail(30));
    }
    throw new Error(parts.join('\n'));
  }
}

describe('TURN relay through coturn', { timeout: 200000 }, () => {
  before(async () => {
    await env.startX();
    await env.startAudio();
  });

  afterEach(async () => {
    await browser?.close();
    browser = null;
    await env.stop('host');
    for (const n of ['turn-hmac', 'turn-static', 'turn-tcp', 'turn-file', 'turn-wrong', 'turn-rest', 'turn-rest-service']) await env.stop(n);
  });

  after(async () => {
    await env.stopAll();
  });

  test('shared secret: HMAC credentials from /turn relay the stream', (t) =>
    withDiagnostics('turn-hmac', async () => {
      await startTurn('turn-hmac', ['--use-auth-secret', `--static-auth-secret=${SECRET}`]);
      await env.startHost(PORT, [...BASE, ...TURN_FLAGS, `--turn_shared_secret=${SECRET}`, `--turn_rest_username=${HOST_USER}`, `--rtc_config_json=${NO_FILE}`]);
      await openRelayOnly();
      const fps = await assertRelayStreaming(t, 'turn-hmac');
      t.diagnostic(`relayed H.264 decoded at ${fps.toFixed(1)} fps`);

      const cfg = JSON.parse(served[0].body);
      const turn = cfg.iceServers.find((s) => [s.urls].flat().some((u) => u.startsWith('turn:')));
      assert.deepEqual([turn.urls].flat(), [`turn:127.0.0.1:${TURN_PORT}?transport=udp`]);
      const m = /^(\d+):(.+)$/.exec(turn.username);
      assert.ok(m, `HMAC username shape: ${turn.username}`);
      assert.equal(m[2], AUTH_USER, 'the user comes from the x-auth-user header');
      const ttl = Number(m[1]) - Date.now() / 1000;
      assert.ok(ttl > 86400 - 120 && ttl <= 86400 + 5, `expiry ${m[1]} is ~24 h ahead (${ttl.toFixed(0)} s)`);
      assert.equal(turn.credential, createHmac('sha1', SECRET).update(turn.username).digest('base64'), 'credential = base64(HMAC-SHA1(secret, username))');
      const line = await waitFor(() => allocatedFor('turn-hmac', turn.username), 3000);
      assert.ok(line, `coturn logged no allocation for ${turn.username}`);
      t.diagnostic(`coturn: ${line.trim()}`);
      // The host's webrtcbin got the same TURN server with its own HMAC credential.
      const hostLine = allocatedFor('turn-hmac', new RegExp(`user <\\d+:${HOST_USER}>:`));
      assert.ok(hostLine, `coturn logged no allocation for the host's user <expiry>:${HOST_USER}`);
    }));

  test('static long-term credentials relay the stream', (t) =>
    withDiagnostics('turn-static', async () => {
      await startTurn('turn-static', ['--lt-cred-mech', '--user=e2e-static:static-pass']);
      await env.startHost(PORT, [...BASE, ...TURN_FLAGS, '--turn_username=e2e-static', '--turn_password=static-pass', `--rtc_config_json=${NO_FILE}`]);
      await openRelayOnly();
      await assertRelayStreaming(t, 'turn-static');
      const cfg = JSON.parse(served[0].body);
      const turn = cfg.iceServers.find((s) => s.username);
      assert.deepEqual({ user: turn.username, cred: turn.credential }, { user: 'e2e-static', cred: 'static-pass' });
      assert.ok(await waitFor(() => allocatedFor('turn-static', 'e2e-static'), 3000), 'coturn logged no allocation for e2e-static');
    }));

  test('--turn_protocol=tcp: the browser reaches the relay over TCP', (t) =>
    withDiagnostics('turn-tcp', async () => {
      await startTurn('turn-tcp', ['--use-auth-secret', `--static-auth-secret=${SECRET}`]);
      const flags = TURN_FLAGS.map((f) => (f.startsWith('--turn_protocol=') ? '--turn_protocol=tcp' : f));
      await env.startHost(PORT, [...BASE, ...flags, `--turn_shared_secret=${SECRET}`, `--rtc_config_json=${NO_FILE}`]);
      await openRelayOnly();
      const turn = JSON.parse(served[0].body).iceServers.find((s) => s.username);
      assert.deepEqual([turn.urls].flat(), [`turn:127.0.0.1:${TURN_PORT}?transport=tcp`]);
      await assertRelayStreaming(t, 'turn-tcp');
      const peers = (await peerReport()).peers;
      assert.deepEqual(peers.map((p) => p.relayProtocol), peers.map(() => 'tcp'), 'relay reached over TCP');
    }));

  test('--rtc_config_json: the file is served verbatim, relays the stream and is re-read when it changes', (t) =>
    withDiagnostics('turn-file', async () => {
      await startTurn('turn-file', ['--lt-cred-mech', '--user=file-user:file-pass', '--user=file-user2:file-pass2']);
      const file = join(env.dir, 'rtc.json');
      const doc = (user, pass) => `{"iceServers": [\n  {"urls": ["turn:127.0.0.1:${TURN_PORT}?transport=udp"], "username": "${user}", "credential": "${pass}"}\n],\n "iceTransportPolicy": "all", "note": "written by turn.test.mjs"}\n`;
      const first = doc('file-user', 'file-pass');
      writeFileSync(file, first);
      // TURN flags that would point elsewhere: the file must win over them.
      await env.startHost(PORT, [...BASE, '--turn_host=127.0.0.2', '--turn_port=9', '--turn_shared_secret=ignored', `--rtc_config_json=${file}`]);
      await openRelayOnly();
      await assertRelayStreaming(t, 'turn-file');
      assert.equal(served[0].body, first, '/turn is the file, byte for byte');
      assert.match(served[0].contentType ?? '', /^application\/json/);
      assert.ok(await waitFor(() => allocatedFor('turn-file', 'file-user'), 3000), 'coturn logged no allocation for file-user');

      const second = doc('file-user2', 'file-pass2');
      writeFileSync(file, second);
      const reread = await waitFor(async () => (await (await fetch(`${ORIGIN}/turn`)).text()) === second, 8000, 250);
      assert.ok(reread, '/turn did not serve the rewritten file within 8 s');
    }));

  test('TURN-REST: selkies-turn-rest credentials, fetched by the host via --turn_rest_uri, relay the stream', (t) =>
    withDiagnostics('turn-rest', async () => {
      await startTurn('turn-rest', ['--use-auth-secret', `--static-auth-secret=${SECRET}`]);
      await startTurnRest('turn-rest-service', SECRET);
      // The service on its own: the legacy inputs and the JSON answer.
      const direct = await fetch(`${REST_URI}?service=turn`, { headers: { 'x-auth-user': 'Probe:User', 'x-turn-protocol': 'tcp', 'x-turn-tls': 'false' } });
      assert.equal(direct.status, 200);
      assert.match(direct.headers.get('content-type') ?? '', /^application\/json/);
      const probe = (await direct.json()).iceServers;
      assert.deepEqual(probe[0].urls, [`stun:127.0.0.1:${TURN_PORT}`], 'STUN on the TURN host, nothing public');
      assert.deepEqual(probe[1].urls, [`turn:127.0.0.1:${TURN_PORT}?transport=tcp`]);
      assert.match(probe[1].username, /^\d+:probe-user$/);
      assert.equal(probe[1].credential, createHmac('sha1', SECRET).update(probe[1].username).digest('base64'));

      await env.startHost(PORT, [...BASE, `--turn_rest_uri=${REST_URI}`, `--turn_rest_username=${HOST_USER}`, `--rtc_config_json=${NO_FILE}`]);
      await openRelayOnly();
      const fps = await assertRelayStreaming(t, 'turn-rest');
      t.diagnostic(`relayed H.264 decoded at ${fps.toFixed(1)} fps with TURN-REST credentials`);

      // The host serves the service's document: the user is the host's own (legacy behaviour).
      const turn = JSON.parse(served[0].body).iceServers.find((s) => s.username);
      assert.deepEqual([turn.urls].flat(), [`turn:127.0.0.1:${TURN_PORT}?transport=udp`]);
      const m = /^(\d+):(.+)$/.exec(turn.username);
      assert.ok(m && m[2] === HOST_USER, `username from the service: ${turn.username}`);
      const ttl = Number(m[1]) - Date.now() / 1000;
      assert.ok(ttl > 86400 - 120 && ttl <= 86400 + 5, `expiry ${m[1]} is ~24 h ahead (${ttl.toFixed(0)} s)`);
      assert.equal(turn.credential, createHmac('sha1', SECRET).update(turn.username).digest('base64'));
      const line = await waitFor(() => allocatedFor('turn-rest', turn.username), 3000);
      assert.ok(line, `coturn logged no allocation for ${turn.username}`);
      t.diagnostic(`coturn: ${line.trim()}`);
      // The service saw the host's request with the host's headers.
      assert.match(env.tail('turn-rest-service', 1000), new RegExp(`credential granted user=${HOST_USER} protocol=udp tls=false`));
    }));

  test('a wrong shared secret does not connect through the relay', (t) =>
    withDiagnostics('turn-wrong', async () => {
      await startTurn('turn-wrong', ['--use-auth-secret', `--static-auth-secret=${SECRET}`]);
      await env.startHost(PORT, [...BASE, ...TURN_FLAGS, '--turn_shared_secret=not-the-secret', `--rtc_config_json=${NO_FILE}`]);
      await openRelayOnly();
      await sleep(8000);
      const r = await peerReport();
      t.diagnostic(`peers after 8 s: ${JSON.stringify(r)}`);
      assert.ok(served.length > 0, 'the page never asked for /turn');
      assert.equal(await browser.e2e(() => window.__e2e?.firstFrameMs ?? null), null, 'a frame arrived despite the wrong secret');
      assert.ok(r.peers.length > 0, 'the page made no peer connection');
      for (const p of r.peers) assert.notEqual(p.connection, 'connected', `peer connected: ${JSON.stringify(p)}`);
      assert.deepEqual(r.gathered.filter((c) => c === 'relay'), [], 'relay candidates were gathered with wrong credentials');
      const user = JSON.parse(served[0].body).iceServers.find((s) => s.username).username;
      assert.equal(allocatedFor('turn-wrong', user), null, `coturn allocated for ${user}`);
      const refused = env.tail('turn-wrong', 100000).split('\n').find((l) => l.includes(`user <${user}>`) && /Cannot find credentials|error 401|Unauthorized/i.test(l));
      assert.ok(refused, `coturn logged no refusal for ${user}`);
      t.diagnostic(`coturn: ${refused.trim()}`);
    }));

  test("embedded relay: relay-only over TCP to the host's own HTTP port", (t) =>
    withDiagnostics('host', async () => {
      await env.startHost(PORT, [...BASE, `--rtc_config_json=${NO_FILE}`]);
      const tcpOnly = (cfg) => ({
        ...cfg,
        iceServers: cfg.iceServers
          .map((s) => ({ ...s, urls: [s.urls].flat().filter((u) => u.startsWith('turn:') && u.endsWith('?transport=tcp')) }))
          .filter((s) => s.urls.length > 0),
      });
      await openRelayOnly(tcpOnly);
      const ours = JSON.parse(served[0].body).iceServers.find((s) => [s.urls].flat().some((u) => u === `turn:127.0.0.1:${PORT}?transport=tcp`));
      assert.ok(ours, `/turn advertises the embedded relay on the HTTP port: ${served[0].body}`);
      assert.match(ours.username, /^\d+:/, 'TURN-REST style username <expiry>:<user>');
      const fps = await assertRelayStreaming(t, null);
      const peers = (await peerReport()).peers;
      assert.deepEqual(peers.map((p) => p.relayProtocol), peers.map(() => 'tcp'), 'relay reached over TCP');
      t.diagnostic(`through the embedded relay over TCP on port ${PORT}: ${fps.toFixed(1)} fps`);
    }));
});
