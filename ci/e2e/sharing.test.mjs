// Desktop sharing end to end (docs/sharing.md): one owner on the legacy path plus three viewers
// and one player who join with share links, five Chromium contexts at 1280x720 against one
// host and one encoder. Asserts decoded frames everywhere, role enforcement on input (xev), a
// player's gamepad reaching js1 only (jstest under the LD_PRELOAD interposer), a live role
// change, link revocation, and refusals of bad links and excess joins. Run through
// ci/checks/76-sharing.sh (root, loopback-only network namespace, --experimental-websocket).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Browser } from './browser.mjs';
import { Env, ROOT, sleep, waitFor, workspaceBinary } from './harness.mjs';
import { parseXev, typedText } from './xev.mjs';

const PORT = Number(process.env.E2E_PORT ?? 18090);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const USER = 'user';
const PASSWORD = 'mypasswd';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const XEV = { x: 200, y: 200, w: 600, h: 400 };
const MAX_VIEWERS = 4;
const METRICS_PORT = PORT + 1;

const env = new Env();
const jsDir = join(env.dir, 'js');
let owner = null;
const guests = [];

async function withDiagnostics(body) {
  try {
    await body();
  } catch (e) {
    const parts = [String(e?.stack ?? e), '--- host log (tail) ---', env.tail('host', 60)];
    for (const b of [owner, ...guests].filter(Boolean)) parts.push(`--- ${b.label} console ---`, b.consoleTail(15));
    const g = guests.at(-1);
    if (g?.sdp.offers.length) parts.push(`--- ${g.label}: last offer ---`, g.sdp.offers.at(-1));
    if (owner?.sdp.offers.length) parts.push('--- owner ssrcs ---', owner.sdp.offers.map((o) => o.match(/a=ssrc:\d+ cname/g)?.join(' ')).join(' | '));
    throw new Error(parts.join('\n'));
  }
}

async function api(method, path) {
  const r = await fetch(`${ORIGIN}${path}`, { method, headers: { Authorization: AUTH } });
  const body = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

const mint = (role, ttl = 600) => api('POST', `/share/api/links?role=${role}&ttl=${ttl}`);
const state = () => api('GET', '/share/api/state');

/** Joins the sharing socket from node with `token`; resolves with the first notice and the close. */
function joinRaw(token, hello = { type: 'hello', name: 'raw' }) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${PORT}/share/ws?share=${encodeURIComponent(token)}`);
    const notices = [];
    const timer = setTimeout(() => {
      ws.close();
      resolve({ notices, code: 'timeout' });
    }, 10000);
    ws.onopen = () => ws.send(JSON.stringify(hello));
    ws.onmessage = (ev) => {
      try {
        const n = JSON.parse(String(ev.data));
        if (n.type) notices.push(n);
      } catch {}
      // A welcome means admitted: this helper only probes refusals, so leave again.
      if (notices.some((n) => n.type === 'welcome')) ws.close();
    };
    ws.onclose = (ev) => {
      clearTimeout(timer);
      resolve({ notices, code: ev.code, reason: ev.reason });
    };
  });
}

/** A raw guest that joins with `token` and stays (no media answer): resolves once welcomed. */
function holdRaw(token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${PORT}/share/ws?share=${encodeURIComponent(token)}`);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', name: 'holder' }));
    ws.onmessage = (ev) => {
      if (String(ev.data).includes('"welcome"')) resolve(ws);
    };
    ws.onclose = (ev) => reject(new Error(`holder closed: ${ev.code} ${ev.reason}`));
  });
}

async function openGuest(label, token) {
  const b = await Browser.launch(ORIGIN);
  b.label = label;
  guests.push(b);
  if (process.env.SHARING_ONLY_FIRST) {
    await b.page.goto(`${ORIGIN}/?e2e=1&share=${encodeURIComponent(token)}`);
    await sleep(3000);
    throw new Error('debug stop');
  }
  await b.open(`/?share=${encodeURIComponent(token)}`, 30000);
  return b;
}

const frames = (b) => b.e2e(() => window.__e2e.framesPresented);
const myUid = (b) => b.e2e(() => window.__e2e.share?.uid ?? null);

