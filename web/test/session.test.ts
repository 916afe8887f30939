import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostMessage } from '../src/messages.ts';
import { NO_VIDEO_MS, Session, type SessionDeps, type SessionUi } from '../src/session.ts';
import { FakePc, FakeSocket, fakePeerDeps, FakeVideo, resetFakes, until } from './fakes.ts';

const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

/** A video element that tells when a frame is shown, as Chromium's does. */
class FrameVideo extends FakeVideo {
  private cb: ((now: number, meta: { expectedDisplayTime: number }) => void) | null = null;
  requestVideoFrameCallback(cb: (now: number, meta: { expectedDisplayTime: number }) => void): number {
    this.cb = cb;
    return 1;
  }
  showFrame(): void {
    const cb = this.cb;
    this.cb = null;
    cb?.(0, { expectedDisplayTime: 0 });
  }
}

/** A session over fakes; `ui` records status lines and lifecycle calls. */
function session(video: FakeVideo = new FakeVideo(), turn: RTCConfiguration = { iceServers: [{ urls: 'stun:127.0.0.1:3478' }] }) {
  resetFakes();
  const ui: string[] = [];
  const host: HostMessage[] = [];
  const store = new Map<string, string>();
  const deps: SessionDeps = {
    peer: fakePeerDeps,
    rtcConfig: async () => turn,
    page: () => ({
      location: { protocol: 'https:', host: 'desk.example:8443', pathname: '/' },
      width: 640,
      height: 360,
      dpr: 2,
      storage: { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) } as Storage,
      receiveCaps: { codecs: [{ mimeType: 'video/H264' }] },
      sendCaps: null,
    }),
  };
  const sessionUi: SessionUi = {
    status: (t) => ui.push(t),
    stats: () => ui.push('stats'),
    channelOpen: () => ui.push('channel open'),
    needsClick: () => ui.push('needs click'),
    connected: (yes) => ui.push(`connected ${yes}`),
  };
  const audio = new FakeVideo() as unknown as HTMLAudioElement;
  const s = new Session(
    { videoEl: video as unknown as HTMLVideoElement, audioEl: audio, ui: sessionUi, hooks: null, onHostMessage: (m) => host.push(m) },
    deps,
  );
  return { s, ui, host, store };
}

/** The sockets and connections of the current attempt: [video, audio]. The audio peer starts
 * after the video answer or AUDIO_AFTER_VIDEO_MS (session.ts), so its socket may come later. */
async function current(attempt: number) {
  await until(() => FakeSocket.all.length >= attempt * 2 + 2);
  const [vws, aws] = FakeSocket.all.slice(attempt * 2, attempt * 2 + 2);
  const [vpc, apc] = FakePc.all.slice(attempt * 2, attempt * 2 + 2);
  assert.ok(vws && aws && vpc && apc, `attempt ${attempt} has two peers`);
  return { vws, aws, vpc, apc };
}

const meta = (hello: string | undefined) => JSON.parse(atob(hello?.split(' ')[2] ?? '')) as Record<string, unknown>;

test('start: one socket per peer with its HELLO, the /turn servers and a kept token', async (t) => {
  const { s, store } = session();
  t.after(() => s.stop());
  await s.start();
  const { vws, aws, vpc } = await current(0);
  assert.equal(vws.url, 'wss://desk.example:8443/webrtc/signalling/');
  assert.deepEqual(vpc.config, { iceServers: [{ urls: 'stun:127.0.0.1:3478' }] });
  vws.accept();
  aws.accept();
  assert.match(vws.sent[0] ?? '', /^HELLO 1 /);
  assert.match(aws.sent[0] ?? '', /^HELLO 3 /);
  const m = meta(vws.sent[0]);
  assert.equal(m.res, '1280x720');
  assert.deepEqual(m.codecs, ['H264']);
  assert.equal(m.token, [...store.values()][0], 'the token is kept for the next page load');
  assert.equal(meta(aws.sent[0]).webcam, undefined, 'no camera offered by a browser that cannot send VP8');
});

test('offer → answer on both peers, then the data channel carries host messages both ways', async (t) => {
  const { s, ui, host } = session();
  t.after(() => s.stop());
  await s.start();
  const { vws, aws, vpc, apc } = await current(0);
  vws.accept();
  aws.accept();
  vws.serverSays(JSON.stringify({ sdp: { type: 'offer', sdp: OFFER } }));
  aws.serverSays(JSON.stringify({ sdp: { type: 'offer', sdp: OFFER } }));
  await until(() => vpc.localDescription !== null && apc.localDescription !== null);
  assert.ok(vws.json().some((m) => (m as { sdp?: { type?: string } }).sdp?.type === 'answer'));
  assert.ok(aws.json().some((m) => (m as { sdp?: { type?: string } }).sdp?.type === 'answer'));

  assert.equal(s.send('kd,97'), false, 'nothing is sent before the channel opens');
  const dc = vpc.hostOpensChannel();
  dc.open();
  assert.deepEqual(dc.sent, ['kr'], 'a new channel starts with every key released');
  assert.ok(ui.includes('channel open'));
  dc.hostSays(JSON.stringify({ type: 'ping', data: null }));
  dc.hostSays(JSON.stringify({ type: 'system', data: { action: 'framerate,30' } }));
  dc.hostSays('not json');
  assert.match(dc.sent[1] ?? '', /^pong,\d+(\.\d+)?$/, 'ping is answered');
  assert.deepEqual(host.map((m) => m.type), ['ping', 'system']);
  assert.equal(s.send('kd,97'), true);
  assert.equal(dc.sent.at(-1), 'kd,97');

  vpc.setState('connected');
  assert.equal(ui.at(-1), 'Connected (audio new)');
});