function jstest(n) {
  const so = workspaceBinary('libselkies_joystick_interposer.so', 'SELKIES_INTERPOSER_SO', 'selkies-js-interposer');
  const out = join(env.dir, `jstest${n}.log`);
  const fd = openSync(out, 'a');
  const child = spawn('timeout', ['60', 'jstest', '--event', `/dev/input/js${n}`], {
    env: { ...process.env, LD_PRELOAD: so, SELKIES_INTERPOSER_SOCKET_PATH: jsDir },
    stdio: ['ignore', fd, fd],
  });
  return { child, read: () => (existsSync(out) ? readFileSync(out, 'utf8') : '') };
}

describe('desktop sharing', { timeout: 170000 }, () => {
  before(async () => {
    mkdirSync(jsDir, { recursive: true });
    for (const n of ['js0', 'js1']) {
      // Placeholders for programs that look before opening; the interposer matches the path.
      if (!existsSync(`/dev/input/${n}`)) {
        try {
          mkdirSync('/dev/input', { recursive: true });
          writeFileSync(`/dev/input/${n}`, '');
        } catch {}
      }
    }
    await env.startX();
    await env.startAudio();
    env.startXev('xev', XEV.x, XEV.y, XEV.w, XEV.h);
    await env.startHost(PORT, [
      '--encoder=x264enc', '--enable_resize=false', '--enable_basic_auth=true',
      `--basic_auth_user=${USER}`, `--basic_auth_password=${PASSWORD}`,
      `--max_viewers=${MAX_VIEWERS}`, `--js_socket_path=${jsDir}`, '--framerate=30',
      '--enable_metrics_http=true', `--metrics_http_port=${METRICS_PORT}`,
    ]);
  });

  after(async () => {
    if (process.env.SHARING_HOST_LOG) copyFileSync(env.logPath('host'), process.env.SHARING_HOST_LOG);
    for (const b of [owner, ...guests].filter(Boolean)) await b.close();
    await env.stopAll();
  });

  test('one owner, three viewers and one player all decode frames from one encoder', (t) =>
    withDiagnostics(async () => {
      owner = await Browser.launch(ORIGIN, { credentials: { username: USER, password: PASSWORD } });
      owner.label = 'owner';
      await owner.open('/', 30000);
      const viewerLinks = [await mint('viewer'), await mint('viewer'), await mint('viewer')];
      const playerLink = await mint('player1');
      for (const [i, l] of viewerLinks.entries()) await openGuest(`viewer${i + 1}`, l.token);
      await openGuest('player1', playerLink.token);
      const before = await Promise.all([owner, ...guests].map(frames));
      await sleep(3000);
      const after = await Promise.all([owner, ...guests].map(frames));
      const fps = after.map((f, i) => (f - before[i]) / 3);
      t.diagnostic(`presented fps over 3 s: ${fps.map((f) => f.toFixed(1)).join(', ')}`);
      for (const [i, f] of fps.entries()) assert.ok(f > 1, `context ${i} presents no frames (${f} fps)`);
      const s = await state();
      const roles = s.members.map((m) => m.role).sort();
      assert.deepEqual(roles.filter((r) => r !== 'owner'), ['player1', 'viewer', 'viewer', 'viewer']);
      const encoders = readFileSync(env.logPath('host'), 'utf8').match(/video pipeline built/g) ?? [];
      assert.equal(encoders.length, 1, 'one video pipeline (one encoder) for all five');
      const k = s.keyframes;
      t.diagnostic(`keyframe requests ${k.requested}, forced ${k.forced}, coalesced ${k.coalesced}`);
      assert.ok(k.forced <= k.requested, 'forced keyframes never exceed requests');
    }));

  test("the owner's typing reaches X, a viewer's is dropped and counted", () =>
    withDiagnostics(async () => {
      // X focus follows the pointer (no window manager): keep it over the xev window.
      await owner.page.mouse.move(330, 270);
      await sleep(300);
      let from = env.xevOutput('xev').length;
      for (const ch of 'own') await owner.page.keyboard.press(ch);
      const got = await waitFor(() => typedText(parseXev(env.xevOutput('xev').slice(from))) === 'own', 5000);
      assert.ok(got, `owner typing: ${typedText(parseXev(env.xevOutput('xev').slice(from)))}`);

      const viewer = guests[0];
      const dropped0 = (await state()).dropped;
      from = env.xevOutput('xev').length;
      for (const ch of 'vw') await viewer.page.keyboard.press(ch);
      await viewer.e2e(() => {
        window.__e2e.send('vb,100');
        window.__e2e.send('_arg_fps,5');
        window.__e2e.send('cw,c2VjcmV0');
        window.__e2e.send('m,10,10,1,0');
      });
      const dropped = await waitFor(async () => {
        const d = (await state()).dropped;
        return d.input >= dropped0.input + 5 && d.settings >= dropped0.settings + 2 && d.clipboard > dropped0.clipboard ? d : null;
      }, 5000, 250);
      assert.ok(dropped, `drops not counted: ${JSON.stringify((await state()).dropped)}`);
      const prom = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
      const m = /^selkies_sharing_dropped_total\{category="input"\} (\d+)/m.exec(prom);
      assert.ok(m && Number(m[1]) >= dropped.input, `/metrics: ${prom.split('\n').filter((l) => l.includes('sharing')).join(' | ')}`);
      await sleep(500);
      assert.equal(typedText(parseXev(env.xevOutput('xev').slice(from))), '', "a viewer's keys reached X");
      // The settings it sent changed nothing: the owner still streams.
      const f0 = await frames(owner);
      await sleep(1500);
      assert.ok((await frames(owner)) > f0, 'owner stopped presenting frames');
    }));

  test("the player's gamepad drives js1 only", () =>
    withDiagnostics(async () => {
      const player = guests[3];
      await player.e2e(() => window.__e2e.send('js,c,0,WGJveA==,4,17'));
      const sock = await waitFor(() => existsSync(join(jsDir, 'selkies_js1.sock')), 5000);
      assert.ok(sock, 'no js1 socket after the player connected its pad');
      const js1 = jstest(1);
      await sleep(800);
      await player.e2e(() => {
        window.__e2e.send('js,b,0,0,1');
        window.__e2e.send('js,a,0,0,0.5');
        window.__e2e.send('js,b,2,0,1');
      });
      const moved = await waitFor(() => /number 0, value 16384/.test(js1.read()) && /type 1, time \d+, number 0, value 1/.test(js1.read()), 5000);
      js1.child.kill();
      assert.ok(moved, `jstest js1:\n${js1.read()}`);
      assert.ok(!existsSync(join(jsDir, 'selkies_js0.sock')), 'the player created js0');
      assert.ok(!existsSync(join(jsDir, 'selkies_js2.sock')), "the player's second pad reached js2");
      // A viewer's pad goes nowhere.
      await guests[1].e2e(() => window.__e2e.send('js,c,0,WGJveA==,4,17'));
      await sleep(500);
      assert.ok(!existsSync(join(jsDir, 'selkies_js0.sock')), "a viewer's pad reached js0");
    }));

  test('the owner turns a viewer into a controller and its typing then reaches X', () =>
    withDiagnostics(async () => {
      const viewer = guests[0];
      const uid = await myUid(viewer);
      assert.ok(uid, 'viewer has no uid');
      await api('POST', `/share/api/role?uid=${uid}&role=controller`);
      const role = await waitFor(async () => {
        const r = await viewer.e2e(() => window.__e2e.share.role);
        return r === 'controller' ? r : null;
      }, 5000);
      assert.equal(role, 'controller', 'the viewer was not told its new role');
      await owner.page.mouse.move(330, 270);
      await sleep(300);
      const from = env.xevOutput('xev').length;
      for (const ch of 'ctl') await viewer.page.keyboard.press(ch);
      const got = await waitFor(() => typedText(parseXev(env.xevOutput('xev').slice(from))) === 'ctl', 5000);
      assert.ok(got, `controller typing: '${typedText(parseXev(env.xevOutput('xev').slice(from)))}'`);
    }));

  test("the host's clipboard reaches the controller, not a viewer", () =>
    withDiagnostics(async () => {
      const text = `from-x-${Date.now()}`;
      await new Promise((resolve, reject) => {
        const c = spawn('xclip', ['-selection', 'clipboard', '-i'], { env: env.env(), stdio: ['pipe', 'ignore', 'ignore'] });
        c.on('error', reject);
        c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`xclip exited ${code}`))));
        c.stdin.end(text);
      });
      const got = await waitFor(() => guests[0].e2e((t) => (window.__e2e.clipboardText === t ? t : null), text), 8000);
      assert.equal(got, text, 'the controller did not receive the host clipboard');
      assert.notEqual(await guests[1].e2e(() => window.__e2e.clipboardText ?? null), text, 'a viewer received the host clipboard');
    }));

  test('revoking a link disconnects the viewer who used it', () =>
    withDiagnostics(async () => {
      const viewer = guests[2];
      const uid = await myUid(viewer);
      const s = await state();
      const link = s.links.find((l) => !l.revoked && l.role === 'viewer' && s.members.some((m) => m.uid === uid));
      assert.ok(link, 'no link to revoke');
      // Revoke the links until this viewer is gone (each viewer joined with its own link).
      let gone = null;
      for (const l of s.links.filter((x) => x.role === 'viewer' && !x.revoked)) {
        const r = await api('POST', `/share/api/revoke?link=${l.id}`);
        gone = await waitFor(() => viewer.e2e(() => window.__e2e.shareClose), 1500, 100);
        if (gone) {
          assert.equal(r.disconnected, 1);
          break;
        }
      }
      assert.equal(gone?.code, 4006, `viewer close: ${JSON.stringify(gone)}`);
      assert.ok(!(await state()).members.some((m) => m.uid === uid), 'revoked viewer still listed');
    }));

  test('bad links and 100 join attempts are refused clearly; the session carries on', (t) =>
    withDiagnostics(async () => {
      const good = await mint('viewer');
      const [p, sig] = good.token.split('.');
      const forgedPayload = Buffer.from(Buffer.from(p, 'base64url').toString().replace('viewer', 'controller')).toString('base64url');
      const forged = await joinRaw(`${forgedPayload}.${sig}`);
      assert.equal(forged.code, 4003);
      assert.match(forged.notices[0]?.message ?? '', /signature invalid/);
      const junk = await joinRaw('not-a-token');
      assert.equal(junk.code, 4003);
      assert.match(junk.notices[0]?.message ?? '', /malformed/);
      const short = await mint('viewer', 1);
      await sleep(2100);
      const expired = await joinRaw(short.token);
      assert.equal(expired.code, 4003);
      assert.match(expired.notices[0]?.message ?? '', /expired/);
      const noHello = await joinRaw(good.token, { type: 'mint', role: 'viewer' });
      assert.equal(noHello.code, 4002);
      // A guest may not administer: its owner commands are refused.
      const g = guests[1];
      const res = await g.e2e(() => new Promise((resolve) => {
        const ws = new WebSocket(`ws://${location.host}/share/ws`);
        ws.onclose = (e) => resolve(e.code);
        setTimeout(() => resolve('open'), 3000);
      }));
      assert.notEqual(res, 'open', 'a guest opened an owner socket without Basic auth');
      // A link (cookie or query) never opens the owner API.
      const fill0 = await mint('viewer');
      const withLink = await fetch(`${ORIGIN}/share/api/state?share=${fill0.token}`, { headers: { Cookie: `selkies_share=${fill0.token}` } });
      assert.equal(withLink.status, 401, 'a link holder reached the owner API');
      // Fill the desktop (a raw guest holds the last slot), then 100 more attempts: every one
      // refused with "full".
      const fill = await mint('viewer');
      const holders = [];
      while ((await state()).members.filter((m) => m.role !== 'owner').length < MAX_VIEWERS) {
        holders.push(await holdRaw(fill.token));
      }
      const f0 = await frames(owner);
      // Ten at a time: all at once would also meet --max_connections_per_ip (64), which is
      // another limit than the one under test.
      const attempts = [];
      for (let i = 0; i < 10; i++) attempts.push(...(await Promise.all(Array.from({ length: 10 }, () => joinRaw(fill.token)))));
      const codes = {};
      for (const a of attempts) codes[a.code] = (codes[a.code] ?? 0) + 1;
      t.diagnostic(`100 joins: ${JSON.stringify(codes)}; an abnormal one: ${JSON.stringify(attempts.find((a) => a.code === 1006) ?? null)}`);
      const s = await state();
      const guestsNow = s.members.filter((m) => m.role !== 'owner').length;
      assert.ok(guestsNow <= MAX_VIEWERS, `${guestsNow} guests > --max_viewers`);
      assert.equal(codes[4004], 100, `refusals: ${JSON.stringify(codes)}`);
      for (const h of holders) h.close();
      const full = attempts.find((a) => a.code === 4004);
      assert.match(full.notices[0]?.message ?? '', /full/);
      assert.ok(env.alive('host'), 'host died');
      await sleep(1500);
      assert.ok((await frames(owner)) > f0, 'owner stopped presenting frames');
      assert.ok((await frames(guests[0])) > 0, 'a guest stopped');
    }));
});