test('a lost socket tears both peers down and reconnects with new ones', async (t) => {
  const { s, ui } = session();
  t.after(() => s.stop());
  await s.start();
  const first = await current(0);
  first.vws.accept();
  first.aws.accept();
  first.vws.drop();
  assert.ok(first.vpc.closed && first.apc.closed && first.aws.closed, 'both peers are closed');
  assert.ok(ui.includes('connected false'));
  assert.equal(ui.at(-1), 'video: signalling closed; reconnecting in 0.5 s');
  await until(() => FakeSocket.all.length === 4);
  const second = await current(1);
  second.vws.accept();
  assert.match(second.vws.sent[0] ?? '', /^HELLO 1 /);
  // A second failure before anything opened backs off further.
  second.aws.drop();
  assert.match(ui.at(-1) ?? '', /reconnecting in 1\.0 s$/);
});

test('a takeover by another tab stops without reconnecting; stop() ends for good', async (t) => {
  // Fake time: whatever a reconnect would wait for has passed when the clock is advanced.
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const { s, ui } = session();
  await s.start();
  t.mock.timers.tick(1000); // the audio peer's start (AUDIO_AFTER_VIDEO_MS)
  const { vws, aws } = await current(0);
  vws.accept();
  aws.accept();
  vws.drop(4001);
  assert.match(ui.at(-1) ?? '', /opened in another tab/);
  t.mock.timers.tick(10_000);
  for (let i = 0; i < 20; i++) await Promise.resolve();
  assert.equal(FakeSocket.all.length, 2, 'no new connection');
  s.stop();
  s.restart('host asked for a reload');
  await s.start();
  assert.equal(FakeSocket.all.length, 2, 'a stopped session never starts again');
});

test('connected without a frame for NO_VIDEO_MS: the session reconnects; a frame in time keeps it', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const video = new FrameVideo();
  const { s, ui } = session(video);
  await s.start();
  t.mock.timers.tick(1000); // the audio peer's start (AUDIO_AFTER_VIDEO_MS)
  const first = await current(0);
  first.vws.accept();
  first.aws.accept();
  first.vpc.setState('connected');
  t.mock.timers.tick(NO_VIDEO_MS - 1);
  assert.equal(first.vpc.closed, false, 'not before the deadline');
  t.mock.timers.tick(1);
  assert.ok(first.vpc.closed && first.apc.closed, 'both peers torn down');
  assert.match(ui.at(-1) ?? '', /no video within 3 s; reconnecting/);
  const settle = async () => {
    for (let i = 0; i < 50; i++) await Promise.resolve();
  };
  t.mock.timers.tick(1000); // the reconnect's back-off
  await settle();
  t.mock.timers.tick(1000); // the new audio peer's start
  await settle();
  assert.equal(FakeSocket.all.length, 4, 'a new attempt with two sockets');
  const second = await current(1);
  second.vws.accept();
  second.vpc.setState('connected');
  video.showFrame();
  t.mock.timers.tick(NO_VIDEO_MS * 3);
  assert.equal(second.vpc.closed, false, 'a shown frame keeps the connection');
  s.stop();
});

test('the token of the early HELLO (early.ts) is the one the session greets with, once', async (t) => {
  const { keep } = await import('../src/prefetch.ts');
  keep('token', 'early-token-0123456789');
  const { s } = session();
  t.after(() => s.stop());
  await s.start();
  const { vws, aws } = await current(0);
  vws.accept();
  aws.accept();
  assert.equal(meta(vws.sent[0]).token, 'early-token-0123456789');
  assert.equal(meta(aws.sent[0]).token, 'early-token-0123456789', 'the audio peer carries the same token');
});

test('the first attempt answers with the prefetched ICE servers pending; a reconnection is made with fresh ones from the start', async (t) => {
  const { prefetch } = await import('../src/prefetch.ts');
  // A `--rtc_config_json` with a bundle policy: an existing connection refuses it.
  const servers: RTCConfiguration = { iceServers: [{ urls: 'stun:127.0.0.1:3478' }], bundlePolicy: 'max-compat' };
  prefetch('turn', async () => servers);
  const { s, ui } = session(new FakeVideo(), servers);
  t.after(() => s.stop());
  await s.start();
  const first = await current(0);
  assert.deepEqual(first.vpc.config, {}, 'made before the ICE servers are known');
  first.vws.accept();
  first.vws.serverSays(JSON.stringify({ sdp: { type: 'offer', sdp: OFFER } }));
  await until(() => ui.some((l) => /negotiation failed/.test(l)));
  const second = await current(1);
  assert.deepEqual(second.vpc.config, servers, 'the fresh ./turn answer, applied at creation');
  second.vws.accept();
  second.vws.serverSays(JSON.stringify({ sdp: { type: 'offer', sdp: OFFER } }));
  await until(() => second.vpc.localDescription !== null);
});
